"""Score the model on a labelled corpus with the standard metric, next to simple baselines.

    python -m segmenter.evaluate CORPUS.jsonl[.gz] [--model PATH | --cv K [--repeats R]]
                                 [--threshold T] [--limit N] [--spillover-only] [--json OUT]

CORPUS holds one JSON object per line with the page ``text`` (one block per line) and its
gold: ``truth`` (the gold story text) and/or per-line labels (``labels``: core-story /
related-article / other, or ``line_labels``: core / other), one per line of ``text`` as
``segmenter.segment`` splits it. Optional ``spillover`` / ``spillover_heavy`` flags split
the scores into pages with and without other stories after the story.

Printed for the model and, in the same run, for three baselines (keep every line; keep
lines of >= 10 words; jusText over the lines wrapped as <p> elements, if installed):

* the standard metric (Scrapinghub article-extraction-benchmark): per document, word
  4-shingles of the gold (``truth``) and of the prediction (kept lines joined by newlines);
  precision averaged over documents with a prediction, recall over documents with a gold,
  F1 their harmonic mean; +- is the bootstrap standard deviation over documents;
* the same on pages with / without spillover, when the corpus has the flags;
* line-level precision/recall/F1 (per line and word-weighted) where the corpus has line
  labels: core-story vs the rest, and for finely labelled corpora also related-article vs
  the rest and how many related-article lines were kept as the story.

Without --cv the model is the shipped one (or --model); documents that are also in the label
store it was trained on are flagged, since their figures are not held-out. With --cv K, K
models are trained on the label store, each without one group of documents, and every
corpus document is scored by the model that never saw it. --repeats R runs that R times with
different seeds (other folds) and reports how much the model's figures move between them: a
change to the model smaller than that spread is not measured by one cross-validation.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics as M
from .jsonl import read_jsonl
from .labels import CLASSES, CORE
from .segment import segment

MIN_WORDS = 10
#: the label store of a source checkout (what the shipped model is trained on)
DEFAULT_LABELS = Path(__file__).resolve().parent.parent / "labels"
DEFAULT_RESAMPLES = 1000
#: line label values meaning "part of the story" (``labels`` and ``line_labels`` schemes)
CORE_VALUES = {"core-story", "core"}
#: line label fields, in order of preference (the finer scheme first)
LABEL_FIELDS = ("labels", "line_labels")

SYSTEM_NAMES = {
    "segmenter": "segmenter",
    "keep-everything": "keep everything",
    "lines-10-words": f"lines >= {MIN_WORDS} words",
    "justext": "jusText",
}


class EvaluationError(ValueError):
    """Bad input (corpus, options); the message names the file and line where it can."""


# -- corpus ---------------------------------------------------------------------------------
@dataclass
class CorpusDoc:
    """One page of the corpus as the evaluation sees it."""

    where: str  # file:line
    doc_id: str | None
    url: str | None
    text: str
    lines: list[str]  # paragraph texts, as segmenter.segment splits ``text``
    gold: str  # the gold story text
    line_labels: list[str] | None  # per line, mapped to our scheme ("core-story", "other", ...)
    spillover: bool | None = None
    spillover_heavy: bool | None = None
    variant: str | None = None  # pages built by segmenter.construct: how,
    derived_from: list[str] | None = None  # from which source pages (ids),
    fold: int | None = None  # and in which group of stories

    @property
    def sha256(self) -> str:
        from .store import sha256_text

        return sha256_text(self.text)


def _norm_label(value: str) -> str:
    return CORE if value in CORE_VALUES else value


def _parse_doc(obj: object, where: str) -> CorpusDoc:
    if not isinstance(obj, dict):
        raise EvaluationError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str):
        raise EvaluationError(f"{where}: missing or non-string field 'text'")
    lines = [p.text for p in segment(text)]
    line_labels = None
    for name in LABEL_FIELDS:
        if name in obj:
            labs = obj[name]
            if not isinstance(labs, list) or not all(isinstance(x, str) for x in labs):
                raise EvaluationError(f"{where}: field {name!r} should be a list of strings")
            if len(labs) != len(lines):
                raise EvaluationError(f"{where}: {len(labs)} {name} for {len(lines)} lines of text")
            line_labels = [_norm_label(x) for x in labs]
            break
    truth = obj.get("truth")
    if truth is not None and not isinstance(truth, str):
        raise EvaluationError(f"{where}: field 'truth' should be a string")
    if truth is None:
        if line_labels is None:
            raise EvaluationError(f"{where}: needs 'truth' or per-line labels ({' or '.join(LABEL_FIELDS)})")
        truth = "\n".join(t for t, lab in zip(lines, line_labels) if lab == CORE)
    flags = {}
    for name in ("spillover", "spillover_heavy"):
        v = obj.get(name)
        if v is not None and not isinstance(v, bool):
            raise EvaluationError(f"{where}: field {name!r} should be true or false")
        flags[name] = v
    variant, derived, fold = obj.get("variant"), obj.get("derived_from"), obj.get("fold")
    if fold is not None and (not isinstance(fold, int) or isinstance(fold, bool)):
        raise EvaluationError(f"{where}: field 'fold' should be an integer")
    if variant is not None and not isinstance(variant, str):
        raise EvaluationError(f"{where}: field 'variant' should be a string")
    if derived is not None and (
        not isinstance(derived, list) or not all(isinstance(x, str) for x in derived)
    ):
        raise EvaluationError(f"{where}: field 'derived_from' should be a list of page ids")
    doc_id = obj.get("id", obj.get("doc_id"))
    url = obj.get("url")
    return CorpusDoc(
        where,
        None if doc_id is None else str(doc_id),
        url if isinstance(url, str) else None,
        text,
        lines,
        truth,
        line_labels,
        **flags,
        variant=variant,
        derived_from=derived,
        fold=fold,
    )


def iter_corpus(path: str | Path) -> Iterator[CorpusDoc]:
    """Documents of a JSONL corpus (gzip when the name ends in .gz); a bad line raises
    EvaluationError naming ``file:line``."""
    for where, obj in read_jsonl(path, EvaluationError):
        yield _parse_doc(obj, where)


def read_corpus(path: str | Path, limit: int | None = None, spillover_only: bool = False) -> list[CorpusDoc]:
    """The first ``limit`` documents (of those with spillover, with ``spillover_only``)."""
    docs: list[CorpusDoc] = []
    if limit is not None and limit <= 0:
        return docs
    for doc in iter_corpus(path):
        if spillover_only:
            if doc.spillover is None:
                raise EvaluationError(
                    f"{doc.where}: --spillover-only, but the document has no 'spillover' flag"
                )
            if not doc.spillover:
                continue
        docs.append(doc)
        if limit is not None and len(docs) >= limit:
            break
    return docs


# -- systems ----------------------------------------------------------------------------
@dataclass
class Prediction:
    """A system's output for one document: the text, and per line whether it was kept and
    (for the model) its predicted label."""

    text: str
    kept: np.ndarray | None = None
    labels: list[str] | None = None


def _from_kept(lines: Sequence[str], kept: np.ndarray) -> Prediction:
    return Prediction("\n".join(t for t, k in zip(lines, kept) if k), np.asarray(kept, dtype=bool))


def keep_everything(doc: CorpusDoc) -> Prediction:
    return _from_kept(doc.lines, np.ones(len(doc.lines), dtype=bool))


def long_lines(doc: CorpusDoc, min_words: int = MIN_WORDS) -> Prediction:
    """Keep the lines of at least ``min_words`` words (``\\w+`` tokens, as the metric counts)."""
    return _from_kept(doc.lines, np.array([len(M.tokens(t)) >= min_words for t in doc.lines], dtype=bool))


def justext_available() -> bool:
    try:
        import justext  # noqa: F401
    except ImportError:
        return False
    return True


def justext_html(lines: Sequence[str]) -> str:
    """The lines as a page for jusText: each HTML-escaped in its own <p>."""
    return "<html><body>" + "".join(f"<p>{html.escape(t)}</p>" for t in lines) + "</body></html>"


def justext_lines(lines: Sequence[str]) -> Prediction:
    """jusText with its default settings and the English stoplist; the prediction is the text
    of the paragraphs it does not call boilerplate, joined by newlines."""
    import justext

    if not lines:
        return Prediction("", np.zeros(0, dtype=bool))
    paragraphs = justext.justext(justext_html(lines), justext.get_stoplist("English"))
    text = "\n".join(p.text for p in paragraphs if not p.is_boilerplate)
    kept = None
    if len(paragraphs) == len(lines):  # one <p> per line, as it is on real pages
        kept = np.array([not p.is_boilerplate for p in paragraphs], dtype=bool)
    return Prediction(text, kept)


class _RecordingModel:
    """Passes ``predict_proba`` through to the pipeline and keeps its output, so the texts come
    from ``clean_many`` itself while the line-level figures can read the probabilities."""

    def __init__(self, pipe) -> None:
        self.pipe = pipe
        self.probas: list[np.ndarray] = []

    def predict_proba(self, X):
        out = self.pipe.predict_proba(X)
        self.probas.extend(out)
        return out


def line_predictions(lines: Sequence[str], proba: np.ndarray, threshold: float | None) -> Prediction:
    """Kept lines by the clean rule (most probable label, or p(core) >= threshold); a line's
    predicted label is core-story when kept, else its most probable other class."""
    from .api import core_mask, paragraph_labels

    proba = np.asarray(proba)
    if not len(lines):
        return Prediction("", np.zeros(0, dtype=bool), [])
    kept = np.asarray(core_mask(proba, threshold), dtype=bool)
    labels = paragraph_labels(proba, kept)
    pred = _from_kept(lines, kept)
    pred.labels = labels
    return pred


def model_predictions(
    docs: Sequence[CorpusDoc],
    pipe,
    threshold: float | None,
    progress: bool = False,
    warn: Callable[[str], None] = print,
) -> tuple[list[Prediction], list[np.ndarray]]:
    """``segmenter.clean_many`` over the documents; line decisions and the probabilities
    from the same model run."""
    from .api import clean_many

    recorder = _RecordingModel(pipe)
    texts = clean_many((d.text for d in docs), model=recorder, threshold=threshold)
    texts = list(_progress(texts, len(docs), "segmenter", progress))
    if len(recorder.probas) != len(docs):
        raise RuntimeError(
            f"clean_many ran the model on {len(recorder.probas)} documents, expected {len(docs)}"
        )
    out, differ = [], 0
    for doc, text, proba in zip(docs, texts, recorder.probas):
        pred = line_predictions(doc.lines, proba, threshold)
        if pred.text != text:  # clean_many post-processed its output: score what it returns
            differ += 1
            pred = Prediction(text, None, None)
        out.append(pred)
    if differ:
        warn(
            f"warning: on {differ} documents clean_many's output is not the lines its "
            "probabilities keep; line-level figures skip those documents"
        )
    return out, recorder.probas


def _progress(items: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=desc, unit=" docs", file=sys.stderr, leave=False)


# -- which documents did the model see ----------------------------------------------------
def _by_page_id(store_docs: Sequence) -> dict[str, list[int]]:
    """Store positions by page id: the last part of the store's doc_id (``wcxb-dev/<id>``)."""
    by_id: dict[str, list[int]] = {}
    for i, d in enumerate(store_docs):
        by_id.setdefault(d.doc_id.rsplit("/", 1)[-1], []).append(i)
    return by_id


