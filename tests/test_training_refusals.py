"""Training on bad label data: each kind of bad store is refused with a one-line message that
names the fix, and the model already at --out is left exactly as it was."""

import json
import subprocess
import sys

import pytest
from conftest import REPO

from segmenter.labelling.store import LabelStore, sha256_text
from segmenter.segment import segment
from segmenter.train import load_training_data, train

PAGE = (
    "Council approves new river bridge\n"
    "The city council voted on Tuesday to build a new bridge across the river.\n"
    "Construction is expected to start next spring, officials said.\n"
    "Home | World | Sport\n"
    "Sign up for our newsletter\n"
)
LABELS = ["core-story", "core-story", "core-story", "nav", "promo"]


def good_store(root, doc_id="d1", text=PAGE, labels=LABELS):
    store = LabelStore(root)
    doc = store.add_document(doc_id, text)
    for p, lab in zip(segment(text), labels):
        store.label(doc, p, lab, "ann")
    return store


def raw_line(root, name, obj):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / name, "ab") as fh:
        fh.write((obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n")


def empty(root):
    root.mkdir()


def not_a_folder(root):
    root.write_text("labels\n")


def one_class(root):
    good_store(root, labels=["nav"] * 5)


def labels_of_missing_documents(root):
    good_store(root)
    (root / "annotations.documents.jsonl").unlink()  # the labels stay, their documents are gone


def labels_of_changed_documents(root):
    good_store(root)
    path = root / "annotations.documents.jsonl"
    rec = json.loads(path.read_text())
    rec["text"] = rec["text"].replace("Tuesday", "Monday")
    rec["sha256"] = sha256_text(rec["text"])
    path.write_text(json.dumps(rec) + "\n")


def unknown_label(root):
    store = good_store(root)
    rec = json.loads(store.records()[0].to_json())
    raw_line(root, "annotations.labels.jsonl", {**rec, "label": "boilerplate"})


def duplicate_document_id(root):
    good_store(root)
    raw_line(root, "other.documents.jsonl", {"doc_id": "d1", "text": PAGE + "More text\n"})


def malformed_line(root):
    good_store(root)
    raw_line(root, "annotations.labels.jsonl", b'{"doc_id": "d1", "label": ')


def undecodable_line(root):
    good_store(root)
    raw_line(root, "annotations.labels.jsonl", b'{"doc_id": "caf\xe9"}')


def missing_document_file(root):
    good_store(root)
    raw_line(root, "files.documents.jsonl", {"doc_id": "d2", "path": "pages/gone.txt"})


# (make the bad store, what the one-line error must say: the problem and the fix)
BAD = {
    "empty": (empty, ["no usable labels", "annotate_app.py", "segmenter.importer"]),
    "not-a-folder": (not_a_folder, ["is not a folder", "--labels"]),
    "one-class": (one_class, ["are 'nav'", "at least two classes", "label some paragraphs of another class"]),
    "labels-of-missing-documents": (
        labels_of_missing_documents,
        ["all 5 label records were skipped", "document is not in the store", "register the documents"],
    ),
    "labels-of-changed-documents": (
        labels_of_changed_documents,
        ["all 5 label records were skipped", "document text changed", "relabel"],
    ),
    "unknown-label": (
        unknown_label,
        ["annotations.labels.jsonl:6", "unknown label 'boilerplate'", "allowed: core-story", "remove"],
    ),
    "duplicate-document-id": (
        duplicate_document_id,
        [
            "other.documents.jsonl:1",
            "'d1' registered twice with different text",
            "annotations.documents.jsonl:1",
            "own doc_id",
        ],
    ),
    "malformed-json": (malformed_line, ["annotations.labels.jsonl:6", "not valid JSON", "fix or remove"]),
    "not-utf8": (undecodable_line, ["annotations.labels.jsonl:6", "not valid UTF-8", "fix or remove"]),
    "missing-document-file": (missing_document_file, ["files.documents.jsonl:1", "gone.txt"]),
}


@pytest.mark.parametrize("make, expected", BAD.values(), ids=BAD.keys())
def test_bad_labels_are_refused_in_one_line_and_the_old_model_stays(tmp_path, make, expected):
    labels, models = tmp_path / "labels", tmp_path / "models"
    make(labels)
    models.mkdir()
    (models / "m.joblib").write_bytes(b"old")
    (models / "m.json").write_bytes(b'{"old": true}')
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmenter.train",
            "--labels",
            str(labels),
            "--out",
            str(models / "m.joblib"),
            "--no-cv",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert res.returncode != 0
    err = res.stderr.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("error: ")
    for part in expected:
        assert part in err, f"{part!r} not in {err!r}"
    assert (models / "m.joblib").read_bytes() == b"old"
    assert (models / "m.json").read_bytes() == b'{"old": true}'
    assert sorted(p.name for p in models.iterdir()) == ["m.joblib", "m.json"]  # no temp files left


def test_an_unwritable_out_folder_is_one_line_and_nothing_is_replaced(tmp_path):
    good_store(tmp_path / "labels")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmenter.train",
            "--labels",
            str(tmp_path / "labels"),
            "--out",
            str(blocker / "m.joblib"),
            "--no-cv",
            "--augment-copies",
            "0",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    err = res.stderr.strip()
    assert res.returncode != 0 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert str(blocker) in err and blocker.read_text() == "not a folder"


def test_labels_of_missing_documents_are_reported_and_the_rest_still_trains(tmp_path):
    store = good_store(tmp_path / "labels")
    other = good_store(tmp_path / "elsewhere", doc_id="d2")
    store.append(other.records())  # labels of d2, whose document is not in this store
    data = load_training_data(store.root)
    assert [d.doc_id for d in data.docs] == ["d1"]
    assert len(data.problems) == 5
    assert all("'d2'" in str(p) and "document is not in the store" in str(p) for p in data.problems)
    log = []
    meta = train(store.root, tmp_path / "m.joblib", cv=False, augment_copies=0, log=log.append)
    assert sum(line.startswith("warning: skipped label by ann for 'd2'") for line in log) == 5
    assert meta["training_data"]["skipped_records"] == 5
    assert meta["training_data"]["labelled_paragraphs"] == 5
