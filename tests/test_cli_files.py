"""`segmenter clean` on folders, globs and lists of plain files: one output per input under
the same relative path, in parallel, with the --on-error policy, a progress bar with a
total and an ETA, and a closing "N files, M skipped" line; to stdout as text or JSON lines
that name each file."""

import json
import re

import pytest
from conftest import SEEDS, read_seed

import segmenter
from segmenter.cli import main
from segmenter.files import clean_files, collect


def clean_cli(capsys, *args):
    """Run `segmenter clean ARGS` in this process: (exit code, stdout, stderr)."""
    code = main(["clean", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def crawl(tmp_path):
    """A crawl folder: pages at two depths, a hidden file and a hidden folder."""
    root = tmp_path / "crawl"
    layout = {
        SEEDS[0]: "a.txt",
        SEEDS[1]: "news/2024/b.txt",
        SEEDS[2]: "news/c.txt",
        SEEDS[3]: "d.txt",
    }
    for seed, rel in layout.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(seed.read_bytes())
    (root / ".DS_Store").write_text("hidden")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main")
    return root, {rel: read_seed(seed) for seed, rel in layout.items()}


def story(text, model):
    out = segmenter.clean(text, model=model)
    return out + "\n" if out else ""


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_folder_is_cleaned_into_out_under_the_same_relative_paths(
    capsys, tmp_path, crawl, shipped_model, jobs
):
    root, pages = crawl
    out = tmp_path / "out"
    code, stdout, err = clean_cli(capsys, root, "-o", out, "--jobs", jobs)
    assert code == 0, err
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == sorted(pages)  # hidden files and folders left out
    for rel, text in pages.items():
        assert (out / rel).read_text(encoding="utf-8") == story(text, shipped_model)
    assert stdout == ""
    assert err.splitlines()[-1] == "segmenter: 4 files, 0 skipped"


def test_input_dir_glob_and_list_name_the_same_files_as_trafilatura_does(
    capsys, tmp_path, crawl, shipped_model
):
    root, pages = crawl
    code, _, err = clean_cli(capsys, "--input-dir", root, "-o", tmp_path / "by-dir")
    assert code == 0, err
    assert sorted(
        str(p.relative_to(tmp_path / "by-dir")) for p in (tmp_path / "by-dir").rglob("*.txt")
    ) == sorted(pages)
    # a glob: paths relative to the folder before its first wildcard; ** recurses
    code, _, err = clean_cli(capsys, f"{root}/news/**/*.txt", "-o", tmp_path / "by-glob")
    assert code == 0, err
    got = sorted(str(p.relative_to(tmp_path / "by-glob")) for p in (tmp_path / "by-glob").rglob("*.txt"))
    assert got == ["2024/b.txt", "c.txt"]
    # a list: one path per line, comments and blank lines skipped; each written by its name
    listing = tmp_path / "files.txt"
    listing.write_text(f"# pages to clean\n{root / 'a.txt'}\n\n{root / 'news' / '2024' / 'b.txt'}\n")
    code, _, err = clean_cli(capsys, "-i", listing, "-o", tmp_path / "by-list")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "by-list").iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "by-list" / "b.txt").read_text(encoding="utf-8") == story(
        pages["news/2024/b.txt"], shipped_model
    )
    assert err.splitlines()[-1] == "segmenter: 2 files, 0 skipped"


def test_two_inputs_for_one_output_and_an_output_over_its_input_are_refused_up_front(capsys, tmp_path, crawl):
    root, _ = crawl
    twin = tmp_path / "other" / "a.txt"
    twin.parent.mkdir()
    twin.write_text("A line of text.\n")
    out = tmp_path / "out"
    code, _, err = clean_cli(capsys, root / "a.txt", twin, "-o", out)
    assert code == 2 and f"{root / 'a.txt'} and {twin} would both be written to {out / 'a.txt'}" in err
    assert not out.exists()  # nothing done
    code, _, err = clean_cli(capsys, root / "a.txt", "-o", root)
    assert code == 2 and "would overwrite it" in err
    assert (root / "a.txt").read_bytes() == SEEDS[0].read_bytes()


def test_the_output_folder_inside_the_input_folder_is_not_read_again(capsys, crawl):
    root, pages = crawl
    assert clean_cli(capsys, root, "-o", root / "clean")[0] == 0
    code, _, err = clean_cli(capsys, root, "-o", root / "clean")  # a second run over the same tree
    assert code == 0 and err.splitlines()[-1] == f"segmenter: {len(pages)} files, 0 skipped"
    assert not (root / "clean" / "clean").exists()


def test_jsonl_to_stdout_names_each_file_in_input_order(capsys, crawl, shipped_model):
    root, pages = crawl
    code, out, err = clean_cli(capsys, root, "--format", "jsonl", "--labels", "--jobs", "1")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    order = ["a.txt", "d.txt", "news/c.txt", "news/2024/b.txt"]  # a folder's files, then its folders
    assert [r["file"] for r in records] == [str(root / rel) for rel in order]
    for r, rel in zip(records, order):
        assert r["clean"] == segmenter.clean(pages[rel], model=shipped_model)
        kept = [lab == "core-story" for lab in r["labels"]]
        assert [p.text for p, k in zip(segmenter.segment(pages[rel]), kept) if k] == r["clean"].split("\n")


