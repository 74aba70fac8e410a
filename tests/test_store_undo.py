"""Retractions (the app's undo in an append-only store) and torn last lines (a crash during an
append) in the label store."""

import json

import pytest

from segmenter.labelling.store import LabelRecord, LabelStore, LabelStoreError, paragraph_hash
from segmenter.segment import segment

TEXT = "Headline here\nFirst body paragraph of the story.\nMenu | Home | World\nSecond body line.\n"


@pytest.fixture
def doc(store):
    return store.add_document("d1", TEXT)


def rec(doc, index, label, annotator, time, **kw):
    p = segment(doc.text)[index]
    return LabelRecord(
        doc.doc_id, doc.sha256, p.index, p.start, p.end, paragraph_hash(p.text), label, annotator, time, **kw
    )


# -- retraction ------------------------------------------------------------------------------
def test_retracted_is_written_only_when_true_and_reads_back(store, doc):
    plain = rec(doc, 0, "nav", "ann", "t1")
    gone = rec(doc, 0, "nav", "ann", "t2", retracted=True)
    assert "retracted" not in json.loads(plain.to_json())
    assert json.loads(gone.to_json())["retracted"] is True
    store.append([plain, gone])
    assert LabelStore(store.root).records() == [plain, gone]
    assert store.label(doc, segment(TEXT)[1], "promo", "ann", retracted=True).retracted


