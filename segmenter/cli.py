"""The ``segmenter`` command: clean or classify pages, and describe the model."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from . import __version__
from .api import ModelError
from .files import InputError, read_page
from .presets import TARGETS

__all__ = ["InputError", "build_parser", "main"]

MAIN_EXAMPLES = """\
examples:
  segmenter clean page.txt                       the story of one page, on stdout
  segmenter clean crawl/ -o clean/ --jobs 4      a folder: one output per file, same relative paths
  segmenter clean 'crawl/**/*.txt' -o clean/     a glob (quoted: segmenter expands it; ** recurses)
  segmenter clean -i files.txt --format jsonl    the files listed one per line; JSON lines with names
  segmenter clean --jsonl pages.jsonl.gz clean.jsonl.gz --jobs 0
  segmenter classify page.txt                    one label per paragraph
  segmenter info                                 the model, its training data, presets, metrics
  segmenter evaluate ../shared/data/l3s_gn1.jsonl.gz   held-out scores against baselines

`segmenter COMMAND --help` explains each command."""

CLEAN_EXAMPLES = """\
examples:
  segmenter clean page.txt                           one page (- reads stdin)
  segmenter clean crawl/ -o clean/ --jobs 2          crawl/a/b.txt -> clean/a/b.txt, 2 processes
  segmenter clean --input-dir crawl -o clean         the same, as trafilatura names it
  segmenter clean 'crawl/*/*.txt' -o clean/          crawl/x/p.txt -> clean/x/p.txt
  segmenter clean -i files.txt -o clean/ --on-error skip
                                                     listed files by name; bad ones left out
  segmenter clean crawl/ --format jsonl > out.jsonl  {"file": "crawl/a/b.txt", "clean": "..."}
  segmenter clean --precision page.txt               keep less, surer (see `segmenter info`)
  segmenter clean --threshold 0.3 page.txt           keep p(core-story) >= 0.3: more recall
  segmenter clean --jsonl pages.jsonl.gz out.jsonl.gz --jobs 0 --labels
  segmenter clean --parquet pages.parquet out.parquet --text-field body

