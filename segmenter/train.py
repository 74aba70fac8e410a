"""Retrain the model from the label store and write the artifact with its metadata.

    python -m segmenter.train [--labels labels] [--out models/segmenter.joblib] [--seed 0]

Reads every document and label in ``labels/``, measures the model on documents it did not
see (leave-one-document-out over the finely labelled documents, grouped 5-fold over the
imported corpora; each held-out model is trained on everything else), prints per-class
precision/recall/F1 and the confusion matrix, then fits on everything and writes
``segmenter.joblib`` and ``segmenter.json`` (versions, sha256, label-set hash, counts,
held-out metrics). The old model is replaced only once the new one is fully written.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .labels import CLASSES, CORE, NOT_CORE
from .segment import segment
from .store import Document, LabelStore, LabelStoreError, labelled_documents

DEFAULT_FINE_DOC_WEIGHT = 20.0
DEFAULT_AUGMENT_COPIES = 2
DEFAULT_AUGMENT_RATE = 0.3
#: p(core-story) at which a paragraph is kept; chosen on WCXB grouped 5-fold held-out
#: predictions with `python -m segmenter.evaluate --cv 5 --sweep ...` (see README)
DEFAULT_THRESHOLD = 0.5


class TrainingError(ValueError):
    """The labels cannot train a model; the message says how to fix it."""


@dataclass
class TrainingData:
    """Labelled documents as the model sees them: paragraph texts and labels per document."""

    docs: list[Document]
    texts: list[list[str]]
    labels: list[list[str | None]]
    problems: list = field(default_factory=list)

    @property
    def fine(self) -> list[int]:
        """Documents labelled with the five classes only (no coarse ``not-core``)."""
        return [i for i, labs in enumerate(self.labels) if NOT_CORE not in labs]

    @property
    def coarse(self) -> list[int]:
        return [i for i, labs in enumerate(self.labels) if NOT_CORE in labs]

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(l for labs in self.labels for l in labs if l is not None).items()))


def load_training_data(labels_dir: str | Path) -> TrainingData:
    """Read and check the store; refuse (TrainingError) when it cannot train a model."""
    store = LabelStore(labels_dir)
    if not store.root.is_dir():
        what = "is not a folder" if store.root.exists() else "does not exist"
        raise TrainingError(f"label folder {store.root} {what}; pass --labels DIR")
    try:
        docs, labels, problems = labelled_documents(store)
    except LabelStoreError as exc:
        raise TrainingError(f"malformed label store: {exc}") from None
    data = TrainingData(docs, [[p.text for p in segment(d.text)] for d in docs], labels, problems)
    counts = data.label_counts()
    if not counts and problems:
        raise TrainingError(
            f"no usable labels in {store.root}: all {len(problems)} label records were skipped "
            f"(first: {problems[0]}); register the documents they label in a *.documents.jsonl "
            "file (the app and `python -m segmenter.importer` do), or relabel the current text"
        )
    if not counts:
        raise TrainingError(
            f"no usable labels in {store.root}: label documents with `streamlit run annotate_app.py` "
            "or import a corpus with `python -m segmenter.importer`"
        )
    if len(counts) < 2:
        raise TrainingError(
            f"all {sum(counts.values())} labels in {store.root} are {next(iter(counts))!r}: a classifier "
            "needs at least two classes; label some paragraphs of another class"
        )
    return data


def label_set_hash(data: TrainingData) -> str:
    """sha256 over (document hash, paragraph index, label): names exactly what was trained on."""
    h = hashlib.sha256()
    for doc, labs in sorted(zip(data.docs, data.labels), key=lambda t: t[0].doc_id):
        for i, lab in enumerate(labs):
            if lab is not None:
                h.update(f"{doc.sha256}\t{i}\t{lab}\n".encode())
    return h.hexdigest()


def featurize(texts: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
    from .features import ParagraphFeatures

    feats = ParagraphFeatures().fit(None)
    items = texts
    if progress:
        from tqdm import tqdm

        items = tqdm(texts, desc="features", unit=" docs", file=sys.stderr)
    return [feats.document_features(t) for t in items]


def weights_for(data: TrainingData, fine_doc_weight: float) -> list[np.ndarray]:
    from .model import paragraph_weights

    return [paragraph_weights(t, l, fine_doc_weight=fine_doc_weight) for t, l in zip(data.texts, data.labels)]


@dataclass
class Augmented:
    """Word-perturbed copies of the finely labelled documents (see :mod:`segmenter.augment`),
    featurized once; a copy trains only where its original does, never in a fold that holds
    the original out."""

    X: dict[int, list[np.ndarray]]

    @classmethod
    def build(cls, data: TrainingData, copies: int, rate: float, seed: int) -> Augmented:
        from .augment import perturb_document

        xs: dict[int, list[np.ndarray]] = {}
        for i in data.fine:
            texts = [
                perturb_document(data.texts[i], seed=seed * 1000 + c + 1, rate=rate) for c in range(copies)
            ]
            xs[i] = featurize(texts)
        return cls(xs)

    def training_set(self, docs: Sequence[int], X: list[np.ndarray], labels: list, W: list[np.ndarray]):
        """Features, labels, weights and groups (original document index) of ``docs``
        followed by their perturbed copies, which take their original's labels and weights."""
        docs = list(docs)
        xs = [X[i] for i in docs]
        ys = [labels[i] for i in docs]
        ws = [W[i] for i in docs]
        groups = list(docs)
        for i in docs:
            for x in self.X.get(i, ()):
                xs.append(x)
                ys.append(labels[i])
                ws.append(W[i])
                groups.append(i)
        return xs, ys, ws, groups


