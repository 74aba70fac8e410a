"""The labelling app: ``streamlit run annotate_app.py [-- --labels DIR --models DIR --allow DIR
--annotator NAME]`` (or SEGMENTER_LABELS, SEGMENTER_MODELS, SEGMENTER_ALLOW, SEGMENTER_ANNOTATOR).

This file only draws; every decision is made in :mod:`segmenter.labelling.session` (the labelling
session), :mod:`segmenter.labelling.sources` (documents in), :mod:`segmenter.labelling.retrain`,
:mod:`segmenter.labelling.config` and :mod:`segmenter.labelling.agreement`. Document text is
shown with ``st.text`` / ``st.dataframe`` only, never as Markdown or HTML; names and paths in
Markdown elements go through ``md_escape``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from segmenter.api import ModelError, file_sha256, load_model
from segmenter.labelling.agreement import agreement_table, disagreements, label_maps
from segmenter.labelling.config import AppConfig
from segmenter.labelling.retrain import RetrainJob, metrics_frames, model_path, promote_candidate
from segmenter.labelling.session import (
    LABEL_COLORS,
    LABEL_KEYS,
    AnnotationSession,
    export_csv,
    export_jsonl,
    export_resolved_csv,
    md_escape,
    preview_styler,
    progress_totals,
)
from segmenter.labelling.sources import (
    MAX_UPLOAD_BYTES,
    PathRefused,
    UploadTooLarge,
    load_folder,
    load_jsonl,
    pasted_document,
    seed_documents,
    uploaded_document,
)
from segmenter.labelling.store import LabelStore, LabelStoreError
from segmenter.labels import ALLOWED_LABELS, CLASSES

PAGES = ["Label", "Preview", "Agreement", "Progress & export", "Retrain"]
SOURCES = ["Seeds", "Documents in the store", "Folder of .txt files", "JSONL file"]
ERRORS = (ValueError, LabelStoreError, ModelError, OSError, RuntimeError)

st.set_page_config(page_title="segmenter: label paragraphs", layout="wide")
config = AppConfig.from_argv(sys.argv[1:], os.environ, project=Path(__file__).resolve().parent)


@st.cache_resource(show_spinner="loading the model ...")
def _model(path: str, stamp: tuple[int, int]):
    return load_model(path)


def _load(path: Path):
    s = path.stat()
    return _model(str(path), (s.st_mtime_ns, s.st_size))


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault("flash", []).append((kind, text))


def _act(fn, *args, **kwargs) -> None:
    """Run a session action in a widget callback; report failures instead of raising."""
    try:
        fn(*args, **kwargs)
    except ERRORS as exc:
        _flash("error", str(exc))


def _session() -> AnnotationSession:
    sess = st.session_state.get("session")
    if sess is None or sess.store.root != config.labels:
        try:
            sess = AnnotationSession(LabelStore(config.labels), config.annotator)
        except LabelStoreError as exc:
            st.error("The label store cannot be read, so nothing can be labelled until it is fixed:")
            st.code(str(exc), language=None, wrap_lines=True)
            st.stop()
        try:
            path = model_path(config.models)
            sess.set_model(_load(path), f"{path.name} ({file_sha256(path)[:12]})")
        except ERRORS as exc:
            _flash("warning", f"no model suggestions: {exc}")
        sess.set_documents(seed_documents(config.project, sess.store.root))
        st.session_state["session"] = sess
        st.session_state["annotator"] = sess.annotator
    return sess


sess = _session()


# -- sidebar ---------------------------------------------------------------------------------
def _set_annotator() -> None:
    sess.set_annotator(st.session_state["annotator"])


def _load_source() -> None:
    src, path = st.session_state["source"], st.session_state.get("source_path", "")
    try:
        if src == "Seeds":
            docs, notes = seed_documents(config.project, sess.store.root), []
        elif src == "Documents in the store":
            docs, notes = list(sess.store_docs.values()), []
        elif src == "Folder of .txt files":
            docs, notes = load_folder(path, config.roots, config.project, sess.store.root)
        else:
            docs, notes = load_jsonl(path, config.roots, config.project)
    except (PathRefused, OSError) as exc:
        _flash("error", f"not loaded: {exc}")
        return
    for n in notes[:20]:
        _flash("warning", n)
    if docs:
        sess.set_documents(docs)
        _flash("success", f"{len(docs)} documents loaded")


def _add_pasted() -> None:
    try:
        sess.add_document(pasted_document(st.session_state.get("pasted", "")))
    except (UploadTooLarge, ValueError) as exc:
        _flash("error", str(exc))


def _uploads() -> None:
    # max_upload_size (MiB) makes the widget state the app's limit instead of Streamlit's
    # 200 MB default and refuse bigger files in the browser; uploaded_document checks again.
    files = st.sidebar.file_uploader(
        "Upload .txt",
        type=["txt"],
        accept_multiple_files=True,
        key="upload",
        max_upload_size=max(1, MAX_UPLOAD_BYTES // 2**20),
    )
    done = st.session_state.setdefault("uploaded_ids", set())
    for f in files or []:
        if f.file_id in done:
            continue
        done.add(f.file_id)
        try:
            doc, notice = uploaded_document(f.name, f.getvalue())
        except (UploadTooLarge, ValueError) as exc:
            _flash("error", str(exc))
            continue
        sess.add_document(doc)
        if notice:
            _flash("warning", notice)


with st.sidebar:
    st.header("segmenter labelling")
    st.text_input("Your name (stored with each decision)", key="annotator", on_change=_set_annotator)
    page = st.radio("Page", PAGES, key="page")
    st.subheader("Documents")
    st.selectbox("Source", SOURCES, key="source")
    if st.session_state["source"] in ("Folder of .txt files", "JSONL file"):
        st.text_input("Path (relative to the project folder, or inside an --allow folder)", key="source_path")
    st.button("Load documents", key="load_docs", on_click=_load_source)
    st.text_area(f"Or paste a page (up to {MAX_UPLOAD_BYTES / 2**20:g} MiB)", key="pasted", height=100)
    st.button("Add pasted text", key="add_pasted", on_click=_add_pasted)
_uploads()
with st.sidebar:
    st.button(
        "Reload from the store",
        key="reload",
        on_click=lambda: _act(sess.reload),
        help="Read decisions other annotators made since this page was opened",
    )
    st.caption(f"Store: {md_escape(str(config.labels))}")
    st.caption(f"Model: {md_escape(sess.model_name or 'none')}")

for w in sess.warnings:
    st.warning(f"Label store: {md_escape(w)}")
for kind, text in st.session_state.pop("flash", []):
    getattr(st, kind)(md_escape(text))


# -- labelling -------------------------------------------------------------------------------
def _badge(label: str | None, text: str) -> None:
    if label:
        st.badge(text, color=LABEL_COLORS.get(label, "gray"))  # type: ignore[arg-type]


def _row(row) -> None:
    # wide enough for "▶ ¶123" and "model: related-article 100%" on one line each at 1280 px
    c0, c1, c2 = st.columns([1, 3.2, 9], vertical_alignment="top")
    c0.text(("▶ " if row.current else "") + f"¶{row.index}")
    with c1.container(gap="xxsmall"):  # the two badges close together: shorter rows
        if row.label:
            _badge(row.label, f"yours: {row.label}")
        if row.suggestion:
            _badge(row.suggestion, f"model: {row.suggestion} {row.proba:.0%}")
    c2.text(row.text)


def _label_page() -> None:
    # mode and document on one line, so the current paragraph stays in view on smaller screens
    mode_col, doc_col = st.columns([1, 2], vertical_alignment="bottom")
    st.session_state["mode_choice"] = "document" if sess.mode == "document" else "uncertainty queue"
    mode_col.radio(
        "Mode",
        ["document", "uncertainty queue"],
        horizontal=True,
        key="mode_choice",
        on_change=lambda: _act(
            sess.set_mode, "queue" if st.session_state["mode_choice"] != "document" else "document"
        ),
    )
    if not sess.docs:
        st.info("No documents: choose a source in the sidebar.")
        return
    st.session_state["doc_select"] = sess.doc_pos
    doc_col.selectbox(
        "Document",
        list(range(len(sess.docs))),
        key="doc_select",
        format_func=lambda i: sess.docs[i].doc_id,
        on_change=lambda: sess.select_document(st.session_state["doc_select"]),
    )
    mine = sess.my_labels()
    st.progress(
        sum(m is not None for m in mine) / max(len(mine), 1),
        text=f"{sum(m is not None for m in mine)} of {len(mine)} paragraphs labelled by you",
    )
    if sess.message:
        st.info(md_escape(sess.message))
    rows = sess.rows(radius=3)
    lead = [r for r in sess.lead(2) if r.index < rows[0].index]
    if lead:
        with st.container(border=True):
            st.caption("Headline and lead")
            for r in lead:
                _row(r)
    for r in rows:
        if r.current:
            with st.container(border=True):
                _row(r)
        else:
            _row(r)

    disabled = not sess.annotator
    if disabled:
        st.warning("Enter your name in the sidebar to label.")
    cols = st.columns([1] * len(CLASSES) + [1.5])  # room for "accept suggestion" and its key
    for col, c in zip(cols, CLASSES):
        col.button(
            c,
            key=f"label_{c}",
            shortcut=LABEL_KEYS[c],
            disabled=disabled,
            on_click=_act,
            args=(sess.label, c),
            width="stretch",
        )
    cols[-1].button(
        "accept suggestion",
        key="accept",
        shortcut="Enter",
        type="primary",
        disabled=disabled or sess.model is None,
        on_click=_act,
        args=(sess.accept_suggestion,),
    )
    nav = st.columns([0.8, 1, 0.8, 1.2, 1.4, 1.2])
    nav[0].button(
        "undo", key="undo", shortcut="u", on_click=_act, args=(sess.undo,), disabled=not sess.can_undo()
    )
    nav[1].button("previous ¶", key="prev", shortcut="k", on_click=sess.move, args=(-1,))
    nav[2].button("next ¶", key="next", shortcut="j", on_click=sess.move, args=(1,))
    nav[3].button(
        "next unlabelled",
        key="next_unlabelled",
        shortcut="l",
        on_click=lambda: sess.goto(sess.next_unlabelled() or sess.cursor),
    )
    nav[4].button(
        "previous document",
        key="prev_doc",
        shortcut="p",
        on_click=lambda: sess.select_document(sess.doc_pos - 1),
    )
    nav[5].button(
        "next document", key="next_doc", shortcut="n", on_click=lambda: sess.select_document(sess.doc_pos + 1)
    )

    with st.expander("Bulk: accept confident suggestions, label a range", expanded=True):
        a, b = st.columns(2)
        with a:
            st.slider("Confidence", 0.5, 1.0, 0.9, 0.01, key="threshold")
            st.button(
                "accept all suggestions at or above it",
                key="accept_above",
                shortcut="a",
                disabled=disabled or sess.model is None,
                on_click=lambda: _act(sess.accept_above, st.session_state["threshold"]),
            )
        with b:
            c1, c2, c3 = st.columns(3)
            c1.number_input("from ¶", min_value=0, key="bulk_from", step=1)
            c2.number_input("to ¶", min_value=0, key="bulk_to", step=1)
            c3.selectbox("label", list(CLASSES), key="bulk_label")
            st.button(
                "label the range",
                key="bulk",
                shortcut="b",
                disabled=disabled,
                on_click=lambda: _act(
                    sess.bulk_label,
                    st.session_state["bulk_from"],
                    st.session_state["bulk_to"],
                    st.session_state["bulk_label"],
                ),
            )
    st.caption(
        "Keys: 1-5 label and advance · Enter accept the suggestion · u undo · j/k next/previous ¶ · "
        "l next unlabelled · n/p next/previous document · a accept confident · b label range"
    )


# -- preview ---------------------------------------------------------------------------------
def _preview_page() -> None:
    if sess.doc is None or sess.model is None:
        st.info("The preview needs a document and a model.")
        return
    st.text(sess.doc.doc_id)
    df, cleaned = sess.preview()
    left, right = st.columns([2, 1])
    with left:
        st.caption("Original: paragraphs clean() drops are struck through, coloured by the model's label")
        # The model's label and probability first, so they stay in view; the text wraps over
        # up to three lines (Streamlit wraps cell text when rows are taller than 4rem).
        st.dataframe(
            preview_styler(df),
            hide_index=True,
            key="preview_table",
            row_height=70,
            height=min(40 + 70 * len(df), 640),
            column_order=["¶", "model", "p", "text", "yours", "kept"],
            column_config={
                "¶": st.column_config.NumberColumn(width=40),
                "model": st.column_config.TextColumn(width=115),
                "p": st.column_config.NumberColumn(width=50, format="%.2f"),
                "text": st.column_config.TextColumn(width=330),
                "yours": st.column_config.TextColumn(width=115),
                "kept": st.column_config.CheckboxColumn(width=50),
            },
        )
    with right:
        st.caption("clean(text)")
        st.text(cleaned)


# -- agreement -------------------------------------------------------------------------------
def _agreement_page() -> None:
    labels = label_maps(sess.records)
    names = sorted(labels)
    if len(names) < 2:
        st.info("Agreement needs decisions from two annotators.")
        return
    chosen = st.multiselect("Annotators", names, default=names, key="agree_names")
    table = agreement_table(labels, chosen)
    if table.empty:
        st.info("These annotators have no paragraphs in common.")
        return
    st.caption(
        "Cohen's kappa on the paragraphs both labelled; per class: that class against the rest "
        "(empty: undefined, e.g. neither used it)"
    )
    st.dataframe(
        table,
        hide_index=True,
        key="kappa_table",
        column_config={
            c: st.column_config.NumberColumn(format="%.2f")
            for c in table.columns
            if c == "agreement" or c.startswith("kappa")
        },
    )
    hide = st.checkbox("hide adjudicated", value=False, key="hide_adjudicated")
    dis = disagreements(sess.records, chosen, include_adjudicated=not hide)
    st.subheader(f"{len(dis)} disagreements")
    if not sess.annotator:
        st.warning("Enter your name in the sidebar to adjudicate.")
    for d in dis[:50]:
        with st.container(border=True):
            doc = sess.store_docs.get(d.doc_id)
            st.text(f"{d.doc_id} ¶{d.index}")
            if doc is not None and doc.sha256 == d.doc_sha256:
                st.text(sess.paragraphs(doc)[d.index].text)
            st.text(
                " · ".join(f"{a}: {lab}" for a, lab in d.labels.items())
                + (f"   → adjudicated: {d.adjudicated}" if d.adjudicated else "")
            )
            c1, c2 = st.columns([3, 1])
            options = list(ALLOWED_LABELS)
            default = d.adjudicated or next(iter(d.labels.values()))
            key = f"{d.doc_id}:{d.index}"
            c1.selectbox(
                "label",
                options,
                index=options.index(default),
                key=f"adj_label:{key}",
                label_visibility="collapsed",
            )
            c2.button(
                "adjudicate",
                key=f"adj:{key}",
                disabled=not sess.annotator,
                on_click=lambda d=d, key=key: _act(
                    sess.adjudicate, d.doc_id, d.index, st.session_state[f"adj_label:{key}"]
                ),
            )
    if len(dis) > 50:
        st.caption(f"showing 50 of {len(dis)}; adjudicate these to see more (tick 'hide adjudicated')")


# -- progress and export -----------------------------------------------------------------------
def _progress_page() -> None:
    table = sess.progress()
    tot = progress_totals(table) if len(table) else {}
    c = st.columns(3)
    c[0].metric("paragraphs in these documents", tot.get("paragraphs", 0))
    c[1].metric("labelled by you", tot.get("yours", 0))
    c[2].metric("labelled (by anyone)", tot.get("labelled", 0))
    st.dataframe(table, hide_index=True, key="progress_table")
    resolved, problems = sess.resolved()
    counts = {
        lab: sum(1 for d in resolved.values() for v in d.values() if v == lab) for lab in ALLOWED_LABELS
    }
    st.caption("Whole store, per class (the label training takes)")
    st.bar_chart(counts)
    if problems:
        st.warning(f"{len(problems)} records cannot be used (document missing or changed)")
    d1, d2, d3 = st.columns(3)
    d1.download_button(
        "all decisions (JSONL)",
        lambda: export_jsonl(sess.store.records(torn=[])),
        file_name="labels.jsonl",
        mime="application/jsonl",
        key="dl_jsonl",
    )
    d2.download_button(
        "all decisions (CSV)",
        lambda: export_csv(sess.store.records(torn=[])),
        file_name="labels.csv",
        mime="text/csv",
        key="dl_csv",
    )
    d3.download_button(
        "training labels (CSV)",
        lambda: export_resolved_csv(sess.store.resolve(tolerant=True)[0]),
        file_name="resolved.csv",
        mime="text/csv",
        key="dl_resolved",
    )


# -- retraining ------------------------------------------------------------------------------
def _job() -> RetrainJob:
    if "job" not in st.session_state:
        st.session_state["job"] = RetrainJob(config.labels, config.models, cwd=config.project)
    return st.session_state["job"]


def _use_candidate(install: bool) -> None:
    job = _job()
    path = promote_candidate(config.models) if install else job.candidate
    sess.set_model(load_model(path), f"{'installed' if install else 'candidate'} {file_sha256(path)[:12]}")
    _flash("success", f"now suggesting with {path}")


@st.fragment(run_every=2)
def _retrain_status() -> None:
    job = _job()
    status = job.status()
    if st.session_state.get("job_status", status) != status:
        st.session_state["job_status"] = status
        st.rerun(scope="app")  # the metrics and buttons outside this fragment follow the new status
    st.session_state["job_status"] = status
    st.text(f"status: {status}")
    if status != "idle":
        st.code(job.log()[-6000:] or "(no output yet)", language=None)


def _retrain_page() -> None:
    job = _job()
    st.text("Runs: " + " ".join(job.command()))
    c1, c2 = st.columns(2)
    c1.button(
        "retrain in the background",
        key="retrain",
        disabled=job.status() == "running",
        on_click=lambda: _act(job.start),
    )
    c2.button("stop", key="retrain_stop", disabled=job.status() != "running", on_click=job.cancel)
    _retrain_status()
    meta = job.metadata()
    if meta is None:
        return
    st.subheader("Candidate model: held-out metrics")
    per_class, conf = metrics_frames(meta)
    if per_class is None:
        st.info("This run recorded no held-out metrics.")
    else:
        import altair as alt

        st.dataframe(per_class, hide_index=True, key="candidate_metrics")
        chart = (
            alt.Chart(conf)
            .mark_rect()
            .encode(
                x=alt.X("predicted:N", sort=list(CLASSES)),
                y=alt.Y("gold:N", sort=list(CLASSES)),
                color=alt.Color("count:Q", scale=alt.Scale(type="symlog")),
                tooltip=["gold", "predicted", "count"],
            )
        )
        text = chart.mark_text().encode(text="count:Q", color=alt.value("black"))
        st.caption("Confusion matrix (rows gold, columns predicted)")
        st.altair_chart(chart + text, key="confusion")
    c1, c2 = st.columns(2)
    c1.button(
        "use the candidate in this session", key="use_candidate", on_click=lambda: _act(_use_candidate, False)
    )
    c2.button(
        "install the candidate as the default model",
        key="install_candidate",
        on_click=lambda: _act(_use_candidate, True),
    )


{
    "Label": _label_page,
    "Preview": _preview_page,
    "Agreement": _agreement_page,
    "Progress & export": _progress_page,
    "Retrain": _retrain_page,
}[page]()
