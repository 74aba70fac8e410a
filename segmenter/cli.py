"""The ``segmenter`` command: clean or classify pages, and describe the model."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .api import ModelError


def _read(path: str) -> str:
    """The page text of a file, or of stdin for ``-``; offsets stay true (no newline translation)."""
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
        print(f"warning: {where} is not valid UTF-8 (byte {exc.start}); undecodable bytes replaced",
              file=sys.stderr)
        return data.decode("utf-8", errors="replace")


def _cmd_clean(args: argparse.Namespace) -> int:
    from .api import clean, load_model

    model = load_model(args.model)
    for i, path in enumerate(args.files):
        out = clean(_read(path), model=model, threshold=args.threshold)
        if i:
            sys.stdout.write("\n")
        sys.stdout.write(out + ("\n" if out else ""))
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    from .api import classify, load_model

    model = load_model(args.model)
    for path in args.files:
        df = classify(_read(path), model=model)
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
                [c for c in ("file", "index", "label", "proba", "text") if c in df.columns]]
            with pd.option_context("display.max_rows", None, "display.width", 200,
                                   "display.max_colwidth", 72):
                sys.stdout.write(view.to_string(index=False, float_format=lambda v: f"{v:.2f}") + "\n")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from .api import default_model_path, file_sha256

    path = Path(args.model) if args.model else default_model_path()
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.exists() else {}
    info = {"model": str(path), "sha256": file_sha256(path) if path.exists() else None,
            "sha256_recorded": meta.get("sha256"), "metadata": str(meta_path) if meta else None}
    if args.json:
        sys.stdout.write(json.dumps({**info, **meta}, indent=2) + "\n")
        return 0
    print(f"model:      {info['model']}")
    print(f"sha256:     {info['sha256']}" + ("" if info["sha256"] == info["sha256_recorded"]
                                             else f"  (recorded: {info['sha256_recorded']})"))
    if meta:
        print("versions:   " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
        td = meta["training_data"]
        print(f"trained on: {td['documents']} documents, {td['labelled_paragraphs']} labelled paragraphs")
        print("            " + ", ".join(f"{k} {v}" for k, v in td["labels"].items()))
        for s in td["sources"]:
            print(f"            {s['documents']} documents from {s['source']} ({s['license']})")
        print(f"label set:  sha256 {meta['label_set_sha256']}")
        from .train import format_metrics

        if meta.get("held_out_metrics"):
            print("held-out metrics:")
            print(format_metrics(meta["held_out_metrics"]))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import main as evaluate_main

    return evaluate_main((["--model", args.model] if args.model else []) + args.args)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="segmenter",
        description="Keep the story of scraped news text (one block per line); drop navigation, "
                    "promotions, duplicates and other stories.")
    ap.add_argument("--model", help="a trained .joblib artifact (default: the shipped model)")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    c = sub.add_parser("clean", help="print the core-story paragraphs of each file (or - for stdin)")
    c.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text file, or - for stdin")
    c.add_argument("--threshold", type=float, default=None,
                   help="keep paragraphs with p(core-story) >= T instead of the most probable label; "
                        "lower keeps more (recall), higher keeps less (precision)")
    c.set_defaults(func=_cmd_clean)
    k = sub.add_parser("classify", help="label every paragraph of each file")
    k.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text file, or - for stdin")
    k.add_argument("--format", choices=("table", "jsonl", "csv"), default="table",
                   help="output format (default: table)")
    k.set_defaults(func=_cmd_classify)
    i = sub.add_parser("info", help="model path, sha256, versions, training data, held-out metrics")
    i.add_argument("--json", action="store_true", help="print the model metadata as JSON")
    i.set_defaults(func=_cmd_info)
    # everything after `evaluate` goes, unparsed, to python -m segmenter.evaluate
    e = sub.add_parser("evaluate", add_help=False, prefix_chars="\0",
                       help="score the model and baselines on a labelled corpus "
                            "(python -m segmenter.evaluate; see `segmenter evaluate --help`)")
    e.add_argument("args", nargs="*")
    e.set_defaults(func=_cmd_evaluate)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FileNotFoundError as exc:
        print(f"segmenter: error: {exc.filename}: no such file", file=sys.stderr)
        return 2
    except (IsADirectoryError, PermissionError) as exc:
        print(f"segmenter: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except ModelError as exc:
        print(f"segmenter: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
