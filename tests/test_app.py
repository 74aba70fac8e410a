"""annotate_app.py driven by Streamlit's AppTest (no browser), its label store in a tmp folder
(SEGMENTER_LABELS / SEGMENTER_MODELS / SEGMENTER_ALLOW): each button writes what it says to
the store, and document text is only ever shown as text."""

import json
import sys

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

import segmenter
from segmenter.labelling.store import LabelStore
from segmenter.labels import CLASSES

SEED0 = "seeds/000_88a8431a9aab6b22.txt"
EVIL = (
    "Headline with <script>alert(1)</script> inside\n"
    "A **bold** claim and <img src=x onerror=alert(2)> here\n"
    "Third paragraph, [a link](javascript:alert(3)) and :red[colour]\n"
)


@pytest.fixture
def labels(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTER_LABELS", str(tmp_path / "labels"))
    monkeypatch.setenv("SEGMENTER_MODELS", str(tmp_path / "models"))  # empty: the shipped model
    monkeypatch.setenv("SEGMENTER_ALLOW", str(tmp_path / "docs"))
    monkeypatch.delenv("SEGMENTER_ANNOTATOR", raising=False)
    monkeypatch.setattr(sys, "argv", ["annotate_app.py"])
    # Streamlit's script runner installs the app as sys.modules["__main__"] and leaves it
    # there; a later test's "spawn" child process would then run annotate_app.py on start.
    monkeypatch.setitem(sys.modules, "__main__", sys.modules["__main__"])
    (tmp_path / "docs").mkdir()
    return tmp_path / "labels"


def start(name: str | None = "alice") -> AppTest:
    at = AppTest.from_file(str(REPO / "annotate_app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    if name:
        at.text_input(key="annotator").input(name).run()
    return at


def plain(el) -> str:
    """A Markdown element's text as shown (names and paths in messages are backslash-escaped)."""
    return el.value.replace("\\", "")


def records(labels):
    return LabelStore(labels).records()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not [e.value for e in at.error], [e.value for e in at.error]
    return at


def test_the_app_starts_and_the_core_story_button_writes_a_record(labels):
    at = start(name=None)
    assert at.button(key="label_core-story").disabled  # no name, no labelling
    at.text_input(key="annotator").input("alice").run()
    ok(at.button(key="label_core-story").click().run())
    (rec,) = records(labels)
    assert (rec.doc_id, rec.index, rec.label, rec.annotator) == (SEED0, 0, "core-story", "alice")
    assert LabelStore(labels).documents()[SEED0].path.endswith("seeds/000_88a8431a9aab6b22.txt")


def test_every_key_button_undo_bulk_accept_annotators_and_adjudication(labels):
    at = start()
    for i, c in enumerate(CLASSES):  # 1..5 label and advance: paragraphs 0..4
        ok(at.button(key=f"label_{c}").click().run())
        assert [(r.index, r.label) for r in records(labels)][-1] == (i, c)
    assert at.button(key="label_promo").proto.shortcut == "3"
    assert at.button(key="accept").proto.shortcut == "enter"
    ok(at.button(key="undo").click().run())  # retracts paragraph 4
    last = records(labels)[-1]
    assert (last.index, last.label, last.retracted) == (4, "duplicate", True)
    n = len(records(labels))
    ok(at.button(key="accept").click().run())  # the model's suggestion for paragraph 4
    assert records(labels)[-1].index == 4 and len(records(labels)) == n + 1
    at.number_input(key="bulk_from").set_value(6)
    at.number_input(key="bulk_to").set_value(8)
    at.selectbox(key="bulk_label").set_value("nav")
    ok(at.button(key="bulk").click().run())
    assert [(r.index, r.label) for r in records(labels)[-3:]] == [(6, "nav"), (7, "nav"), (8, "nav")]
    before = len(records(labels))
    ok(at.button(key="accept_above").click().run())
    df = segmenter.classify(LabelStore(labels).documents()[SEED0].text)
    expected = [
        (i, df["label"][i])
        for i in range(len(df))
        if i not in (0, 1, 2, 3, 4, 6, 7, 8) and df["proba"][i] >= 0.9
    ]
    assert [(r.index, r.label) for r in records(labels)[before:]] == expected
    # a second annotator disagrees on paragraph 0, a reviewer adjudicates
    at.text_input(key="annotator").input("bob").run()
    assert at.text[0].value == "▶ ¶0"  # bob starts at his own first unlabelled paragraph
    ok(at.button(key="label_nav").click().run())
    assert (records(labels)[-1].annotator, records(labels)[-1].label) == ("bob", "nav")
    at.text_input(key="annotator").input("rev").run()
    at.radio(key="page").set_value("Agreement").run()
    ok(at)
    assert at.dataframe[0].value.iloc[0]["paragraphs"] >= 1
    at.selectbox(key=f"adj_label:{SEED0}:0").set_value("promo")
    ok(at.button(key=f"adj:{SEED0}:0").click().run())
    rec = records(labels)[-1]
    assert (rec.annotator, rec.adjudicated, rec.index, rec.label) == ("rev", True, 0, "promo")
    assert LabelStore(labels).resolve()[0][SEED0][0] == "promo"


def test_decisions_survive_a_reload(labels):
    at = start()
    at.button(key="label_core-story").click().run()
    at.button(key="label_core-story").click().run()
    again = start()  # a new browser session: state rebuilt from the store
    assert again.text[0].value != "▶ ¶0"
    assert "2 of" in again.get("progress")[0].proto.text


def _no_markup_carries(at: AppTest, needles) -> None:
    for kind in (
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "title",
        "header",
        "subheader",
        "latex",
        "html",
        "toast",
    ):
        for el in getattr(at, kind):
            for needle in needles:
                assert needle not in str(el.value), (kind, el.value)


def test_document_text_is_shown_literally_never_as_markdown_or_html(labels):
    at = start()
    at.text_area(key="pasted").input(EVIL).run()
    ok(at.button(key="add_pasted").click().run())
    shown = [t.value for t in at.text]
    for line in EVIL.splitlines():
        assert line in shown
    _no_markup_carries(at, ["<script>", "**bold**", "<img", "](javascript", ":red["])
    at.radio(key="page").set_value("Preview").run()
    ok(at)
    assert at.dataframe[0].value["text"].tolist() == EVIL.splitlines()
    _no_markup_carries(at, ["<script>", "**bold**", "<img", "](javascript", ":red["])


def test_documents_from_an_allowed_jsonl_and_a_refused_path(labels, tmp_path):
    (tmp_path / "docs" / "d.jsonl").write_text(
        json.dumps({"id": "j1", "text": "Head **x**\nBody.\n"}) + "\n", encoding="utf-8"
    )
    at = start()
    at.selectbox(key="source").set_value("JSONL file").run()
    at.text_input(key="source_path").input(str(tmp_path / "docs" / "d.jsonl"))
    ok(at.button(key="load_docs").click().run())
    assert "Head **x**" in [t.value for t in at.text]
    at.text_input(key="source_path").input("../../../etc/passwd")
    at.button(key="load_docs").click().run()
    assert any("outside the folders" in plain(e) for e in at.error)
    assert "Head **x**" in [t.value for t in at.text]  # the working set is unchanged


def test_a_torn_last_line_is_a_warning_not_a_crash(labels):
    at = start()
    at.button(key="label_nav").click().run()
    with open(labels / "annotations.labels.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"doc_id": "seeds/0')
    again = start()
    assert any("torn" in plain(w) for w in again.warning)
    ok(again.button(key="label_promo").click().run())
    assert [r.label for r in records(labels)] == ["nav", "promo"]


def test_retrain_in_the_background_shows_metrics_and_swaps_only_when_asked(labels, tmp_path):
    src, store = LabelStore(REPO / "labels"), LabelStore(labels)
    for d in src.documents().values():
        if d.doc_id.startswith("seeds/"):
            store.add_document(d.doc_id, d.text)
    store.append([r for r in src.records() if r.annotator == "seed-gold"])
    at = start()
    at.radio(key="page").set_value("Retrain").run()
    ok(at.button(key="retrain").click().run())
    job = at.session_state["job"]
    assert job.command()[-2:] == ["--out", str(tmp_path / "models" / "candidate.joblib")]
    assert job.wait(300) == "succeeded", job.log()
    ok(at.run())
    assert at.dataframe[0].value["class"].tolist() == list(CLASSES)
    assert not (tmp_path / "models" / "segmenter.joblib").exists()  # nothing swapped yet
    ok(at.button(key="use_candidate").click().run())
    assert any("candidate" in c.value for c in at.sidebar.caption)
    ok(at.button(key="install_candidate").click().run())
    assert (tmp_path / "models" / "segmenter.joblib").exists()
    assert not (tmp_path / "models" / "candidate.joblib").exists()
    assert any("installed" in c.value for c in at.sidebar.caption)


def test_uploads_decode_non_utf8_with_a_notice_and_refuse_big_files(labels):
    at = start()
    at.get("file_uploader")[0].upload(
        "café.txt", "Café crème au lait\nUn été\n".encode("cp1252"), "text/plain"
    )
    ok(at.run())
    assert "Café crème au lait" in [t.value for t in at.text]
    assert any("not valid UTF-8" in plain(w) and "cp1252" in plain(w) for w in at.warning)
    at.get("file_uploader")[0].upload("big.txt", b"word " * 500_000, "text/plain")
    at.run()
    assert any("limit is 2.0 MiB" in plain(e) for e in at.error), [e.value for e in at.error]
