"""The commands' errors: bad flags, missing or unreadable files, undecodable input, bad
artifacts and bad JSONL lines give a one-line error naming the file (and line), a non-zero
exit, and never a traceback."""

import gzip
import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, SEEDS, gold_core, read_seed

SEED = SEEDS[3]
STORY = "\n".join(gold_core(SEED.name)) + "\n"


def run(*args, stdin=None, module="segmenter"):
    return subprocess.run(
        [sys.executable, "-m", module, *map(str, args)],
        input=stdin,
        capture_output=True,
        cwd=REPO,
        timeout=300,
    )


def one_line_error(res, *parts, code=2, prefix="segmenter: error: "):
    """The last stderr line is the error; there is no traceback; the exit code is ``code``."""
    err = res.stderr.decode("utf-8", "replace")
    assert res.returncode == code, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    last = err.strip().splitlines()[-1]
    assert prefix in last, err
    for part in parts:
        assert str(part) in last, f"{part!r} not in {last!r}"
    return last


# -- flags -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["clean", "--bogus", SEED], "unrecognized arguments: --bogus"),
        (["clean", "--threshold", "abc", SEED], "argument --threshold: not a number: 'abc'"),
        (["clean", "--threshold", "nan", SEED], "argument --threshold: must be a finite number"),
        (["classify", "--format", "xml", SEED], "argument --format: invalid choice: 'xml'"),
        (["clean", "--on-decode-error", "ignore", SEED], "argument --on-decode-error: invalid choice"),
        (["clean"], "the following arguments are required: FILE"),
        ([], "the following arguments are required: COMMAND"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
    ids=[
        "unknown-flag",
        "threshold-not-a-number",
        "threshold-nan",
        "bad-format",
        "bad-decode-choice",
        "no-file",
        "no-command",
        "unknown-command",
    ],
)
def test_bad_flags_are_a_usage_error(args, message):
    res = run(*args)
    one_line_error(res, message, prefix="error: ")
    assert b"usage:" in res.stderr and res.stdout == b""


# -- input files -------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["clean", "classify"])
def test_a_missing_file_is_one_line_naming_it(command):
    one_line_error(run(command, "no/such/file.txt"), "no/such/file.txt: no such file")


def test_a_missing_second_file_stops_after_the_first_with_an_error():
    res = run("clean", SEED, "missing.txt")
    one_line_error(res, "missing.txt: no such file")
    assert res.stdout.decode() == STORY  # what was done stays done


