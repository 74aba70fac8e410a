"""What a scraper relies on: clean() keeps the story, in order and wording, and nothing else."""

import re
import zlib

import numpy as np
import pandas as pd
import pytest
from conftest import SEEDS, gold_core, read_seed
from hypothesis import given, settings
from hypothesis import strategies as st

import segmenter
from segmenter.labels import CLASSES


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_clean_returns_exactly_the_gold_core_story_of_each_seed(seed, shipped_model):
    assert segmenter.clean(read_seed(seed), model=shipped_model) == "\n".join(gold_core(seed.name))


_ENDINGS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _change_one_word(line: str) -> str:
    """Replace the middle word of 4+ letters by a made-up word derived from the line, so a
    repeated line stays repeated and no replacement word is shared with the story by chance."""
    words = line.split(" ")
    candidates = [i for i, w in enumerate(words) if len(re.sub(r"\W", "", w)) >= 4]
    if not candidates:
        return line
    h = zlib.crc32(line.strip().encode("utf-8"))
    made_up = ""
    for _ in range(3):
        made_up += "bcdfgklmnprstvz"[h % 15] + "aeiou"[(h // 15) % 5]
        h //= 75
    words[candidates[len(candidates) // 2]] = made_up + "n"
    return " ".join(words)


def _edit_every_line(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip(_ENDINGS)
        out.append(_change_one_word(body) + line[len(body) :])
    return "".join(out)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_clean_still_keeps_exactly_the_story_when_one_word_of_every_paragraph_changes(seed, shipped_model):
    """The model has learnt page structure, not memorised the seeds: with "Comments",
    "Related Articles", "5 hours ago" and one word of every story paragraph replaced, it
    still keeps exactly the (edited) story."""
    edited = _edit_every_line(read_seed(seed))
    assert edited != read_seed(seed)
    expected = "\n".join(_change_one_word(t) for t in gold_core(seed.name))
    assert segmenter.clean(edited, model=shipped_model) == expected


def test_clean_many_gives_the_same_results_as_clean_in_order(shipped_model):
    texts = [read_seed(s) for s in SEEDS] + ["", "   \n\t\n"]
    many = list(segmenter.clean_many(texts, model=shipped_model, batch_size=2))
    assert many == [segmenter.clean(t, model=shipped_model) for t in texts]


def test_a_pages_probabilities_do_not_depend_on_the_rest_of_its_batch(shipped_model):
    # the context pass runs over a whole batch at once; no window may reach another page
    # (float32 matrix products may round differently for other batch shapes: 1e-6 at most)
    pages = [segmenter.segment(read_seed(s)) for s in SEEDS] + [[], segmenter.segment("one line")]
    together = shipped_model.predict_proba(pages)
    backwards = shipped_model.predict_proba(pages[::-1])[::-1]
    for page, p, q in zip(pages, together, backwards):
        alone = shipped_model.predict_proba([page])[0]
        assert np.allclose(p, alone, rtol=0, atol=1e-6) and np.allclose(q, alone, rtol=0, atol=1e-6)


def test_classify_has_one_row_per_paragraph_with_documented_columns(shipped_model):
    text = read_seed(SEEDS[3])
    df = segmenter.classify(text, model=shipped_model)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["index", "start", "end", "text", "label", "proba"] + [
        f"p_{c}" for c in CLASSES
    ]
    paras = segmenter.segment(text)
    assert len(df) == len(paras)
    assert df["text"].tolist() == [p.text for p in paras]
    assert all(text[s:e] == t for s, e, t in zip(df["start"], df["end"], df["text"]))
    probs = df[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert probs.sum(axis=1) == pytest.approx([1.0] * len(df))
    assert set(df["label"]) <= set(CLASSES)
    assert (df["proba"].to_numpy() == probs[range(len(df)), [CLASSES.index(c) for c in df["label"]]]).all()


def test_classify_of_empty_text_is_an_empty_frame_with_the_same_columns(shipped_model):
    df = segmenter.classify("\n \n", model=shipped_model)
    assert len(df) == 0 and "p_core-story" in df.columns


def test_threshold_trades_precision_for_recall(shipped_model):
    text = read_seed(SEEDS[3])
    everything = "\n".join(p.text for p in segmenter.segment(text))
    assert segmenter.clean(text, model=shipped_model, threshold=0.0) == everything
    # above 1 nothing could be kept: refused, not an empty story (the CLI: exit 2)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        segmenter.clean(text, model=shipped_model, threshold=1.01)
    loose = segmenter.clean(text, model=shipped_model, threshold=0.05).split("\n")
    strict = segmenter.clean(text, model=shipped_model, threshold=0.95).split("\n")
    assert set(strict) <= set(loose) and len(strict) <= len(loose)


def _with_threshold(model, t):
    import copy

    model = copy.deepcopy(model)
    model.named_steps["classifier"].core_threshold = t
    return model


@pytest.mark.parametrize("t", [0.2, 0.9])
def test_the_models_own_threshold_decides_what_clean_keeps_and_classify_labels_agree(t, shipped_model):
    text = read_seed(SEEDS[4])
    model = _with_threshold(shipped_model, t)
    assert segmenter.default_threshold(model) == t
    df = segmenter.classify(text, model=model)
    kept = df["p_core-story"] >= t
    assert segmenter.clean(text, model=model) == "\n".join(df["text"][kept])
    assert ((df["label"] == "core-story") == kept).all()
    others = df[[f"p_{c}" for c in CLASSES if c != "core-story"]].to_numpy().argmax(axis=1)
    assert (df["label"][~kept] == [[c for c in CLASSES if c != "core-story"][j] for j in others[~kept]]).all()
    # an explicit threshold overrides the model's, in clean, clean_many and classify alike
    assert segmenter.clean(text, model=model, threshold=0.5) == segmenter.clean(
        text, model=_with_threshold(shipped_model, 0.5)
    )
    assert list(segmenter.clean_many([text], model=model, threshold=0.5)) == [
        segmenter.clean(text, model=model, threshold=0.5)
    ]
    relabelled = segmenter.classify(text, model=model, threshold=0.5)
    assert ((relabelled["label"] == "core-story") == (relabelled["p_core-story"] >= 0.5)).all()


def test_an_artifact_pickled_before_the_threshold_existed_still_predicts(shipped_model):
    import copy

    old = copy.deepcopy(shipped_model)
    for name in ("core_threshold", "n_jobs"):
        old.named_steps["classifier"].__dict__.pop(name, None)
    text = read_seed(SEEDS[0])
    assert segmenter.default_threshold(old) is None
    assert "ContextClassifier" in repr(old) and old.named_steps["classifier"].get_params()["n_jobs"] is None
    assert (
        list(old.predict([segmenter.segment(text)])[0])
        == segmenter.classify(text, model=old)["label"].tolist()
    )


@pytest.mark.parametrize("bad", [b"bytes", None, 3])
def test_wrong_input_type_raises_type_error_that_says_to_pass_str(bad, shipped_model):
    with pytest.raises(TypeError, match="str"):
        segmenter.clean(bad, model=shipped_model)
    with pytest.raises(TypeError, match="str"):
        segmenter.classify(bad, model=shipped_model)


def test_load_model_default_is_cached_and_loads_the_shipped_artifact():
    assert segmenter.load_model() is segmenter.load_model()


def test_load_model_refuses_an_altered_artifact(tmp_path):
    import shutil

    from segmenter.api import ModelError, default_model_path

    src = default_model_path()
    dst = tmp_path / "segmenter.joblib"
    shutil.copy(src, dst)
    shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    segmenter.load_model(dst)  # intact copy loads
    with open(dst, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="sha256"):
        segmenter.load_model(dst)


def test_import_segmenter_does_not_import_scikit_learn():
    import subprocess
    import sys

    code = "import sys, segmenter; segmenter.segment('a\\nb'); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_load_model_refuses_an_artifact_built_for_other_feature_code(tmp_path, shipped_model):
    import copy
    import json

    import joblib

    from segmenter.api import ModelError, default_model_path, file_sha256

    stale = copy.deepcopy(shipped_model)
    stale.named_steps["classifier"].n_features_in_ -= 3
    path = tmp_path / "stale.joblib"
    joblib.dump(stale, path)
    meta = json.loads(default_model_path().with_suffix(".json").read_text())
    meta["sha256"] = file_sha256(path)
    path.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="retrain"):
        segmenter.load_model(path)


# -- artifact integrity: a .joblib is a pickle, and loading a pickle runs code ------------------
def _copy_shipped(tmp_path, with_json=True):
    import shutil

    from segmenter.api import default_model_path

    src = default_model_path()
    dst = tmp_path / "model.joblib"
    shutil.copy(src, dst)
    if with_json:
        shutil.copy(src.with_suffix(".json"), dst.with_suffix(".json"))
    return dst


def test_an_artifact_without_metadata_is_refused_unless_the_caller_opts_in(tmp_path, shipped_model):
    from segmenter.api import ModelError

    path = _copy_shipped(tmp_path, with_json=False)
    with pytest.raises(ModelError) as exc:
        segmenter.load_model(path)
    msg = str(exc.value)
    for part in ("no model.json beside it", "pickle", "runs code", "allow_unverified=True", "--unverified"):
        assert part in msg
    with pytest.raises(ModelError, match="allow_unverified"):
        segmenter.clean("Some text\n", model=str(path))  # a path given to clean is checked too
    model = segmenter.load_model(path, allow_unverified=True)  # the explicit opt-in
    text = read_seed(SEEDS[0])
    assert segmenter.clean(text, model=model) == segmenter.clean(text, model=shipped_model)


def test_opting_in_does_not_skip_the_checks_of_metadata_that_is_there(tmp_path):
    from segmenter.api import ModelError

    path = _copy_shipped(tmp_path)
    with open(path, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match="does not match"):
        segmenter.load_model(path, allow_unverified=True)


def _fake_built_version(path, version):
    import json

    meta = json.loads(path.with_suffix(".json").read_text())
    meta["versions"]["scikit-learn"] = version
    path.with_suffix(".json").write_text(json.dumps(meta))


@pytest.mark.parametrize("version", ["1.8.2", "0.24.2", "2.9.1", ""])
def test_an_artifact_built_with_another_scikit_learn_minor_series_is_refused(tmp_path, version):
    from segmenter.api import ModelError

    path = _copy_shipped(tmp_path)
    _fake_built_version(path, version)
    with pytest.raises(
        ModelError, match=r"built with scikit-learn .*retrain with `python -m segmenter.train`"
    ):
        segmenter.load_model(path)


def test_another_patch_release_of_the_same_minor_series_loads(tmp_path):
    import sklearn

    path = _copy_shipped(tmp_path)
    major, minor = sklearn.__version__.split(".")[:2]
    _fake_built_version(path, f"{major}.{minor}.99")
    assert segmenter.load_model(path) is not None


def test_unreadable_metadata_is_a_model_error(tmp_path):
    from segmenter.api import ModelError

    path = _copy_shipped(tmp_path)
    path.with_suffix(".json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read the model metadata"):
        segmenter.load_model(path)
    path.with_suffix(".json").write_text("[1, 2]")
    with pytest.raises(ModelError, match="not model metadata"):
        segmenter.load_model(path)


def test_an_unverified_pickle_from_another_scikit_learn_minor_is_still_refused(
    tmp_path, shipped_model, monkeypatch
):
    """Without metadata the version is checked as the pickle loads (scikit-learn records its
    version in every estimator's state)."""
    import joblib
    import sklearn.base

    from segmenter.api import ModelError

    path = tmp_path / "old.joblib"
    with monkeypatch.context() as m:
        m.setattr(sklearn.base, "__version__", "1.8.0")
        joblib.dump(shipped_model, path)
    with pytest.raises(ModelError, match=r"pickled by scikit-learn 1\.8\.0.*retrain"):
        segmenter.load_model(path, allow_unverified=True)


def test_a_file_that_is_not_an_artifact_is_a_model_error_not_a_traceback(tmp_path):
    from segmenter.api import ModelError

    path = tmp_path / "junk.joblib"
    path.write_bytes(b"this is not a pickle")
    with pytest.raises(ModelError, match="junk.joblib cannot be loaded"):
        segmenter.load_model(path, allow_unverified=True)
    with pytest.raises(ModelError, match="is a folder"):
        segmenter.load_model(tmp_path)


@pytest.mark.parametrize("threshold", [2, -0.5, 1.0000001, float("nan"), float("inf")])
def test_the_library_refuses_a_threshold_outside_0_1(shipped_model, threshold):
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\]"):
        segmenter.clean("A line.", model=shipped_model, threshold=threshold)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        segmenter.clean_many(["A line."], model=shipped_model, threshold=threshold)  # at once, not lazily
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        segmenter.classify("A line.", model=shipped_model, threshold=threshold)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300), st.floats(0.0, 1.0))
def test_clean_never_raises_on_any_str_with_a_threshold_in_0_1(shipped_model, text, threshold):
    assert isinstance(segmenter.clean(text, model=shipped_model, threshold=threshold), str)