def fit_classifier(X, y, w, groups, seed: int, threshold: float | None = DEFAULT_THRESHOLD, jobs: int = 1):
    from .model import ContextClassifier

    return ContextClassifier(random_state=seed, core_threshold=threshold, n_jobs=jobs).fit(
        X, y, w, groups=groups
    )


def held_out_folds(data: TrainingData, seed: int, k: int = 5) -> list[list[int]]:
    """Test folds: each finely labelled document alone (grouped k-fold once there are more
    than 20), and the coarse corpora in k groups of documents."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = []
    fine = data.fine
    if len(fine) <= 20:
        folds += [[i] for i in fine]
    else:
        order = rng.permutation(fine)
        folds += [sorted(order[j::k].tolist()) for j in range(k)]
    coarse = data.coarse
    if len(coarse) >= k:
        order = rng.permutation(coarse)
        folds += [sorted(order[j::k].tolist()) for j in range(k)]
    return folds


def cross_validate(
    data: TrainingData,
    X: list[np.ndarray],
    W: list[np.ndarray],
    seed: int,
    jobs: int = 1,
    folds: list[list[int]] | None = None,
    augmented: Augmented | None = None,
) -> list[np.ndarray | None]:
    """Held-out probabilities per document (None for documents never held out)."""
    from joblib import Parallel, delayed

    folds = held_out_folds(data, seed) if folds is None else folds
    augmented = Augmented({}) if augmented is None else augmented

    def run(test: list[int]):
        test_set = set(test)
        train = [i for i in range(len(X)) if i not in test_set]
        model = fit_classifier(*augmented.training_set(train, X, data.labels, W), seed)
        return test, model.predict_proba([X[i] for i in test])

    out: list[np.ndarray | None] = [None] * len(X)
    results = Parallel(n_jobs=jobs)(delayed(run)(f) for f in folds)
    for test, probas in results:
        for i, p in zip(test, probas):
            out[i] = p
    return out


def held_out_metrics(
    data: TrainingData, probas: list[np.ndarray | None], threshold: float | None = DEFAULT_THRESHOLD
) -> dict:
    """Per-class metrics on the finely labelled documents, core-vs-rest on coarse ones, with
    the labels ``clean`` acts on (core-story where p(core) >= ``threshold``)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from .api import core_mask, paragraph_labels
    from .features import _WORD

    metrics: dict = {}
    fine = [i for i in data.fine if probas[i] is not None]
    if fine:
        gold, pred, words, related_kept = [], [], [], 0
        for i in fine:
            p = paragraph_labels(probas[i], core_mask(probas[i], threshold))
            for j, g in enumerate(data.labels[i]):
                if g is None:
                    continue
                gold.append(g)
                pred.append(p[j])
                words.append(len(_WORD.findall(data.texts[i][j])))
                related_kept += g == "related-article" and p[j] == CORE
        gold_a, pred_a, words_a = np.array(gold), np.array(pred), np.array(words, dtype=float)
        pr, rc, f1, sup = precision_recall_fscore_support(
            gold_a, pred_a, labels=list(CLASSES), zero_division=0
        )
        metrics["fine"] = {
            "scheme": "leave-one-document-out" if len(data.fine) <= 20 else "grouped 5-fold",
            "documents": len(fine),
            "paragraphs": len(gold),
            "accuracy": float((gold_a == pred_a).mean()),
            "accuracy_word_weighted": float(((gold_a == pred_a) * words_a).sum() / max(words_a.sum(), 1)),
            "related_article_kept_as_core": int(related_kept),
            "per_class": {
                c: {
                    "precision": float(pr[k]),
                    "recall": float(rc[k]),
                    "f1": float(f1[k]),
                    "support": int(sup[k]),
                }
                for k, c in enumerate(CLASSES)
            },
            "confusion": {
                "labels": list(CLASSES),
                "matrix": confusion_matrix(gold_a, pred_a, labels=list(CLASSES)).tolist(),
            },
        }
    coarse = [i for i in data.coarse if probas[i] is not None]
    if coarse:
        gold_core, pred_core, words = [], [], []
        for i in coarse:
            p = core_mask(probas[i], threshold)
            for j, g in enumerate(data.labels[i]):
                if g is not None:
                    gold_core.append(g == CORE)
                    pred_core.append(bool(p[j]))
                    words.append(len(_WORD.findall(data.texts[i][j])))
        g_a, p_a, w_a = np.array(gold_core), np.array(pred_core), np.array(words, dtype=float)
        metrics["coarse"] = {
            "scheme": "grouped 5-fold over documents",
            "documents": len(coarse),
            "paragraphs": int(len(g_a)),
            "core_vs_rest": _prf(g_a, p_a, None),
            "core_vs_rest_word_weighted": _prf(g_a, p_a, w_a),
        }
    return metrics


