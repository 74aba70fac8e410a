"""The installed package (not the source tree) cleans text with its shipped model."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SEEDS, gold_core

SCRIPT = Path(sys.executable).with_name("segmenter")


@pytest.mark.skipif(not SCRIPT.exists(), reason="no installed `segmenter` script beside this Python")
def test_installed_console_script_cleans_a_seed_from_another_folder(tmp_path):
    seed = SEEDS[2]
    out = subprocess.run([str(SCRIPT), "clean", str(seed)], capture_output=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode() == "\n".join(gold_core(seed.name)) + "\n"
    where = subprocess.run(
        [sys.executable, "-c", "import segmenter.api as a; print(a.default_model_path())"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "site-packages" in where.stdout  # the model came with the wheel, not from this checkout
