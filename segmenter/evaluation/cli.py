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
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .corpus import CorpusDoc, EvaluationError, read_corpus
from .figures import calibration_figures, line_figures, repeat_figures, standard_figures
from .folds import cv_probabilities, store_overlap
from .report import _jsonable, format_report, record_summary
from .systems import (
    SYSTEM_NAMES,
    Prediction,
    _progress,
    justext_available,
    justext_lines,
    keep_everything,
    line_predictions,
    long_lines,
    model_predictions,
)

#: the label store of a source checkout (what the shipped model is trained on)
DEFAULT_LABELS = Path(__file__).resolve().parents[2] / "labels"
DEFAULT_RESAMPLES = 1000


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
        assert opts.cv, "repeats run cross-validations"
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
        from ..train import DEFAULT_THRESHOLD

        threshold: float | None = DEFAULT_THRESHOLD if opts.threshold is None else opts.threshold
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
        from ..api import default_model_path, default_threshold, file_sha256, load_model

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


PROG = "python -m segmenter.evaluate"
#: corpora of the shared data folder beside a source checkout, as the examples name them
EXAMPLES = """\
examples (from a source checkout; ../shared/data holds the corpora):
  {prog} ../shared/data/wcxb_dev_articles.jsonl.gz --cv 5 --jobs 2
                                      WCXB held out: the shipped model is trained on it
  {prog} ../shared/data/l3s_gn1.jsonl.gz --json l3s.json
                                      the shipped model on a corpus it never saw
  {prog} ../shared/data/wcxb_dev_articles.jsonl.gz --cv 5 --sweep 0.3,0.5,0.7
                                      held-out figures at other keep thresholds
  {prog} --model my.joblib ../shared/data/l3s_gn1.jsonl.gz --no-justext"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n", 2)[2].replace("``", "'"),
        epilog=EXAMPLES.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "corpus",
        metavar="CORPUS",
        help="JSONL corpus, gzip if it ends in .gz: one object per line with 'text' and "
        "'truth' and/or per-line 'labels' / 'line_labels' (e.g. "
        "../shared/data/l3s_gn1.jsonl.gz from a source checkout)",
    )
    ap.add_argument(
        "--suite",
        action="store_true",
        help="instead, run the evaluation suite: WCXB and Andy cross-validated, L3S-GN1 and "
        "Dragnet never trained on, 3 seeds, with baselines and an error breakdown "
        "(options: segmenter evaluate --suite --help)",
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


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """The command; ``prog`` names it in usage and examples (``segmenter evaluate`` when the
    segmenter command runs it)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--suite" in argv:  # every held-out measurement in one run: its own options
        from .suite import main as suite_main

        return suite_main([a for a in argv if a != "--suite"])
    ap = build_parser(prog)
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
    from ..api import ModelError
    from ..train import TrainingError

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
