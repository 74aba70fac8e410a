"""The small things a new user meets first: --version, help texts whose examples run,
`evaluate`'s help true to how it was called, and a classify table that fits the terminal."""

import re
import shlex

import pytest
from conftest import REPO, SEEDS, WCXB_DATA, read_seed

import segmenter
from segmenter.cli import build_parser, main
from segmenter.evaluation import cli as evaluate_cli
from segmenter.table import cut, display_width


def cli(capsys, *args):
    try:
        code = main(list(map(str, args)))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_version_prints_the_package_version(capsys):
    assert cli(capsys, "--version") == (0, f"segmenter {segmenter.__version__}\n", "")


def _examples(help_text: str) -> list[str]:
    """The commands of a help text's examples: after "examples:", the lines that start with
    the program, up to the description two spaces after the command."""
    section = help_text.split("examples:", 1)[1]
    return [
        re.split(r"\s{2,}", line.strip())[0]
        for line in section.splitlines()
        if line.startswith("  segmenter ")
    ]


@pytest.mark.parametrize(
    "command", [[], ["clean"], ["classify"], ["info"]], ids=["segmenter", "clean", "classify", "info"]
)
def test_every_help_has_examples_that_parse(capsys, command):
    code, out, _ = cli(capsys, *command, "--help")
    assert code == 0 and "examples:" in out
    examples = _examples(out)
    assert len(examples) >= 2, out
    for example in examples:
        argv = shlex.split(example.split(" > ")[0])[1:]  # the shell's redirection is not an argument
        if argv and argv[0] == "evaluate":
            continue  # its own parser: see the evaluate tests below
        build_parser().parse_args(argv)  # a usage error raises SystemExit


@pytest.mark.parametrize(
    "run, prog",
    [
        (lambda: main(["evaluate", "--help"]), "segmenter evaluate"),
        (lambda: evaluate_cli.main(["--help"]), "python -m segmenter.evaluate"),
    ],
    ids=["segmenter-evaluate", "python-m"],
)
def test_evaluate_help_names_the_program_as_it_was_called(capsys, run, prog):
    with pytest.raises(SystemExit) as exc:
        run()
    out = capsys.readouterr().out
    assert exc.value.code == 0 and out.startswith(f"usage: {prog} ")
    examples = [
        line.strip() for line in out.split("examples", 1)[1].splitlines() if line.strip().startswith(prog)
    ]
    assert len(examples) >= 3
    other = "python -m segmenter.evaluate" if prog == "segmenter evaluate" else "segmenter evaluate"
    assert other not in out.split("examples", 1)[1]
    for example in examples:
        evaluate_cli.build_parser(prog).parse_args(shlex.split(example[len(prog) :]))


@pytest.mark.skipif(not WCXB_DATA.exists(), reason="the shared data folder is not beside this checkout")
def test_evaluate_help_names_corpora_that_exist_from_a_checkout(capsys):
    with pytest.raises(SystemExit):
        evaluate_cli.main(["--help"])
    with pytest.raises(SystemExit):
        main(["--help"])  # its evaluate example too
    paths = set(re.findall(r"\S*shared/data/\S+\.jsonl\.gz", capsys.readouterr().out))
    assert paths, "the help names no corpus"
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing


# -- classify --format table --------------------------------------------------------------------
def test_classify_table_is_left_aligned_and_cut_to_the_terminal_width(capsys, monkeypatch, shipped_model):
    monkeypatch.setenv("COLUMNS", "72")
    code, out, _ = cli(capsys, "classify", SEEDS[0])
    assert code == 0
    lines = out.splitlines()
    header = lines[0]
    assert header.split() == ["index", "label", "proba", "text"]
    col = header.index("text")
    paras = segmenter.segment(read_seed(SEEDS[0]))
    assert len(lines) == 1 + len(paras)
    cut_lines = 0
    for line, para in zip(lines[1:], paras):
        assert display_width(line) <= 72
        text = line[col:]
        assert text[:1] == para.text[:1]  # every text starts in the header's column
        if text.endswith("…"):
            cut_lines += 1
            assert para.text.startswith(text[:-1]) and len(para.text) > len(text)
        else:
            assert text == para.text
    assert cut_lines >= 5  # the seed's long paragraphs do not fit 72 columns


def test_classify_table_of_an_empty_page_says_no_paragraphs(capsys, tmp_path):
    page = tmp_path / "empty.txt"
    page.write_text("\n\n")
    code, out, _ = cli(capsys, "classify", page)
    assert code == 0 and out == f"{page}: no paragraphs\n"


def test_cut_counts_wide_characters_as_two_columns():
    assert cut("abcdef", 6) == "abcdef" and cut("abcdefg", 6) == "abcde…"
    assert cut("新闻报道全文", 7) == "新闻报…" and display_width(cut("新闻报道全文", 7)) == 7
    assert cut("abcdefg", 6, "...") == "abc..."
