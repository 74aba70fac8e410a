"""annotate_app.py driven by Streamlit's AppTest (no browser), its label store in a tmp folder
(SEGMENTER_LABELS / SEGMENTER_MODELS / SEGMENTER_ALLOW): each button writes what it says to
the store, and document text is only ever shown as text."""

import json
import sys

import pytest
from conftest import REPO
from streamlit.testing.v1 import AppTest

import segmenter
from segmenter.labelling import keys
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
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):  # what getpass.getuser() reads first
        monkeypatch.setenv(var, "os-user")
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


def view(at: AppTest) -> dict:
    """The data the labelling view (the keys component) was given in the last run."""
    for el in _walk(at._tree):
        proto = getattr(el, "proto", None)
        if getattr(proto, "component_name", None) == keys.NAME:
            return json.loads(proto.json or proto.mixed.json)
    raise AssertionError("the labelling view is not on the page")


def _walk(node):
    children = getattr(node, "children", None)
    for child in children.values() if isinstance(children, dict) else []:
        yield child
        yield from _walk(child)


class Page:
    """The labelling view's key queue, as keys.js sends it: every key an event naming the
    paragraph on screen, the whole unacknowledged queue sent with each new key."""

    def __init__(self, at: AppTest, nonce: str = "apptest-page"):
        self.at, self.nonce, self.events = at, nonce, []

    def send(self) -> AppTest:
        self.at.session_state[keys.KEY] = {"queue": {"nonce": self.nonce, "events": list(self.events)}}
        return self.at.run()

    def event(self, kind: str, queue_only: bool = False, **fields) -> AppTest:
        d = view(self.at)
        ev = {"seq": len(self.events) + 1, "type": kind, "annotator": d["annotator"], "key": kind}
        ev.update({"doc": d["doc"]["id"], "sha": d["doc"]["sha"]})
        ev.update(fields)
        self.events.append(ev)
        return self.at if queue_only else self.send()

    def label(self, label: str, index: int | None = None, queue_only: bool = False) -> AppTest:
        """A label key on ``index`` (default: the highlighted paragraph), then the next
        unlabelled one, as the page computes it."""
        d = view(self.at)
        cur = d["cursor"] if index is None else index
        mine = [p[1] for p in d["paras"]]
        mine[cur] = label
        n = len(mine)
        nxt = next((i % n for i in range(cur + 1, cur + n + 1) if mine[i % n] is None), cur)
        return self.event("label", queue_only, index=cur, label=label, cursor=nxt)

    def accept(self) -> AppTest:
        d = view(self.at)
        return self.label(d["paras"][d["cursor"]][2])

    def undo(self) -> AppTest:
        d = view(self.at)
        top = d["undo"][-1]
        return self.event("undo", expect=[top["doc"], top["items"][0][0]], cursor=top["cursor"])


def test_the_app_starts_as_the_os_user_and_key_1_writes_a_record(labels):
    at = start(name=None)
    assert at.text_input(key="annotator").value == "os-user"  # getpass.getuser(), no name typed
    assert view(at)["annotator"] == "os-user"
    ok(Page(at).label("core-story"))
    (rec,) = records(labels)
    assert (rec.doc_id, rec.index, rec.label, rec.annotator) == (SEED0, 0, "core-story", "os-user")
    assert LabelStore(labels).documents()[SEED0].path.endswith("seeds/000_88a8431a9aab6b22.txt")
    assert view(at)["cursor"] == 1 and view(at)["paras"][0][1] == "core-story"


def test_a_key_lands_on_the_paragraph_it_was_pressed_on_once_however_often_the_queue_comes(labels):
    at = start()
    page = Page(at)
    page.label("core-story", queue_only=True)  # pressed on 0, then 1 while the run was busy
    page.label("nav", index=1, queue_only=True)
    ok(page.send())
    ok(page.send())  # the same queue again (a merged run): nothing doubled
    assert [(r.index, r.label) for r in records(labels)] == [(0, "core-story"), (1, "nav")]
    assert view(at)["acks"][page.nonce] == 2
    # the session's cursor moves (next unlabelled) while a key pressed on 0 is on its way
    at.selectbox(key="doc_select").set_value(1).run()
    at.selectbox(key="doc_select").set_value(0).run()
    assert view(at)["cursor"] == 2
    ok(page.event("label", index=0, label="promo", cursor=2))
    assert [(r.index, r.label) for r in records(labels)][-1] == (0, "promo")
    # the view moved by the session itself says so, so the page follows it
    before = view(at)["view"]
    at.selectbox(key="doc_select").set_value(1).run()
    assert view(at)["view"] != before and view(at)["doc"]["id"] != SEED0


