"""The label store: what is written is read back, bad records are refused with their place,
concurrent annotators lose nothing, and resolve() picks the label training uses."""

import gzip
import json
import multiprocessing
from dataclasses import replace

import pytest

from segmenter.labelling.store import (
    Document,
    LabelRecord,
    LabelStore,
    LabelStoreError,
    paragraph_hash,
    sha256_text,
)
from segmenter.segment import segment

TEXT = "Headline\r\n\xa0By A. Writer\n\nBody \u2028one.\x85Footer | Site\n"


@pytest.fixture
def doc(store):
    return store.add_document("d1", TEXT, source="test", license="MIT", url="https://x.test/1")


def record(doc, index, label, annotator, time, **kw):
    p = segment(doc.text)[index]
    return LabelRecord(
        doc.doc_id, doc.sha256, p.index, p.start, p.end, paragraph_hash(p.text), label, annotator, time, **kw
    )


def test_documents_and_labels_read_back_exactly_as_written(store, doc):
    paras = segment(TEXT)
    written = [
        store.label(doc, paras[0], "core-story", "ann"),
        store.label(doc, paras[1], "nav", "ann"),
        store.label(doc, paras[4], "promo", "rev", adjudicated=True),
    ]
    assert store.records() == written
    again = LabelStore(store.root)  # a fresh reader, as another process would be
    assert again.documents() == {"d1": doc}
    assert again.documents()["d1"].text == TEXT  # \r\n, \xa0, \u2028, \x85 survive
    assert (doc.source, doc.license, doc.url) == ("test", "MIT", "https://x.test/1")
    assert store.add_document("d1", TEXT) == doc  # registering again is a no-op
    assert (store.root / "annotations.documents.jsonl").read_bytes().count(b"\n") == 1
    with pytest.raises(LabelStoreError, match="d1"):
        store.add_document("d1", TEXT + "changed")


def test_unknown_label_is_refused_on_write_and_nothing_is_written(store, doc):
    with pytest.raises(LabelStoreError, match="'boilerplate'"):
        store.label(doc, segment(TEXT)[0], "boilerplate", "ann")
    good = record(doc, 0, "nav", "ann", "t1")
    with pytest.raises(LabelStoreError):
        store.append([good, replace(good, label="Core-Story")])  # a bad one spoils the batch
    assert store.records() == []
    with pytest.raises(LabelStoreError):
        store.write_shard("imp", [doc], [replace(good, label="")])
    assert store.records() == []


def _write_shard_file(store, lines):
    store.root.mkdir(parents=True, exist_ok=True)
    path = store.root / "raw.labels.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "bad_line, message",
    [
        (lambda good: json.dumps({**good, "label": "spam"}), "unknown label 'spam'"),
        (lambda good: json.dumps(good)[:-5], "not valid JSON"),
        (lambda good: json.dumps({k: v for k, v in good.items() if k != "index"}), "missing field 'index'"),
    ],
    ids=["unknown-label", "malformed-json", "missing-field"],
)
def test_a_bad_line_in_a_label_file_raises_naming_file_and_line(store, doc, bad_line, message):
    good = json.loads(record(doc, 0, "nav", "ann", "t1").to_json())
    path = _write_shard_file(store, [json.dumps(good), "", bad_line(good), json.dumps(good)])
    with pytest.raises(LabelStoreError) as exc:
        store.records()
    assert f"{path.name}:3" in str(exc.value)
    assert message in str(exc.value)
    with pytest.raises(LabelStoreError, match=f"{path.name}:3"):
        store.resolve()


def append_many(root, doc, worker, n, barrier):
    """Child process: one annotator appending n decisions (module level so spawn can pickle it)."""
    from segmenter.labelling.store import LabelStore as Store
    from segmenter.segment import segment as seg

    store, paras = Store(root), seg(doc.text)
    barrier.wait()
    for i in range(n):
        store.label(doc, paras[i % len(paras)], "nav", f"annotator-{worker}-" + "x" * 500, time=f"{i:05d}")


