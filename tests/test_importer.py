"""The WCXB importer: coarse core/other line labels become store labels, the headline window
stays unlabelled, repeats of 5+ word paragraphs become `duplicate`, and imports are exact."""

import gzip
import json

import pytest
from conftest import REPO, WCXB_DATA

from segmenter.labelling.importer import HEADLINE_WINDOW, coarse_paragraph_labels, import_corpus, import_wcxb
from segmenter.labelling.store import LabelStore, LabelStoreError, paragraph_hash
from segmenter.segment import segment

CORE, NOT_CORE, DUP = "core-story", "not-core", "duplicate"
assert HEADLINE_WINDOW >= 3, "the fake page puts headline, byline and date in the window"

# (line, WCXB line label, expected store label)
PAGE = [
    ("Home | World | Business | Sport", "other", NOT_CORE),
    ("Sign in", "other", NOT_CORE),
    ("Council approves new river bridge", "other", None),  # headline window ...
    ("By Jane Doe", "other", None),
    ("12 March 2025", "other", None),
    *[(f"Tag {i}", "other", None) for i in range(HEADLINE_WINDOW - 3)],  # ... up to the body
    ("The city council voted on Tuesday to build a new bridge across the river.", "core", CORE),
    ("Construction is expected to start next spring, officials said.", "core", CORE),
    ("", "other", "blank"),  # not a paragraph
    ("The bridge opens in 2027.", "core", CORE),
    ("Officials declined further comment.", "core", CORE),
    ("Construction is expected to start next spring, officials said.", "core", DUP),
    ("  construction IS expected to start next spring -- officials said!\t", "core", DUP),
    ("The bridge opens in 2027!", "core", DUP),  # exactly 5 words
    ("Officials declined further comment.", "core", CORE),  # 4 words: keeps its label
    ("Share this", "other", NOT_CORE),
    ("Share this", "other", NOT_CORE),
    ("CONSTRUCTION is expected to start next spring; officials said", "other", DUP),
    ("Copyright 2025 The Daily Example", "other", NOT_CORE),
]
TEXT = "\n".join(line for line, _, _ in PAGE)  # no final newline, as WCXB pages
LINE_LABELS = [lab for _, lab, _ in PAGE]
EXPECTED = [exp for _, _, exp in PAGE if exp != "blank"]


def test_line_labels_become_paragraph_labels_with_headline_window_and_duplicates():
    assert coarse_paragraph_labels(TEXT, LINE_LABELS, "page") == EXPECTED


def test_headline_window_is_only_the_lines_just_before_the_first_core_line():
    labels = coarse_paragraph_labels(
        "Headline\nByline\nBody one\nFooter", ["other", "other", "core", "other"], "p"
    )
    assert labels == [None, None, CORE, NOT_CORE]
    # a page without core lines has no window: all of it is not-core
    assert coarse_paragraph_labels("Menu\nAbout us\nContact", ["other"] * 3, "p") == [NOT_CORE] * 3


def test_short_repeated_lines_with_inner_punctuation_keep_their_label():
    text = (
        "Body text\n$898.00 from Lowe's\nU.S. News MBA Rankings\n$898.00 from Lowe's\nU.S. News MBA Rankings"
    )
    assert coarse_paragraph_labels(text, ["core"] * 5, "p")[3:] == [CORE, CORE]


def write_jsonl_gz(path, lines):
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join(line + "\n" for line in lines))
    return path


def page(id_, text, line_labels):
    return json.dumps(
        {
            "id": id_,
            "url": f"https://news.example/{id_}",
            "text": text,
            "truth": "",
            "line_labels": line_labels,
            "spillover": False,
            "spillover_heavy": False,
        }
    )


@pytest.fixture
def fake_wcxb(tmp_path):
    return write_jsonl_gz(
        tmp_path / "wcxb.jsonl.gz",
        [page("p1", TEXT, LINE_LABELS), page("p2", "Menu\nLogin", ["other", "other"])],
    )


def test_import_stores_pages_as_cc_by_documents_with_their_labels(fake_wcxb, tmp_path):
    store = LabelStore(tmp_path / "labels")
    n_labels = sum(lab is not None for lab in EXPECTED) + 2
    assert import_wcxb(fake_wcxb, store) == (2, n_labels)
    doc = store.documents()["wcxb-dev/p1"]
    assert doc.text == TEXT and doc.url == "https://news.example/p1"
    assert doc.license == "CC-BY-4.0" and "WCXB" in doc.source
    resolved, problems = store.resolve()
    assert problems == []
    assert resolved == {
        "wcxb-dev/p1": {i: lab for i, lab in enumerate(EXPECTED) if lab},
        "wcxb-dev/p2": {0: NOT_CORE, 1: NOT_CORE},
    }
    assert sorted(p.name for p in store.root.iterdir() if not p.name.startswith(".")) == [
        "wcxb-dev.documents.jsonl.gz",
        "wcxb-dev.labels.jsonl.gz",
    ]