def match_store(docs: Sequence[CorpusDoc], store_docs: Sequence) -> list[int | None]:
    """For each corpus document, the index of the same document among ``store_docs``
    (label-store ``Document``s): same text (sha256), or same page id (the store's doc_id
    ends in ``/<id>``, e.g. ``wcxb-dev/<id>``) with the same URL."""
    by_sha: dict[str, int] = {}
    for i, d in enumerate(store_docs):
        by_sha.setdefault(d.sha256, i)
    by_id = _by_page_id(store_docs)
    out: list[int | None] = []
    for doc in docs:
        hit = by_sha.get(doc.sha256)
        if hit is None and doc.doc_id is not None:
            for i in by_id.get(doc.doc_id, ()):
                if doc.url is not None and store_docs[i].url == doc.url:
                    hit = i
                    break
        for source in doc.derived_from or ():  # a constructed page holds text of its sources
            if hit is None and by_id.get(source):
                hit = by_id[source][0]
        out.append(hit)
    return out


def store_overlap(docs: Sequence[CorpusDoc], labels_dir: str | Path) -> dict:
    """How many corpus documents are in the label store (and so were likely trained on)."""
    from .store import LabelStore, LabelStoreError

    store = LabelStore(labels_dir)
    if not store.root.is_dir():
        return {"label_store": str(labels_dir), "checked": False, "documents_in_store": None}
    try:
        store_docs = list(store.documents().values())
    except LabelStoreError as exc:
        return {
            "label_store": str(labels_dir),
            "checked": False,
            "documents_in_store": None,
            "error": str(exc),
        }
    hits = match_store(docs, store_docs)
    ids = [store_docs[h].doc_id for h in hits if h is not None]
    return {
        "label_store": str(labels_dir),
        "checked": True,
        "documents_in_store": len(ids),
        "examples": list(dict.fromkeys(ids))[:5],
    }


