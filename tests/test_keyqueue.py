"""The labelling page's key queue without a browser (segmenter.labelling.keyqueue): each key is
applied once, in the order pressed, to the paragraph and under the name the screen showed;
what cannot be applied is reported without stalling the keys behind it; the data the page
draws. Also the app's other helpers that the browser test cannot pin: the OS user as the
default annotator, retraining's estimate and comparison, agreement's readable table."""

import json
import threading

import pytest

from segmenter.labelling.agreement import UNDEFINED, agreement_table, is_importer, readable_table
from segmenter.labelling.config import AppConfig
from segmenter.labelling.keyqueue import BulkRange, KeyLog, view_data
from segmenter.labelling.retrain import RetrainJob, compare_frames
from segmenter.labelling.session import AnnotationSession
from segmenter.labelling.sources import pasted_document
from segmenter.labelling.store import LabelStore

TEXT = "".join(f"Paragraph {i} of the page, with words.\n" for i in range(8))


@pytest.fixture
def sess(tmp_path):
    s = AnnotationSession(tmp_path / "labels", "alice")
    s.set_documents([pasted_document(TEXT)])
    return s


def queue(sess, *events, nonce="page-1"):
    doc = sess.doc
    out = []
    for seq, ev in enumerate(events, 1):
        full = {"seq": seq, "annotator": "alice", "doc": doc.doc_id, "sha": doc.sha256}
        full.update(ev)
        out.append(full)
    return {"nonce": nonce, "events": out}


def stored(sess):
    return [(r.index, r.label, r.annotator, r.retracted) for r in LabelStore(sess.store.root).records()]


def test_each_event_is_applied_once_in_order_to_the_paragraph_it_names(sess):
    log = KeyLog()
    q = queue(
        sess,
        {"type": "label", "index": 0, "label": "nav", "cursor": 1},
        {"type": "label", "index": 1, "label": "promo", "cursor": 2},
        {"type": "move", "cursor": 5},
        {"type": "label", "index": 5, "label": "core-story", "cursor": 2},
    )
    q2 = {"nonce": q["nonce"], "events": q["events"][:2]}
    assert log.apply(sess, q2) == 2  # a run that saw the first two keys only
    assert log.apply(sess, q) == 2  # the next run sees all four: the last two are new
    assert log.apply(sess, q) == 0  # the same queue again: nothing doubled
    assert stored(sess) == [
        (0, "nav", "alice", False),
        (1, "promo", "alice", False),
        (5, "core-story", "alice", False),
    ]
    assert sess.cursor == 2 and log.applied == {"page-1": 4}
    # another page load (a reload) numbers its keys from 1 again: they are its own
    assert (
        log.apply(
            sess, queue(sess, {"type": "label", "index": 7, "label": "nav", "cursor": 2}, nonce="page-2")
        )
        == 1
    )


def test_a_key_lands_where_it_was_pressed_even_after_the_cursor_moved(sess):
    sess.goto(6)  # the session moved on (another run) before the key pressed on 0 arrived
    KeyLog().apply(sess, queue(sess, {"type": "label", "index": 0, "label": "duplicate", "cursor": 1}))
    assert stored(sess) == [(0, "duplicate", "alice", False)]
    sess.undo()  # and its undo comes back to the paragraph it was pressed on
    assert sess.cursor == 0


def test_a_key_is_stored_under_the_name_shown_when_it_was_pressed(sess):
    q = queue(sess, {"type": "label", "index": 0, "label": "nav", "cursor": 1, "annotator": "bob"})
    sess.set_annotator("carol")  # the name changed after the key was pressed
    KeyLog().apply(sess, q)
    assert stored(sess) == [(0, "nav", "bob", False)]
    assert sess.annotator == "carol"


def test_undo_undoes_the_step_the_page_showed_and_refuses_another(sess):
    log = KeyLog()
    log.apply(
        sess,
        queue(
            sess,
            {"type": "label", "index": 0, "label": "nav", "cursor": 1},
            {"type": "undo", "expect": [sess.doc.doc_id, 0], "cursor": 0},
            {"type": "label", "index": 3, "label": "promo", "cursor": 4},
            {"type": "undo", "expect": [sess.doc.doc_id, 2], "cursor": 2},  # the page meant another
        ),
    )
    assert stored(sess) == [
        (0, "nav", "alice", False),
        (0, "nav", "alice", True),
        (3, "promo", "alice", False),
    ]
    (problem,) = log.take_problems()
    assert "undo refused" in problem and "¶2" in problem and "¶3" in problem
    assert log.applied == {"page-1": 4}  # reported, not retried for ever


def test_a_key_that_cannot_be_applied_is_reported_and_the_keys_behind_it_still_land(sess):
    log = KeyLog()
    log.apply(
        sess,
        queue(
            sess,
            {"type": "label", "index": 0, "label": "nav", "sha": "f" * 64, "cursor": 1},  # other text
            {"type": "label", "index": 99, "label": "nav", "cursor": 1},  # no such paragraph
            {"type": "label", "index": 1, "label": "no-such-label", "cursor": 1},
            {"type": "label", "index": 2, "label": "promo", "cursor": 3},
        ),
    )
    assert stored(sess) == [(2, "promo", "alice", False)]
    problems = log.take_problems()
    assert len(problems) == 3 and "neither open nor in the store" in problems[0]
    assert "paragraphs 0 to 7; got 99" in problems[1] and "unknown label" in problems[2]
    assert log.take_problems() == []