def test_import_is_deterministic_and_a_reimport_replaces_the_shard(fake_wcxb, tmp_path):
    a, b = LabelStore(tmp_path / "a"), LabelStore(tmp_path / "b")
    import_wcxb(fake_wcxb, a)
    import_wcxb(fake_wcxb, b)
    import_wcxb(fake_wcxb, b)
    for name in ("wcxb-dev.documents.jsonl.gz", "wcxb-dev.labels.jsonl.gz"):
        assert (a.root / name).read_bytes() == (b.root / name).read_bytes()
    assert a.records() == b.records()


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "not valid JSON"),
        (page("p3", "one\ntwo", ["core"]), "1 line labels for 2 lines"),
        (page("p3", "one", ["body"]), "'body'"),
        (json.dumps({"id": "p3", "text": "one"}), "missing field 'line_labels'"),
    ],
    ids=["malformed-json", "label-count", "unknown-line-label", "missing-field"],
)
def test_a_bad_input_line_names_file_and_line_and_keeps_the_old_shard(fake_wcxb, tmp_path, bad, message):
    store = LabelStore(tmp_path / "labels")
    import_wcxb(fake_wcxb, store)
    before = store.records()
    bad_file = write_jsonl_gz(tmp_path / "bad.jsonl.gz", [page("p1", TEXT, LINE_LABELS), "", bad])
    with pytest.raises(LabelStoreError, match=f"bad.jsonl.gz:3: .*{message}"):
        import_wcxb(bad_file, store)
    assert store.records() == before


@pytest.mark.skipif(not WCXB_DATA.exists(), reason=f"WCXB data not found at {WCXB_DATA}")
def test_committed_wcxb_shard_agrees_with_the_real_data():
    with gzip.open(WCXB_DATA, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    pages = {f"wcxb-dev/{r['id']}": r for r in rows[:3] + rows[100::250]}
    shard = REPO / "labels"
    with gzip.open(shard / "wcxb-dev.documents.jsonl.gz", "rt", encoding="utf-8") as fh:
        docs = {d["doc_id"]: d for d in map(json.loads, fh) if d["doc_id"] in pages}
    labels = {doc_id: {} for doc_id in pages}
    with gzip.open(shard / "wcxb-dev.labels.jsonl.gz", "rt", encoding="utf-8") as fh:
        for r in map(json.loads, fh):
            if r["doc_id"] in pages:
                labels[r["doc_id"]][r["index"]] = r
    assert docs.keys() == pages.keys()
    for doc_id, row in pages.items():
        assert docs[doc_id]["text"] == row["text"] and docs[doc_id]["url"] == row["url"]
        assert docs[doc_id]["license"] == "CC-BY-4.0"
        paragraphs = segment(row["text"])
        line_labels = [lab for line, lab in zip(row["text"].splitlines(), row["line_labels"]) if line.strip()]
        first_core = line_labels.index("core") if "core" in line_labels else len(line_labels)
        seen = set()
        for p, line_label in zip(paragraphs, line_labels):
            rec = labels[doc_id].get(p.index)
            key = "".join(c for c in p.text.lower() if c.isalnum())
            if rec is None:
                assert first_core - HEADLINE_WINDOW <= p.index < first_core, (doc_id, p)
            else:
                assert (rec["start"], rec["end"], rec["text_sha256"]) == (
                    p.start,
                    p.end,
                    paragraph_hash(p.text),
                )
                if rec["label"] == DUP:
                    assert key in seen, (doc_id, p)
                else:
                    assert rec["label"] == {"core": CORE, "other": NOT_CORE}[line_label], (doc_id, p)
            seen.add(key)
        assert labels[doc_id] and max(labels[doc_id]) < len(paragraphs)
        assert [labels[doc_id].get(p.index, {}).get("label") for p in paragraphs] == coarse_paragraph_labels(
            row["text"], row["line_labels"], doc_id
        )


ANDY_DATA = WCXB_DATA.with_name("andy_news_dev.jsonl.gz")


def _ids(path) -> set[str]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return {str(json.loads(line)["id"]) for line in fh if line.strip()}


@pytest.mark.skipif(not (WCXB_DATA.exists() and ANDY_DATA.exists()), reason="shared data not found")
def test_committed_store_holds_exactly_the_trainable_pages_and_no_test_split_page():
    docs = LabelStore(REPO / "labels").documents()
    wcxb = {d.split("/", 1)[1] for d in docs if d.startswith("wcxb-dev/")}
    andy = {d for d, doc in docs.items() if d.startswith("andy-news/")}
    assert wcxb == _ids(WCXB_DATA)  # the 82 test-split pages of the benchmark are gone
    assert {d.split("/", 1)[1] for d in andy} == _ids(ANDY_DATA)
    assert {docs[d].license for d in andy} == {"Apache-2.0"}


def test_andy_pages_import_under_their_own_shard_source_and_licence(tmp_path):
    path = tmp_path / "andy.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(
            json.dumps({"id": "a1", "url": "https://x.example/a1", "text": TEXT, "line_labels": LINE_LABELS})
        )
    store = LabelStore(tmp_path / "labels")
    assert import_corpus(path, store, "andy") == (1, sum(lab not in (None, "blank") for *_, lab in PAGE))
    doc = store.documents()["andy-news/a1"]
    assert doc.license == "Apache-2.0" and "AndyTheFactory" in doc.source
    assert {r.annotator for r in store.records()} == {"andy-news-import"}
    assert (tmp_path / "labels" / "andy-news.labels.jsonl.gz").exists()
