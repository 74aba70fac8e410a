"""The package's shape as users meet it: the README names every command, old import paths
still work, and a plain install neither requires nor imports Streamlit."""

import importlib
import importlib.metadata
import subprocess
import sys
import warnings

import pytest
from conftest import REPO, SEEDS

from segmenter import _moved
from segmenter.cli import build_parser

README = (REPO / "README.md").read_text(encoding="utf-8")

ENTRY_POINTS = [
    "python -m segmenter",
    "python -m segmenter.train",
    "python -m segmenter.evaluate",
    "python -m segmenter.construct",
    "python -m segmenter.importer",
]


def _subcommands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


def test_readme_names_every_subcommand_and_module_entry_point():
    commands = _subcommands()
    assert {"clean", "classify", "info", "evaluate"} <= set(commands)
    missing = [f"segmenter {c}" for c in commands if f"segmenter {c}" not in README]
    missing += [e for e in ENTRY_POINTS if e not in README]
    assert not missing, f"README.md does not show: {missing}"


def test_readme_stays_short_enough_to_read():
    assert len(README.encode("utf-8")) <= 15_000


@pytest.mark.parametrize("module", [e.split()[-1] for e in ENTRY_POINTS])
def test_every_module_entry_point_answers_help(module):
    res = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "usage:" in res.stdout


@pytest.mark.parametrize("old, new", sorted(_moved.MOVED.items()))
def test_old_import_paths_give_the_moved_module_with_a_warning(old, new):
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught)


def test_old_public_names_still_import():
    from segmenter.api import core_mask, default_threshold, paragraph_labels  # noqa: F401
    from segmenter.evaluate import CorpusDoc, read_corpus  # noqa: F401
    from segmenter.importer import import_wcxb  # noqa: F401
    from segmenter.train import DEFAULT_THRESHOLD, TrainingError, load_training_data, train  # noqa: F401


def test_plain_install_requires_no_streamlit():
    try:
        requires = importlib.metadata.requires("segmenter") or []
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("segmenter is not installed in this environment")
    plain = [r for r in requires if "extra ==" not in r]
    assert plain, "the installed metadata lists no requirements at all"
    assert not [r for r in plain if r.lower().startswith("streamlit")]
    assert [r for r in requires if r.lower().startswith("streamlit") and 'extra == "app"' in r]


def test_clean_imports_no_streamlit():
    code = (
        "import sys, segmenter\n"
        f"text = open({str(SEEDS[0])!r}, encoding='utf-8').read()\n"
        "assert segmenter.clean(text)\n"
        "import segmenter.batch, segmenter.cli\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
