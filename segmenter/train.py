"""Retrain the model from the label store and write the artifact with its metadata.

    python -m segmenter.train [--labels labels] [--out models/segmenter.joblib] [--seed 0]

Reads every document and label in ``labels/``, measures the model on documents it did not
see (leave-one-document-out over the finely labelled documents, grouped 5-fold over the
imported corpora; each held-out model is trained on everything else), prints per-class
precision/recall/F1 and the confusion matrix, then fits on everything and writes
``segmenter.joblib`` and ``segmenter.json`` (versions, sha256, label-set hash, counts,
held-out metrics, the ``clean --precision/--recall`` thresholds chosen on the held-out
pages). The old model is replaced only once the new one is fully written.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .dataset import (
    DEFAULT_AUGMENT_COPIES,
    DEFAULT_AUGMENT_RATE,
    DEFAULT_FINE_DOC_WEIGHT,
    DEFAULT_PAGE_POWER,
    Augmented,
    StoreFeatures,
    TrainingData,
    TrainingError,
    featurize,
    fit_classifier,
    fit_pipeline,
    label_set_hash,
    load_training_data,
    weights_for,
)
from .decision import DEFAULT_THRESHOLD
from .evaluation.folds import cross_validate, held_out_folds
from .evaluation.metrics import line_prf
from .labels import CLASSES, CORE
from .presets import describe, held_out_presets

__all__ = [
    "DEFAULT_AUGMENT_COPIES",
    "DEFAULT_AUGMENT_RATE",
    "DEFAULT_FINE_DOC_WEIGHT",
    "DEFAULT_PAGE_POWER",
    "DEFAULT_THRESHOLD",
    "Augmented",
    "TrainingData",
    "TrainingError",
    "cross_validate",
    "featurize",
    "fit_classifier",
    "held_out_folds",
    "held_out_metrics",
    "label_set_hash",
    "load_training_data",
    "main",
    "train",
    "weights_for",
]


def held_out_metrics(
    data: TrainingData, probas: list[np.ndarray | None], threshold: float | None = DEFAULT_THRESHOLD
) -> dict:
    """Per-class metrics on the finely labelled documents, core-vs-rest on coarse ones, with
    the labels ``clean`` acts on (core-story where p(core) >= ``threshold``)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    from .decision import core_mask, paragraph_labels
    from .features import _WORD

    metrics: dict = {}
    held = {i: p for i, p in enumerate(probas) if p is not None}
    fine = [i for i in data.fine if i in held]
    if fine:
        gold, pred, words, related_kept = [], [], [], 0
        for i in fine:
            p = paragraph_labels(held[i], core_mask(held[i], threshold))
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
    coarse = [i for i in data.coarse if i in held]
    if coarse:
        gold_core, pred_core, words = [], [], []
        for i in coarse:
            kept = core_mask(held[i], threshold)
            for j, g in enumerate(data.labels[i]):
                if g is not None:
                    gold_core.append(g == CORE)
                    pred_core.append(bool(kept[j]))
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
    m = line_prf(gold, pred, w)
    return {k: m[k] for k in ("precision", "recall", "f1")}


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
    page_power: float = DEFAULT_PAGE_POWER,
    augment_copies: int = DEFAULT_AUGMENT_COPIES,
    augment_rate: float = DEFAULT_AUGMENT_RATE,
    threshold: float | None = DEFAULT_THRESHOLD,
    log: Callable[[str], None] = print,
    progress: bool = False,
) -> dict:
    """Train from ``labels_dir`` and write the model to ``out``; returns the metadata written."""
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
    W = weights_for(data, fine_doc_weight, page_power)
    augmented = Augmented.build(data, augment_copies, augment_rate, seed)
    metrics: dict = {}
    presets = None
    if cv:
        log("measuring on held-out documents ...")
        probas = cross_validate(data, X, W, seed, jobs=jobs, augmented=augmented)
        metrics = held_out_metrics(data, probas, threshold)
        log(format_metrics(metrics))
        presets = held_out_presets(data, probas, threshold)  # segmenter clean --precision/--recall
        if presets:
            log("keep presets:\n" + "\n".join(f"  {line}" for line in describe({"thresholds": presets})))
    log("fitting on all documents ...")
    pipeline = fit_pipeline(StoreFeatures(data, X, W), augmented, seed, threshold, jobs)
    classifier = pipeline.named_steps["classifier"]
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
            "page_power": page_power,
            "threshold": threshold,
            "augment_copies": augment_copies,
            "augment_rate": augment_rate,
            "classifier": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in classifier.get_params().items()
            },
        },
        "held_out_metrics": metrics,
        **({"thresholds": presets} if presets else {}),
    }
    meta = write_artifact(pipeline, Path(out), meta)
    log(f"wrote {out} (sha256 {str(meta['sha256'])[:12]}...) in {time.time() - t0:.0f} s")
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
        "--page-power",
        type=float,
        default=DEFAULT_PAGE_POWER,
        help="each page's training weight is its paragraphs' total to the power -P: 1 weighs "
        "every page alike, as the metric averages over pages; 0 weighs a page by its words "
        f"(default {DEFAULT_PAGE_POWER:g})",
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
    if not args.page_power >= 0:
        ap.error(f"--page-power must be 0 or more, got {args.page_power:g}")
    try:
        train(
            args.labels,
            args.out,
            seed=args.seed,
            cv=not args.no_cv,
            jobs=args.jobs,
            fine_doc_weight=args.fine_doc_weight,
            page_power=args.page_power,
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