# -- cross-validation over the label store -----------------------------------------------
def grouped_folds(data, k: int, seed: int) -> list[list[int]]:
    """K test folds over the store's documents. A group is one text (documents stored twice
    under different ids stay together; perturbed copies follow their original in training).
    Groups holding finely labelled documents and the others are dealt out separately, so
    every fold model still sees most of the fine labels."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(data.docs):
        groups.setdefault(d.sha256, []).append(i)
    fine_docs = set(data.fine)
    members = list(groups.values())
    fine = [g for g in members if any(i in fine_docs for i in g)]
    coarse = [g for g in members if not any(i in fine_docs for i in g)]
    folds: list[list[int]] = [[] for _ in range(k)]
    for part in (fine, coarse):
        order = rng.permutation(len(part))
        for j in range(k):
            for g in order[j::k]:
                folds[j].extend(part[g])
    return [sorted(f) for f in folds]


def assign_folds(hits: Sequence[int | None], folds: Sequence[Sequence[int]]) -> list[list[int]]:
    """Corpus positions per fold: a document that is in the store goes to the fold holding
    it out; any other to fold (position mod K)."""
    fold_of_store = {i: j for j, f in enumerate(folds) for i in f}
    assigned: list[list[int]] = [[] for _ in folds]
    for pos, hit in enumerate(hits):
        assigned[fold_of_store[hit] if hit is not None else pos % len(folds)].append(pos)
    return assigned


def construction_folds(
    docs: Sequence[CorpusDoc], store_docs: Sequence, k: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Folds for pages built by ``segmenter.construct``: fold j scores the pages of
    construction fold j with a model trained without every stored document any of them
    draws on (the story and the other stories, which construct takes from the same fold)."""
    values = sorted({d.fold for d in docs})
    if any(d.fold is None or not d.derived_from for d in docs):
        raise EvaluationError(
            "--cv on constructed pages needs 'fold' and 'derived_from' on every page "
            "(as python -m segmenter.construct writes them)"
        )
    if len(values) != k:
        raise EvaluationError(
            f"--cv {k}: the constructed pages come in {len(values)} folds; use --cv {len(values)}"
        )
    by_id = _by_page_id(store_docs)
    folds: list[list[int]] = [[] for _ in values]
    assigned: list[list[int]] = [[] for _ in values]
    for pos, doc in enumerate(docs):
        j = values.index(doc.fold)
        assigned[j].append(pos)
        for source in doc.derived_from or ():
            folds[j].extend(by_id.get(source, ()))
    return [sorted(set(f)) for f in folds], assigned


