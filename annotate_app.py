"""The labelling app: ``streamlit run annotate_app.py [-- --labels DIR --models DIR --allow DIR
--annotator NAME]`` (or SEGMENTER_LABELS, SEGMENTER_MODELS, SEGMENTER_ALLOW, SEGMENTER_ANNOTATOR;
without either, the annotator is the name you are logged in as).

This file only draws; every decision is made in :mod:`segmenter.labelling.session` (the labelling
session), :mod:`segmenter.labelling.keyqueue` (the page's keys, applied in the order pressed,
each to the paragraph it was pressed on), :mod:`segmenter.labelling.sources` (documents in),
:mod:`segmenter.labelling.retrain`, :mod:`segmenter.labelling.config` and
:mod:`segmenter.labelling.agreement`. The labelling view itself is a small component
(:mod:`segmenter.labelling.keys`) that sets document text as text; the preview is HTML built
from escaped text only (:mod:`segmenter.labelling.render`); elsewhere document text is shown
with ``st.text`` / ``st.dataframe``, and names and paths in Markdown elements go through
``md_escape``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from segmenter.api import ModelError, file_sha256, load_model
from segmenter.labelling import keys
from segmenter.labelling.agreement import (
    UNDEFINED,
    agreement_table,
    disagreements,
    is_importer,
    label_maps,
    readable_table,
)
from segmenter.labelling.config import AppConfig
from segmenter.labelling.keyqueue import BulkRange, KeyLog, view_data
from segmenter.labelling.render import cleaned_html, preview_rows_html
from segmenter.labelling.retrain import (
    RetrainJob,
    compare_frames,
    metrics_frames,
    model_path,
    promote_candidate,
    read_metadata,
)
from segmenter.labelling.session import (
    LABEL_CSS,
    AnnotationSession,
    export_csv,
    export_jsonl,
    export_resolved_csv,
    md_escape,
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
NAME_FIELD = "Your name (stored with each decision)"
TOAST_ICONS = {"error": ":material/error:", "warning": ":material/warning:", "success": ":material/check:"}
PAIRS_PER_PAGE = 15

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
keylog: KeyLog = st.session_state.setdefault("keylog", KeyLog())
# The page's keys first, before anything is drawn: each lands on the paragraph it was pressed
# on, in the order pressed, whatever the widgets' callbacks did to the cursor this run.
keylog.apply(
    sess,
    keys.queued(st.session_state),
    threshold=float(st.session_state.get("threshold", 0.9)),
    bulk=BulkRange(
        int(st.session_state.get("bulk_from", 0)),
        int(st.session_state.get("bulk_to", 0)),
        str(st.session_state.get("bulk_label", CLASSES[0])),
    ),
)


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
    st.caption("Label by the guideline: docs/labels.md in the project folder")
    st.text_input(
        NAME_FIELD,
        key="annotator",
        on_change=_set_annotator,
        help="Enter or Esc leaves the box, and the keys label again",
    )
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

# Notices float above the page (toasts) instead of pushing it down.
for kind, text in st.session_state.pop("flash", []):
    st.toast(md_escape(text), icon=TOAST_ICONS.get(kind), duration="long" if kind != "success" else "short")


# -- labelling -------------------------------------------------------------------------------
def _label_page() -> None:
    # less room above the paragraphs (Streamlit's default top padding is 6rem); style only
    st.html("<style>[data-testid='stMainBlockContainer']{padding-top:3.2rem}</style>")
    # mode, document and the bulk tools on one line: the paragraphs start near the top
    mode_col, doc_col, bulk_col = st.columns([1.15, 2, 1], vertical_alignment="bottom")
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
    disabled = not sess.annotator
    with bulk_col.popover("Bulk: range, confident", width="stretch"):
        st.slider("Confidence", 0.5, 1.0, 0.9, 0.01, key="threshold")
        # Buttons act in the script body (not callbacks), after the keys queued before them.
        if st.button(
            "accept all suggestions at or above it (a)",
            key="accept_above",
            disabled=disabled or sess.model is None,
        ):
            _act(sess.accept_above, st.session_state["threshold"])
        c1, c2, c3 = st.columns(3)
        c1.number_input("from ¶", min_value=0, key="bulk_from", step=1)
        c2.number_input("to ¶", min_value=0, key="bulk_to", step=1)
        c3.selectbox("label", list(CLASSES), key="bulk_label")
        if st.button("label the range (b)", key="bulk", disabled=disabled):
            _act(
                sess.bulk_label,
                st.session_state["bulk_from"],
                st.session_state["bulk_to"],
                st.session_state["bulk_label"],
            )
    for kind, text in st.session_state.pop("flash", []):  # from the bulk buttons just now
        st.toast(md_escape(text), icon=TOAST_ICONS.get(kind), duration="long")
    keys.label_view(view_data(sess, keylog, problems=keylog.take_problems(), name_field=NAME_FIELD))


# -- preview ---------------------------------------------------------------------------------
def _preview_page() -> None:
    if sess.doc is None or sess.model is None:
        st.info("The preview needs a document and a model.")
        return
    st.text(sess.doc.doc_id)
    df, cleaned = sess.preview()
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.caption(
            f"Original, {len(df)} paragraphs: those clean() drops are struck through and coloured "
            "by the model's label"
        )
        st.html(preview_rows_html(df))
    with right:
        st.caption(f"clean(text): {int(df['kept'].sum())} paragraphs kept")
        st.html(cleaned_html(cleaned))


# -- agreement -------------------------------------------------------------------------------
def _agreement_page() -> None:
    labels = label_maps(sess.records)
    people = sorted(n for n in labels if not is_importer(n))
    importers = sorted(n for n in labels if is_importer(n))
    top = st.columns([3, 1.2], vertical_alignment="bottom")
    with top[1]:
        with_importers = st.checkbox(
            f"include importers ({len(importers)})",
            value=False,
            key="agree_importers",
            help="Imported corpora's coarse labels (annotator names ending in -import)",
        )
    names = sorted(people + (importers if with_importers else []))
    if len(names) < 2:
        st.info(
            "Agreement needs decisions from two annotators"
            + (f" ({len(importers)} importers left out)" if importers and not with_importers else "")
            + "."
        )
        return
    # one selection per list of names: ticking "include importers" offers (and picks) them too
    chosen = top[0].multiselect("Annotators", names, default=names, key=f"agree_names:{with_importers}")
    table = agreement_table(labels, chosen)
    if table.empty:
        st.info("These annotators have no paragraphs in common.")
        return
    pages = max(1, -(-len(table) // PAIRS_PER_PAGE))
    cap, pager = st.columns([4, 1], vertical_alignment="bottom")
    cap.caption(
        f"{len(table)} annotator pairs. Cohen's kappa on the paragraphs both labelled; per class: "
        f"that class against the rest; '{UNDEFINED}' where it cannot be computed (both gave one "
        "and the same label throughout)"
    )
    pg = pager.number_input(f"page (of {pages})", 1, pages, 1, key="agree_page") if pages > 1 else 1
    shown = readable_table(table.iloc[(pg - 1) * PAIRS_PER_PAGE : pg * PAIRS_PER_PAGE])
    st.dataframe(shown, hide_index=True, key="kappa_table", height=38 + 35 * len(shown))
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
            default_label = d.adjudicated or next(iter(d.labels.values()))
            key = f"{d.doc_id}:{d.index}"
            c1.selectbox(
                "label",
                options,
                index=options.index(default_label),
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
def _class_counts() -> dict[str, int]:
    resolved, _ = sess.resolved()
    counts = dict.fromkeys(ALLOWED_LABELS, 0)
    for d in resolved.values():
        for v in d.values():
            counts[v] = counts.get(v, 0) + 1
    return counts


def _progress_page() -> None:
    import altair as alt
    import pandas as pd

    table = sess.progress()
    tot = progress_totals(table) if len(table) else {}
    c = st.columns(3)
    c[0].metric("paragraphs in these documents", tot.get("paragraphs", 0))
    c[1].metric("labelled by you", tot.get("yours", 0))
    c[2].metric("labelled (by anyone)", tot.get("labelled", 0))
    st.dataframe(table, hide_index=True, key="progress_table")
    counts = _class_counts()
    total = max(1, sum(counts.values()))
    st.caption("Whole store, per class (the label training takes); the chart's scale is logarithmic")
    left, right = st.columns([1, 2])
    per_class = pd.DataFrame(
        {
            "class": list(counts),
            "paragraphs": list(counts.values()),
            "share": [f"{v / total:.2%}" for v in counts.values()],
        }
    )
    left.dataframe(per_class, hide_index=True, key="class_counts", height=38 + 35 * len(per_class))
    chart = (
        alt.Chart(per_class)
        .mark_bar()
        .encode(
            x=alt.X("paragraphs:Q", scale=alt.Scale(type="symlog"), title="paragraphs (log scale)"),
            y=alt.Y("class:N", sort=list(counts), title=None),
            color=alt.Color(
                "class:N",
                scale=alt.Scale(domain=list(LABEL_CSS), range=list(LABEL_CSS.values())),
                legend=None,
            ),
            tooltip=["class", "paragraphs", "share"],
        )
    )
    text = chart.mark_text(align="left", dx=3).encode(text="paragraphs:Q", color=alt.value("black"))
    right.altair_chart(chart + text, key="class_chart", height=240)
    _, problems = sess.resolved()
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


def _labelled_paragraphs() -> int:
    return sum(len(d) for d in sess.resolved()[0].values())


def _minutes(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60} min {s % 60:02d} s" if s >= 60 else f"{s} s"


@st.fragment(run_every=2)
def _retrain_status() -> None:
    job = _job()
    status = job.status()
    if st.session_state.get("job_status", status) != status:
        st.session_state["job_status"] = status
        st.rerun(scope="app")  # the metrics and buttons outside this fragment follow the new status
    st.session_state["job_status"] = status
    elapsed, estimate = job.elapsed(), job.estimate()
    line = f"status: {status}"
    if elapsed is not None:
        line += f" · {'running for' if status == 'running' else 'took'} {_minutes(elapsed)}"
    if status == "running":
        if estimate is None:
            line += " · no estimate yet: the first run that finishes here gives one"
        else:
            left = estimate - (elapsed or 0)
            line += f" · estimate {_minutes(estimate)} (from the last run, scaled by paragraphs)"
            line += f", about {_minutes(left)} left" if left > 0 else ", taking longer than the last run"
    st.text(line)
    if status != "idle":
        st.code(job.log()[-6000:] or "(no output yet)", language=None)


def _retrain_page() -> None:
    job = _job()
    st.text("Runs: " + " ".join(job.command()))
    n = _labelled_paragraphs()
    est = job.estimate(n)
    c1, c2, c3 = st.columns([1.2, 0.6, 2], vertical_alignment="center")
    c1.button(
        "retrain in the background",
        key="retrain",
        disabled=job.status() == "running",
        on_click=lambda: _act(job.start, n),
    )
    c2.button("stop", key="retrain_stop", disabled=job.status() != "running", on_click=job.cancel)
    c3.caption(
        f"{n} labelled paragraphs; "
        + (f"expected to take about {_minutes(est)}" if est is not None else "no run has finished here yet")
    )
    _retrain_status()
    meta = job.metadata()
    if meta is None:
        return
    st.subheader("Candidate model: held-out metrics beside the installed model's")
    installed_path = model_path(config.models)
    installed = read_metadata(installed_path)
    compared = compare_frames(meta, installed)
    _, conf = metrics_frames(meta)
    if compared is None or conf is None:
        st.info("This run recorded no held-out metrics.")
    else:
        import altair as alt

        st.caption(
            f"Installed: {md_escape(str(installed_path))}"
            + ("" if installed else " (no metadata: no figures to compare)")
            + ". Each model's figures are held out on the labels it was trained with."
        )
        st.dataframe(
            compared,
            hide_index=True,
            key="candidate_metrics",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in compared.columns
                if "precision" in c or "recall" in c or "F1" in c
            },
        )
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
        st.caption("Candidate's confusion matrix (rows gold, columns predicted)")
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
