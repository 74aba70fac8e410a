"""The segmenter command on files and stdin, and its errors."""

import json
import subprocess
import sys

from conftest import REPO, SEEDS, gold_core, read_seed

SEED = SEEDS[3]


def run(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "segmenter", *args], input=stdin, capture_output=True, cwd=REPO
    )


def test_clean_file_prints_the_core_story():
    out = run("clean", str(SEED))
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "\n".join(gold_core(SEED.name)) + "\n"


def test_clean_reads_stdin_with_dash():
    out = run("clean", "-", stdin=read_seed(SEED).encode())
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "\n".join(gold_core(SEED.name)) + "\n"


def test_classify_jsonl_has_one_record_per_paragraph():
    out = run("classify", str(SEED), "--format", "jsonl")
    assert out.returncode == 0, out.stderr
    recs = [json.loads(line) for line in out.stdout.decode().splitlines()]
    import segmenter

    assert [r["text"] for r in recs] == [p.text for p in segmenter.segment(read_seed(SEED))]
    assert {"file", "index", "start", "end", "label", "proba", "p_core-story"} <= set(recs[0])


def test_classify_csv_and_table_formats():
    csv = run("classify", str(SEED), "--format", "csv")
    assert csv.returncode == 0 and csv.stdout.decode().splitlines()[0].startswith(
        "file,index,start,end,text,label"
    )
    table = run("classify", str(SEED))
    assert table.returncode == 0 and "core-story" in table.stdout.decode()


def test_info_names_model_hash_versions_and_metrics():
    out = run("info", "--json")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["sha256"] == info["sha256_recorded"]
    assert "scikit-learn" in info["versions"]
    assert info["training_data"]["documents"] > 5


def test_missing_file_is_a_one_line_error_with_nonzero_exit():
    out = run("clean", "no/such/file.txt")
    assert out.returncode != 0
    err = out.stderr.decode().strip()
    assert "no/such/file.txt" in err and len(err.splitlines()) == 1


def test_bad_flag_exits_nonzero_with_usage():
    out = run("clean", "--bogus", str(SEED))
    assert out.returncode == 2 and b"usage" in out.stderr


def test_help_explains_commands():
    out = run("--help")
    assert out.returncode == 0
    for cmd in (b"clean", b"classify", b"info"):
        assert cmd in out.stdout
