"""The ``segmenter`` command: clean or classify pages, and describe the model."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

from .api import ModelError


class InputError(ValueError):
    """An input file cannot be used; the message names the file (and line)."""


def _read(path: str, on_decode_error: str = "replace") -> str:
    """The page text of a file, or of stdin for ``-``; offsets stay true (no newline translation).
    Bytes that are not UTF-8 are replaced with a warning naming file:line, or (``fail``) refused."""
    if path == "-":
        data = sys.stdin.buffer.read()
        where = "<stdin>"
    else:
        with open(path, "rb") as fh:
            data = fh.read()
        where = path
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        place = f"{where}:{line}: not valid UTF-8 (byte {exc.start}, column {col})"
        if on_decode_error == "fail":
            raise InputError(f"{place}; decode it first or pass --on-decode-error replace") from None
        print(f"segmenter: warning: {place}; undecodable bytes replaced", file=sys.stderr)
        return data.decode("utf-8", errors="replace")


def _load(args: argparse.Namespace):
    from .api import load_model

    return load_model(args.model, allow_unverified=args.unverified)


def _cmd_clean(args: argparse.Namespace) -> int:
    from .api import clean

    batch = [flag for flag, value in (("--jsonl", args.jsonl), ("--parquet", args.parquet)) if value]
    if len(batch) > 1:
        args.parser.error("give --jsonl or --parquet, not both")
    if batch and args.files:
        args.parser.error(f"give FILE arguments or {batch[0]} IN OUT, not both")
    if batch:
        return _cmd_clean_batch(args)
    if not args.files:
        args.parser.error("the following arguments are required: FILE (or --jsonl IN OUT, --parquet IN OUT)")
    given = [
        flag
        for flag, value in (
            ("--labels", args.labels),
            ("--jobs", args.jobs),
            ("--on-error", args.on_error),
            ("--text-field", args.text_field),
            ("--id-field", args.id_field),
        )
        if value not in (None, False)
    ]
    if given:
        args.parser.error(f"{given[0]} applies to --jsonl and --parquet only")
    model = _load(args)
    for i, path in enumerate(args.files):
        out = clean(_read(path, args.on_decode_error), model=model, threshold=args.threshold)
        if i:
            sys.stdout.write("\n")
        sys.stdout.write(out + ("\n" if out else ""))
    return 0


def _cmd_clean_batch(args: argparse.Namespace) -> int:
    from .batch import BatchError, clean_jsonl, clean_parquet

    run, (src, dst) = (clean_jsonl, args.jsonl) if args.jsonl else (clean_parquet, args.parquet)
    try:
        stats = run(
            src,
            dst,
            args.model,
            allow_unverified=args.unverified,
            threshold=args.threshold,
            labels=args.labels,
            text_field=args.text_field or "text",
            id_field=args.id_field or "id",
            jobs=1 if args.jobs is None else args.jobs,
            on_error=args.on_error or "fail",
        )
    except BatchError as exc:
        raise InputError(str(exc)) from None
    print(f"segmenter: {stats.records} records, {stats.skipped} skipped", file=sys.stderr)
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    from .api import classify

    model = _load(args)
    for path in args.files:
        df = classify(_read(path, args.on_decode_error), model=model, threshold=args.threshold)
        if len(args.files) > 1 or args.format != "table":
            df.insert(0, "file", path)
        if args.format == "jsonl":
            for rec in df.to_dict(orient="records"):
                sys.stdout.write(json.dumps(rec, ensure_ascii=False) + "\n")
        elif args.format == "csv":
            df.to_csv(sys.stdout, index=False, header=path == args.files[0])
        else:
            import pandas as pd

            view = df.assign(text=df["text"].str.slice(0, 70))[
                [c for c in ("file", "index", "label", "proba", "text") if c in df.columns]
            ]
            with pd.option_context(
                "display.max_rows", None, "display.width", 200, "display.max_colwidth", 72
            ):
                sys.stdout.write(view.to_string(index=False, float_format=lambda v: f"{v:.2f}") + "\n")
    return 0


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
        from .train import format_metrics

        if meta.get("held_out_metrics"):
            print("held-out metrics:")
            print(format_metrics(meta["held_out_metrics"]))


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation.cli import main as evaluate_main

    return evaluate_main(
        (["--model", args.model] if args.model else [])
        + (["--unverified"] if args.unverified else [])
        + args.args
    )


def _threshold(value: str) -> float:
    try:
        t = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not math.isfinite(t):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {value!r}")
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
        help="input that is not valid UTF-8: replace the bad bytes and warn with "
        "FILE:LINE (default), or stop with an error",
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="segmenter",
        description="Keep the story of scraped news text (one block per line); drop navigation, "
        "promotions, duplicates and other stories.",
    )
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
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser(
        "clean",
        help="print the core-story paragraphs of each file (or - for stdin); "
        "or clean JSONL/Parquet records in batch (--jsonl, --parquet)",
    )
    c.add_argument("files", nargs="*", metavar="FILE", help="UTF-8 text file, or - for stdin")
    c.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        help="keep paragraphs with p(core-story) >= T (default: the model's own, see "
        "`segmenter info`); lower keeps more (recall), higher keeps less (precision)",
    )
    _decode_option(c)
    b = c.add_argument_group(
        "batch mode",
        'Instead of FILEs: read records, write each with all its fields plus "clean" '
        "(segmenter.clean of its text, --threshold applied), in input order, streaming. The format is "
        "chosen by the flag, never guessed from the file name; IN and OUT may be - (stdin/stdout; "
        "Parquet input must be a file), and a JSONL name ending in .gz is gzip. A bad record (a "
        "line that is not UTF-8 JSON, no string text field, or cleaning fails) is reported as "
        'IN:LINE: id=ID: reason (Parquet: IN:row N). A summary line "N records, M skipped" '
        "ends on stderr; a progress bar shows on stderr when it is a terminal.",
    )
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
    b.add_argument(
        "--labels",
        action="store_true",
        help='also add "labels": one label per paragraph (non-blank line); core-story '
        "exactly for the paragraphs in clean",
    )
    b.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="worker processes, each loading the model once (default: 1; 0: one per core)",
    )
    b.add_argument(
        "--on-error",
        choices=("fail", "skip"),
        help="a bad record: stop with an error, exit 2, keeping the records written "
        "before it (fail, the default), or leave it out with a warning (skip)",
    )
    c.set_defaults(func=_cmd_clean, parser=c)
    k = sub.add_parser("classify", help="label every paragraph of each file")
    k.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text file, or - for stdin")
    k.add_argument(
        "--threshold",
        type=_threshold,
        default=None,
        help="label core-story where p(core-story) >= T (default: the model's own), "
        "so the labels match `clean --threshold T`",
    )
    k.add_argument(
        "--format", choices=("table", "jsonl", "csv"), default="table", help="output format (default: table)"
    )
    _decode_option(k)
    k.set_defaults(func=_cmd_classify)
    i = sub.add_parser("info", help="model path, sha256, versions, training data, held-out metrics")
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
