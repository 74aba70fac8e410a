"""Folder benchmark: `segmenter clean DIR -o OUT --jobs J` on folders of page files, beside
`segmenter clean --jsonl` on the same pages, in one run.

    python bench/cli_files.py [--files 1000,4000] [--jobs 2]

The page files are the WCXB dev pages of the label store (labels/wcxb-dev.documents.jsonl.gz)
and the seeds, repeated in turn (file i is page i mod 798), 100 to a subfolder. For each
folder size it prints the wall time of the whole command (start-up and model loads
included), files/s, and the peak RSS of the command and of each worker; then the JSONL run
on the first folder's pages as the baseline, and the ratios: RSS at the largest folder
against the smallest (1.00 = flat) and files/s against the JSONL records/s. The target is
at most 300 MB per process, flat from 1 000 to 4 000 files.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from speed import run_batch_cli  # noqa: E402

TARGET_MB = 300


def page_texts() -> list[str]:
    """The WCXB dev pages of the label store, then the five seeds."""
    with gzip.open(REPO / "labels" / "wcxb-dev.documents.jsonl.gz", "rt", encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh if line.strip()]
    return texts + [p.read_text(encoding="utf-8") for p in sorted((REPO / "seeds").glob("*.txt"))]


def write_folder(root: Path, texts: list[str], n: int) -> Path:
    for i in range(n):
        path = root / f"d{i // 100:03d}" / f"p{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(texts[i % len(texts)], encoding="utf-8")
    return root


def row(name: str, n: int, secs: float, parent: float, workers: list[float]) -> None:
    shown = ", ".join(f"{w:.0f}" for w in workers) or "-"
    print(f"{name:<34}{n:>7}{secs:>9.1f}{n / secs:>9.1f}{parent:>11.0f}{shown:>14}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--files",
        default="1000,4000",
        help="folder sizes, comma-separated, smallest first (default 1000,4000)",
    )
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.files.split(","))
    texts = page_texts()
    print(
        f"{len(texts)} distinct pages ({sum(map(len, texts)) / len(texts) / 1000:.1f} K characters on "
        f"average), --jobs {args.jobs}; wall time of the command, start-up and model loads included"
    )
    print(f"{'run':<34}{'files':>7}{'seconds':>9}{'files/s':>9}{'parent MB':>11}{'workers MB':>14}")
    peaks: dict[int, float] = {}
    speed: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            folder = write_folder(Path(tmp) / f"pages{n}", texts, n)
            out = Path(tmp) / f"out{n}"
            secs, parent, workers = run_batch_cli([str(folder), "-o", str(out), "--jobs", str(args.jobs)])
            written = sum(1 for p in out.rglob("*.txt"))
            if written != n:
                raise SystemExit(f"{n} files in, {written} out")
            row(f"DIR -o OUT --jobs {args.jobs}", n, secs, parent, workers)
            peaks[n] = max([parent, *workers])
            speed[n] = n / secs
        n = sizes[0]
        src = Path(tmp) / "pages.jsonl"
        src.write_text(
            "".join(json.dumps({"id": i, "text": texts[i % len(texts)]}) + "\n" for i in range(n)),
            encoding="utf-8",
        )
        secs, parent, workers = run_batch_cli(
            ["--jsonl", str(src), str(Path(tmp) / "out.jsonl"), "--jobs", str(args.jobs)]
        )
        row(f"--jsonl IN OUT --jobs {args.jobs} (baseline)", n, secs, parent, workers)
        jsonl_peak, jsonl_speed = max([parent, *workers]), n / secs
    small, large = sizes[0], sizes[-1]
    print(
        f"\npeak RSS of any process: {peaks[large]:.0f} MB at {large} files, {peaks[small]:.0f} MB at "
        f"{small} (ratio {peaks[large] / peaks[small]:.2f}; 1.00 = flat); JSONL {jsonl_peak:.0f} MB; "
        f"target <= {TARGET_MB} MB: {'met' if max(peaks.values()) <= TARGET_MB else 'MISSED'}"
    )
    print(
        f"files/s against JSONL records/s on the same {small} pages: {speed[small] / jsonl_speed:.2f}x "
        f"({large} files: {speed[large] / jsonl_speed:.2f}x, start-up spread over more files)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