def test_every_key_undo_bulk_accept_annotators_and_adjudication(labels):
    at = start()
    page = Page(at)
    for i, c in enumerate(CLASSES):  # 1..5 label and advance: paragraphs 0..4
        ok(page.label(c))
        assert [(r.index, r.label) for r in records(labels)][-1] == (i, c)
    ok(page.undo())  # retracts paragraph 4
    last = records(labels)[-1]
    assert (last.index, last.label, last.retracted) == (4, "duplicate", True)
    assert view(at)["cursor"] == 4
    n = len(records(labels))
    ok(page.accept())  # the model's suggestion for paragraph 4
    assert records(labels)[-1].index == 4 and len(records(labels)) == n + 1
    at.number_input(key="bulk_from").set_value(6)
    at.number_input(key="bulk_to").set_value(8)
    at.selectbox(key="bulk_label").set_value("nav")
    ok(page.event("bulk"))  # the b key: the range in the bulk box
    assert [(r.index, r.label) for r in records(labels)[-3:]] == [(6, "nav"), (7, "nav"), (8, "nav")]
    assert view(at)["cursor"] == 9
    before = len(records(labels))
    ok(page.event("accept_above"))  # the a key
    df = segmenter.classify(LabelStore(labels).documents()[SEED0].text)
    expected = [
        (i, df["label"][i])
        for i in range(len(df))
        if i not in (0, 1, 2, 3, 4, 6, 7, 8) and df["proba"][i] >= 0.9
    ]
    assert [(r.index, r.label) for r in records(labels)[before:]] == expected
    ok(at.button(key="accept_above").click().run())  # the popover's button: nothing left to accept
    assert len(records(labels)) == before + len(expected)
    # a second annotator disagrees on paragraph 0, a reviewer adjudicates
    at.text_input(key="annotator").input("bob").run()
    assert view(at)["cursor"] == 0  # bob starts at his own first unlabelled paragraph
    ok(page.label("nav"))
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


def test_a_key_is_stored_under_the_name_shown_when_it_was_pressed(labels):
    at = start()
    page = Page(at)
    page.label("nav", queue_only=True)  # pressed as alice ...
    at.text_input(key="annotator").input("bob")  # ... then the name changed, in the same run
    ok(page.send())
    assert [(r.index, r.label, r.annotator) for r in records(labels)] == [(0, "nav", "alice")]
    assert view(at)["annotator"] == "bob"


def test_a_key_that_cannot_be_applied_is_reported_and_the_keys_behind_it_still_land(labels):
    at = start()
    page = Page(at)
    page.event("label", queue_only=True, index=0, label="nav", sha="0" * 64, cursor=1)  # unknown text
    page.label("promo", index=1, queue_only=True)
    ok(page.send())
    assert [(r.index, r.label) for r in records(labels)] == [(1, "promo")]
    assert any("neither open nor in the store" in p for p in view(at)["problems"])


def test_decisions_survive_a_reload(labels):
    at = start()
    page = Page(at)
    page.label("core-story")
    page.label("core-story")
    again = start()  # a new browser session: state rebuilt from the store
    assert view(again)["cursor"] == 2
    assert [p[1] for p in view(again)["paras"][:3]] == ["core-story", "core-story", None]


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


