"""The labelling app's logic without a browser (segmenter.labelling: session, sources, retrain,
config, agreement):
every action reaches the store at once, undo appends, bulk actions, the uncertainty queue,
path confinement, uploads, agreement and adjudication, export, retraining."""

import csv
import io
import json
import os

import numpy as np
import pytest
from conftest import REPO

import segmenter
from segmenter.labelling.agreement import agreement_table, disagreements, kappa, label_maps, pair_agreement
from segmenter.labelling.config import AppConfig
from segmenter.labelling.render import cleaned_html, preview_rows_html
from segmenter.labelling.retrain import RetrainJob, metrics_frames, promote_candidate
from segmenter.labelling.session import (
    LABEL_CSS,
    AnnotationSession,
    export_csv,
    export_jsonl,
    export_resolved_csv,
    md_escape,
)
from segmenter.labelling.sources import (
    PathRefused,
    UploadTooLarge,
    confine,
    decode_bytes,
    load_folder,
    load_jsonl,
    pasted_document,
    seed_documents,
    uploaded_document,
)
from segmenter.labelling.store import LabelRecord, LabelStore
from segmenter.labels import CLASSES

TEN = "\n".join(f"Paragraph number {i} of the page." for i in range(10)) + "\n"


class FakeModel:
    """predict_proba by paragraph text: ``table[text]`` or a flat default."""

    def __init__(self, table=None, default=(0.2, 0.2, 0.2, 0.2, 0.2)):
        self.table, self.default = table or {}, default

    def predict_proba(self, docs):
        return [
            np.array([self.table.get(p.text, self.default) for p in paras], dtype=float) for paras in docs
        ]


def probs(label, p):
    """Probabilities with ``p`` on ``label`` and the rest spread evenly."""
    rest = (1 - p) / (len(CLASSES) - 1)
    return tuple(p if c == label else rest for c in CLASSES)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "labels"


@pytest.fixture
def seeds_session(root, shipped_model):
    s = AnnotationSession(root, "alice", shipped_model)
    s.set_documents(seed_documents(REPO, root))
    return s


def ten_session(root, annotator="alice", model=None):
    s = AnnotationSession(root, annotator, model)
    s.set_documents([pasted_document(TEN)])
    return s


# -- labelling reaches the store at once -------------------------------------------------------
def test_labelling_appends_at_once_and_a_new_session_rebuilds_from_the_store(seeds_session, root):
    s = seeds_session
    rec = s.label("core-story")
    assert LabelStore(root).records() == [rec]  # written before label() returned
    stored = LabelStore(root).documents()[rec.doc_id]
    assert stored.path == os.path.relpath(REPO / rec.doc_id, root)  # seeds registered by path
    assert rec.doc_id == "seeds/000_88a8431a9aab6b22.txt" and (rec.index, rec.annotator) == (0, "alice")
    again = AnnotationSession(root, "alice", s.model)  # a reload: a fresh session on the same store
    again.set_documents(seed_documents(REPO, root))
    assert again.my_labels()[0] == "core-story" and again.cursor == 1
    assert AnnotationSession(root, "bob").decision(again.doc, 0) is None  # bob has no decision


def test_label_and_advance_goes_to_the_next_unlabelled_paragraph(root):
    s = ten_session(root)
    for i in (1, 2, 5):
        s.goto(i)
        s.label("nav", advance=False)
    s.goto(0)
    s.label("core-story")
    assert s.cursor == 3
    s.goto(9)
    s.label("promo")
    assert s.cursor == 3  # wrapped round to the first unlabelled one
    s.label("nav")
    assert s.cursor == 4
    s.move(-10)
    assert s.cursor == 0
    s.move(3)
    assert s.cursor == 3


def test_labelling_needs_an_annotator_name(root):
    s = ten_session(root, annotator="  ")
    with pytest.raises(ValueError, match="name"):
        s.label("nav")
    assert LabelStore(root).records() == []