def test_concurrent_appends_from_several_processes_lose_nothing(store, doc):
    ctx = multiprocessing.get_context("spawn")
    workers, n = 4, 100
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=append_many, args=(store.root, doc, w, n, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * workers
    recs = store.records()  # raises if any line were torn or interleaved
    assert len(recs) == workers * n
    got = sorted((r.annotator.split("-")[1], r.time) for r in recs)
    assert got == sorted((str(w), f"{i:05d}") for w in range(workers) for i in range(n))


# (annotator, label, time, adjudicated) decisions about paragraph 0 -> the label resolve() gives
@pytest.mark.parametrize(
    "decisions, expected",
    [
        ([("a", "nav", "t1", False), ("a", "promo", "t2", False)], "promo"),
        ([("a", "promo", "t2", False), ("a", "nav", "t1", False)], "promo"),  # by time, not file order
        ([("a", "nav", "t1", False), ("b", "promo", "t2", False), ("c", "promo", "t3", False)], "promo"),
        ([("a", "promo", "t1", False), ("b", "promo", "t2", False), ("c", "nav", "t3", False)], "promo"),
        ([("a", "nav", "t1", False), ("b", "promo", "t2", False)], "promo"),  # tie: latest
        ([("a", "nav", "t2", False), ("b", "promo", "t1", False)], "nav"),
        # a's earlier promo is superseded, so it is not a vote: nav vs promo tie -> latest (nav)
        (
            [
                ("a", "promo", "t1", False),
                ("a", "nav", "t4", False),
                ("b", "promo", "t2", False),
                ("c", "related-article", "t3", False),
            ],
            "nav",
        ),
        ([("a", "promo", "t1", False), ("b", "promo", "t2", False), ("r", "nav", "t0", True)], "nav"),
        (
            [("r", "nav", "t1", True), ("s", "core-story", "t2", True), ("a", "nav", "t3", False)],
            "core-story",
        ),  # the latest adjudication wins
    ],
    ids=[
        "own-latest",
        "own-latest-by-time",
        "majority",
        "majority-2",
        "tie-latest",
        "tie-latest-2",
        "superseded-no-vote",
        "adjudicated-beats-majority",
        "latest-adjudication",
    ],
)
def test_resolve_picks_latest_per_annotator_then_adjudicated_then_majority_then_latest(
    store, doc, decisions, expected
):
    store.append([record(doc, 0, lab, ann, t, adjudicated=adj) for ann, lab, t, adj in decisions])
    resolved, problems = store.resolve()
    assert problems == []
    assert resolved == {"d1": {0: expected}}


@pytest.mark.parametrize(
    "stale",
    [
        lambda r: replace(r, text_sha256=paragraph_hash("Old headline")),
        lambda r: replace(r, start=r.start + 1),
        lambda r: replace(r, index=r.index + 1),
        lambda r: replace(r, doc_sha256=sha256_text("old page")),
        lambda r: replace(r, doc_id="gone"),
    ],
    ids=["text-hash", "offsets", "index", "document-changed", "document-missing"],
)
def test_a_label_that_no_longer_matches_its_document_is_reported_and_not_used(store, doc, stale):
    store.append([stale(record(doc, 0, "nav", "a", "t2")), record(doc, 1, "core-story", "a", "t1")])
    resolved, problems = store.resolve()
    assert resolved == {"d1": {1: "core-story"}}
    assert len(problems) == 1 and str(problems[0]).startswith("label by a for")


def test_write_shard_gzip_round_trips_and_replaces_the_shard(store):
    docs = [
        Document(f"g{i}", t, sha256_text(t), "src", "CC-BY-4.0")
        for i, t in enumerate([TEXT, "Caf\u00e9 \u2603 \U0001f600\n\tline\r\n"])
    ]
    recs = [record(d, i, lab, "imp", "t") for d in docs for i, lab in enumerate(["core-story", "not-core"])]
    store.write_shard("imp", docs, recs, compress=True)
    for name in ("imp.documents.jsonl.gz", "imp.labels.jsonl.gz"):
        with gzip.open(store.root / name, "rt", encoding="utf-8") as fh:
            assert all(json.loads(line) for line in fh)
    fresh = LabelStore(store.root)
    assert fresh.documents() == {d.doc_id: d for d in docs}
    assert fresh.records() == recs
    store.write_shard("imp", docs[:1], recs[:1], compress=True)
    assert fresh.records() == recs[:1] and list(fresh.documents()) == ["g0"]


def test_a_document_with_a_lone_surrogate_reads_back_and_keeps_the_store_readable(tmp_path):
    store = LabelStore(tmp_path)
    store.add_document("odd", "a\ud800b\nsecond line")
    assert store.documents()["odd"].text == "a\ud800b\nsecond line"
    store.add_document("plain", "x")  # the store is still readable and writable
    assert set(store.documents()) == {"odd", "plain"}


def test_rewriting_a_shard_in_the_other_form_leaves_only_one_copy(tmp_path):
    store = LabelStore(tmp_path)
    doc = Document("d", "one\ntwo", sha256_text("one\ntwo"), None, None, None)
    store.write_shard("s", [doc], [], compress=False)
    store.write_shard("s", [doc], [], compress=True)
    assert sorted(p.name for p in tmp_path.glob("s.*") if not p.name.endswith(".lock")) == [
        "s.documents.jsonl.gz",
        "s.labels.jsonl.gz",
    ]
