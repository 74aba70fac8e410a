"""The batch mode of `segmenter clean` (--jsonl, --parquet) and segmenter.batch: every record
comes back, in order, with its fields and exactly segmenter.clean(text); bad records are named
by file:line and id, skipped or fatal; memory does not grow with the length of the stream."""

import gzip
import json
import os
import subprocess
import sys

import pytest
from conftest import REPO, SEEDS, read_records, read_seed, wcxb_records

import segmenter
from segmenter.batch import BatchError, clean_jsonl
from segmenter.labels import CORE

N_PAGES = 200


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "segmenter", *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=300,
    )


def write_jsonl(path, records):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for r in records:
            fh.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return path


@pytest.fixture(scope="module")
def pages():
    """The first N_PAGES WCXB pages, with extra fields of several kinds to be kept."""
    return [
        {
            "id": r["id"],
            "url": r["url"],
            "text": r["text"],
            "n": n,
            "meta": {"lines": len(r["line_labels"]), "tags": ["wcxb", None]},
        }
        for n, r in enumerate(wcxb_records(N_PAGES))
    ]


@pytest.fixture(scope="module")
def expected(pages, shipped_model):
    return [segmenter.clean(r["text"], model=shipped_model) for r in pages]


@pytest.mark.parametrize("jobs", [1, 2])
def test_jsonl_is_clean_record_by_record_in_order_with_every_field(tmp_path, pages, expected, jobs):
    src = write_jsonl(tmp_path / "in.jsonl.gz", pages)
    dst = tmp_path / "out.jsonl"
    res = run("clean", "--jsonl", src, dst, "--jobs", jobs)
    assert res.returncode == 0, res.stderr.decode()
    # no progress bar when stderr is not a terminal: the summary line only
    assert res.stderr.decode() == f"segmenter: {N_PAGES} records, 0 skipped\n"
    out = read_records(dst)
    assert [list(r) for r in out] == [list(p) + ["clean"] for p in pages]  # fields and their order
    assert out == [{**p, "clean": story} for p, story in zip(pages, expected)]


def test_stdin_to_stdout_and_gzip_output(tmp_path, pages, expected):
    data = "".join(json.dumps(p) + "\n" for p in pages[:20]).encode()
    res = run("clean", "--jsonl", "-", "-", "--on-error", "skip", stdin=data[:-1] + b"\n{oops\n")
    assert res.returncode == 0, res.stderr.decode()
    assert [json.loads(line)["clean"] for line in res.stdout.decode().splitlines()] == expected[:20]
    assert res.stderr.decode().splitlines() == [
        "segmenter: warning: <stdin>:21: not valid JSON (Expecting property name enclosed in double "
        "quotes, column 2); skipped",
        "segmenter: 21 records, 1 skipped",
    ]
    res = run("clean", "--jsonl", "-", tmp_path / "out.jsonl.gz", stdin=data)
    assert res.returncode == 0 and res.stdout == b""
    assert [r["clean"] for r in read_records(tmp_path / "out.jsonl.gz")] == expected[:20]


def test_threshold_and_labels_agree_with_clean(tmp_path, pages, shipped_model):
    sample = pages[:12]
    src = write_jsonl(tmp_path / "in.jsonl", sample)
    for threshold in (None, 0.3):
        dst = tmp_path / f"out{threshold}.jsonl"
        res = run(
            "clean",
            "--jsonl",
            src,
            dst,
            "--labels",
            *(["--threshold", threshold] if threshold is not None else []),
        )
        assert res.returncode == 0, res.stderr.decode()
        for page, r in zip(sample, read_records(dst), strict=True):
            assert r["clean"] == segmenter.clean(page["text"], model=shipped_model, threshold=threshold)
            paras = segmenter.segment(page["text"])
            assert len(r["labels"]) == len(paras)
            assert r["clean"] == "\n".join(p.text for p, lab in zip(paras, r["labels"]) if lab == CORE)
            if threshold is None:  # the most probable label, as classify gives it
                assert r["labels"] == list(segmenter.classify(page["text"], model=shipped_model)["label"])
    assert read_records(tmp_path / "out0.3.jsonl") != read_records(tmp_path / "outNone.jsonl")