def test_a_folder_given_as_file_is_one_line_naming_it():
    one_line_error(run("clean", "seeds"), "seeds: Is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_one_line_naming_it(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("text")
    path.chmod(0)
    one_line_error(run("clean", path), f"{path}: Permission denied")


def _broken_page():
    raw = read_seed(SEED).encode("utf-8").split(b"\n")
    raw[2] = raw[2][:10] + b"\xff\xfe" + raw[2][10:]  # line 3, bytes 11-12 of the line
    return b"\n".join(raw)


def test_undecodable_bytes_are_replaced_with_a_one_line_warning_naming_file_and_line(tmp_path, shipped_model):
    import segmenter

    path = tmp_path / "page.txt"
    path.write_bytes(_broken_page())
    res = run("clean", path)
    assert res.returncode == 0
    err = res.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{path}:3: not valid UTF-8" in err and "column 11" in err and "replaced" in err
    story = segmenter.clean(_broken_page().decode("utf-8", "replace"), model=shipped_model)
    assert "\ufffd\ufffd" in story and res.stdout.decode() == story + "\n"  # the story, bad bytes replaced


@pytest.mark.parametrize("source", ["file", "stdin"])
def test_undecodable_input_can_be_refused_with_file_and_line(tmp_path, source):
    path = tmp_path / "page.txt"
    path.write_bytes(_broken_page())
    if source == "file":
        res = run("clean", "--on-decode-error", "fail", path)
        where = f"{path}:3"
    else:
        res = run("classify", "--on-decode-error", "fail", "-", stdin=_broken_page())
        where = "<stdin>:3"
    one_line_error(res, f"{where}: not valid UTF-8 (byte", "--on-decode-error replace")
    assert res.stdout == b""


def test_a_reader_that_goes_away_is_not_an_error():
    proc = subprocess.Popen(
        [sys.executable, "-m", "segmenter", "classify", "--format", "jsonl", SEED, SEED],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert err == ""


# -- model artifacts ---------------------------------------------------------------------------
@pytest.fixture
def model_copy(tmp_path):
    dst = tmp_path / "m.joblib"
    shutil.copy(REPO / "models" / "segmenter.joblib", dst)
    shutil.copy(REPO / "models" / "segmenter.json", dst.with_suffix(".json"))
    return dst


def test_a_missing_model_is_one_line():
    one_line_error(run("--model", "no/model.joblib", "clean", SEED), "no model at no/model.joblib")
    one_line_error(run("--model", "no/model.joblib", "info"), "no model at no/model.joblib")


def test_a_model_without_metadata_needs_unverified(model_copy):
    model_copy.with_suffix(".json").unlink()
    one_line_error(run("--model", model_copy, "clean", SEED), str(model_copy), "runs code", "--unverified")
    res = run("--model", model_copy, "--unverified", "clean", SEED)
    assert res.returncode == 0 and res.stdout.decode() == STORY
    info = run("--model", model_copy, "info")
    assert info.returncode == 0 and b"metadata:   none" in info.stdout


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: p.write_bytes(p.read_bytes() + b"\0"), "does not match"),
        (lambda p: p.with_suffix(".json").write_text("{oops"), "cannot read the model metadata"),
        (lambda p: p.with_suffix(".json").write_text(json.dumps({"sha256": "x"})), "does not match"),
    ],
    ids=["altered-artifact", "unreadable-metadata", "other-artifact's-metadata"],
)
def test_a_damaged_model_is_one_line(model_copy, damage, message):
    damage(model_copy)
    one_line_error(run("--model", model_copy, "classify", SEED), str(model_copy.with_suffix("")), message)
    one_line_error(run("--model", model_copy, "--unverified", "clean", SEED), message)


def test_a_file_that_is_not_a_model_is_one_line_even_when_unverified(tmp_path):
    junk = tmp_path / "junk.joblib"
    junk.write_bytes(b"\x80\x04not a pickle")
    one_line_error(run("--model", junk, "--unverified", "clean", SEED), f"{junk} cannot be loaded")


def test_info_on_metadata_without_model_fields_is_one_line(model_copy):
    from segmenter.api import file_sha256

    model_copy.with_suffix(".json").write_text(json.dumps({"sha256": file_sha256(model_copy)}))
    one_line_error(run("--model", model_copy, "info"), "lacks model metadata")


# -- JSONL input: python -m segmenter.importer ---------------------------------------------------
def _page(id_, text="Headline here\nThe body of the story.", labels=("other", "core")):
    return json.dumps({"id": id_, "url": f"https://x.test/{id_}", "text": text, "line_labels": list(labels)})


