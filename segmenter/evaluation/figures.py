"""The figures of one run: the standard metric per page subset and system, its spread
over repeated cross-validations, line-level P/R/F1 and calibration."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..labels import CLASSES, CORE
from . import metrics as M
from .corpus import CorpusDoc
from .systems import Prediction

SUBSETS = (
    ("all", "all pages", lambda d: True),
    ("spillover", "pages with spillover", lambda d: bool(d.spillover)),
    ("spillover_heavy", "pages with heavy spillover", lambda d: bool(d.spillover_heavy)),
    ("no_spillover", "pages without spillover", lambda d: d.spillover is False),
)


def _of_variant(variant: str) -> Callable[[CorpusDoc], bool]:
    return lambda d: d.variant == variant


def page_subsets(docs: Sequence[CorpusDoc]) -> list[tuple[str, str, np.ndarray]]:
    """(key, title, mask) of each page subset the figures are split into: all pages, the
    spillover subsets (when the corpus has the flags) and each constructed variant."""
    has_flags = any(d.spillover is not None for d in docs)
    subsets: list[tuple[str, str, Callable[[CorpusDoc], bool]]] = [
        s for s in SUBSETS if s[0] == "all" or has_flags
    ]
    for variant in sorted({d.variant for d in docs if d.variant is not None}):
        subsets.append(
            (
                f"variant_{variant}",
                f"constructed pages, variant {variant}",
                _of_variant(variant),
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
            gold: list[bool] = []
            pred: list[bool] = []
            words: list[int] = []
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