def cv_probabilities(
    docs: Sequence[CorpusDoc],
    labels_dir: str | Path,
    k: int,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    log: Callable[[str], None] = print,
) -> tuple[list[np.ndarray], dict]:
    """Held-out probabilities for each corpus document: K models, each trained (as
    ``segmenter.train`` trains) on the label store without one fold; a corpus document in the
    store is scored by the model of the fold that holds it out, any other by the model of
    fold (position mod K), which never saw it either."""
    from joblib import Parallel, delayed

    from . import train as T

    if k < 2:
        raise EvaluationError("--cv needs K >= 2")
    data = T.load_training_data(labels_dir)
    if len(data.docs) < k:
        raise EvaluationError(f"--cv {k}: the label store {labels_dir} holds only {len(data.docs)} documents")
    hits = match_store(docs, data.docs)
    log(
        f"cross-validation: {len(data.docs)} labelled documents in {labels_dir}, {k} folds; "
        f"{sum(h is not None for h in hits)} of the {len(docs)} corpus documents are among them"
    )
    if any(d.derived_from for d in docs):
        folds, assigned = construction_folds(docs, data.docs, k)
    else:
        folds = grouped_folds(data, k, seed)
        assigned = assign_folds(hits, folds)

    X = T.featurize(data.texts, progress=progress)
    W = T.weights_for(data, T.DEFAULT_FINE_DOC_WEIGHT)
    augmented = T.Augmented.build(data, T.DEFAULT_AUGMENT_COPIES, T.DEFAULT_AUGMENT_RATE, seed)
    own = [i for i, h in enumerate(hits) if h is None or data.docs[h].sha256 != docs[i].sha256]
    own_X = dict(zip(own, T.featurize([docs[i].lines for i in own])))
    XC = [own_X[i] if i in own_X else X[h] for i, h in enumerate(hits)]

    def run(j: int):
        test = set(folds[j])
        train = [i for i in range(len(X)) if i not in test]
        # called exactly as segmenter.train.cross_validate calls it
        model = T.fit_classifier(*augmented.training_set(train, X, data.labels, W), seed)
        return j, model.predict_proba([XC[i] for i in assigned[j]])

    todo = [j for j in range(k) if assigned[j]]
    log(f"training {len(todo)} fold models ...")
    out: list[np.ndarray | None] = [None] * len(docs)
    results = Parallel(n_jobs=jobs)(delayed(run)(j) for j in todo)
    for j, probas in results:
        for pos, p in zip(assigned[j], probas):
            out[pos] = p
    info = {
        "k": k,
        "seed": seed,
        "label_store": str(labels_dir),
        "store_documents": len(data.docs),
        "corpus_documents_in_store": sum(h is not None for h in hits),
        "fold_sizes": [len(f) for f in folds],
        "label_set_sha256": T.label_set_hash(data),
    }
    return out, info  # type: ignore[return-value]


# -- scoring ------------------------------------------------------------------------------
SUBSETS = (
    ("all", "all pages", lambda d: True),
    ("spillover", "pages with spillover", lambda d: bool(d.spillover)),
    ("spillover_heavy", "pages with heavy spillover", lambda d: bool(d.spillover_heavy)),
    ("no_spillover", "pages without spillover", lambda d: d.spillover is False),
)


def page_subsets(docs: Sequence[CorpusDoc]) -> list[tuple[str, str, np.ndarray]]:
    """(key, title, mask) of each page subset the figures are split into: all pages, the
    spillover subsets (when the corpus has the flags) and each constructed variant."""
    has_flags = any(d.spillover is not None for d in docs)
    subsets = [s for s in SUBSETS if s[0] == "all" or has_flags]
    for variant in sorted({d.variant for d in docs if d.variant is not None}):
        subsets.append(
            (
                f"variant_{variant}",
                f"constructed pages, variant {variant}",
                lambda d, v=variant: d.variant == v,
            )
        )
    return [(key, title, np.array([keep(d) for d in docs], dtype=bool)) for key, title, keep in subsets]


def _matches(docs: Sequence[CorpusDoc], preds: Sequence[Prediction]) -> np.ndarray:
    """(TP, FP, FN) shares of the standard metric, one row per document."""
    return np.array([M.shingle_match(d.gold, p.text) for d, p in zip(docs, preds)], dtype=np.float64).reshape(
        -1, 3
    )


def standard_figures(
    docs: Sequence[CorpusDoc], preds: dict[str, list[Prediction]], resamples: int, seed: int
) -> dict:
    """The standard metric per system, on all pages and on the spillover subsets (when the
    corpus has the flags)."""
    match = {name: _matches(docs, ps) for name, ps in preds.items()}
    return {
        key: {
            "title": title,
            "documents": int(mask.sum()),
            "systems": {name: M.summarize(m[mask], resamples, seed) for name, m in match.items()},
        }
        for key, title, mask in page_subsets(docs)
    }