def _jsonl_gz(path, lines):
    with gzip.open(path, "wb") as fh:
        fh.write(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


BAD_LINES = [
    _page("p1"),
    b'{"id": "p2", "text": ',
    _page("p3"),
    b'{"id": "caf\xe9"}',
    _page("p4", labels=["core"]),
    b"[1, 2]",
    _page("p1"),
    _page("p5"),
]


def test_importer_stops_at_the_first_bad_line_naming_file_and_line(tmp_path):
    src = _jsonl_gz(tmp_path / "pages.jsonl.gz", BAD_LINES)
    res = run("wcxb", src, "--labels", tmp_path / "labels", module="segmenter.importer")
    one_line_error(res, f"{src}:2: not valid JSON", "nothing was imported", code=1, prefix="error: ")
    assert not (tmp_path / "labels").exists() or not list((tmp_path / "labels").glob("*.jsonl*"))


def test_importer_on_error_skip_reports_every_skipped_record_and_imports_the_rest(tmp_path):
    from segmenter.labelling.store import LabelStore

    src = _jsonl_gz(tmp_path / "pages.jsonl.gz", BAD_LINES)
    res = run("wcxb", src, "--labels", tmp_path / "labels", "--on-error", "skip", module="segmenter.importer")
    assert res.returncode == 0, res.stderr
    err = res.stderr.decode().strip().splitlines()
    expected = [
        ("2", "not valid JSON"),
        ("4", "not valid UTF-8"),
        ("5", "1 line labels for 2 lines"),
        ("6", "expected a JSON object"),
        ("7", "page id 'p1' already used at"),
    ]
    assert len(err) == len(expected), err
    for line, (lineno, what) in zip(err, expected):
        assert line.startswith(f"skipped {src}:{lineno}: ") and what in line, line
    assert b"skipped 5 bad records" in res.stdout
    assert sorted(LabelStore(tmp_path / "labels").documents()) == [
        "wcxb-dev/p1",
        "wcxb-dev/p3",
        "wcxb-dev/p5",
    ]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00damaged"), "cannot be read"),
        (lambda p: None, "no such file"),
        (lambda p: _jsonl_gz(p, [b"{bad"] * 3), "no usable pages (3 skipped)"),
    ],
    ids=["damaged-gzip", "missing", "nothing-usable"],
)
def test_importer_file_errors_are_one_line_and_keep_the_old_shard(tmp_path, make, message):
    from segmenter.labelling.store import LabelStore

    good = _jsonl_gz(tmp_path / "good.jsonl.gz", [_page("p1")])
    assert run("wcxb", good, "--labels", tmp_path / "labels", module="segmenter.importer").returncode == 0
    before = LabelStore(tmp_path / "labels").records()
    bad = tmp_path / "bad.jsonl.gz"
    make(bad)
    res = run("wcxb", bad, "--labels", tmp_path / "labels", "--on-error", "skip", module="segmenter.importer")
    one_line_error(res, str(bad), message, code=1, prefix="error: ")
    assert LabelStore(tmp_path / "labels").records() == before


def test_evaluate_takes_a_model_without_metadata_only_with_unverified(model_copy, tmp_path):
    model_copy.with_suffix(".json").unlink()
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"text": read_seed(SEED), "truth": STORY}) + "\n", encoding="utf-8")
    args = (str(corpus), "--no-justext", "--resamples", "10", "--no-progress")
    one_line_error(
        run("--model", model_copy, "evaluate", *args),
        str(model_copy),
        "runs code",
        "--unverified",
        prefix="error: ",
    )
    for res in (
        run("--model", model_copy, "--unverified", "evaluate", *args),
        run("--model", str(model_copy), "--unverified", *args, module="segmenter.evaluate"),
    ):
        assert res.returncode == 0, res.stderr.decode()
        assert "1.000 ± 0.000    1.000 ± 0.000    1.000 ± 0.000" in res.stdout.decode()
    res = run("--unverified", *args, module="segmenter.evaluate")
    assert res.returncode == 2 and b"--unverified needs --model PATH" in res.stderr


# -- bad input: thresholds, binary files, undecodable lines, empty input -------------------------
def in_process(capsys, *args, stdin=None, monkeypatch=None):
    """`segmenter ARGS` in this process (fast: the model loads once): (code, stdout, stderr)."""
    from segmenter.cli import main

    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    try:
        code = main(list(map(str, args)))
    except SystemExit as exc:  # argparse: a usage error
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", ["clean", "classify"])
@pytest.mark.parametrize("value", ["2", "-0.1", "1.01", "inf"])
def test_threshold_outside_0_1_is_refused_naming_the_flag(capsys, command, value):
    code, out, err = in_process(capsys, command, "--threshold", value, SEED)
    assert code == 2 and out == ""
    assert "argument --threshold:" in err.strip().splitlines()[-1]
    assert "[0, 1]" in err or "finite" in err


