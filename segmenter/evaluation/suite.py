"""The evaluation suite: every held-out measurement of the model in one run.

    segmenter evaluate --suite [--data ../shared/data] [--seeds 0 1 2] [--record models/segmenter.json]

Four corpora, each on all pages and on its heavy-spillover pages, beside the baselines of
the same run:

* WCXB and Andy (trained on): grouped K-fold cross-validation over the label store (one
  site per group), so every page is scored by a model that never saw its site;
* L3S-GN1 and Dragnet (never trained on): the model ``segmenter.train`` ships, trained on
  the whole label store.

Each figure is measured once per seed (fold seeds for the cross-validated corpora,
training seeds for the others) and reported as mean and spread (standard deviation over the
seeds). A model change ships when the suite's mean F1 rises by more than its spread and no
corpus falls by more than its own. With it, an error breakdown (:mod:`.errors`): which kind of
text the model keeps wrongly or loses, in words, and the worst pages.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..dataset import DEFAULT_AUGMENT_COPIES, DEFAULT_AUGMENT_RATE, Augmented, StoreFeatures, fit_pipeline
from ..decision import DEFAULT_THRESHOLD
from ..train import held_out_metrics
from . import metrics as M
from .cli import DEFAULT_LABELS
from .corpus import CorpusDoc, EvaluationError, read_corpus
from .errors import KINDS, error_breakdown
from .folds import cv_probabilities, match_store
from .report import _rounded
from .systems import (
    SYSTEM_NAMES,
    Prediction,
    justext_available,
    justext_lines,
    keep_everything,
    line_predictions,
    long_lines,
    model_predictions,
)

#: ``../shared/data`` beside this checkout
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
DEFAULT_SEEDS = (0, 1, 2)
SUBSETS = (("all", "all pages"), ("spillover_heavy", "heavy spillover"))
BASELINES = ("keep-everything", "lines-10-words", "justext")


@dataclass(frozen=True)
class SuiteCorpus:
    name: str
    file: str
    #: "cv": trained on, scored by cross-validation; "unseen": never trained on
    mode: str


CORPORA = (
    SuiteCorpus("wcxb", "wcxb_dev_articles.jsonl.gz", "cv"),
    SuiteCorpus("andy", "andy_news_dev.jsonl.gz", "cv"),
    SuiteCorpus("l3s-gn1", "l3s_gn1.jsonl.gz", "unseen"),
    SuiteCorpus("dragnet", "dragnet_eval.jsonl.gz", "unseen"),
)


@dataclass
class SuiteOptions:
    data: Path = DEFAULT_DATA
    labels: Path = DEFAULT_LABELS
    seeds: tuple[int, ...] = DEFAULT_SEEDS
    k: int = 5
    jobs: int = 1
    limit: int | None = None
    corpora: tuple[str, ...] = tuple(c.name for c in CORPORA)
    justext: bool = True
    progress: bool = False
    worst: int = 10
    models_out: Path | None = None  # write each seed's trained model here (for inspection)
    extra: dict = field(default_factory=dict)


def _scores(docs: Sequence[CorpusDoc], preds: Sequence[Prediction], mask: np.ndarray) -> dict:
    match = np.array([M.shingle_match(d.gold, p.text) for d, p in zip(docs, preds)], dtype=np.float64)
    return M.standard_scores(match.reshape(-1, 3)[mask])


def _page_f1(docs: Sequence[CorpusDoc], preds: Sequence[Prediction]) -> np.ndarray:
    match = np.array([M.shingle_match(d.gold, p.text) for d, p in zip(docs, preds)], dtype=np.float64)
    p, has_p, r, has_g = M.per_document(match.reshape(-1, 3))
    f1 = np.asarray(M._f1(p, r), dtype=np.float64)
    return np.where(has_g | has_p, f1, np.nan)


def _spread(values: Sequence[float]) -> dict:
    v = np.array(values, dtype=np.float64)
    return {
        "per_seed": v.tolist(),
        "mean": float(np.nanmean(v)) if len(v) else math.nan,
        "sd": float(np.nanstd(v, ddof=1)) if len(v) > 1 else math.nan,
    }


def _baselines(docs: Sequence[CorpusDoc], use_justext: bool, log: Callable[[str], None]) -> dict:
    out: dict[str, list[Prediction]] = {
        "keep-everything": [keep_everything(d) for d in docs],
        "lines-10-words": [long_lines(d) for d in docs],
    }
    if use_justext and justext_available():
        preds = []
        for d in docs:
            try:
                preds.append(justext_lines(d.lines))
            except Exception:  # a page jusText cannot parse counts as an empty prediction
                preds.append(Prediction("", None))
        out["justext"] = preds
    elif use_justext:
        log('jusText is not installed; skipping that baseline (pip install "segmenter[eval]")')
    return out


def run_suite(opts: SuiteOptions, log: Callable[[str], None] = print) -> dict:
    """Run the suite and return every figure (see :func:`format_suite`)."""
    t0 = time.time()
    unknown = set(opts.corpora) - {c.name for c in CORPORA}
    if unknown:
        raise EvaluationError(
            f"unknown suite corpus {sorted(unknown)}; choose from {[c.name for c in CORPORA]}"
        )
    chosen = [c for c in CORPORA if c.name in opts.corpora]
    docs: dict[str, list[CorpusDoc]] = {}
    for c in chosen:
        path = Path(opts.data) / c.file
        if not path.exists():
            raise EvaluationError(
                f"{path}: no such corpus file; pass --data DIR (the folder holding {c.file})"
            )
        docs[c.name] = read_corpus(path, opts.limit)
        log(f"{c.name}: {len(docs[c.name])} pages from {path}")
    store = StoreFeatures.read(opts.labels, progress=opts.progress)
    log(f"label store {opts.labels}: {len(store.data.docs)} documents")

    cv_names = [c.name for c in chosen if c.mode == "cv"]
    unseen_names = [c.name for c in chosen if c.mode == "unseen"]
    cv_docs = [d for name in cv_names for d in docs[name]]
    model_preds: dict[str, list[list[Prediction]]] = {name: [] for name in docs}
    cv_info: list[dict] = []
    fine_per_seed: list[dict] = []
    hits = match_store(cv_docs, store.data.docs)
    for seed in opts.seeds:
        if cv_docs:
            log(f"seed {seed}: {opts.k}-fold cross-validation for {', '.join(cv_names)}")
            probas, info = cv_probabilities(
                cv_docs, opts.labels, opts.k, seed, opts.jobs, opts.progress, log, store=store
            )
            cv_info.append(info)
            by_store: list[np.ndarray | None] = [None] * len(store.data.docs)
            for h, p in zip(hits, probas):
                if h is not None:
                    by_store[h] = p
            fine_per_seed.append(held_out_metrics(store.data, by_store, DEFAULT_THRESHOLD).get("fine", {}))
            preds = [line_predictions(d.lines, p, DEFAULT_THRESHOLD) for d, p in zip(cv_docs, probas)]
            start = 0
            for name in cv_names:
                model_preds[name].append(preds[start : start + len(docs[name])])
                start += len(docs[name])
        if unseen_names:
            log(f"seed {seed}: training on the whole label store for {', '.join(unseen_names)}")
            augmented = Augmented.build(store.data, DEFAULT_AUGMENT_COPIES, DEFAULT_AUGMENT_RATE, seed)
            pipe = fit_pipeline(store, augmented, seed, DEFAULT_THRESHOLD, opts.jobs)
            if opts.models_out is not None:
                import joblib

                Path(opts.models_out).mkdir(parents=True, exist_ok=True)
                joblib.dump(pipe, Path(opts.models_out) / f"suite-seed{seed}.joblib", compress=3)
            for name in unseen_names:
                preds, _ = model_predictions(docs[name], pipe, DEFAULT_THRESHOLD, opts.progress, log)
                model_preds[name].append(preds)

    result: dict = {
        "seeds": list(opts.seeds),
        "k": opts.k,
        "threshold": DEFAULT_THRESHOLD,
        "label_store": str(opts.labels),
        "label_set_sha256": cv_info[0]["label_set_sha256"] if cv_info else None,
        "system_names": {k: v for k, v in SYSTEM_NAMES.items()},
        "corpora": {},
    }
    for c in chosen:
        cdocs = docs[c.name]
        heavy = np.array([bool(d.spillover_heavy) for d in cdocs], dtype=bool)
        masks = {"all": np.ones(len(cdocs), dtype=bool), "spillover_heavy": heavy}
        base = _baselines(cdocs, opts.justext, log)
        block: dict = {
            "mode": c.mode,
            "scheme": f"grouped {opts.k}-fold by site, fold seeds {list(opts.seeds)}"
            if c.mode == "cv"
            else f"never trained on; training seeds {list(opts.seeds)}",
            "pages": len(cdocs),
            "subsets": {},
        }
        for key, title in SUBSETS:
            mask = masks[key]
            per_seed = [_scores(cdocs, preds, mask) for preds in model_preds[c.name]]
            sub: dict = {"title": title, "pages": int(mask.sum()), "segmenter": {}, "baselines": {}}
            for metric in ("precision", "recall", "f1"):
                sub["segmenter"][metric] = _spread([s[metric] for s in per_seed])
            for name, preds in base.items():
                s = _scores(cdocs, preds, mask)
                sub["baselines"][name] = {m: s[m] for m in ("precision", "recall", "f1")}
            block["subsets"][key] = sub
        first = model_preds[c.name][0]
        block["errors"] = error_breakdown(cdocs, first, _page_f1(cdocs, first), opts.worst)
        block["errors"]["seed"] = opts.seeds[0]
        result["corpora"][c.name] = block
    per_seed_mean = [
        float(
            np.mean([result["corpora"][n]["subsets"]["all"]["segmenter"]["f1"]["per_seed"][i] for n in docs])
        )
        for i in range(len(opts.seeds))
    ]
    result["suite_mean_f1"] = _spread(per_seed_mean)
    if any(fine_per_seed):
        result["fine_labels"] = _fine_figures(fine_per_seed)
    if "l3s-gn1" in docs:
        result["l3s_related_article"] = _class_lines(
            docs["l3s-gn1"], model_preds["l3s-gn1"], "related-article"
        )
    result["seconds"] = round(time.time() - t0, 1)
    return result


def _fine_figures(per_seed: Sequence[dict]) -> dict:
    """Per-class P/R/F1 on the finely labelled store pages, held out (each scored by the fold
    model that never saw it), with the spread over the seeds."""
    seeds = [m for m in per_seed if m]
    classes = list(seeds[0]["per_class"])
    return {
        "documents": seeds[0]["documents"],
        "paragraphs": seeds[0]["paragraphs"],
        "accuracy": _spread([m["accuracy"] for m in seeds]),
        "per_class": {
            c: {k: _spread([m["per_class"][c][k] for m in seeds]) for k in ("precision", "recall", "f1")}
            | {"support": seeds[0]["per_class"][c]["support"]}
            for c in classes
        },
        "confusion": seeds[0]["confusion"],
    }


def _class_lines(docs: Sequence[CorpusDoc], runs: Sequence[Sequence[Prediction]], cls: str) -> dict:
    """Line-level P/R/F1 of one class (e.g. related-article on L3S-GN1's human labels) per seed."""
    per_seed = []
    for preds in runs:
        gold: list[bool] = []
        pred: list[bool] = []
        for d, p in zip(docs, preds):
            if d.line_labels is None or p.labels is None:
                continue
            gold.extend(lab == cls for lab in d.line_labels)
            pred.extend(lab == cls for lab in p.labels)
        per_seed.append(M.line_prf(gold, pred))
    return {
        "class": cls,
        "support": per_seed[0]["support"] if per_seed else 0,
        **{k: _spread([m[k] for m in per_seed]) for k in ("precision", "recall", "f1")},
    }


# -- report ------------------------------------------------------------------------------
def _pm(block: dict) -> str:
    sd = block["sd"]
    return f"{block['mean']:.3f}" + (f" ± {sd:.3f}" if not math.isnan(sd) else "")


def format_suite(result: dict) -> str:
    """The suite as a reader wants it: one table of F1, then the error breakdown."""
    names = result["system_names"]
    lines = [
        f"Evaluation suite: seeds {result['seeds']}, threshold {result['threshold']}, "
        f"label store {result['label_store']} ({result['seconds']:.0f} s)",
        "",
        "F1 of the standard metric (word 4-shingles), held out; segmenter as mean ± sd over the seeds",
        f"{'corpus':<10}{'subset':<17}{'pages':>6}  {'segmenter':>15}{'P':>7}{'R':>7}"
        + "".join(f"{names[b][:14]:>16}" for b in BASELINES),
    ]
    for name, block in result["corpora"].items():
        for sub in block["subsets"].values():
            seg = sub["segmenter"]
            row = (
                f"{name:<10}{sub['title']:<17}{sub['pages']:>6}  {_pm(seg['f1']):>15}"
                f"{seg['precision']['mean']:>7.3f}{seg['recall']['mean']:>7.3f}"
            )
            for b in BASELINES:
                v = sub["baselines"].get(b)
                row += f"{v['f1']:>16.3f}" if v else f"{'—':>16}"
            lines.append(row)
    lines += ["", f"suite mean F1 over {len(result['corpora'])} corpora: {_pm(result['suite_mean_f1'])}", ""]
    lines.append(
        f"Errors by kind (seed {result['seeds'][0]}): share of all words wrongly kept or lost, "
        "words, and share per page (as the metric weighs pages)"
    )
    lines.append(f"{'corpus':<10}" + "".join(f"{k[:24]:>26}" for k in KINDS))
    for name, block in result["corpora"].items():
        e = block["errors"]
        per_page = e.get("share_per_page", {})
        lines.append(
            f"{name:<10}"
            + "".join(
                f"{e['share'][k]:>10.1%} {e['words'][k] / 1000:>5.0f}k {per_page.get(k, 0.0):>8.1%}"
                for k in KINDS
            )
        )
    fine = result.get("fine_labels")
    if fine:
        lines.append(
            f"\nFinely labelled store pages, held out ({fine['documents']} pages, {fine['paragraphs']} paragraphs): "
            f"accuracy {_pm(fine['accuracy'])}"
        )
        lines.append(f"  {'class':<16}{'precision':>16}{'recall':>16}{'F1':>16}{'support':>9}")
        for c, m in fine["per_class"].items():
            lines.append(
                f"  {c:<16}{_pm(m['precision']):>16}{_pm(m['recall']):>16}{_pm(m['f1']):>16}{m['support']:>9}"
            )
    rel = result.get("l3s_related_article")
    if rel:
        lines.append(
            f"\nL3S-GN1 related-article lines ({rel['support']:.0f}, human labels): "
            f"P {_pm(rel['precision'])}  R {_pm(rel['recall'])}  F1 {_pm(rel['f1'])}"
        )
    for name, block in result["corpora"].items():
        worst = block["errors"]["worst_pages"][:5]
        if worst:
            lines.append(f"\nworst pages of {name}:")
            for w in worst:
                lines.append(f"  F1 {w['f1']:.3f}  {w['costliest'] or '—':<24} {w['url'] or w['where']}")
    return "\n".join(lines)


def record_suite(meta_path: Path, result: dict) -> None:
    """Keep the suite's figures beside a model (its .json), under ``suite``."""
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    keep = {k: v for k, v in result.items() if k != "corpora"}
    keep["corpora"] = {
        name: {k: v for k, v in block.items() if k != "errors"}
        | {"errors": {k: v for k, v in block["errors"].items() if k != "worst_pages"}}
        for name, block in result["corpora"].items()
    }
    meta["suite"] = _rounded(keep)
    tmp = Path(str(meta_path) + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(meta_path)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="segmenter evaluate --suite",
        description=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  segmenter evaluate --suite --jobs 2 --record models/segmenter.json\n"
        "  segmenter evaluate --suite --corpora l3s-gn1 dragnet --seeds 0   # unseen corpora only, one seed\n"
        "  segmenter evaluate --suite --limit 50 --seeds 0 1               # a quick look",
    )
    ap.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"folder of the corpus files (default {DEFAULT_DATA})"
    )
    ap.add_argument(
        "--labels", type=Path, default=DEFAULT_LABELS, help="label store to train on (default: labels/)"
    )
    ap.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS), help="seeds (default 0 1 2)")
    ap.add_argument(
        "--cv", type=int, default=5, metavar="K", help="folds for the trained-on corpora (default 5)"
    )
    ap.add_argument("--jobs", type=int, default=1, metavar="J", help="processes for training (default 1)")
    ap.add_argument("--limit", type=int, metavar="N", help="only the first N pages of each corpus")
    ap.add_argument(
        "--corpora",
        nargs="+",
        default=[c.name for c in CORPORA],
        metavar="NAME",
        help=f"which corpora (default all: {' '.join(c.name for c in CORPORA)})",
    )
    ap.add_argument(
        "--worst", type=int, default=10, metavar="N", help="worst pages kept per corpus (default 10)"
    )
    ap.add_argument("--no-justext", action="store_true", help="skip the jusText baseline")
    ap.add_argument("--json", metavar="OUT", help="also write every figure as JSON to OUT")
    ap.add_argument(
        "--record", metavar="MODEL_JSON", help="keep the figures in a model's .json under 'suite'"
    )
    ap.add_argument(
        "--keep-models",
        type=Path,
        metavar="DIR",
        help="write each seed's model trained on the whole store to DIR/suite-seedN.joblib (for inspection)",
    )
    ap.add_argument("--no-progress", action="store_true", help="no progress bars")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.cv < 2:
        ap.error("--cv K needs K >= 2")
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.limit is not None and args.limit < 1:
        ap.error("--limit must be at least 1")
    opts = SuiteOptions(
        data=args.data,
        labels=args.labels,
        seeds=tuple(args.seeds),
        k=args.cv,
        jobs=args.jobs,
        limit=args.limit,
        corpora=tuple(args.corpora),
        justext=not args.no_justext,
        progress=sys.stderr.isatty() and not args.no_progress,
        worst=args.worst,
        models_out=args.keep_models,
    )
    from ..dataset import TrainingError

    try:
        result = run_suite(opts, log=lambda s: print(s, file=sys.stderr))
    except (EvaluationError, TrainingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_suite(result))
    if args.json:
        Path(args.json).write_text(
            json.dumps(_rounded(result), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    if args.record:
        try:
            record_suite(Path(args.record), result)
        except (OSError, ValueError) as exc:
            print(f"error: cannot record into {args.record}: {exc}", file=sys.stderr)
            return 2
    return 0