def test_undo_restores_the_previous_decision_then_retracts(root):
    s = ten_session(root)
    s.label("nav")  # paragraph 0
    s.goto(0)
    s.label("promo")  # changes paragraph 0
    s.undo()
    store = LabelStore(root)
    recs = store.records()
    assert [r.label for r in recs] == ["nav", "promo", "nav"] and not recs[-1].retracted
    assert store.resolve()[0] == {s.doc.doc_id: {0: "nav"}} and s.cursor == 0
    s.undo()
    last = store.records()[-1]
    assert last.retracted and last.index == 0 and last.annotator == "alice"
    assert store.resolve()[0] == {} and s.my_labels()[0] is None
    assert s.undo() == "nothing to undo" and len(store.records()) == 4


def test_undo_is_per_annotator(root):
    s = ten_session(root)
    s.label("nav")
    s.set_annotator("bob")
    assert not s.can_undo()
    s.goto(0)
    s.label("promo")
    s.undo()
    assert LabelStore(root).records()[-1].annotator == "bob"
    s.set_annotator("alice")
    assert s.my_labels()[0] == "nav" and s.can_undo()


def test_bulk_range_labels_every_paragraph_and_undoes_as_one_step(root):
    s = ten_session(root)
    s.goto(4)
    s.label("nav")
    assert s.bulk_label(3, 6, "related-article") == 4
    resolved, _ = LabelStore(root).resolve()
    assert resolved[s.doc.doc_id] == {
        3: "related-article",
        4: "related-article",
        5: "related-article",
        6: "related-article",
    }
    assert s.cursor == 7
    s.undo()
    assert LabelStore(root).resolve()[0][s.doc.doc_id] == {4: "nav"}
    with pytest.raises(ValueError, match="numbered 0 to 9"):
        s.bulk_label(8, 12, "nav")
    with pytest.raises(ValueError, match="unknown label"):
        s.bulk_label(1, 2, "boilerplate")


def test_accept_above_threshold_takes_the_models_suggestions_for_unlabelled_paragraphs(root):
    table = {f"Paragraph number {i} of the page.": probs(CLASSES[i % 5], 0.5 + 0.05 * i) for i in range(10)}
    s = ten_session(root, model=FakeModel(table))
    s.goto(9)
    s.label("core-story", advance=False)  # a human decision the bulk accept must not overwrite
    n = s.accept_above(0.7)
    recs = {r.index: r.label for r in LabelStore(root).records()}
    assert n == 5  # paragraphs 4..8 (p = 0.70 .. 0.90); 9 is already labelled
    assert recs == {9: "core-story", **{i: CLASSES[i % 5] for i in range(4, 9)}}
    s.goto(2)
    s.accept_suggestion()
    assert LabelStore(root).records()[-1].label == CLASSES[2]


def test_suggestions_are_the_output_of_classify_and_cached_per_document(seeds_session):
    s = seeds_session
    df = s.suggestions()
    ref = segmenter.classify(s.doc.text, model=s.model)
    assert df["label"].tolist() == ref["label"].tolist()
    assert s.suggestions() is df
    # the margin is how far the suggestion is from flipping under the model's keep threshold
    t = segmenter.default_threshold(s.model)
    core = ref["p_core-story"].to_numpy()
    others = np.sort(ref[[f"p_{c}" for c in CLASSES if c != "core-story"]].to_numpy(), axis=1)
    expected = np.where(core >= t, abs(core - t), np.minimum(abs(core - t), others[:, -1] - others[:, -2]))
    assert np.allclose(df["margin"], expected)


def test_a_paragraph_near_the_keep_threshold_counts_as_uncertain():
    import pandas as pd

    from segmenter.labelling.session import _with_margin

    row = {f"p_{c}": v for c, v in zip(CLASSES, [0.49, 0.45, 0.02, 0.02, 0.02])}
    margin = _with_margin(pd.DataFrame([row]), threshold=0.5)["margin"].iloc[0]
    assert margin == pytest.approx(0.01)  # not 0.04 (core vs related), nor the 0.43 of the suggestion
    assert _with_margin(pd.DataFrame([row]))["margin"].iloc[0] == pytest.approx(0.04)