def test_threshold_at_the_ends_of_0_1_keeps_everything_or_the_surest(capsys, shipped_model):
    import segmenter

    text = read_seed(SEED)
    code, out, _ = in_process(capsys, "clean", "--threshold", "0", SEED)
    assert code == 0 and out == "\n".join(p.text for p in segmenter.segment(text)) + "\n"
    code, out, _ = in_process(capsys, "clean", "--threshold", "1", SEED)
    assert code == 0 and out.rstrip("\n") == segmenter.clean(text, model=shipped_model, threshold=1.0)


ELF = b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)) * 8


@pytest.mark.parametrize(
    "data, reason",
    [
        (ELF, "a binary file (it has NUL bytes)"),
        (b"\x01\x02\x03\x04 ab\x1b\x1c\x1d\x1e\x7f\n" * 50, "a binary file (69 % control bytes)"),
        ("A headline\nThe story.\n".encode("utf-16"), "UTF-16 text, not UTF-8; convert it first"),
    ],
    ids=["nul-bytes", "control-bytes", "utf-16"],
)
@pytest.mark.parametrize("command", ["clean", "classify"])
def test_a_binary_file_is_refused_naming_it(capsys, tmp_path, command, data, reason):
    path = tmp_path / "page.bin"
    path.write_bytes(data)
    code, out, err = in_process(capsys, command, path)
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith(f"segmenter: error: {path}: {reason}"), line


def test_text_with_a_few_control_characters_is_still_text(capsys, tmp_path):
    path = tmp_path / "page.txt"
    path.write_bytes(b"\x1b[1mBold headline\x1b[0m\n" + SEED.read_bytes())
    code, out, err = in_process(capsys, "clean", path)
    assert code == 0 and out and err == ""


def test_every_undecodable_line_is_counted_the_first_few_named(capsys, tmp_path):
    raw = read_seed(SEED).encode("utf-8").split(b"\n")
    bad = [2, 5, 6, 9, 11, 12, 14]  # lines (from 1) that get a Latin-1 byte
    for n in bad:
        raw[n - 1] = raw[n - 1] + b" caf\xe9"
    path = tmp_path / "page.txt"
    path.write_bytes(b"\n".join(raw))
    code, out, err = in_process(capsys, "clean", path)
    assert code == 0 and out
    (warning,) = err.strip().splitlines()
    assert warning.startswith(f"segmenter: warning: {path}:2: not valid UTF-8 (byte")
    assert "also lines 5, 6, 9, 11 and 2 more (7 lines in all); undecodable bytes replaced" in warning


@pytest.mark.parametrize("content", [b"", b"\n\n  \n\t\n"], ids=["no-bytes", "blank-lines"])
def test_an_empty_page_is_warned_about(capsys, tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    code, out, err = in_process(capsys, "clean", path)
    assert code == 0 and out == ""
    assert err.startswith(f"segmenter: warning: {path}: empty input (")
    code, out, err = in_process(capsys, "classify", path)
    assert code == 0 and out == f"{path}: no paragraphs\n" and "empty input" in err


def test_empty_stdin_a_folder_without_files_and_jsonl_without_records_are_warned_about(
    capsys, tmp_path, monkeypatch
):
    code, out, err = in_process(capsys, "clean", "-", stdin=b"", monkeypatch=monkeypatch)
    assert (code, out) == (0, "") and "segmenter: warning: <stdin>: empty input (no bytes)" in err
    (tmp_path / "none").mkdir()
    code, _, err = in_process(capsys, "clean", tmp_path / "none", "-o", tmp_path / "out")
    assert code == 0 and err.splitlines() == [
        f"segmenter: warning: {tmp_path / 'none'}: no files in this folder (hidden ones are left out)",
        "segmenter: 0 files, 0 skipped",
    ]
    (tmp_path / "in.jsonl").write_text("\n")
    code, _, err = in_process(capsys, "clean", "--jsonl", tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert code == 0 and f"segmenter: warning: {tmp_path / 'in.jsonl'}: no records (empty input)" in err
