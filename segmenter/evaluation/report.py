"""How a run's figures are printed, and the summary kept beside a model."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..labels import CORE
from .corpus import EvaluationError
from .systems import SYSTEM_NAMES


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
    """A figure (or a list or dict of them, nested) to 4 places; None where it is undefined
    (NaN or None); strings and booleans as they are."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    if isinstance(value, (str, bool)):
        return value
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
