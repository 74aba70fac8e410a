"""Training benchmark: how long `python -m segmenter.train` takes without its held-out
measurement, where the time goes, and how the fit grows with the number of pages.

    python bench/train.py [--labels labels] [--jobs 2] [--scaling]

Prints the wall time of ``segmenter.train.train(cv=False)`` on the whole label store (the
artifact goes to a temporary folder, the shipped one is not touched), split into reading the
store, features and the fit; with ``--scaling`` also the fit alone on 25 %, 50 % and 100 % of
the documents, its cost per 100 000 training rows and its peak memory (numpy's arrays, as
``tracemalloc`` counts them), and what that implies for 20 000 pages.
Absolute seconds depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segmenter import train as T  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=REPO / "labels", help="label store (default labels/)")
    ap.add_argument("--jobs", type=int, default=2, help="threads for the independent fits (default 2)")
    ap.add_argument("--scaling", action="store_true", help="also fit on 25/50/100 %% of the documents")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = T.load_training_data(args.labels)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    X = T.featurize(data.texts)
    t_feat = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        T.train(args.labels, Path(tmp) / "m.joblib", cv=False, jobs=args.jobs, log=lambda s: None)
        t_all = time.perf_counter() - t0
    rows = sum(len(x) for x in X)
    print(f"label store: {len(data.docs)} documents, {rows} paragraphs; --jobs {args.jobs}\n")
    print(f"python -m segmenter.train --no-cv, end to end: {t_all:6.1f} s   (target <= 60 s)")
    print(f"  read the label store                       {t_load:6.1f} s")
    print(f"  features ({len(X)} documents)                {t_feat:6.1f} s")
    print(
        f"  the rest: fit (3 inner folds, final pass one, pass two), write {t_all - t_load - t_feat:6.1f} s"
    )

    if args.scaling:
        W = T.weights_for(data, T.DEFAULT_FINE_DOC_WEIGHT)
        augmented = T.Augmented.build(data, T.DEFAULT_AUGMENT_COPIES, T.DEFAULT_AUGMENT_RATE, 0)
        print("\nfit alone on part of the documents (the seeds always in):")
        print(f"{'documents':>10} {'paragraphs':>11} {'fit s':>7} {'s per 100k paragraphs':>22}")
        per = []
        for share in (0.25, 0.5, 1.0):
            docs = sorted(set(data.fine) | set(range(0, len(X), max(1, round(1 / share)))))
            n_rows = sum(len(X[i]) for i in docs)
            t0 = time.perf_counter()
            T.fit_classifier(*augmented.training_set(docs, X, data.labels, W), 0, jobs=args.jobs)
            took = time.perf_counter() - t0
            per.append(took / n_rows * 1e5)
            print(f"{len(docs):>10} {n_rows:>11} {took:>7.1f} {per[-1]:>22.1f}")
        # memory in a run of its own: tracing allocations slows the fit by 5-13 %
        tracemalloc.start()  # numpy reports its arrays to tracemalloc, so the peak counts them
        base = tracemalloc.get_traced_memory()[0]
        T.fit_classifier(*augmented.training_set(docs, X, data.labels, W), 0, jobs=args.jobs)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        per_row = peak / n_rows
        print(
            f"\nthe fit's peak memory on all {n_rows} paragraphs: {peak / 1e6:.0f} MB, "
            f"{per_row / 1e3:.2f} KB per paragraph (numpy's arrays, by tracemalloc; the features come on top)"
        )
        pages_rows = rows / len(X)
        print(
            f"\n20 000 pages of this kind are ~{20000 * pages_rows / 1e6:.1f} M paragraphs: at the "
            f"largest run's rate about {20000 * pages_rows / 1e5 * per[-1] / 60:.0f} min of fitting "
            f"(the solver's iterations grow slowly with rows) and {20000 * pages_rows * per_row / 1e9:.1f} GB "
            "at the fit's peak (above the features it is given)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