def test_the_uncertainty_queue_serves_the_lowest_margin_first_across_documents(root):
    a = "Alpha one.\nAlpha two.\nAlpha three.\n"
    b = "Beta one.\nBeta two.\n"
    table = {
        "Alpha one.": (0.9, 0.1, 0, 0, 0),
        "Alpha two.": (0.45, 0.40, 0.15, 0, 0),
        "Alpha three.": (0.6, 0.3, 0.1, 0, 0),
        "Beta one.": (0.34, 0.33, 0.33, 0, 0),
        "Beta two.": (0.2, 0.7, 0.1, 0, 0),
    }
    s = AnnotationSession(root, "alice", FakeModel(table))
    s.set_documents([pasted_document(a), pasted_document(b)])
    queue = s.uncertainty_queue()
    assert [(pos, i) for _, pos, i in queue] == [(1, 0), (0, 1), (0, 2), (1, 1), (0, 0)]
    assert [round(m, 2) for m, _, _ in queue] == [0.01, 0.05, 0.3, 0.5, 0.8]
    s.set_mode("queue")
    assert (s.doc_pos, s.cursor) == (1, 0)
    s.label("promo")  # in queue mode, advance to the next most uncertain
    assert (s.doc_pos, s.cursor) == (0, 1)
    assert len(s.uncertainty_queue()) == 4


# -- documents in ----------------------------------------------------------------------------
def test_paths_are_confined_to_the_allowed_folders(tmp_path):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    (allowed / "docs").mkdir(parents=True)
    outside.mkdir()
    (allowed / "docs" / "a.txt").write_text("Headline\nBody.\n", encoding="utf-8")
    (outside / "secret.txt").write_text("Secret\n", encoding="utf-8")
    assert confine("docs", [allowed], allowed) == (allowed / "docs").resolve()
    with pytest.raises(PathRefused, match="outside the folders"):
        confine("docs/../../outside", [allowed], allowed)
    with pytest.raises(PathRefused, match="outside the folders"):
        confine(outside, [allowed], allowed)
    (allowed / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathRefused, match="outside the folders"):
        confine("link", [allowed], allowed)
    with pytest.raises(PathRefused, match="outside the folders"):
        load_folder("link", [allowed], allowed, tmp_path / "labels")
    (allowed / "docs" / "b.txt").symlink_to(outside / "secret.txt")
    docs, notes = load_folder("docs", [allowed], allowed, tmp_path / "labels")
    assert [d.doc_id for d in docs] == ["docs/a.txt"]
    assert any("b.txt" in n and "outside" in n for n in notes)
    with pytest.raises(PathRefused, match="does not exist"):
        confine("nope", [allowed], allowed)
    with pytest.raises(PathRefused, match="enter a path"):
        confine("  ", [allowed], allowed)


def test_jsonl_documents_and_their_bad_lines(tmp_path):
    f = tmp_path / "docs.jsonl"
    f.write_text(
        json.dumps({"id": "x1", "text": "Head\nBody.\n"})
        + "\n{broken\n"
        + json.dumps({"id": "x2"})
        + "\n"
        + json.dumps({"id": "x1", "text": "again\n"})
        + "\n",
        encoding="utf-8",
    )
    docs, notes = load_jsonl("docs.jsonl", [tmp_path], tmp_path)
    assert [(d.doc_id, d.text) for d in docs] == [("x1", "Head\nBody.\n")]
    assert [n.split(":")[1] for n in notes] == ["2", "3", "4"]