def test_several_files_to_stdout_as_text_stay_separated_by_a_blank_line(capsys, shipped_model):
    code, out, err = clean_cli(capsys, SEEDS[0], SEEDS[1])
    assert code == 0
    assert out == story(read_seed(SEEDS[0]), shipped_model) + "\n" + story(read_seed(SEEDS[1]), shipped_model)
    assert err == "segmenter: 2 files, 0 skipped\n"
    code, out, err = clean_cli(capsys, SEEDS[0])  # one file: its story, nothing else
    assert (code, err) == (0, "") and out == story(read_seed(SEEDS[0]), shipped_model)


def test_a_folder_to_stdout_as_text_is_refused_with_the_fix(capsys, crawl):
    root, _ = crawl
    code, out, err = clean_cli(capsys, root)
    assert code == 2 and out == ""
    assert f"{root}: Is a directory" in err and "-o OUT" in err and "--format jsonl" in err


@pytest.fixture
def bad_crawl(tmp_path):
    root = tmp_path / "crawl"
    root.mkdir()
    (root / "1-good.txt").write_bytes(SEEDS[0].read_bytes())
    (root / "2-elf.bin").write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 4)
    (root / "3-good.txt").write_bytes(SEEDS[1].read_bytes())
    return root


def test_a_bad_file_stops_the_run_naming_it_and_keeps_what_came_before(capsys, tmp_path, bad_crawl):
    out = tmp_path / "out"
    code, _, err = clean_cli(capsys, bad_crawl, "-o", out)
    assert code == 2
    assert (
        err.strip().splitlines()[-1].startswith(f"segmenter: error: {bad_crawl / '2-elf.bin'}: a binary file")
    )
    assert sorted(p.name for p in out.iterdir()) == ["1-good.txt"]


def test_on_error_skip_leaves_bad_files_out_with_a_warning_and_counts_them(capsys, tmp_path, bad_crawl):
    listing = tmp_path / "files.txt"
    listing.write_text(f"{bad_crawl}\n{tmp_path / 'gone.txt'}\n")
    out = tmp_path / "out"
    code, _, err = clean_cli(capsys, "-i", listing, "-o", out, "--on-error", "skip")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[-1] == "segmenter: 4 files, 2 skipped"
    assert any(f"{bad_crawl / '2-elf.bin'}: a binary file" in x and x.endswith("; skipped") for x in lines)
    assert f"segmenter: warning: {tmp_path / 'gone.txt'}: no such file; skipped" in lines
    assert sorted(p.name for p in out.iterdir()) == ["1-good.txt", "3-good.txt"]


def test_the_progress_bar_has_a_total_and_an_eta(capsys, crawl, tmp_path, shipped_model):
    root, pages = crawl
    stats = clean_files(collect([str(root)]).sources, tmp_path / "out", shipped_model, progress=True)
    err = capsys.readouterr().err
    assert stats.records == len(pages)
    final = err.split("\r")[-1]
    assert re.search(rf"\b{len(pages)}/{len(pages)} \[\d\d:\d\d<\d\d:\d\d", final), (
        final
    )  # total, elapsed<ETA
    assert "file/s" in final


def test_the_jsonl_progress_bar_has_a_total_and_an_eta_too(capsys, tmp_path, shipped_model):
    from segmenter.batch import clean_jsonl

    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "text": read_seed(s)}) + "\n" for i, s in enumerate(SEEDS)))
    clean_jsonl(src, tmp_path / "out.jsonl", shipped_model, progress=True)
    final = capsys.readouterr().err.split("\r")[-1]
    assert re.search(rf"\b{len(SEEDS)}/{len(SEEDS)} \[\d\d:\d\d<\d\d:\d\d", final), final


def test_quiet_prints_errors_only_and_verbose_names_every_undecodable_line(capsys, tmp_path):
    page = tmp_path / "latin1.txt"
    page.write_bytes(b"".join(b"line %d caf\xe9 au lait\n" % n for n in range(1, 9)))
    code, out, err = clean_cli(capsys, "-q", page, SEEDS[0])
    assert code == 0 and out and err == ""
    code, _, err = clean_cli(capsys, "-v", page, SEEDS[0])
    assert code == 0
    warning = next(line for line in err.splitlines() if "not valid UTF-8" in line)
    assert "also lines 2, 3, 4, 5, 6, 7, 8 (8 lines in all)" in warning
    assert "2 input files, to stdout" in err
    code = main(["-q", "clean", "missing.txt"])
    assert code == 2 and "missing.txt: no such file" in capsys.readouterr().err  # -q keeps the errors