def _prf(gold: np.ndarray, pred: np.ndarray, w: np.ndarray | None) -> dict:
    w = np.ones(len(gold)) if w is None else w
    tp = (w * (gold & pred)).sum()
    fp = (w * (~gold & pred)).sum()
    fn = (w * (gold & ~pred)).sum()
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": float(p), "recall": float(r), "f1": float(2 * p * r / (p + r)) if p + r else 0.0}


def format_metrics(metrics: dict) -> str:
    lines = []
    fine = metrics.get("fine")
    if fine:
        lines.append(
            f"Finely labelled documents, {fine['scheme']} ({fine['documents']} documents, "
            f"{fine['paragraphs']} paragraphs):"
        )
        lines.append(
            f"  accuracy {fine['accuracy']:.3f}   word-weighted {fine['accuracy_word_weighted']:.3f}   "
            f"related-article kept as core: {fine['related_article_kept_as_core']}"
        )
        lines.append(f"  {'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
        for c, m in fine["per_class"].items():
            lines.append(
                f"  {c:<16}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>9d}"
            )
        lines.append("  confusion (rows gold, columns predicted): " + " ".join(c[:4] for c in CLASSES))
        for c, row in zip(CLASSES, fine["confusion"]["matrix"]):
            lines.append(f"  {c:<16}" + "".join(f"{v:>6d}" for v in row))
    coarse = metrics.get("coarse")
    if coarse:
        m, mw = coarse["core_vs_rest"], coarse["core_vs_rest_word_weighted"]
        lines.append(
            f"Imported corpora, {coarse['scheme']} ({coarse['documents']} documents, "
            f"{coarse['paragraphs']} paragraphs), core-story vs rest:"
        )
        lines.append(f"  per paragraph  P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}")
        lines.append(f"  word-weighted  P {mw['precision']:.3f}  R {mw['recall']:.3f}  F1 {mw['f1']:.3f}")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    import joblib
    import pandas
    import scipy
    import sklearn

    from . import __version__

    return {
        "python": platform.python_version(),
        "segmenter": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
        "pandas": pandas.__version__,
    }


def write_artifact(pipeline, out: Path, meta: dict) -> dict:
    """Write the joblib artifact and its JSON metadata, each via a temporary file and a rename,
    so a crash never leaves a half-written model where the old one was."""
    import joblib

    from .api import file_sha256

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".segmenter", suffix=".joblib.tmp")
    os.close(fd)
    try:
        joblib.dump(pipeline, tmp, compress=3)
        meta = {**meta, "artifact": out.name, "sha256": file_sha256(Path(tmp))}
        meta_tmp = tmp + ".json"
        Path(meta_tmp).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.chmod(meta_tmp, 0o644)
        os.replace(tmp, out)
        os.replace(meta_tmp, out.with_suffix(".json"))
    finally:
        for leftover in (tmp, tmp + ".json"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    return meta


def train(
    labels_dir: str | Path = "labels",
    out: str | Path = "models/segmenter.joblib",
    *,
    seed: int = 0,
    cv: bool = True,
    jobs: int = 1,
    fine_doc_weight: float = DEFAULT_FINE_DOC_WEIGHT,
    augment_copies: int = DEFAULT_AUGMENT_COPIES,
    augment_rate: float = DEFAULT_AUGMENT_RATE,
    threshold: float | None = DEFAULT_THRESHOLD,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> dict:
    """Train from ``labels_dir`` and write the model to ``out``; returns the metadata written."""
    from sklearn.pipeline import Pipeline

    from .features import ParagraphFeatures

    t0 = time.time()
    data = load_training_data(labels_dir)
    for problem in data.problems[:20]:
        log(f"warning: skipped {problem}")
    if len(data.problems) > 20:
        log(f"warning: ... and {len(data.problems) - 20} more skipped records")
    counts = data.label_counts()
    log(
        f"{len(data.docs)} documents, {sum(counts.values())} labelled paragraphs: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    X = featurize(data.texts, progress=progress)
    W = weights_for(data, fine_doc_weight)
    augmented = Augmented.build(data, augment_copies, augment_rate, seed)
    metrics: dict = {}
    if cv:
        log("measuring on held-out documents ...")
        metrics = held_out_metrics(
            data, cross_validate(data, X, W, seed, jobs=jobs, augmented=augmented), threshold
        )
        log(format_metrics(metrics))
    log("fitting on all documents ...")
    classifier = fit_classifier(
        *augmented.training_set(range(len(X)), X, data.labels, W), seed, threshold, jobs=jobs
    )
    pipeline = Pipeline([("features", ParagraphFeatures().fit(None)), ("classifier", classifier)])
    sources = Counter((d.source or "unknown", d.license or "unknown") for d in data.docs)
    meta = {
        "versions": versions(),
        "label_set_sha256": label_set_hash(data),
        "training_data": {
            "documents": len(data.docs),
            "labelled_paragraphs": sum(counts.values()),
            "labels": counts,
            "sources": [
                {"source": s, "license": lic, "documents": n} for (s, lic), n in sorted(sources.items())
            ],
            "skipped_records": len(data.problems),
        },
        "params": {
            "seed": seed,
            "fine_doc_weight": fine_doc_weight,
            "threshold": threshold,
            "augment_copies": augment_copies,
            "augment_rate": augment_rate,
            "classifier": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in classifier.get_params().items()
            },
        },
        "held_out_metrics": metrics,
    }
    meta = write_artifact(pipeline, Path(out), meta)
    log(f"wrote {out} (sha256 {meta['sha256'][:12]}...) in {time.time() - t0:.0f} s")
    return meta


def _threshold(value: str) -> float | None:
    if value.strip().lower() == "none":
        return None
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1] or 'none', got {value!r}") from None
    if not 0 <= t <= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value!r}")
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m segmenter.train",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--labels", default="labels", help="label store folder (default: labels)")
    ap.add_argument(
        "--out",
        default="models/segmenter.joblib",
        help="artifact to write; its .json goes beside it (default: models/segmenter.joblib)",
    )
    ap.add_argument(
        "--seed", type=int, default=0, help="random seed: same labels + seed = same model (default 0)"
    )
    ap.add_argument(
        "--no-cv", action="store_true", help="skip the held-out measurement (faster; no metrics recorded)"
    )
    ap.add_argument("--jobs", type=int, default=2, help="processes for the held-out folds (default 2)")
    ap.add_argument(
        "--fine-doc-weight",
        type=float,
        default=DEFAULT_FINE_DOC_WEIGHT,
        help="weight of documents labelled with the five classes relative to coarse "
        f"imported ones (default {DEFAULT_FINE_DOC_WEIGHT:g})",
    )
    ap.add_argument(
        "--augment-copies",
        type=int,
        default=DEFAULT_AUGMENT_COPIES,
        help="word-perturbed copies of each finely labelled document to train on, so the "
        f"model learns page structure rather than single words (default {DEFAULT_AUGMENT_COPIES})",
    )
    ap.add_argument(
        "--augment-rate",
        type=float,
        default=DEFAULT_AUGMENT_RATE,
        help=f"share of words replaced in each copy (default {DEFAULT_AUGMENT_RATE:g})",
    )
    ap.add_argument(
        "--threshold",
        type=_threshold,
        default=DEFAULT_THRESHOLD,
        help="p(core-story) at which clean() keeps a paragraph by default, stored in the "
        f"model (default {DEFAULT_THRESHOLD:g}, chosen on held-out WCXB pages; "
        "'none': keep it where core-story is the most probable label)",
    )
    args = ap.parse_args(argv)
    try:
        train(
            args.labels,
            args.out,
            seed=args.seed,
            cv=not args.no_cv,
            jobs=args.jobs,
            fine_doc_weight=args.fine_doc_weight,
            augment_copies=args.augment_copies,
            augment_rate=args.augment_rate,
            threshold=args.threshold,
            progress=sys.stderr.isatty(),
        )
    except TrainingError as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. --out in a folder that cannot be written; the old model stays
        print(
            f"error: {exc.filename or args.out}: {exc.strerror or exc}; nothing was replaced", file=sys.stderr
        )
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
