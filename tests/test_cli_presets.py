"""--precision and --recall: thresholds chosen by training on held-out pages, stored in the
model's .json, used by `clean`/`classify`, shown by `info`; a clear error when absent."""

import json
import shutil

import pytest
from conftest import REPO, SEEDS, read_seed

import segmenter
from segmenter.cli import main
from segmenter.presets import TARGETS

SEED = SEEDS[3]  # with the shipped model: 15 lines kept at 0.5, 14 at 0.95, 17 at 0.005
PRESETS = {
    "precision": 0.95,
    "recall": 0.005,
    "default": 0.5,
    "targets": dict(TARGETS),
    "measured": {
        "precision": {"threshold": 0.95, "precision": 0.9512, "recall": 0.8},
        "recall": {"threshold": 0.005, "precision": 0.81, "recall": 0.9703},
        "default": {"threshold": 0.5, "precision": 0.909, "recall": 0.951},
    },
    "measured_on": "core-story words of 793 held-out imported pages",
}


@pytest.fixture(scope="module")
def model_with(tmp_path_factory):
    """A copy of the shipped model whose .json holds PRESETS, and one whose .json has none."""
    root = tmp_path_factory.mktemp("models")
    out = {}
    for name, presets in (("with", PRESETS), ("without", None)):
        path = root / f"{name}.joblib"
        shutil.copy(REPO / "models" / "segmenter.joblib", path)
        meta = json.loads((REPO / "models" / "segmenter.json").read_text(encoding="utf-8"))
        meta.pop("thresholds", None)
        if presets:
            meta["thresholds"] = presets
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
        out[name] = path
    return out


def cli(capsys, *args):
    try:
        code = main(list(map(str, args)))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("preset", ["precision", "recall"])
def test_a_preset_keeps_what_its_stored_threshold_keeps(capsys, tmp_path, model_with, shipped_model, preset):
    text = read_seed(SEED)
    want = segmenter.clean(text, model=shipped_model, threshold=PRESETS[preset])
    assert want != segmenter.clean(text, model=shipped_model)  # the preset changes what is kept
    code, out, err = cli(capsys, "--model", model_with["with"], "clean", f"--{preset}", SEED)
    assert code == 0, err
    assert out == want + "\n"
    code, out, err = cli(
        capsys, "--model", model_with["with"], "classify", f"--{preset}", SEED, "--format", "jsonl"
    )
    kept = [r["text"] for r in map(json.loads, out.splitlines()) if r["label"] == "core-story"]
    assert code == 0 and kept == want.split("\n")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": 1, "text": text}) + "\n")
    code, _, err = cli(
        capsys, "--model", model_with["with"], "clean", f"--{preset}", "--jsonl", src, tmp_path / "o.jsonl"
    )
    assert code == 0, err
    assert json.loads((tmp_path / "o.jsonl").read_text())["clean"] == want


@pytest.mark.parametrize("preset", ["precision", "recall"])
def test_a_model_without_presets_says_to_retrain_or_pass_threshold(capsys, model_with, preset):
    code, out, err = cli(capsys, "--model", model_with["without"], "clean", f"--{preset}", SEED)
    assert code == 2 and out == ""
    assert err == (
        f"segmenter: error: this model has no {preset} preset; retrain with python -m segmenter.train "
        "or pass --threshold\n"
    )


def test_a_preset_and_a_threshold_together_are_a_usage_error(capsys):
    code, _, err = cli(capsys, "clean", "--precision", "--threshold", "0.5", SEED)
    assert code == 2 and "not allowed with argument" in err


def test_info_shows_the_presets_and_their_held_out_figures(capsys, model_with):
    code, out, err = cli(capsys, "--model", model_with["with"], "info")
    assert code == 0, err
    assert (
        "presets:    --precision  p(core-story) >= 0.95  (held out: P 0.951, R 0.800; target P 0.93)" in out
    )
    assert (
        "            --recall     p(core-story) >= 0.005 (held out: P 0.810, R 0.970; target R 0.97)" in out
    )
    assert "            default      p(core-story) >= 0.5   (held out: P 0.909, R 0.951)" in out
    assert "            measured on core-story words of 793 held-out imported pages" in out
    code, out, _ = cli(capsys, "--model", model_with["without"], "info")
    assert (
        code == 0
        and "presets:    none in this model's metadata (retrain with python -m segmenter.train" in out
    )
    code, out, _ = cli(capsys, "--model", model_with["with"], "info", "--json")
    assert json.loads(out)["thresholds"] == PRESETS