def test_upload_size_limit_and_non_utf8_decoding_notice():
    with pytest.raises(UploadTooLarge, match="limit is 0.0 MiB"):
        uploaded_document("big.txt", b"x" * 101, limit=100)
    with pytest.raises(UploadTooLarge, match="limit"):
        pasted_document("é" * 60, limit=100)  # bytes, not characters, count
    doc, notice = uploaded_document("cafe.txt", "Café crème\nNaïve\n".encode("cp1252"))
    assert doc.text == "Café crème\nNaïve\n" and "not valid UTF-8" in notice and "cp1252" in notice
    doc, notice = uploaded_document("ok.txt", "Café\n".encode())
    assert notice is None and doc.doc_id.startswith("upload/ok.txt#")
    assert decode_bytes(b"\x81\x8d")[1] is not None  # undefined in cp1252: latin-1
    assert decode_bytes("Hi\n".encode("utf-16"))[0] == "Hi\n"
    with pytest.raises(ValueError, match="no paragraphs"):
        pasted_document(" \n\n")


def test_a_non_utf8_file_is_stored_with_its_decoded_text(tmp_path, root):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.txt").write_bytes("Café\nBody.\n".encode("cp1252"))
    docs, notes = load_folder("d", [tmp_path], tmp_path, root)
    assert docs[0].path is None and notes  # the store reads paths as UTF-8: keep the text inline
    s = AnnotationSession(root, "alice")
    s.set_documents(docs)
    s.label("core-story")
    assert LabelStore(root).documents()["d/x.txt"].text == "Café\nBody.\n"


