"""Speed benchmark: segmenter against the trivial baseline and jusText, in one run.

    python bench/speed.py [--corpus ../shared/data/wcxb_dev_articles.jsonl.gz] [--docs 300]

Prints, for the same page texts (WCXB dev and the seeds):

* docs/s and paragraphs/s of ``segmenter.clean`` (one page at a time) and ``clean_many``,
  of the baseline "keep lines of >= 10 words" and of jusText (lines wrapped as <p>, as
  ``python -m segmenter.evaluate`` wraps them), and segmenter's ratios against jusText;
* where segmenter's time goes (segmentation, features, classifier);
* model load time in a process that has already imported scikit-learn, and peak RSS;
* time against document size, 1 KB to 1 MB pages built by concatenating distinct WCXB pages,
  with the per-KB cost, which stays flat when the growth is linear;
* the batch CLI (``segmenter clean --jsonl``) on the same pages: records/s with --jobs 1 and 2
  (wall time of the whole command, start-up and model loads included) and peak RSS;
* with ``--against REV``: ``clean_many`` and ``clean`` of this checkout against another
  commit's (its code and its model, from a temporary git worktree), alternated three times
  each in fresh processes on the same pages, with the ratio of the medians;
* with ``--stream 100000``: a streaming run of that many records (the WCXB pages repeated with
  distinct ids, fed on stdin, output to /dev/null) and the peak RSS of the parent and of each
  worker, which stay flat however long the stream (it takes a while: ~15 ms per page per core).

Figures are ratios measured in the same run on the same machine; absolute docs/s depend on
the machine (and on whatever else runs on it).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import segmenter  # noqa: E402
from segmenter.evaluate import justext_available, justext_lines  # noqa: E402


def load_pages(corpus: Path, n: int) -> list[str]:
    """The first ``n`` WCXB pages plus the five seeds."""
    pages = []
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(pages) >= n:
                break
            pages.append(json.loads(line)["text"])
    for seed in sorted((REPO / "seeds").glob("*.txt")):
        pages.append(seed.read_text(encoding="utf-8"))
    return pages


def timed(fn, repeats: int = 1) -> float:
    """Best wall-clock time of ``repeats`` calls (best-of damps noise from other processes)."""
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def keep_long_lines(text: str) -> str:
    return "\n".join(p.text for p in segmenter.segment(text) if len(p.text.split()) >= 10)


def run_justext(text: str) -> None:
    justext_lines([p.text for p in segmenter.segment(text)])


def load_time() -> float:
    """``load_model()`` in a fresh process that has already imported scikit-learn."""
    code = (
        "import time, sklearn.linear_model, sklearn.pipeline, sklearn.preprocessing, joblib, segmenter.api as a\n"
        "t = time.perf_counter(); a.load_model(); print(time.perf_counter() - t)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    return float(out.stdout.strip())


def _peak_rss_kb(pid: int) -> int:
    """VmHWM (peak RSS) of a live process, 0 once it is gone (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(c) for c in fh.read().split()]
    except OSError:
        return []


def run_batch_cli(args: list[str], feed=None) -> tuple[float, float, list[float]]:
    """Wall seconds of ``segmenter clean ARGS``, the peak RSS (MB) of the command and of each
    of its child processes (workers; sampled every 0.2 s from /proc, so Linux only). ``feed``
    writes the command's stdin, from a thread."""
    with tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "segmenter", "clean", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stderr=err,
            stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
        )
        if feed:

            def write():
                try:
                    feed(proc.stdin)
                finally:
                    proc.stdin.close()

            threading.Thread(target=write, daemon=True).start()
        parent, children = 0, {}
        while proc.poll() is None:
            parent = max(parent, _peak_rss_kb(proc.pid))
            for child in _children(proc.pid):
                children[child] = max(children.get(child, 0), _peak_rss_kb(child))
            time.sleep(0.2)
        secs = time.perf_counter() - t
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"segmenter clean {' '.join(args)} failed:\n{err.read().decode()}")
    workers = sorted((kb / 1024 for kb in children.values() if kb > 50_000), reverse=True)  # not
    return secs, parent / 1024, workers  # the small multiprocessing resource tracker