def repeat_figures(docs: Sequence[CorpusDoc], runs: Sequence[tuple[int, Sequence[Prediction]]]) -> dict:
    """The model's standard metric in each of several cross-validations (seed, predictions),
    per page subset, with the mean and standard deviation over them: the spread that comes
    from how the training was drawn (a seed draws the folds, unless the corpus fixes them,
    the inner folds and the perturbed training copies), which the bootstrap over documents
    does not show."""
    seeds = [seed for seed, _ in runs]
    scores = [_matches(docs, preds) for _, preds in runs]
    out: dict = {"seeds": seeds, "subsets": {}}
    for key, title, mask in page_subsets(docs):
        per = [M.standard_scores(m[mask]) for m in scores]
        block: dict = {"title": title, "documents": int(mask.sum())}
        for k in ("precision", "recall", "f1"):
            v = np.array([s[k] for s in per], dtype=np.float64)
            block[k] = v.tolist()
            block[f"{k}_mean"] = float(v.mean())
            block[f"{k}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        out["subsets"][key] = block
    return out


def line_figures(docs: Sequence[CorpusDoc], preds: dict[str, list[Prediction]]) -> dict | None:
    """Line-level precision/recall/F1 (per line and word-weighted) where the corpus has line
    labels: core-story vs the rest for every system; for finer labels also each other class
    of our scheme that occurs (vs the rest, for systems that predict classes), and the
    related-article lines each system kept as the story."""
    labelled = [i for i, d in enumerate(docs) if d.line_labels is not None]
    if not labelled:
        return None
    present = {lab for i in labelled for lab in docs[i].line_labels}  # type: ignore[union-attr]
    fine = [c for c in CLASSES if c != CORE and c in present]
    out: dict = {
        "documents": len(labelled),
        "lines": sum(len(docs[i].lines) for i in labelled),
        "scheme": "fine" if fine else "coarse (core-story vs other)",
        "classes": {},
    }
    for cls in [CORE] + fine:
        per_sys = {}
        for name, ps in preds.items():
            gold, pred, words = [], [], []
            usable = 0
            for i in labelled:
                p = ps[i]
                if cls == CORE:
                    if p.kept is None:
                        continue
                    decided = p.kept
                else:
                    if p.labels is None:
                        continue
                    decided = np.array([lab == cls for lab in p.labels], dtype=bool)
                usable += 1
                gold.extend(lab == cls for lab in docs[i].line_labels)  # type: ignore[union-attr]
                pred.extend(bool(x) for x in decided)
                words.extend(len(M.tokens(t)) for t in docs[i].lines)
            if not usable:
                continue
            per_sys[name] = {
                "documents": usable,
                "per_line": M.line_prf(gold, pred),
                "word_weighted": M.line_prf(gold, pred, words),
            }
        out["classes"][cls] = per_sys
    if "related-article" in fine:
        kept_rel = {}
        for name, ps in preds.items():
            n = k = nw = kw = 0
            for i in labelled:
                if ps[i].kept is None:
                    continue
                for lab, kept, t in zip(docs[i].line_labels, ps[i].kept, docs[i].lines):  # type: ignore[arg-type]
                    if lab == "related-article":
                        w = len(M.tokens(t))
                        n += 1
                        nw += w
                        k += bool(kept)
                        kw += w * bool(kept)
            kept_rel[name] = {"lines": k, "of_lines": n, "words": kw, "of_words": nw}
        out["related_article_kept_as_core"] = kept_rel
    return out


def calibration_figures(docs: Sequence[CorpusDoc], probas: Sequence[np.ndarray | None]) -> dict | None:
    """Calibration of the model's p(core-story) against the gold line labels (core-story vs
    the rest), pooled over the lines of labelled documents: is a line shown at 0.8 the story
    four times in five? None when the corpus has no line labels."""
    gold: list[bool] = []
    prob: list[float] = []
    for d, p in zip(docs, probas):
        if d.line_labels is None or p is None or len(p) != len(d.line_labels):
            continue
        gold.extend(lab == CORE for lab in d.line_labels)
        prob.extend(np.asarray(p)[:, 0].tolist())
    return M.calibration(prob, gold) if gold else None


# -- report -------------------------------------------------------------------------------
def _fmt(v: float, std: float | None = None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return f"{'n/a':>15}" if std is not None else f"{'n/a':>6}"
    if std is None:
        return f"{v:6.3f}"
    s = "n/a" if std is None or math.isnan(std) else f"{std:.3f}"
    return f"{v:6.3f} ± {s:<6}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def format_report(result: dict) -> str:
    names = result["system_names"]
    lines = [
        f"corpus:   {result['corpus']} ({_n(result['documents'], 'document')}"
        + (", with spillover only" if result["spillover_only"] else "")
        + ")"
    ]
    m = result["model"]
    rule = "most probable label" if m["threshold"] is None else f"p(core-story) >= {m['threshold']:g}"
    if m["mode"] == "cv":
        cv = m["cv"]
        lines.append(
            f"model:    {cv['k']}-fold held-out models trained on {cv['label_store']} "
            f"({cv['store_documents']} documents, seed {cv['seed']}); {rule}"
        )
    else:
        lines.append(f"model:    {m['path']} (sha256 {str(m['sha256'])[:12]}...); {rule}")
    lines.append(f"held-out: {result['held_out']['summary']}")
    for w in result["warnings"]:
        lines.append(f"WARNING:  {w}")
    if result.get("skipped"):
        for name, why in result["skipped"].items():
            lines.append(f"skipped:  {SYSTEM_NAMES.get(name, name)}: {why}")
    b = result["bootstrap"]
    lines.append("")
    lines.append(
        "Standard metric: word 4-shingles per document; precision over documents with a "
        "prediction, recall over documents with a gold;"
    )
    lines.append(
        f"± = bootstrap standard deviation over documents ({b['resamples']} resamples, seed {b['seed']})"
    )
    width = max(len(v) for v in names.values()) + 2
    for _key, sub in result["standard"].items():
        if not sub["documents"]:
            continue
        lines.append("")
        lines.append(f"{sub['title']} ({_n(sub['documents'], 'document')})")
        lines.append(" " * (width + 2) + f"{'precision':<17}{'recall':<17}F1")
        for name, s in sub["systems"].items():
            lines.append(
                f"  {names.get(name, name):<{width}}"
                + _fmt(s["precision"], s["precision_std"])
                + "  "
                + _fmt(s["recall"], s["recall_std"])
                + "  "
                + _fmt(s["f1"], s["f1_std"])
            )
    rep = result.get("repeats")
    if rep:
        lines.append("")
        lines.append(
            f"Repeated cross-validation, {len(rep['seeds'])} seeds ({', '.join(map(str, rep['seeds']))}): "
            "the model's figures per seed; sd = the spread over seeds, from how"
        )
        lines.append(
            "the training was drawn (the bootstrap ± above does not include it): a seed draws the "
            "folds (unless the corpus"
        )
        lines.append(
            "fixes them, as constructed pages do), the inner folds and the perturbed training copies"
        )
        head = max(len(f"{b['title']} ({b['documents']})") for b in rep["subsets"].values()) + 2
        lines.append(
            " " * (head + 2) + f"{'F1 per seed':<{7 * len(rep['seeds']) + 2}}"
            f"{'precision':<17}{'recall':<17}F1"
        )
        for b in rep["subsets"].values():
            if not b["documents"]:
                continue
            lines.append(
                f"  {b['title'] + ' (' + str(b['documents']) + ')':<{head}}"
                + " ".join(_fmt(v) for v in b["f1"])
                + "  "
                + "  ".join(
                    _fmt(b[f"{k}_mean"], math.nan if b[f"{k}_sd"] is None else b[f"{k}_sd"])
                    for k in ("precision", "recall", "f1")
                )
            )
    lf = result.get("lines")
    if lf:
        lines.append("")
        lines.append(
            f"Line labels ({_n(lf['documents'], 'document')}, {_n(lf['lines'], 'line')}, {lf['scheme']}), "
            "pooled over lines:"
        )
        for cls, per_sys in lf["classes"].items():
            if not per_sys:
                continue
            lines.append(f"  {cls} vs rest" + ("" if cls == CORE else " (systems that predict classes)"))
            lines.append(" " * (width + 4) + f"{'per line':<23}{'word-weighted':<23}support")
            lines.append(" " * (width + 4) + f"{'P':>6} {'R':>6} {'F1':>6}   {'P':>6} {'R':>6} {'F1':>6}")
            for name, s in per_sys.items():
                a, w = s["per_line"], s["word_weighted"]
                lines.append(
                    f"    {names.get(name, name):<{width}}"
                    + " ".join(_fmt(a[k]) for k in ("precision", "recall", "f1"))
                    + "   "
                    + " ".join(_fmt(w[k]) for k in ("precision", "recall", "f1"))
                    + f"   {_n(int(a['support']), 'line')}"
                )
        rel = lf.get("related_article_kept_as_core")
        if rel:
            lines.append("  related-article lines kept as the story:")
            for name, r in rel.items():
                share = f" ({r['lines'] / r['of_lines']:.1%})" if r["of_lines"] else ""
                lines.append(
                    f"    {names.get(name, name):<{width}}{r['lines']} of {_n(r['of_lines'], 'line')}{share}, "
                    f"{r['words']} of {r['of_words']} words"
                )
    cal = result.get("calibration")
    if cal and cal["lines"]:
        lines.append("")
        lines.append(
            f"Calibration of p(core-story) over {_n(cal['lines'], 'labelled line')}: "
            f"ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f}"
        )
        lines.append("  p(core-story)   lines     mean p   share core")
        for b in cal["bins"]:
            lines.append(
                f"  {b['from']:.1f}-{b['to']:.1f}     {b['lines']:>8}     {b['mean_probability']:.3f}    {b['observed']:.3f}"
            )
    return "\n".join(line.rstrip() for line in lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    return obj


# -- driver -------------------------------------------------------------------------------
@dataclass
class Options:
    corpus: str
    model: str | None = None
    threshold: float | None = None
    cv: int | None = None
    labels: str = str(DEFAULT_LABELS)
    limit: int | None = None
    spillover_only: bool = False
    resamples: int = DEFAULT_RESAMPLES
    seed: int = 0
    jobs: int = 1
    justext: bool = True
    progress: bool = False
    sweep: tuple[float, ...] = ()
    repeats: int = 1
    unverified: bool = False


def repeated_cv(
    docs: Sequence[CorpusDoc],
    opts: Options,
    first: Sequence[Prediction],
    threshold: float | None,
    log: Callable[[str], None],
) -> dict:
    """:func:`repeat_figures` over ``opts.repeats`` cross-validations: ``first`` (the report's
    own predictions, seed ``opts.seed``) and one more run per following seed, read at
    ``threshold``."""
    runs = [(opts.seed, first)]
    for seed in range(opts.seed + 1, opts.seed + opts.repeats):
        log(f"repeat {len(runs) + 1} of {opts.repeats}: cross-validation with seed {seed}")
        probas = cv_probabilities(docs, opts.labels, opts.cv, seed, opts.jobs, opts.progress, log)[0]
        runs.append((seed, [line_predictions(d.lines, p, threshold) for d, p in zip(docs, probas)]))
    return repeat_figures(docs, runs)


def evaluate(opts: Options, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr)) -> dict:
    """Run the evaluation and return every figure (see :func:`format_report`)."""
    if opts.repeats < 1:
        raise EvaluationError("--repeats must be at least 1")
    if opts.repeats > 1 and not opts.cv:
        raise EvaluationError("--repeats needs --cv: only cross-validation has fold seeds to repeat")
    docs = read_corpus(opts.corpus, opts.limit, opts.spillover_only)
    if not docs:
        raise EvaluationError(f"{opts.corpus}: no documents to evaluate")
    warnings: list[str] = []
    preds: dict[str, list[Prediction]] = {}
    repeats = None
    if opts.cv:
        from .train import DEFAULT_THRESHOLD

        threshold = DEFAULT_THRESHOLD if opts.threshold is None else opts.threshold
        probas, cv_info = cv_probabilities(
            docs, opts.labels, opts.cv, opts.seed, opts.jobs, opts.progress, log
        )
        preds["segmenter"] = [line_predictions(d.lines, p, threshold) for d, p in zip(docs, probas)]
        if opts.repeats > 1:
            repeats = repeated_cv(docs, opts, preds["segmenter"], threshold, log)
        model_info = {"mode": "cv", "threshold": threshold, "cv": cv_info, "path": None, "sha256": None}
        held = {
            "held_out": True,
            "summary": f"yes: {opts.cv}-fold over the label store; no document is "
            "scored by a model that saw it",
            **cv_info,
        }
    else:
        from .api import default_model_path, default_threshold, file_sha256, load_model

        path = Path(opts.model) if opts.model else default_model_path()
        pipe = load_model(opts.model, allow_unverified=opts.unverified)
        threshold = default_threshold(pipe) if opts.threshold is None else opts.threshold
        model_info = {
            "mode": "artifact" if opts.model else "shipped",
            "path": str(path),
            "sha256": file_sha256(path),
            "threshold": threshold,
        }
        try:
            preds["segmenter"], probas = model_predictions(docs, pipe, threshold, opts.progress, log)
        except ValueError as exc:
            raise ModelRunError(
                f"the model {path} could not be run ({exc}); if segmenter's features "
                "changed since it was built, retrain it with `python -m segmenter.train`"
            ) from None
        held = store_overlap(docs, opts.labels)
        n = held["documents_in_store"]
        if not held["checked"]:
            held["held_out"] = None
            held["summary"] = f"unknown: no readable label store at {opts.labels} to compare with" + (
                f" ({held['error']})" if held.get("error") else ""
            )
        elif n:
            held["held_out"] = False
            held["summary"] = f"NO: {n} of the {len(docs)} documents are in the label store {opts.labels}"
            warnings.append(
                f"{n} of the {len(docs)} documents are in the label store {opts.labels} "
                f"(e.g. {', '.join(held['examples'][:3])}), which "
                + (
                    "the shipped model was trained on"
                    if not opts.model
                    else "the model was likely trained on"
                )
                + ": these figures are NOT held-out and overstate the model. "
                "Use --cv K for held-out figures."
            )
        else:
            held["held_out"] = True
            held["summary"] = f"yes: none of the {len(docs)} documents is in the label store {opts.labels}"
    for t in opts.sweep:  # the same probabilities under other thresholds: a precision/recall curve
        preds[f"segmenter@{t:g}"] = [line_predictions(d.lines, p, t) for d, p in zip(docs, probas)]
    preds["keep-everything"] = [keep_everything(d) for d in docs]
    preds["lines-10-words"] = [long_lines(d) for d in docs]
    skipped = {}
    if not opts.justext:
        skipped["justext"] = "--no-justext"
    elif not justext_available():
        skipped["justext"] = 'not installed (pip install "segmenter[eval]" or pip install justext)'
        log(f"jusText is not installed; skipping that baseline ({skipped['justext']})")
    else:
        preds["justext"], failed = [], []
        for d in _progress(docs, len(docs), "jusText", opts.progress):
            try:
                preds["justext"].append(justext_lines(d.lines))
            except Exception as exc:  # a page jusText cannot parse counts as an empty prediction
                failed.append(f"{d.where} ({type(exc).__name__}: {exc})")
                preds["justext"].append(Prediction("", None))
        if failed:
            warnings.append(
                f"jusText failed on {len(failed)} documents, scored as empty predictions: "
                + "; ".join(failed[:3])
            )
    for w in warnings:
        log(f"WARNING: {w}")
    result = {
        "corpus": str(opts.corpus),
        "documents": len(docs),
        "limit": opts.limit,
        "spillover_only": opts.spillover_only,
        "model": model_info,
        "held_out": held,
        "warnings": warnings,
        "skipped": skipped,
        "bootstrap": {"resamples": opts.resamples, "seed": opts.seed},
        "system_names": {k: v for k, v in SYSTEM_NAMES.items() if k in preds},
        "standard": standard_figures(docs, preds, opts.resamples, opts.seed),
        "lines": line_figures(docs, preds),
        "calibration": calibration_figures(docs, probas),
    }
    if repeats is not None:
        result["repeats"] = repeats
    return _jsonable(result)


class ModelRunError(RuntimeError):
    """The model could not be run on this corpus."""


def _thresholds(value: str) -> list[float]:
    try:
        out = [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {value!r}") from None
    if not out or not all(0 <= t <= 1 for t in out):
        raise argparse.ArgumentTypeError(f"thresholds must lie in [0, 1], got {value!r}")
    return out


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m segmenter.evaluate",
        description=__doc__.split("\n\n", 2)[2].replace("``", "'"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "corpus",
        metavar="CORPUS",
        help="JSONL corpus, gzip if it ends in .gz: one object per line with 'text' and "
        "'truth' and/or per-line 'labels' / 'line_labels' (e.g. "
        "/work/shared/data/l3s_gn1.jsonl.gz)",
    )
    src = ap.add_mutually_exclusive_group()
    src.add_argument(
        "--model",
        metavar="PATH",
        help="a .joblib artifact written by segmenter.train (default: the shipped model)",
    )
    src.add_argument(
        "--cv",
        type=int,
        metavar="K",
        help="instead of a trained artifact, train K models on the label store (--labels), "
        "each without one group of its documents, and score every corpus document "
        "with a model that never saw it (held-out figures for a corpus the shipped "
        "model is trained on, e.g. WCXB); slow: K full trainings",
    )
    ap.add_argument(
        "--unverified",
        action="store_true",
        help="load a --model that has no .json beside it (an artifact built outside "
        "segmenter.train). A .joblib file is a pickle: loading it runs code; use "
        "this only for files you built or trust",
    )
    ap.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="R",
        help="with --cv: run the cross-validation R times, with seeds --seed, --seed+1, "
        "... (each draws other folds, unless the corpus fixes them, other inner folds "
        "and other perturbed training copies), and also report the model's figures per seed with their "
        "mean and standard deviation (the spread from which pages each model trained "
        "on); R times slower (default 1)",
    )
    ap.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="keep paragraphs with p(core-story) >= T, as `segmenter clean --threshold`; "
        "default: the model's own (with --cv: segmenter.train's default)",
    )
    ap.add_argument(
        "--sweep",
        type=_thresholds,
        default=(),
        metavar="T1,T2,...",
        help="also score the same model run at each of these p(core-story) thresholds "
        "(systems segmenter@T), e.g. to choose a threshold on held-out figures",
    )
    ap.add_argument(
        "--labels",
        default=str(DEFAULT_LABELS),
        metavar="DIR",
        help="label store: the training data for --cv, and without --cv what the corpus is "
        "checked against to warn when figures are not held-out (default: labels/ "
        "of this checkout)",
    )
    ap.add_argument(
        "--limit", type=int, metavar="N", help="evaluate only the first N documents (after --spillover-only)"
    )
    ap.add_argument(
        "--spillover-only",
        action="store_true",
        help="evaluate only pages flagged 'spillover' (other stories after the story)",
    )
    ap.add_argument("--json", metavar="OUT", help="also write every figure as JSON to OUT")
    ap.add_argument(
        "--record",
        metavar="MODEL_JSON",
        help="merge a summary of the held-out figures into a model's metadata, under "
        "'evaluations' -> corpus name (e.g. models/segmenter.json); refused for "
        "figures that are not held-out",
    )
    ap.add_argument(
        "--resamples",
        type=int,
        default=DEFAULT_RESAMPLES,
        metavar="B",
        help=f"bootstrap resamples for the ± standard deviation (default {DEFAULT_RESAMPLES})",
    )
    ap.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the bootstrap, and of the folds and training with --cv (default 0)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="J",
        help="processes for training the --cv fold models (default 1)",
    )
    ap.add_argument("--no-justext", action="store_true", help="skip the jusText baseline")
    ap.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar (one is shown on stderr only when it is a terminal)",
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be at least 1")
    if args.resamples < 2:
        ap.error("--resamples must be at least 2")
    if args.cv is not None and args.cv < 2:
        ap.error("--cv K needs K >= 2")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.repeats > 1 and args.cv is None:
        ap.error("--repeats needs --cv K: only cross-validation has fold seeds to repeat")
    if args.unverified and args.model is None:
        ap.error("--unverified needs --model PATH: the shipped model is always checked")
    opts = Options(
        corpus=args.corpus,
        model=args.model,
        threshold=args.threshold,
        cv=args.cv,
        labels=args.labels,
        limit=args.limit,
        spillover_only=args.spillover_only,
        resamples=args.resamples,
        seed=args.seed,
        jobs=args.jobs,
        justext=not args.no_justext,
        progress=sys.stderr.isatty() and not args.no_progress,
        sweep=tuple(args.sweep),
        repeats=args.repeats,
        unverified=args.unverified,
    )
    from .api import ModelError
    from .train import TrainingError

    try:
        result = evaluate(opts)
    except (EvaluationError, TrainingError, ModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ModelRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        sys.stdout.write(format_report(result) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        return 0
    if args.json:
        try:
            Path(args.json).write_text(
                json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            print(f"error: cannot write {args.json}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.record:
        try:
            record_summary(Path(args.record), result)
        except (EvaluationError, OSError, ValueError) as exc:
            print(f"error: cannot record into {args.record}: {exc}", file=sys.stderr)
            return 2
    return 0


def summarize(result: dict) -> dict:
    """The figures worth keeping beside a model: the standard metric per page subset and
    system (P, R, F1, F1 bootstrap std), how it was measured, the margin over jusText, and
    with --repeats the model's F1 per seed and its spread."""
    model = result.get("model", {})
    out: dict = {
        "corpus": Path(str(result.get("corpus", ""))).name,
        "documents": result.get("documents"),
        "scheme": (
            "grouped K-fold cross-validation over the label store: "
            + str(result.get("held_out", {}).get("summary", ""))
            if model.get("mode") == "cv"
            else f"artifact {str(model.get('sha256', ''))[:12]}, documents never trained on"
        ),
        "threshold": model.get("threshold"),
        "standard": {},
    }
    for subset, block in result.get("standard", {}).items():
        out["standard"][subset] = {
            name: {k: _rounded(v[k]) for k in ("precision", "recall", "f1", "f1_std") if k in v}
            for name, v in block.get("systems", {}).items()
        }
    cal = result.get("calibration")
    if cal and cal.get("lines"):
        out["calibration"] = {k: _rounded(cal[k]) for k in ("ece", "brier")} | {"lines": cal["lines"]}
    rep = result.get("repeats")
    if rep:
        out["repeats"] = {
            "seeds": rep["seeds"],
            "subsets": {
                key: {k: _rounded(b[k]) for k in ("f1", "f1_mean", "f1_sd", "precision_mean", "recall_mean")}
                for key, b in rep["subsets"].items()
                if b["documents"]
            },
        }
    allp = out["standard"].get("all", {})
    if allp.get("segmenter", {}).get("f1") is not None and allp.get("justext", {}).get("f1") is not None:
        out["f1_over_justext"] = round(allp["segmenter"]["f1"] - allp["justext"]["f1"], 4)
    return out


def _rounded(value):
    """A figure (or list of figures) to 4 places; None where it is undefined (NaN or None)."""
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), 4)


def record_summary(meta_path: Path, result: dict) -> None:
    """Merge :func:`summarize` into ``meta_path`` (temp file + rename, so never half-written)."""
    if not result.get("held_out", {}).get("held_out", False) and result.get("model", {}).get("mode") != "cv":
        raise EvaluationError(
            "these figures are not held-out (the model saw some of these documents); use --cv K"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    summary = summarize(result)
    meta.setdefault("evaluations", {})[summary["corpus"]] = summary
    tmp = meta_path.with_name(meta_path.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)


if __name__ == "__main__":
    raise SystemExit(main())