Inputs: FILE is read as it is (- for stdin); DIR is every file under it (recursively, sorted;
hidden files left out); GLOB is expanded by segmenter ('**' recurses). With -o OUT each
input is written to OUT under the same relative path (a folder's files relative to it, a
glob's relative to the folder before its first wildcard, a FILE by its name), whole or not
at all; without -o the results go to stdout in input order. A file that cannot be used
(missing, unreadable, binary, or with --on-decode-error fail not UTF-8) stops the run
(exit 2, the outputs before it written) or, with --on-error skip, is left out with a
warning. A closing line "N files, M skipped" goes to stderr, with a progress bar (total
and ETA) when stderr is a terminal."""

BATCH_MODE = """\
Instead of files: read records, write each with all its fields plus "clean"
(segmenter.clean of its text, --threshold applied), in input order, streaming. The
format is chosen by the flag, never guessed from the file name; IN and OUT may be -
(stdin/stdout; Parquet input must be a file), and a JSONL name ending in .gz is gzip.
A bad record (a line that is not UTF-8 JSON, no string text field, or cleaning fails)
is reported as IN:LINE: id=ID: reason (Parquet: IN:row N). A summary line "N records,
M skipped" ends on stderr; a progress bar (with a total and an ETA when IN is a file)
shows on stderr when it is a terminal."""

CLASSIFY_EXAMPLES = """\
examples:
  segmenter classify page.txt                    a table cut to the terminal's width
  segmenter classify page.txt --format jsonl     every column, one JSON object per paragraph
  segmenter classify a.txt b.txt --format csv > labels.csv
  segmenter classify --threshold 0.3 page.txt    labels as `segmenter clean --threshold 0.3` keeps"""

INFO_EXAMPLES = """\
examples:
  segmenter info                                 the shipped model
  segmenter --model my.joblib info --json        another artifact's metadata as JSON"""


def _load(args: argparse.Namespace):
    from .api import load_model

    return load_model(args.model, allow_unverified=args.unverified)


def _verbosity(args: argparse.Namespace) -> int:
    return (getattr(args, "verbose", 0) or 0) - (getattr(args, "quiet", 0) or 0)


def _warner(args: argparse.Namespace):
    """Warnings on stderr (above a progress bar), none with -q."""
    if _verbosity(args) < 0:
        return lambda message: None

    def warn(message: str) -> None:
        from tqdm import tqdm

        tqdm.write(f"segmenter: warning: {message}", file=sys.stderr)

    return warn


def _info(args: argparse.Namespace, message: str) -> None:
    if _verbosity(args) > 0:
        print(f"segmenter: {message}", file=sys.stderr)


def _meta_path(args: argparse.Namespace) -> Path:
    from .api import default_model_path

    return (Path(args.model) if args.model else default_model_path()).with_suffix(".json")


def _chosen_threshold(args: argparse.Namespace) -> float | None:
    """--threshold T, or the threshold of --precision / --recall from the model's .json."""
    from .api import _read_meta
    from .presets import PRESETS, PresetError, preset

    for name in PRESETS:
        if getattr(args, name, False):
            path = _meta_path(args)
            try:
                t = preset(_read_meta(path) if path.exists() else {}, name)
            except PresetError as exc:
                raise ModelError(str(exc)) from None
            _info(args, f"--{name}: keeping p(core-story) >= {t:g} ({path})")
            return t
    return args.threshold


# -- clean ---------------------------------------------------------------------------------------
def _cmd_clean(args: argparse.Namespace) -> int:
    batch = [flag for flag, value in (("--jsonl", args.jsonl), ("--parquet", args.parquet)) if value]
    if len(batch) > 1:
        args.parser.error("give --jsonl or --parquet, not both")
    file_flags = [
        flag
        for flag, value in (
            ("FILE arguments", args.files),
            ("-i/--input-file", args.input_file),
            ("--input-dir", args.input_dir),
            ("-o/--output-dir", args.output_dir),
            ("--format", args.format),
        )
        if value
    ]
    if batch and file_flags:
        args.parser.error(f"give {file_flags[0]} or {batch[0]} IN OUT, not both")
    if batch:
        return _cmd_clean_batch(args)
    given = [
        flag for flag, value in (("--text-field", args.text_field), ("--id-field", args.id_field)) if value
    ]
    if given:
        args.parser.error(f"{given[0]} applies to --jsonl and --parquet only")
    if not (args.files or args.input_file or args.input_dir):
        args.parser.error(
            "the following arguments are required: FILE, DIR or GLOB "
            "(or -i LIST, --input-dir DIR, --jsonl IN OUT, --parquet IN OUT)"
        )
    fmt = args.format or "text"
    if args.output_dir is not None and args.format:
        args.parser.error("--format is for stdout; with -o OUT every output is a text file")
    if args.labels and fmt != "jsonl":
        args.parser.error("--labels applies to --jsonl and --parquet only, or to files with --format jsonl")
    return _cmd_clean_files(args, fmt)


def _cmd_clean_files(args: argparse.Namespace, fmt: str) -> int:
    from .batch import BatchError
    from .files import clean_files, collect

    warn = _warner(args)
    threshold = _chosen_threshold(args)
    inputs = collect(args.files, args.input_file, args.input_dir, args.output_dir, warn)
    if inputs.folders and args.output_dir is None and fmt == "text":
        raise InputError(
            f"{inputs.folders[0]}: Is a directory; to clean the files in it give -o OUT (one "
            "output file each) or --format jsonl (one JSON line each, with its file name)"
        )
    n = len(inputs.sources)
    kept = "the model's own threshold" if threshold is None else f"p(core-story) >= {threshold:g}"
    _info(
        args,
        f"{n} input file{'s' if n != 1 else ''}, to {args.output_dir or 'stdout'}; "
        f"model {args.model or 'shipped'}; keeping {kept}",
    )
    quiet = _verbosity(args) < 0
    try:
        stats = clean_files(
            inputs.sources,
            args.output_dir,
            args.model,
            fmt=fmt,
            allow_unverified=args.unverified,
            threshold=threshold,
            labels=args.labels,
            jobs=1 if args.jobs is None else args.jobs,
            on_error=args.on_error or "fail",
            on_decode_error=args.on_decode_error,
            progress=False if quiet else None,
            report=(lambda message: None) if quiet else None,
            warn=warn,
            verbose=_verbosity(args) > 0,
        )
    except BatchError as exc:
        raise InputError(str(exc)) from None
    if not inputs.single and not quiet:
        n = stats.records
        print(f"segmenter: {n} file{'s' if n != 1 else ''}, {stats.skipped} skipped", file=sys.stderr)
    return 0


def _cmd_clean_batch(args: argparse.Namespace) -> int:
    from .batch import BatchError, clean_jsonl, clean_parquet

    run, (src, dst) = (clean_jsonl, args.jsonl) if args.jsonl else (clean_parquet, args.parquet)
    quiet = _verbosity(args) < 0
    try:
        stats = run(
            src,
            dst,
            args.model,
            allow_unverified=args.unverified,
            threshold=_chosen_threshold(args),
            labels=args.labels,
            text_field=args.text_field or "text",
            id_field=args.id_field or "id",
            jobs=1 if args.jobs is None else args.jobs,
            on_error=args.on_error or "fail",
            progress=False if quiet else None,
            report=(lambda message: None) if quiet else None,
        )
    except BatchError as exc:
        raise InputError(str(exc)) from None
    if not stats.records:
        _warner(args)(f"{'<stdin>' if src == '-' else src}: no records (empty input)")
    if not quiet:
        print(f"segmenter: {stats.records} records, {stats.skipped} skipped", file=sys.stderr)
    return 0


# -- classify ------------------------------------------------------------------------------------
def _cmd_classify(args: argparse.Namespace) -> int:
    from .api import classify

    threshold = _chosen_threshold(args)
    model = _load(args)
    warn = _warner(args)
    for path in args.files:
        page = read_page(path, args.on_decode_error, warn, verbose=_verbosity(args) > 0)
        df = classify(page, model=model, threshold=threshold)
        if len(args.files) > 1 or args.format != "table":
            df.insert(0, "file", path)
        if args.format == "jsonl":
            for rec in df.to_dict(orient="records"):
                sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        elif args.format == "csv":
            df.to_csv(sys.stdout, index=False, header=path == args.files[0])
        else:
            sys.stdout.write(_table(df, path) + "\n")
    return 0


def _table(df, path: str) -> str:
    """The paragraphs as a table as wide as the terminal, each text cut with an ellipsis."""
    import shutil

    from .table import format_table

    if not len(df):
        return f"{'<stdin>' if path == '-' else path}: no paragraphs"
    columns = [c for c in ("file", "index", "label", "proba", "text") if c in df.columns]
    shown = {
        "proba": lambda v: f"{v:.2f}",
        "text": lambda v: " ".join(str(v).split()),  # a tab or other control space: one space
    }
    rows = [[shown.get(c, str)(r[c]) for c in columns] for r in df.to_dict(orient="records")]
    try:
        ellipsis = "…" if "…".encode(getattr(sys.stdout, "encoding", None) or "ascii") else "..."
    except (UnicodeEncodeError, LookupError):
        ellipsis = "..."
    width = shutil.get_terminal_size((100, 24)).columns
    return format_table(columns, rows, width, right=("index", "proba"), ellipsis=ellipsis)


# -- info ----------------------------------------------------------------------------------------
def _cmd_info(args: argparse.Namespace) -> int:
    from .api import _read_meta, default_model_path, file_sha256

    path = Path(args.model) if args.model else default_model_path()
    if not path.is_file():
        raise ModelError(f"no model at {path}; train one with `python -m segmenter.train`")
    meta_path = path.with_suffix(".json")
    meta = _read_meta(meta_path) if meta_path.exists() else {}
    info = {
        "model": str(path),
        "sha256": file_sha256(path) if path.exists() else None,
        "sha256_recorded": meta.get("sha256"),
        "metadata": str(meta_path) if meta else None,
    }
    if args.json:
        sys.stdout.write(json.dumps({**info, **meta}, indent=2) + "\n")
        return 0
    print(f"model:      {info['model']}")
    print(
        f"sha256:     {info['sha256']}"
        + ("" if info["sha256"] == info["sha256_recorded"] else f"  (recorded: {info['sha256_recorded']})")
    )
    if not meta:
        print(
            f"metadata:   none ({meta_path.name} is missing): the artifact cannot be verified; "
            "load it only with --unverified, and only if you built it or trust it"
        )
    try:
        _print_meta(meta)
    except (AttributeError, KeyError, TypeError) as exc:
        raise ModelError(
            f"{meta_path} lacks model metadata ({type(exc).__name__}: {exc}); "
            "restore it or retrain with `python -m segmenter.train`"
        ) from None
    return 0


def _print_meta(meta: dict) -> None:
    if meta:
        from .presets import describe

        print("versions:   " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
        td = meta["training_data"]
        print(f"trained on: {td['documents']} documents, {td['labelled_paragraphs']} labelled paragraphs")
        print("            " + ", ".join(f"{k} {v}" for k, v in td["labels"].items()))
        for s in td["sources"]:
            print(f"            {s['documents']} documents from {s['source']} ({s['license']})")
        print(f"label set:  sha256 {meta['label_set_sha256']}")
        if "threshold" in meta.get("params", {}):
            t = meta["params"]["threshold"]
            print(
                "keeps:      "
                + (
                    "the paragraphs whose most probable label is core-story"
                    if t is None
                    else f"paragraphs with p(core-story) >= {t:g} (clean --threshold overrides)"
                )
            )
        for k, line in enumerate(describe(meta)):
            print(("presets:    " if k == 0 else "            ") + line)
        from .train import format_metrics

        if meta.get("held_out_metrics"):
            print("held-out metrics:")
            print(format_metrics(meta["held_out_metrics"]))


# -- evaluate ------------------------------------------------------------------------------------
def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation.cli import main as evaluate_main

    return evaluate_main(
        (["--model", args.model] if args.model else [])
        + (["--unverified"] if args.unverified else [])
        + args.args,
        prog="segmenter evaluate",
    )


# -- the parser ----------------------------------------------------------------------------------
def _threshold(value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(t):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value!r}")
    if not 0 <= t <= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1] (a probability of core-story), got {value!r}")
    return t


def _jobs(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per core) or more, got {value!r}")
    return n


def _decode_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-decode-error",
        choices=("replace", "fail"),
        default="replace",
        help="input that is not valid UTF-8: replace the bad bytes and warn, naming the "
        "first lines as FILE:LINE and counting them all (default), or refuse the file",
    )