def test_a_torn_last_line_does_not_stop_a_session(root):
    s = ten_session(root)
    s.label("nav")
    with open(root / "annotations.labels.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"doc_id": "pasted/')
    again = AnnotationSession(root, "alice")
    assert len(again.records) == 1 and again.warnings and "torn" in again.warnings[0]


# -- preview ---------------------------------------------------------------------------------
def test_preview_keeps_literal_text_and_strikes_dropped_paragraphs(root, shipped_model):
    text = "Vietnam blocks Telegram app\n<script>alert(1)</script>\nSubscribe to our **newsletter** now\n"
    s = AnnotationSession(root, "alice", shipped_model)
    s.set_documents([pasted_document(text)])
    df, cleaned = s.preview()
    assert cleaned == segmenter.clean(text, model=shipped_model)
    assert df["text"].tolist() == [p.text for p in segmenter.segment(text)]
    html = preview_rows_html(df)
    rows = html.split("<div style=")[2:]  # one per paragraph, after the wrapper
    assert len(rows) == len(df)
    for row, kept, label in zip(rows, df["kept"], df["model"]):
        struck = "line-through" in row
        assert struck == (not kept)
        assert (LABEL_CSS[label] in row.split("pre-wrap")[1]) == struck  # dropped: coloured by label
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "**newsletter**" in html  # Markdown stays the characters it is made of (no renderer)
    assert not df["kept"].all()  # the page has a dropped paragraph, so the strike is tested


def test_cleaned_text_keeps_its_line_breaks_and_is_escaped():
    html = cleaned_html("First <b>kept</b> paragraph\nSecond & last\n")
    assert html.count("<p ") == 2
    assert "First &lt;b&gt;kept&lt;/b&gt; paragraph" in html and "Second &amp; last" in html
    assert "nothing" in cleaned_html("")


def test_md_escape_leaves_nothing_for_markdown_to_render():
    assert (
        md_escape("**bold** <b>x</b> [a](b) :red[x] $x$")
        == r"\*\*bold\*\* \<b\>x\</b\> \[a\]\(b\) \:red\[x\] \$x\$"
    )


# -- agreement and adjudication ----------------------------------------------------------------
def _two_annotators(root, a_labels, b_labels):
    s = ten_session(root, "alice")
    for i, lab in enumerate(a_labels):
        s.goto(i)
        s.label(lab, advance=False)
    s.set_annotator("bob")
    for i, lab in enumerate(b_labels):
        s.goto(i)
        s.label(lab, advance=False)
    return s


def test_kappa_on_a_hand_made_two_annotator_case(root):
    C, N, P = "core-story", "nav", "promo"
    a = [C, C, C, C, C, N, N, N, N, P]
    b = [C, C, C, C, N, N, N, N, C, P]
    s = _two_annotators(root, a, b)
    labels = label_maps(s.records)
    pa = pair_agreement(labels, "alice", "bob")
    # observed 8/10; chance: C .5*.5 + N .4*.4 + P .1*.1 = .42 -> (0.8 - 0.42) / 0.58
    assert pa.n == 10 and pa.agree == 8
    assert pa.kappa == pytest.approx(0.38 / 0.58)
    # core vs rest: 8/10 agree, chance .5*.5 + .5*.5 = .5 -> 0.6; promo: perfect -> 1.0
    assert pa.per_class[C] == pytest.approx(0.6)
    assert pa.per_class[P] == pytest.approx(1.0)
    # nav vs rest: agree 8/10, chance .4*.4 + .6*.6 = .52 -> .28/.48
    assert pa.per_class[N] == pytest.approx(0.28 / 0.48)
    table = agreement_table(labels)
    assert table.iloc[0]["kappa"] == pytest.approx(0.38 / 0.58) and table.iloc[0]["paragraphs"] == 10
    assert "kappa duplicate" not in table.columns
    assert kappa([C, C], [C, C]) is None and kappa([], []) is None
    dis = disagreements(s.records)
    assert [(d.index, d.labels) for d in dis] == [(4, {"alice": C, "bob": N}), (8, {"alice": N, "bob": C})]


def test_adjudication_changes_what_resolve_returns_and_can_be_undone(root):
    s = _two_annotators(root, ["nav"], ["promo"])
    doc_id = s.doc.doc_id
    store = LabelStore(root)
    assert store.resolve()[0] == {doc_id: {0: "promo"}}  # a tie: the latest decision
    s.set_annotator("rev")
    rec = s.adjudicate(doc_id, 0, "nav")
    assert rec.adjudicated and store.records()[-1] == rec
    assert store.resolve()[0] == {doc_id: {0: "nav"}}
    assert disagreements(s.records)[0].adjudicated == "nav"
    assert disagreements(s.records, include_adjudicated=False) == []
    assert "rev" not in label_maps(s.records)  # a reviewer's decision is not an annotator's vote
    s.undo()
    assert store.records()[-1].retracted and store.records()[-1].adjudicated
    assert store.resolve()[0] == {doc_id: {0: "promo"}}


# -- progress and export ---------------------------------------------------------------------
def test_progress_and_exports_hold_the_records(root):
    s = _two_annotators(root, ["nav", "nav"], ["promo"])
    s.undo()  # bob retracts paragraph 0
    table = s.progress()
    row = table.iloc[0]
    assert (row["paragraphs"], row["yours"], row["labelled"], row["nav"]) == (10, 0, 2, 2)
    recs = LabelStore(root).records()
    lines = export_jsonl(recs).decode().splitlines()
    assert [LabelRecord(**{"adjudicated": False, "retracted": False, **json.loads(x)}) for x in lines] == recs
    rows = list(csv.DictReader(io.StringIO(export_csv(recs).decode())))
    assert [(r["annotator"], r["label"], r["retracted"]) for r in rows] == [
        ("alice", "nav", "false"),
        ("alice", "nav", "false"),
        ("bob", "promo", "false"),
        ("bob", "promo", "true"),
    ]
    resolved = list(csv.reader(io.StringIO(export_resolved_csv(s.resolved()[0]).decode())))
    assert resolved == [["doc_id", "index", "label"], [s.doc.doc_id, "0", "nav"], [s.doc.doc_id, "1", "nav"]]


# -- configuration -------------------------------------------------------------------------------
def test_config_from_command_line_then_environment(tmp_path):
    env = {
        "SEGMENTER_LABELS": str(tmp_path / "env-labels"),
        "SEGMENTER_ALLOW": str(tmp_path / "x"),
        "SEGMENTER_ANNOTATOR": "eve",
    }
    c = AppConfig.from_argv(["--labels", str(tmp_path / "cli"), "--allow", str(tmp_path / "y")], env, REPO)
    assert c.labels == tmp_path / "cli" and c.models == REPO / "models" and c.annotator == "eve"
    assert c.roots == (REPO, tmp_path / "y", tmp_path / "x")
    c = AppConfig.from_argv(["tests/test_app.py", "-q"], env, REPO)  # pytest's own argv is ignored
    assert c.labels == tmp_path / "env-labels"
    assert AppConfig.from_argv([], {}, REPO).labels == REPO / "labels"


# -- retraining ------------------------------------------------------------------------------
def test_retrain_runs_the_training_module_in_the_background_and_promotes_on_request(tmp_path):
    src = LabelStore(REPO / "labels")
    store = LabelStore(tmp_path / "labels")
    for d in src.documents().values():
        if d.doc_id.startswith("seeds/"):
            store.add_document(d.doc_id, d.text)
    store.append([r for r in src.records() if r.annotator == "seed-gold"])
    models = tmp_path / "models"
    job = RetrainJob(store.root, models, extra_args=["--jobs", "1", "--augment-copies", "0"])
    assert job.command()[1:4] == ["-m", "segmenter.train", "--labels"]
    assert job.command()[5:7] == ["--out", str(models / "candidate.joblib")]
    assert job.status() == "idle"
    job.start()
    assert job.wait(300) == "succeeded", job.log()
    assert "held-out" in job.log()
    per_class, conf = metrics_frames(job.metadata())
    assert per_class["class"].tolist() == list(CLASSES)
    assert int(conf["count"].sum()) == 110 and set(conf.columns) == {"gold", "predicted", "count"}
    assert not (models / "segmenter.joblib").exists()  # nothing swapped until asked
    target = promote_candidate(models)
    assert target == models / "segmenter.joblib" and not (models / "candidate.joblib").exists()
    assert json.loads((models / "segmenter.json").read_text())["artifact"] == "segmenter.joblib"
    model = segmenter.load_model(target)  # the sha256 check passes
    assert segmenter.clean("Headline\nBody text here.\n", model=model) is not None


def test_a_failed_retrain_is_reported_with_its_log(tmp_path):
    (tmp_path / "empty").mkdir()
    job = RetrainJob(tmp_path / "empty", tmp_path / "models")
    job.start()
    assert job.wait(120) == "failed" and "no usable labels" in job.log()
    assert job.metadata() is None
    with pytest.raises(FileNotFoundError):
        promote_candidate(tmp_path / "models")


def test_a_promotion_stopped_between_its_renames_is_refused_then_finished(tmp_path, monkeypatch):
    import shutil

    import joblib
    import sklearn

    from segmenter.api import ModelError, file_sha256
    from segmenter.labelling import retrain

    models = tmp_path / "models"
    models.mkdir()
    for ext in (".joblib", ".json"):  # the installed model: a copy of the shipped one
        shutil.copy(REPO / "models" / f"segmenter{ext}", models / f"segmenter{ext}")
    joblib.dump({"a": "candidate"}, models / "candidate.joblib")
    (models / "candidate.json").write_text(
        json.dumps(
            {
                "artifact": "candidate.joblib",
                "sha256": file_sha256(models / "candidate.joblib"),
                "versions": {"scikit-learn": sklearn.__version__},
            }
        )
    )
    real_replace, calls = os.replace, []

    def crash_on_second(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between the renames")
        real_replace(src, dst)

    monkeypatch.setattr(retrain.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        promote_candidate(models)
    monkeypatch.setattr(retrain.os, "replace", real_replace)
    # New artifact, old .json: the sha256 check refuses it before unpickling.
    with pytest.raises(ModelError, match="does not match"):
        segmenter.load_model(models / "segmenter.joblib")
    assert promote_candidate(models) == models / "segmenter.joblib"  # finishes the promotion
    assert segmenter.load_model(models / "segmenter.joblib") == {"a": "candidate"}
    assert sorted(p.name for p in models.iterdir()) == ["segmenter.joblib", "segmenter.json"]
    with pytest.raises(FileNotFoundError):  # nothing left to promote
        promote_candidate(models)