def batch_cli(pages: list[str], stream: int, stream_jobs: int, corpus: Path) -> None:
    print(
        f"\nbatch CLI: segmenter clean --jsonl, the same {len(pages)} pages (wall time of the "
        "command, start-up and model loads included)"
    )
    print(f"{'run':<32}{'seconds':>9}{'records/s':>11}{'parent MB':>11}{'workers MB':>14}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "pages.jsonl"
        src.write_text(
            "".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, t in enumerate(pages)),
            encoding="utf-8",
        )
        for jobs in (1, 2):
            secs, parent, workers = run_batch_cli(
                ["--jsonl", str(src), str(Path(tmp) / "out.jsonl"), "--jobs", str(jobs)]
            )
            shown = ", ".join(f"{w:.0f}" for w in workers) or "-"
            print(f"{f'--jobs {jobs}':<32}{secs:>9.2f}{len(pages) / secs:>11.1f}{parent:>11.0f}{shown:>14}")
    if not stream:
        print("(a streaming run of many records: --stream 100000)")
        return
    wcxb = load_pages(corpus, 10**9)[:-5]  # every WCXB page, without the seeds

    def feed(stdin) -> None:
        for i in range(stream):
            stdin.write((json.dumps({"id": f"s{i:07d}", "text": wcxb[i % len(wcxb)]}) + "\n").encode())

    secs, parent, workers = run_batch_cli(["--jsonl", "-", os.devnull, "--jobs", str(stream_jobs)], feed)
    shown = ", ".join(f"{w:.0f}" for w in workers) or "-"
    print(
        f"{f'stream {stream} --jobs {stream_jobs}':<32}{secs:>9.1f}{stream / secs:>11.1f}{parent:>11.0f}{shown:>14}"
    )
    print(f"(the {len(wcxb)} WCXB pages repeated, distinct ids, on stdin; output to {os.devnull})")


_TIMER = """
import json, sys, time
import segmenter
pages = json.load(open(sys.argv[1], encoding="utf-8"))
model = segmenter.load_model()
segmenter.clean(pages[0], model=model)
t = time.perf_counter(); list(segmenter.clean_many(pages, model=model)); many = time.perf_counter() - t
t = time.perf_counter(); [segmenter.clean(p, model=model) for p in pages]; one = time.perf_counter() - t
print(json.dumps({"clean_many": many, "clean": one}))
"""