def test_bulk_and_accept_keys_use_the_boxes_and_only_on_the_document_shown(sess, shipped_model):
    sess.set_model(shipped_model, "shipped")
    log = KeyLog()
    log.apply(sess, queue(sess, {"type": "bulk"}), bulk=BulkRange(2, 4, "nav"))
    assert stored(sess) == [(i, "nav", "alice", False) for i in (2, 3, 4)] and sess.cursor == 5
    other = pasted_document("Another page\nwith two paragraphs\n")
    q = queue(sess, {"type": "bulk"}, nonce="page-2")
    sess.add_document(other)  # the page showed the first document when b was pressed
    log.apply(sess, q, bulk=BulkRange(0, 1, "promo"))
    assert len(stored(sess)) == 3 and "no longer the open document" in log.take_problems()[0]


def test_runs_applying_one_queue_at_once_store_each_key_once(sess):
    log = KeyLog()
    q = queue(sess, *({"type": "label", "index": i, "label": "nav", "cursor": i + 1} for i in range(8)))
    threads = [threading.Thread(target=log.apply, args=(sess, q)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r[0] for r in stored(sess)] == list(range(8))


def test_the_view_data_is_json_and_its_view_token_changes_only_when_the_session_moves(sess):
    log = KeyLog()
    d = view_data(sess, log)
    assert json.loads(json.dumps(d)) == d
    assert [p[0] for p in d["paras"]] == TEXT.splitlines() and d["paras"][0][2] is None  # no model
    log.apply(sess, queue(sess, {"type": "label", "index": 0, "label": "nav", "cursor": 1}))
    d2 = view_data(sess, log)
    assert d2["view"] == d["view"] and d2["cursor"] == 1  # the page moved itself: nothing to follow
    assert d2["acks"] == {"page-1": 1} and d2["undo"][-1]["items"] == [[0, None]]
    sess.select_document(0)
    assert view_data(sess, log)["view"] != d["view"]


# -- the OS user, retraining's estimate, agreement's table ----------------------------------------
def test_without_a_name_given_the_annotator_is_the_os_user(monkeypatch, tmp_path):
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(var, "os-user")
    assert AppConfig.from_argv([], {}, tmp_path).annotator == "os-user"
    assert AppConfig.from_argv([], {"SEGMENTER_ANNOTATOR": "eve"}, tmp_path).annotator == "eve"
    assert (
        AppConfig.from_argv(["--annotator", "ann"], {"SEGMENTER_ANNOTATOR": "eve"}, tmp_path).annotator
        == "ann"
    )


def test_the_retrain_estimate_scales_the_last_successful_run_by_paragraphs(tmp_path):
    job = RetrainJob(tmp_path / "labels", tmp_path / "models")
    assert job.estimate(1000) is None  # no run has finished here
    (tmp_path / "models").mkdir()
    job.history_path.write_text(
        json.dumps({"seconds": 100.0, "paragraphs": 1000, "status": "succeeded"})
        + "\n"
        + json.dumps({"seconds": 5.0, "paragraphs": 1000, "status": "failed"})
        + "\nnot json\n"
    )
    assert job.estimate(3000) == pytest.approx(300.0)


def test_the_candidate_is_compared_with_the_installed_model_class_by_class():
    def meta(f1s):
        per = {c: {"precision": f, "recall": f, "f1": f, "support": 10} for c, f in f1s.items()}
        return {
            "held_out_metrics": {"fine": {"per_class": per, "confusion": {"labels": list(f1s), "matrix": []}}}
        }

    table = compare_frames(meta({"core-story": 0.9, "nav": 0.5}), meta({"core-story": 0.8}))
    assert table["class"].tolist() == ["core-story", "nav"]
    assert table["F1 change"].iloc[0] == pytest.approx(0.1)
    assert table["installed F1"].isna().tolist() == [False, True]  # nav: nothing to compare
    assert compare_frames({}, None) is None


def test_agreement_reads_undefined_kappa_as_such_and_knows_importers():
    key = ("d", "s", 0)
    labels = {"a": {key: "nav", ("d", "s", 1): "nav"}, "b": {key: "nav", ("d", "s", 1): "nav"}}
    shown = readable_table(agreement_table(labels))
    assert shown["kappa"].tolist() == [UNDEFINED] and shown["agreement"].tolist() == ["1.00"]
    assert is_importer("wcxb-dev-import") and not is_importer("importer-bob")


def test_n_and_p_open_the_next_document_only_from_the_document_shown(sess):
    log = KeyLog()
    sess.add_document(pasted_document("Second page\nits second paragraph\n"))
    sess.select_document(0)
    q = queue(sess, {"type": "document", "delta": 1})
    log.apply(sess, q)
    assert sess.doc_pos == 1
    log.apply(sess, {"nonce": "page-1", "events": [*q["events"], dict(q["events"][0], seq=2)]})
    assert sess.doc_pos == 1  # pressed on the first document, which is no longer shown
    assert "no longer the open document" in log.take_problems()[0]


def test_in_the_queue_a_decision_goes_on_to_the_most_uncertain_paragraph_left(tmp_path):
    import numpy as np

    class Model:  # paragraph i is less certain the higher i is
        def predict_proba(self, docs):
            return [
                np.array([[0.9 - 0.05 * i, 0.1 + 0.05 * i, 0, 0, 0] for i in range(len(p))]) for p in docs
            ]

    s = AnnotationSession(tmp_path / "labels", "alice", Model(), "fake")
    s.set_documents([pasted_document(TEXT)])
    s.set_mode("queue")
    first = view_data(s, KeyLog())["queue"][0]
    assert first == [0, s.cursor]
    KeyLog().apply(s, queue(s, {"type": "label", "index": s.cursor, "label": "nav", "cursor": s.cursor}))
    assert [s.doc_pos, s.cursor] == view_data(s, KeyLog())["queue"][0] != first