def _keep_options(parser: argparse.ArgumentParser, what: str) -> None:
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        metavar="T",
        help=f"{what} p(core-story) >= T, 0 <= T <= 1 (default: the model's own, see "
        "`segmenter info`); lower keeps more (recall), higher keeps less (precision)",
    )
    for name, less in (("precision", "lowest"), ("recall", "highest")):
        keep.add_argument(
            f"--{name}",
            action="store_true",
            help=f"the model's {name} preset: the {less} threshold that reached "
            f"{TARGETS[name]:g} {name} on held-out pages' story words in training "
            "(see `segmenter info`)",
        )


def _verbosity_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=default,
        help="errors only: no warnings, progress bar or closing summary",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="also say what is read and how it is kept, and name every undecodable line",
    )


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    ap = argparse.ArgumentParser(
        prog="segmenter",
        description="Keep the story of scraped news text (one block per line); drop navigation, "
        "promotions, duplicates and other stories.",
        epilog=MAIN_EXAMPLES,
        formatter_class=raw,
    )
    ap.add_argument("--version", action="version", version=f"segmenter {__version__}")
    ap.add_argument(
        "--model",
        help="a trained .joblib artifact (default: the shipped model); it is "
        "checked against the .json beside it before loading",
    )
    ap.add_argument(
        "--unverified",
        action="store_true",
        help="load a --model that has no .json beside it. A .joblib file is a pickle: "
        "loading it runs code; use this only for files you built or trust",
    )
    _verbosity_options(ap, 0)
    common = argparse.ArgumentParser(add_help=False)
    _verbosity_options(common, argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser(
        "clean",
        help="print or write the core-story paragraphs of files, folders, globs or lists "
        "of files; or clean JSONL/Parquet records in batch (--jsonl, --parquet)",
        description="Keep the core-story paragraphs of each page.",
        epilog=CLEAN_EXAMPLES,
        formatter_class=raw,
        parents=[common],
    )
    c.add_argument(
        "files",
        nargs="*",
        metavar="FILE|DIR|GLOB",
        help="UTF-8 text file (- for stdin), folder of them, or glob pattern",
    )
    c.add_argument(
        "-i",
        "--input-file",
        metavar="LIST",
        help="also clean the files listed in LIST, one path per line (# comments and blank "
        "lines skipped; - reads the list from stdin)",
    )
    c.add_argument("--input-dir", metavar="DIR", help="also clean every file under DIR (as a DIR argument)")
    c.add_argument(
        "-o",
        "--output-dir",
        metavar="OUT",
        help="write each result to OUT under the input's relative path, instead of stdout",
    )
    c.add_argument(
        "--format",
        choices=("text", "jsonl"),
        help="stdout: the stories, a blank line between files (text, the default), or "
        'one JSON line per file, {"file": ..., "clean": ...} (jsonl)',
    )
    _keep_options(c, "keep paragraphs with")
    _decode_option(c)
    c.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="worker processes, each loading the model once (default: 1; 0: one per core)",
    )
    c.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        help="a bad file or record: stop with an error, exit 2, keeping what was written "
        "before it (fail, the default), or leave it out with a warning (skip)",
    )
    c.add_argument(
        "--labels",
        action="store_true",
        help='also add "labels": one label per paragraph (non-blank line), core-story '
        "exactly for the paragraphs in clean (--jsonl, --parquet, --format jsonl)",
    )
    b = c.add_argument_group("batch mode", BATCH_MODE)
    b.add_argument("--jsonl", nargs=2, metavar=("IN", "OUT"), help="JSON Lines records in and out")
    b.add_argument(
        "--parquet",
        nargs=2,
        metavar=("IN", "OUT"),
        help="Parquet in and out, read and written batch by batch (needs pyarrow: "
        "pip install 'segmenter[parquet]'); adds a string column clean",
    )
    b.add_argument("--text-field", metavar="NAME", help="field holding the page text (default: text)")
    b.add_argument("--id-field", metavar="NAME", help="field naming the record in messages (default: id)")
    c.set_defaults(func=_cmd_clean, parser=c)
    k = sub.add_parser(
        "classify",
        help="label every paragraph of each file",
        description="One row per paragraph: its label (core-story exactly where `clean` keeps "
        "it) and probability.",
        epilog=CLASSIFY_EXAMPLES,
        formatter_class=raw,
        parents=[common],
    )
    k.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text file, or - for stdin")
    _keep_options(k, "label core-story where")
    k.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default="table",
        help="output format (default: table, as wide as the terminal)",
    )
    _decode_option(k)
    k.set_defaults(func=_cmd_classify)
    i = sub.add_parser(
        "info",
        help="model path, sha256, versions, training data, presets, held-out metrics",
        description="Describe the model: where it is, its sha256, the versions it was built "
        "with, its training data, its --precision/--recall presets and held-out metrics.",
        epilog=INFO_EXAMPLES,
        formatter_class=raw,
        parents=[common],
    )
    i.add_argument("--json", action="store_true", help="print the model metadata as JSON")
    i.set_defaults(func=_cmd_info)
    # everything after `evaluate` goes, unparsed, to python -m segmenter.evaluate
    e = sub.add_parser(
        "evaluate",
        add_help=False,
        prefix_chars="\0",
        help="score the model and baselines on a labelled corpus "
        "(python -m segmenter.evaluate; see `segmenter evaluate --help`)",
    )
    e.add_argument("args", nargs="*")
    e.set_defaults(func=_cmd_evaluate)
    return ap


def _error(message: str) -> int:
    print(f"segmenter: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (`| head`): stop quietly, and keep Python's exit-time flush
        # from complaining about the closed pipe
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
            pass
        return 0
    except FileNotFoundError as exc:
        return _error(f"{exc.filename}: no such file")
    except OSError as exc:  # a folder, no permission, an I/O error: name the file
        return _error(f"{exc.filename}: {exc.strerror}" if exc.filename else f"{exc.strerror or exc}")
    except (ModelError, InputError) as exc:
        return _error(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