def against(rev: str, pages: list[str], rounds: int = 3) -> None:
    """Time this checkout against ``rev`` (a commit of this repository), alternating fresh
    processes, each importing segmenter and loading the model from its own tree."""
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(other), rev], check=True
        )
        try:
            pages_file = Path(tmp) / "pages.json"
            pages_file.write_text(json.dumps(pages), encoding="utf-8")
            trees = {rev: other, "this checkout": REPO}
            runs: dict[str, list[dict]] = {name: [] for name in trees}
            for _ in range(rounds):
                for name, tree in trees.items():
                    out = subprocess.run(
                        [sys.executable, "-c", _TIMER, str(pages_file)],
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=tree,
                        env={**os.environ, "PYTHONPATH": str(tree)},
                    )
                    runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(other)], check=False)
    print(f"\nthis checkout against {rev}, {rounds} alternated runs each (median seconds):")
    for what in ("clean_many", "clean"):
        old = statistics.median(r[what] for r in runs[rev])
        new = statistics.median(r[what] for r in runs["this checkout"])
        print(f"  {what:<11} {rev} {old:.3f} s, this checkout {new:.3f} s: {new / old:.3f}x the time")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared" / "data" / "wcxb_dev_articles.jsonl.gz"
    )
    ap.add_argument("--docs", type=int, default=300, help="WCXB pages to time (default 300)")
    ap.add_argument("--repeats", type=int, default=2, help="take the best of this many runs (default 2)")
    ap.add_argument(
        "--stream",
        type=int,
        default=0,
        metavar="N",
        help="also stream N records through the batch CLI and print its peak RSS "
        "(e.g. 100000; takes a while)",
    )
    ap.add_argument(
        "--stream-jobs", type=int, default=2, metavar="J", help="--jobs of the streaming run (default 2)"
    )
    ap.add_argument(
        "--against",
        metavar="REV",
        help="only time clean_many and clean against commit REV, alternated (e.g. HEAD~1)",
    )
    args = ap.parse_args(argv)

    pages = load_pages(args.corpus, args.docs)
    if args.against:
        against(args.against, pages)
        return 0
    n_docs = len(pages)
    n_paras = sum(len(segmenter.segment(t)) for t in pages)
    model = segmenter.load_model()
    segmenter.clean(pages[0], model=model)  # warm up
    print(f"{n_docs} pages, {n_paras} paragraphs, {sum(map(len, pages)) / 1e6:.1f} M characters")

    rows = {
        "segmenter.clean (one page at a time)": timed(
            lambda: [segmenter.clean(t, model=model) for t in pages], args.repeats
        ),
        "segmenter.clean_many": timed(lambda: list(segmenter.clean_many(pages, model=model)), args.repeats),
        "keep lines >= 10 words": timed(lambda: [keep_long_lines(t) for t in pages], args.repeats),
    }
    if justext_available():
        rows["jusText (default settings)"] = timed(lambda: [run_justext(t) for t in pages], args.repeats)
    print(f"\n{'system':<40}{'docs/s':>10}{'paragraphs/s':>14}{'vs jusText':>12}")
    jt = rows.get("jusText (default settings)")
    for name, secs in rows.items():
        ratio = f"{jt / secs:.2f}x" if jt else "n/a"
        print(f"{name:<40}{n_docs / secs:>10.1f}{n_paras / secs:>14.0f}{ratio:>12}")
    if not jt:
        print("(jusText not installed: pip install '.[eval]')")

    # where the time goes
    feats, clf = model.named_steps["features"], model.named_steps["classifier"]
    t_seg = timed(lambda: [segmenter.segment(t) for t in pages])
    X = feats.transform(pages)
    t_feat = timed(lambda: feats.transform(pages))
    t_clf = timed(lambda: clf.predict_proba(X))
    total = t_feat + t_clf
    print(
        f"\nsegmenter time split (clean_many path): segmentation {t_seg:.2f} s (inside features), "
        f"features {t_feat:.2f} s ({100 * t_feat / total:.0f} %), classifier {t_clf:.2f} s ({100 * t_clf / total:.0f} %)"
    )

    loads = [load_time() for _ in range(3)]
    print(f"\nmodel load (scikit-learn already imported): median {statistics.median(loads):.3f} s of 3")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    # time against document size: distinct pages concatenated to 1 KB ... 1 MB
    print(f"\n{'doc size':>10}{'paragraphs':>12}{'seconds':>10}{'ms per KB':>11}")
    corpus_pages = pages[:-5]
    for size in (1_000, 10_000, 100_000, 1_000_000):
        parts, total_len, k = [], 0, 0
        while total_len < size:
            page = corpus_pages[k % len(corpus_pages)]
            parts.append(page)
            total_len += len(page) + 1
            k += 1
            if k > len(corpus_pages):  # all distinct pages used; repeats would be duplicates
                break
        doc = "\n".join(parts)[:size]
        secs = timed(lambda doc=doc: segmenter.clean(doc, model=model), 2 if size < 1_000_000 else 1)
        print(
            f"{len(doc) / 1000:>8.0f}KB{len(segmenter.segment(doc)):>12}{secs:>10.3f}{1e6 * secs / len(doc):>11.3f}"
        )
    batch_cli(pages, args.stream, args.stream_jobs, args.corpus)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