def test_parquet_round_trip_is_clean_row_by_row(tmp_path, pages, expected):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    n = 100
    table = pa.table(
        {
            "id": [p["id"] for p in pages[:n]],
            "n": pa.array(range(n), pa.int32()),
            "page": pa.array([p["text"] for p in pages[:n]], pa.large_string()),
            "tags": [["a", str(i)] for i in range(n)],
        }
    )
    src, dst = tmp_path / "in.parquet", tmp_path / "out.parquet"
    pq.write_table(table, src, row_group_size=30)
    res = run("clean", "--parquet", src, dst, "--text-field", "page", "--labels", "--jobs", 2)
    assert res.returncode == 0, res.stderr.decode()
    out = pq.read_table(dst)
    assert out.column_names == ["id", "n", "page", "tags", "clean", "labels"]
    assert out.schema.field("n").type == pa.int32() and out.schema.field("page").type == pa.large_string()
    assert out.select(["id", "n", "page", "tags"]).equals(table)
    assert out.column("clean").to_pylist() == expected[:n]
    assert [len(labs) for labs in out.column("labels").to_pylist()] == [
        len(segmenter.segment(p["text"])) for p in pages[:n]
    ]


def test_parquet_null_text_is_a_bad_row(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    texts = [read_seed(SEEDS[0]), None, read_seed(SEEDS[1])]
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": texts}), tmp_path / "in.parquet")
    res = run("clean", "--parquet", tmp_path / "in.parquet", tmp_path / "out.parquet", "--on-error", "skip")
    assert res.returncode == 0, res.stderr.decode()
    assert f'{tmp_path / "in.parquet"}:row 2: id="b": "text" is null; skipped' in res.stderr.decode()
    assert pq.read_table(tmp_path / "out.parquet").column("id").to_pylist() == ["a", "c"]
    res = run("clean", "--parquet", tmp_path / "in.parquet", tmp_path / "out2.parquet")
    assert res.returncode == 2
    assert (
        res.stderr.decode().strip().splitlines()[-1]
        == f'segmenter: error: {tmp_path / "in.parquet"}:row 2: id="b": "text" is null'
    )
    assert pq.read_table(tmp_path / "out2.parquet").column("id").to_pylist() == ["a"]  # a valid file


def _bad_input(tmp_path):
    good = [{"id": f"g{i}", "text": read_seed(seed), "k": i} for i, seed in enumerate(SEEDS[:3])]
    lines = [
        good[0],
        '{"id": "x2", "text": }',
        good[1],
        {"id": "x4", "body": "no text"},
        {"id": 5, "text": 17},
        ["not", "an", "object"],
        "",
        good[2],
    ]
    return write_jsonl(tmp_path / "bad.jsonl", lines), good


def test_bad_records_are_named_by_line_and_id_and_skipped(tmp_path, shipped_model):
    src, good = _bad_input(tmp_path)
    res = run("clean", "--jsonl", src, tmp_path / "out.jsonl", "--on-error", "skip")
    assert res.returncode == 0, res.stderr.decode()
    err = res.stderr.decode().splitlines()
    assert err == [
        f"segmenter: warning: {src}:2: not valid JSON (Expecting value, column 22); skipped",
        f'segmenter: warning: {src}:4: id="x4": no "text" field; skipped',
        f'segmenter: warning: {src}:5: id=5: "text" is a number, not a string; skipped',
        f"segmenter: warning: {src}:6: not a JSON object (a list); skipped",
        "segmenter: 7 records, 4 skipped",
    ]  # the blank line 7 is no record
    assert read_records(tmp_path / "out.jsonl") == [
        {**g, "clean": segmenter.clean(g["text"], model=shipped_model)} for g in good
    ]


def test_a_bad_record_is_fatal_by_default_and_what_came_before_is_kept(tmp_path, shipped_model):
    src, good = _bad_input(tmp_path)
    dst = tmp_path / "out.jsonl.gz"
    res = run("clean", "--jsonl", src, dst)
    err = res.stderr.decode()
    assert res.returncode == 2 and "Traceback" not in err
    assert (
        err.strip().splitlines()[-1]
        == f"segmenter: error: {src}:2: not valid JSON (Expecting value, column 22)"
    )
    assert read_records(dst) == [{**good[0], "clean": segmenter.clean(good[0]["text"], model=shipped_model)}]


class _FailsOn:
    """The shipped model, except that a page with a paragraph ``BOOM`` makes it raise."""

    def __init__(self, model):
        self.model = model

    def predict_proba(self, docs):
        if any(p.text == "BOOM" for doc in docs for p in doc):
            raise RuntimeError("boom")
        return self.model.predict_proba(docs)


def test_a_page_whose_cleaning_raises_is_a_bad_record_and_only_it(tmp_path, shipped_model):
    pages = [{"id": i, "text": read_seed(seed)} for i, seed in enumerate(SEEDS)]
    pages[2]["text"] += "\nBOOM\n"
    src = write_jsonl(tmp_path / "in.jsonl", pages)
    reports = []
    stats = clean_jsonl(
        src, tmp_path / "out.jsonl", _FailsOn(shipped_model), on_error="skip", report=reports.append
    )
    assert (stats.records, stats.written, stats.skipped) == (5, 4, 1)
    assert reports == [f"{src}:3: id=2: cleaning failed (RuntimeError: boom)"]
    assert read_records(tmp_path / "out.jsonl") == [
        {**p, "clean": segmenter.clean(p["text"], model=shipped_model)} for p in pages if p["id"] != 2
    ]
    with pytest.raises(BatchError, match=f"^{src}:3: id=2: cleaning failed"):
        clean_jsonl(src, tmp_path / "out2.jsonl", _FailsOn(shipped_model))
    assert [r["id"] for r in read_records(tmp_path / "out2.jsonl")] == [0, 1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--jsonl", "a", "b", "c.txt"], "give FILE arguments or --jsonl IN OUT, not both"),
        (["--jsonl", "a", "b", "--parquet", "c", "d"], "give --jsonl or --parquet, not both"),
        (["--labels", "c.txt"], "--labels applies to --jsonl and --parquet only"),
        (["--jsonl", "a", "b", "--jobs", "-1"], "argument --jobs: must be 0 (one per core) or more"),
        (["--jsonl", "a", "b", "--on-error", "ignore"], "argument --on-error: invalid choice"),
    ],
    ids=["files-and-batch", "both-formats", "batch-flag-without-batch", "negative-jobs", "bad-on-error"],
)
def test_batch_flags_misused_are_a_usage_error(args, message):
    res = run("clean", *args)
    assert res.returncode == 2 and b"usage:" in res.stderr
    assert message in res.stderr.decode().strip().splitlines()[-1]