def test_retracted_must_be_a_boolean(store, doc):
    line = json.loads(rec(doc, 0, "nav", "ann", "t1").to_json())
    line["retracted"] = "yes"
    (store.root / "x.labels.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    with pytest.raises(LabelStoreError, match=r"x.labels.jsonl:1: field 'retracted'"):
        store.records()


def test_a_retraction_as_latest_record_means_no_decision(store, doc):
    store.append(
        [
            rec(doc, 0, "nav", "ann", "t1"),
            rec(doc, 0, "nav", "ann", "t2", retracted=True),
            rec(doc, 1, "core-story", "ann", "t1"),
        ]
    )
    resolved, problems = store.resolve()
    assert resolved == {"d1": {1: "core-story"}} and problems == []


def test_a_retraction_leaves_other_annotators_and_a_later_decision_counts(store, doc):
    store.append(
        [
            rec(doc, 0, "nav", "a", "t1"),
            rec(doc, 0, "promo", "b", "t2"),
            rec(doc, 0, "promo", "c", "t3"),
            rec(doc, 0, "promo", "b", "t4", retracted=True),
        ]
    )
    # b withdrew: a (nav) and c (promo) tie, the latest (c) wins
    assert store.resolve()[0] == {"d1": {0: "promo"}}
    store.append([rec(doc, 0, "promo", "c", "t5", retracted=True)])
    assert store.resolve()[0] == {"d1": {0: "nav"}}
    store.append([rec(doc, 0, "nav", "a", "t6", retracted=True)])
    assert store.resolve()[0] == {}
    store.append([rec(doc, 0, "duplicate", "a", "t7")])  # a decides again after retracting
    assert store.resolve()[0] == {"d1": {0: "duplicate"}}


def test_undoing_a_decision_by_restoring_the_previous_one(store, doc):
    store.append(
        [rec(doc, 0, "nav", "a", "t1"), rec(doc, 0, "promo", "a", "t2"), rec(doc, 0, "nav", "a", "t3")]
    )  # the undo of "promo"
    assert store.resolve()[0] == {"d1": {0: "nav"}}


def test_retracting_an_adjudication_falls_back_to_the_earlier_reviewer_then_the_annotators(store, doc):
    store.append(
        [
            rec(doc, 0, "nav", "a", "t1"),
            rec(doc, 0, "nav", "b", "t1"),
            rec(doc, 0, "promo", "rev1", "t2", adjudicated=True),
            rec(doc, 0, "duplicate", "rev2", "t3", adjudicated=True),
        ]
    )
    assert store.resolve()[0] == {"d1": {0: "duplicate"}}
    store.append([rec(doc, 0, "duplicate", "rev2", "t4", adjudicated=True, retracted=True)])
    assert store.resolve()[0] == {"d1": {0: "promo"}}
    store.append([rec(doc, 0, "promo", "rev1", "t5", adjudicated=True, retracted=True)])
    assert store.resolve()[0] == {"d1": {0: "nav"}}


# -- torn last lines ---------------------------------------------------------------------------
def _tear(path, record):
    """Append the first half of a record without its line end, as a crash mid-write would."""
    line = record.to_json()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line[: len(line) // 2])


def test_a_torn_last_line_is_skipped_and_reported_by_tolerant_reads_only(store, doc):
    good = [rec(doc, 0, "nav", "a", "t1"), rec(doc, 1, "core-story", "a", "t2")]
    store.append(good)
    path = store.root / "annotations.labels.jsonl"
    _tear(path, rec(doc, 2, "nav", "a", "t3"))
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    with pytest.raises(LabelStoreError, match=rf"annotations.labels.jsonl:{n_lines}"):
        store.records()  # training stays strict
    torn = []
    assert store.records(torn=torn) == good
    assert len(torn) == 1 and f"annotations.labels.jsonl:{n_lines}" in str(torn[0]) and "torn" in str(torn[0])
    resolved, problems = store.resolve(tolerant=True)
    assert resolved == {"d1": {0: "nav", 1: "core-story"}}
    assert any("torn" in str(p) for p in problems)


def test_a_torn_documents_line_is_tolerated_too(store, doc):
    path = store.root / "annotations.documents.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"doc_id": "d2", "sha256": "ab')
    with pytest.raises(LabelStoreError):
        store.documents()
    torn = []
    assert list(store.documents(torn=torn)) == ["d1"] and len(torn) == 1


def test_only_an_unterminated_last_line_counts_as_torn(store, doc):
    store.append([rec(doc, 0, "nav", "a", "t1")])
    path = store.root / "annotations.labels.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("{not json\n")  # a complete bad line: a real error, not an interrupted write
    with pytest.raises(LabelStoreError, match="not valid JSON"):
        store.records(torn=[])
    path.write_text('{"half\n' + rec(doc, 0, "nav", "a", "t1").to_json() + "\n", encoding="utf-8")
    with pytest.raises(LabelStoreError, match=":1:"):  # a bad line in the middle
        store.records(torn=[])


def test_the_next_append_moves_a_torn_fragment_aside_and_keeps_its_own_record_whole(store, doc):
    first = rec(doc, 0, "nav", "a", "t1")
    store.append([first])
    path = store.root / "annotations.labels.jsonl"
    _tear(path, rec(doc, 2, "nav", "a", "t3"))
    fragment = path.read_text(encoding="utf-8").splitlines()[-1]
    after = store.label(doc, segment(TEXT)[1], "promo", "a")
    assert store.records() == [first, after]  # strict read works again
    assert (store.root / "annotations.labels.jsonl.torn").read_text(encoding="utf-8") == fragment + "\n"
    assert not list(store.root.glob("*.torn.*"))


def test_a_whole_record_missing_only_its_line_end_is_kept(store, doc):
    first, second = rec(doc, 0, "nav", "a", "t1"), rec(doc, 1, "promo", "a", "t2")
    path = store.root / "annotations.labels.jsonl"
    store.root.mkdir(parents=True, exist_ok=True)
    path.write_text(first.to_json(), encoding="utf-8")  # no "\n"
    assert store.records(torn=[]) == [first]
    store.append([second])
    assert store.records() == [first, second]
    assert not (store.root / "annotations.labels.jsonl.torn").exists()


def test_add_document_works_after_a_torn_documents_line(store, doc):
    path = store.root / "annotations.documents.jsonl"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"doc_id": "d2", "sha')
    d3 = store.add_document("d3", "Another page\n")
    assert set(store.documents()) == {"d1", "d3"} and d3.doc_id == "d3"
