"""The standard extraction metric, its bootstrap spread, and line-level precision/recall.

The standard metric is the one of Scrapinghub's article-extraction-benchmark
(``evaluate.py`` there): per document, gold and prediction are split into ``\\w+`` tokens
and turned into multisets of word 4-shingles (a text of fewer than 4 tokens is one shorter
shingle, an empty text none). The overlap is TP, the prediction's surplus FP, the
shortfall FN, and the three are divided by their sum so that every document weighs the
same. Precision is averaged over the documents with a non-empty prediction, recall over
those with a non-empty gold, and F1 is the harmonic mean of the two averages.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

TOKEN = re.compile(r"\w+")
SHINGLE = 4


def tokens(text: str) -> list[str]:
    """``\\w+`` tokens, case kept (as in the reference implementation)."""
    return TOKEN.findall(text or "")


def shingles(text: str, n: int = SHINGLE) -> Counter:
    """Multiset of word ``n``-shingles; fewer than ``n`` tokens make one shorter shingle."""
    toks = tokens(text)
    if not toks:
        return Counter()
    return Counter(tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)))


def shingle_match(gold: str, pred: str, n: int = SHINGLE) -> tuple[float, float, float]:
    """(TP, FP, FN) of one document, divided by their sum (all 0 when both texts are empty)."""
    g, p = shingles(gold, n), shingles(pred, n)
    tp = sum((g & p).values())
    fp = sum((p - g).values())
    fn = sum((g - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def per_document(tp_fp_fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-document precision and recall with the masks of the documents they count for
    (non-empty prediction, non-empty gold); undefined entries are 0 and masked out."""
    a = np.asarray(tp_fp_fn, dtype=np.float64).reshape(-1, 3)
    tp, fp, fn = a[:, 0], a[:, 1], a[:, 2]
    has_pred, has_gold = tp + fp > 0, tp + fn > 0
    precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=has_pred)
    recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=has_gold)
    return precision, has_pred, recall, has_gold


def _f1(p, r):
    p, r = np.asarray(p, dtype=np.float64), np.asarray(r, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 2 * p * r / (p + r)
    return np.where((p + r) == 0, 0.0, f)


def standard_scores(tp_fp_fn: np.ndarray) -> dict:
    """Precision, recall and F1 of the standard metric (NaN where no document counts)."""
    precision, has_pred, recall, has_gold = per_document(tp_fp_fn)
    p = float(precision[has_pred].mean()) if has_pred.any() else math.nan
    r = float(recall[has_gold].mean()) if has_gold.any() else math.nan
    return {
        "precision": p,
        "recall": r,
        "f1": float(_f1(p, r)),
        "documents": int(len(precision)),
        "documents_with_prediction": int(has_pred.sum()),
        "documents_with_gold": int(has_gold.sum()),
    }


def bootstrap_std(
    tp_fp_fn: np.ndarray, resamples: int = 1000, seed: int = 0, max_cells: int = 4_000_000
) -> dict:
    """Standard deviation (ddof=1) of precision, recall and F1 over ``resamples`` bootstrap
    resamples of the documents. Deterministic for a given ``seed``; vectorised: each block
    of resamples is a matrix of multinomial document counts, so a resample's averages are
    two matrix products."""
    precision, has_pred, recall, has_gold = per_document(tp_fp_fn)
    n = len(precision)
    if n == 0 or resamples < 2:
        return {"precision": math.nan, "recall": math.nan, "f1": math.nan}
    rng = np.random.default_rng(seed)
    cols = np.stack([precision * has_pred, has_pred, recall * has_gold, has_gold], axis=1).astype(np.float64)
    block = max(1, min(resamples, max_cells // n))
    stats = []
    done = 0
    while done < resamples:
        b = min(block, resamples - done)
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)
        stats.append(counts @ cols)
        done += b
    s = np.vstack(stats)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s[:, 0] / s[:, 1]
        r = s[:, 2] / s[:, 3]
    f = _f1(p, r)
    return {k: _nanstd(v) for k, v in (("precision", p), ("recall", r), ("f1", f))}


def _nanstd(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1)) if len(v) > 1 else math.nan


def evaluate_texts(golds: Sequence[str], preds: Sequence[str], resamples: int = 1000, seed: int = 0) -> dict:
    """The standard metric with its bootstrap std for paired gold and predicted texts."""
    if len(golds) != len(preds):
        raise ValueError(f"{len(golds)} gold texts but {len(preds)} predictions")
    m = np.array([shingle_match(g, p) for g, p in zip(golds, preds)], dtype=np.float64).reshape(-1, 3)
    return summarize(m, resamples, seed)


def summarize(tp_fp_fn: np.ndarray, resamples: int = 1000, seed: int = 0) -> dict:
    out = standard_scores(tp_fp_fn)
    std = bootstrap_std(tp_fp_fn, resamples, seed)
    out.update({f"{k}_std": v for k, v in std.items()})
    return out


def line_prf(gold: Iterable[bool], pred: Iterable[bool], weights: Iterable[float] | None = None) -> dict:
    """Precision, recall and F1 of a binary line decision pooled over all lines (optionally
    weighted, e.g. by words), with the TP/FP/FN totals; 0 where undefined."""
    g = np.fromiter(gold, dtype=bool)
    p = np.fromiter(pred, dtype=bool)
    if len(g) != len(p):
        raise ValueError(f"{len(g)} gold lines but {len(p)} predicted")
    w = np.ones(len(g)) if weights is None else np.fromiter(weights, dtype=np.float64)
    tp, fp, fn = float(w[g & p].sum()), float(w[~g & p].sum()), float(w[g & ~p].sum())
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "support": tp + fn}


def calibration(probability: Iterable[float], outcome: Iterable[bool], bins: int = 10) -> dict:
    """How far predicted probabilities are from observed frequencies: the expected
    calibration error (ECE: per equal-width bin, |mean probability - share of positives|,
    weighted by the bin's share of the lines), the Brier score, and the bins themselves
    (a reliability table)."""
    p = np.fromiter(probability, dtype=np.float64)
    y = np.fromiter(outcome, dtype=bool).astype(np.float64)
    if len(p) != len(y):
        raise ValueError(f"{len(p)} probabilities but {len(y)} outcomes")
    if not len(p):
        return {"lines": 0, "ece": math.nan, "brier": math.nan, "bins": []}
    which = np.minimum((p * bins).astype(np.int64), bins - 1)
    count = np.bincount(which, minlength=bins)
    mean_p = np.bincount(which, weights=p, minlength=bins)
    positive = np.bincount(which, weights=y, minlength=bins)
    table = [
        {
            "from": k / bins,
            "to": (k + 1) / bins,
            "lines": int(count[k]),
            "mean_probability": float(mean_p[k] / count[k]),
            "observed": float(positive[k] / count[k]),
        }
        for k in range(bins)
        if count[k]
    ]
    ece = float(np.abs(mean_p - positive).sum() / len(p))
    return {"lines": int(len(p)), "ece": ece, "brier": float(((p - y) ** 2).mean()), "bins": table}