def test_missing_input_same_file_and_parquet_from_stdin_are_errors(tmp_path):
    res = run("clean", "--jsonl", tmp_path / "missing.jsonl", tmp_path / "out.jsonl")
    assert res.returncode == 2 and not (tmp_path / "out.jsonl").exists()
    assert res.stderr.decode() == f"segmenter: error: {tmp_path / 'missing.jsonl'}: no such file\n"
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": 1, "text": "x"}])
    res = run("clean", "--jsonl", src, src)
    assert res.returncode == 2 and "is the input file" in res.stderr.decode()
    assert read_records(src) == [{"id": 1, "text": "x"}]
    res = run("clean", "--parquet", "-", tmp_path / "out.parquet")
    assert res.returncode == 2 and "Parquet cannot be read from stdin" in res.stderr.decode()


_PEAK_RSS = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KB on Linux
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KB on Linux")
def test_memory_does_not_grow_with_the_stream(tmp_path):
    """N and 4N small pages (the first lines of the seeds), each carrying a 200 KB field to
    pass through: holding the stream would add > 90 MB; streaming holds one chunk."""
    heads = ["\n".join(read_seed(seed).splitlines()[:8]) for seed in SEEDS]

    def peak_rss_mb(n):
        src = tmp_path / f"in{n}.jsonl"
        with open(src, "w", encoding="utf-8") as fh:
            for i in range(n):
                blob = f"{i:08d}" * 25_000
                fh.write(json.dumps({"id": i, "text": heads[i % len(heads)], "blob": blob}) + "\n")
        res = subprocess.run(
            [
                sys.executable,
                "-c",
                _PEAK_RSS,
                sys.executable,
                "-m",
                "segmenter",
                "clean",
                "--jsonl",
                src,
                os.devnull,
            ],
            capture_output=True,
            cwd=REPO,
            timeout=300,
            check=True,
        )
        src.unlink()
        return int(res.stdout) / 1024

    small, large = peak_rss_mb(150), peak_rss_mb(600)
    assert large < 1.15 * small + 20, (small, large)
