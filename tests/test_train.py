"""Training from a label store: refusals, artifact and metadata, determinism."""

import json
import subprocess
import sys

import pytest
from conftest import REPO, SEEDS, read_seed

from segmenter.labelling.store import LabelStore
from segmenter.train import DEFAULT_THRESHOLD, TrainingError, load_training_data, train


def _seed_store(root, seeds=SEEDS):
    """A store holding the seed-gold labels of the given seeds (copied from labels/)."""
    src = LabelStore(REPO / "labels")
    store = LabelStore(root)
    names = {f"seeds/{s.name}" for s in seeds}
    for doc in src.documents().values():
        if doc.doc_id in names:
            store.add_document(doc.doc_id, doc.text)
    store.append([r for r in src.records() if r.doc_id in names and r.annotator == "seed-gold"])
    return store


def test_refuses_an_empty_label_store(tmp_path):
    (tmp_path / "labels").mkdir()
    with pytest.raises(TrainingError, match="no usable labels"):
        load_training_data(tmp_path / "labels")


def test_refuses_labels_of_one_class(tmp_path):
    store = LabelStore(tmp_path)
    from segmenter.segment import segment

    doc = store.add_document("d", "one\ntwo\n")
    for p in segment(doc.text):
        store.label(doc, p, "nav", "ann")
    with pytest.raises(TrainingError, match="at least two classes"):
        load_training_data(tmp_path)


def test_refusal_leaves_the_existing_model_untouched(tmp_path):
    out = tmp_path / "m.joblib"
    out.write_bytes(b"old model")
    (tmp_path / "empty").mkdir()
    res = subprocess.run(
        [sys.executable, "-m", "segmenter.train", "--labels", str(tmp_path / "empty"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode != 0 and "no usable labels" in res.stderr
    assert out.read_bytes() == b"old model"


def test_malformed_label_line_stops_training_naming_file_and_line(tmp_path):
    store = _seed_store(tmp_path, SEEDS[:1])
    with open(tmp_path / "annotations.labels.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    n = sum(1 for _ in open(tmp_path / "annotations.labels.jsonl", encoding="utf-8"))
    with pytest.raises(TrainingError, match=rf"annotations.labels.jsonl:{n}"):
        load_training_data(store.root)


def test_train_writes_a_loadable_artifact_with_metadata_and_is_deterministic(tmp_path):
    import segmenter

    _seed_store(tmp_path / "labels")
    a = train(tmp_path / "labels", tmp_path / "a.joblib", cv=True, log=lambda s: None)
    b = train(tmp_path / "labels", tmp_path / "b.joblib", cv=False, log=lambda s: None)
    meta = json.loads((tmp_path / "a.joblib").with_suffix(".json").read_text())
    assert meta["sha256"] == a["sha256"]
    assert meta["label_set_sha256"] == b["label_set_sha256"]
    assert meta["training_data"]["labels"]["core-story"] == 58
    assert meta["versions"]["scikit-learn"]
    fine = meta["held_out_metrics"]["fine"]
    assert fine["scheme"] == "leave-one-document-out" and fine["documents"] == 5
    assert 0.0 <= fine["accuracy"] <= 1.0
    # same labels, same seed: same model, byte for byte
    assert a["sha256"] == b["sha256"]
    model = segmenter.load_model(tmp_path / "a.joblib")
    assert segmenter.clean(read_seed(SEEDS[0]), model=model)
    # the keep threshold travels inside the artifact, and is recorded beside it
    assert meta["params"]["threshold"] == DEFAULT_THRESHOLD == segmenter.default_threshold(model)
    # and the --precision/--recall presets, chosen on the held-out documents (no imported ones here)
    assert meta["thresholds"]["default"] == DEFAULT_THRESHOLD
    assert meta["thresholds"]["measured_on"] == "core-story words of 5 held-out finely labelled documents"
    assert "thresholds" not in b  # without cross-validation there is nothing to choose them on


def test_train_threshold_option_is_stored_in_the_model(tmp_path):
    import segmenter

    _seed_store(tmp_path / "labels")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmenter.train",
            "--labels",
            str(tmp_path / "labels"),
            "--out",
            str(tmp_path / "m.joblib"),
            "--no-cv",
            "--threshold",
            "none",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    assert segmenter.default_threshold(segmenter.load_model(tmp_path / "m.joblib")) is None
    bad = subprocess.run(
        [sys.executable, "-m", "segmenter.train", "--threshold", "1.5"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert bad.returncode == 2 and "must lie in [0, 1]" in bad.stderr


def test_train_help_explains_options():
    res = subprocess.run(
        [sys.executable, "-m", "segmenter.train", "--help"], capture_output=True, text=True, cwd=REPO
    )
    assert res.returncode == 0
    for opt in ("--labels", "--out", "--seed"):
        assert opt in res.stdout


def test_every_page_weighs_alike_in_training_and_fine_pages_keep_their_weight():
    """The metric averages over pages, so training does too: with page_power 1 a long page
    weighs what a short one does (the total is unchanged), and finely labelled pages still
    count fine_doc_weight times; page_power 0 weighs paragraphs by their words alone."""
    import numpy as np

    from segmenter.dataset import TrainingData, weights_for
    from segmenter.model import paragraph_weights

    texts = [["a short page with some words in it"] * 3, ["a long page with many more words"] * 30]
    texts.append(["the finely labelled seed page"] * 3)
    labels = [["core-story", "not-core", "not-core"], ["core-story"] + ["not-core"] * 29]
    labels.append(["core-story", "nav", "related-article"])
    data = TrainingData([None] * 3, texts, labels)  # type: ignore[list-item]
    plain = [paragraph_weights(t) for t in texts]
    W = weights_for(data, fine_doc_weight=20.0, page_power=1.0)
    totals = [w.sum() for w in W]
    assert totals[0] == pytest.approx(totals[1]) and totals[2] == pytest.approx(20 * totals[0])
    assert sum(totals[:2]) + totals[2] / 20 == pytest.approx(sum(w.sum() for w in plain))
    for w, p in zip(W, plain):  # within a page, paragraphs keep their ratios
        assert np.allclose(w / w.sum(), p / p.sum())
    W0 = weights_for(data, fine_doc_weight=20.0, page_power=0.0)
    assert all(np.array_equal(a, b) for a, b in zip(W0[:2], plain[:2]))
    assert np.array_equal(W0[2], plain[2] * 20)
    with pytest.raises(ValueError, match="page_power"):
        weights_for(data, fine_doc_weight=20.0, page_power=-1.0)