def _html_text(html: str) -> list[str]:
    """The text of each paragraph cell of the preview's HTML, as a browser shows it."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.out, self.depth, self.cell = [], 0, None

        def handle_starttag(self, tag, attrs):
            style = dict(attrs).get("style") or ""
            if tag == "span" and "pre-wrap" in style:
                self.cell = ""

        def handle_endtag(self, tag):
            if tag == "span" and self.cell is not None:
                self.out.append(self.cell)
                self.cell = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data

    p = P()
    p.feed(html)
    return p.out


def test_document_text_is_shown_literally_never_as_markdown_or_html(labels):
    at = start()
    at.text_area(key="pasted").input(EVIL).run()
    ok(at.button(key="add_pasted").click().run())
    # the labelling view gets the text as data (it sets it as text, never as HTML)
    assert [p[0] for p in view(at)["paras"]] == EVIL.splitlines()
    _no_markup_carries(at, ["<script>", "**bold**", "<img", "](javascript", ":red["])
    at.radio(key="page").set_value("Preview").run()
    ok(at)
    (original,) = [h.proto.body for h in at.get("html") if "data-kept" in h.proto.body]
    assert "<script>" not in original and "<img" not in original
    assert _html_text(original) == EVIL.splitlines()  # escaped, so shown as the characters


def test_documents_from_an_allowed_jsonl_and_a_refused_path(labels, tmp_path):
    (tmp_path / "docs" / "d.jsonl").write_text(
        json.dumps({"id": "j1", "text": "Head **x**\nBody.\n"}) + "\n", encoding="utf-8"
    )
    at = start()
    at.selectbox(key="source").set_value("JSONL file").run()
    at.text_input(key="source_path").input(str(tmp_path / "docs" / "d.jsonl"))
    ok(at.button(key="load_docs").click().run())
    assert [p[0] for p in view(at)["paras"]] == ["Head **x**", "Body."]
    at.text_input(key="source_path").input("../../../etc/passwd")
    at.button(key="load_docs").click().run()
    assert any("outside the folders" in plain(e) for e in at.toast)  # a notice above the page
    assert [p[0] for p in view(at)["paras"]] == ["Head **x**", "Body."]  # the working set is unchanged


def test_a_torn_last_line_is_a_warning_not_a_crash(labels):
    at = start()
    Page(at).label("nav")
    with open(labels / "annotations.labels.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"doc_id": "seeds/0')
    again = start()
    assert any("torn" in plain(w) for w in again.sidebar.warning)
    ok(Page(again).label("promo"))
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
    compared = at.dataframe[0].value
    assert compared["class"].tolist() == list(CLASSES)
    # the candidate's held-out figures beside the installed (shipped) model's, before installing
    shipped = json.loads((REPO / "models" / "segmenter.json").read_text())["held_out_metrics"]["fine"]
    assert compared["installed F1"].tolist() == [shipped["per_class"][c]["f1"] for c in CLASSES]
    assert compared["F1 change"].tolist() == pytest.approx(
        list(compared["candidate F1"] - compared["installed F1"])
    )
    status = [t.value for t in at.text if t.value.startswith("status:")]
    assert status and "succeeded · took " in status[0]
    (run,) = [json.loads(x) for x in (tmp_path / "models" / "retrain_history.jsonl").read_text().splitlines()]
    assert run["status"] == "succeeded" and run["paragraphs"] == 110 and run["seconds"] > 0
    # the next run's estimate: the last run's time, scaled by the paragraphs labelled now
    assert any("110 labelled paragraphs; expected to take about" in c.value for c in at.caption)
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
    assert view(at)["paras"][0][0] == "Café crème au lait"
    assert any("not valid UTF-8" in plain(w) and "cp1252" in plain(w) for w in at.toast)
    at.get("file_uploader")[0].upload("big.txt", b"word " * 500_000, "text/plain")
    at.run()
    assert any("limit is 2.0 MiB" in plain(e) for e in at.toast), [e.value for e in at.toast]


def _two_annotators_and_an_importer(labels, one_label: bool = False):
    """alice and bob on seed 0's first four paragraphs (bob agreeing on all but one, or both
    giving one label throughout), and a coarse importer on the same paragraphs."""
    from segmenter.labelling.session import AnnotationSession
    from segmenter.labelling.sources import seed_documents

    for name, labs in (
        ("alice", ["core-story"] * 4 if one_label else ["core-story", "core-story", "nav", "promo"]),
        ("bob", ["core-story"] * 4 if one_label else ["core-story", "nav", "nav", "promo"]),
        ("corpus-import", ["not-core"] * 4),
    ):
        s = AnnotationSession(labels, name)
        s.set_documents(seed_documents(REPO, labels))
        for i, lab in enumerate(labs):
            s.label_at(SEED0, s.doc.sha256, i, lab)


def test_agreement_leaves_importers_out_and_says_when_kappa_is_undefined(labels):
    _two_annotators_and_an_importer(labels, one_label=True)
    at = start("rev")
    at.radio(key="page").set_value("Agreement").run()
    ok(at)
    table = at.dataframe[0].value
    assert table[["annotator A", "annotator B"]].values.tolist() == [["alice", "bob"]]  # no importer
    assert table["kappa"].tolist() == ["undefined: one label only"]  # both gave one label throughout
    assert at.checkbox(key="agree_importers").label == "include importers (1)"
    at.checkbox(key="agree_importers").check().run()
    assert len(at.dataframe[0].value) == 3  # asked for: the importer's pairs too


def test_agreement_pages_through_many_pairs_fifteen_at_a_time(labels):
    from segmenter.labelling.session import AnnotationSession
    from segmenter.labelling.sources import seed_documents

    for k in range(7):  # 7 annotators: 21 pairs, more than one page of 15
        s = AnnotationSession(labels, f"ann{k}")
        s.set_documents(seed_documents(REPO, labels))
        s.label_at(SEED0, s.doc.sha256, 0, "core-story" if k % 2 else "nav")
    at = start("rev")
    at.radio(key="page").set_value("Agreement").run()
    ok(at)
    assert len(at.dataframe[0].value) == 15
    at.number_input(key="agree_page").set_value(2).run()
    assert len(at.dataframe[0].value) == 6


def test_progress_shows_rare_classes_as_counts_and_on_a_log_scale(labels):
    _two_annotators_and_an_importer(labels)
    at = start()
    at.radio(key="page").set_value("Progress & export").run()
    ok(at)
    (per_class,) = [d.value for d in at.dataframe if "share" in d.value.columns]
    counts = {r["class"]: r["paragraphs"] for r in per_class.to_dict("records")}
    resolved = LabelStore(labels).resolve()[0][SEED0]
    assert counts == {c: sum(v == c for v in resolved.values()) for c in counts}
    assert counts["promo"] == 1 and counts["nav"] >= 1  # a class of one paragraph is there to read
    (chart,) = at.get("vega_lite_chart")
    bars = json.loads(chart.proto.spec)["layer"][0]
    assert bars["encoding"]["x"]["scale"]["type"] == "symlog"
