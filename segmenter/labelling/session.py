"""The labelling session, without a browser: what the annotator is looking at, what each key
does to the label store (label, undo, bulk range, accept suggestions, adjudicate), the
uncertainty queue, progress, the preview and export. ``annotate_app.py`` only draws an
:class:`AnnotationSession`; documents come from :mod:`segmenter.labelling.sources`, retraining is
:mod:`segmenter.labelling.retrain`, the app's folders :mod:`segmenter.labelling.config`.

Every decision is appended to the store (lock + fsync) the moment it is made; a session
rebuilds its state from the store, so a reload or a crash loses nothing. The store is
append-only: undo appends a record restoring the annotator's previous decision about the
paragraph, or a retraction when there was none.

Decisions from the browser name their paragraph (:meth:`AnnotationSession.label_at`), so a key
lands on the paragraph the screen showed, whatever the session's cursor is by the time it is
applied; :attr:`AnnotationSession.view` counts the moves the session made itself (a document
opened, a range labelled, an undo), which the page follows.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..labels import ALLOWED_LABELS, CLASSES, CORE
from ..segment import Paragraph, segment
from .store import (
    Document,
    LabelRecord,
    LabelStore,
    LabelStoreError,
    Problem,
    resolve_records,
)

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sklearn.pipeline import Pipeline

#: Keys of the label buttons, in CLASSES order.
LABEL_KEYS: dict[str, str] = {c: str(i + 1) for i, c in enumerate(CLASSES)}
#: One colour per label (Streamlit badge colour names, and CSS colours for tables).
LABEL_COLORS: dict[str, str] = {
    "core-story": "green",
    "related-article": "orange",
    "promo": "violet",
    "nav": "blue",
    "duplicate": "gray",
    "not-core": "red",
}
LABEL_CSS: dict[str, str] = {
    "core-story": "#1a7f37",
    "related-article": "#bc4c00",
    "promo": "#8250df",
    "nav": "#0969da",
    "duplicate": "#6e7781",
    "not-core": "#cf222e",
}
MAX_ANNOTATOR_LEN = 64


def clean_annotator(name: str) -> str:
    """The annotator name to store, or ValueError saying what is wrong with it."""
    name = (name or "").strip()
    if not name:
        raise ValueError("enter your name in the sidebar before labelling")
    if len(name) > MAX_ANNOTATOR_LEN or any(not ch.isprintable() for ch in name):
        raise ValueError(f"an annotator name is at most {MAX_ANNOTATOR_LEN} printable characters")
    return name


def md_escape(text: str) -> str:
    """Backslash-escape Markdown and HTML specials so a name or path shows literally in
    Streamlit's Markdown-rendering elements (never used for document text, which is shown
    with ``st.text``/``st.dataframe`` only)."""
    out = []
    for ch in str(text):
        if ch in "\\`*_{}[]()<>#+-.!|~$&\"'=:":
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


# -- the session -----------------------------------------------------------------------------
Key = tuple[str, str, int]  # (doc_id, doc_sha256, paragraph index)


@dataclass
class _Undo:
    """One undoable action: the records it wrote and, per paragraph, what stood before."""

    written: list[LabelRecord]
    before: list[LabelRecord | None]
    position: tuple[str, int, int]  # (doc_id, document position, cursor) before the action
    description: str
    doc_sha256: str = ""


@dataclass(frozen=True)
class Row:
    """One paragraph as the labelling view shows it."""

    index: int
    text: str
    label: str | None  # the annotator's own decision
    suggestion: str | None
    proba: float | None
    margin: float | None
    current: bool


class AnnotationSession:
    """One annotator's view of the store: a working set of documents, a cursor, the model's
    suggestions, and the actions (each appended to the store before it returns)."""

    def __init__(
        self,
        store: LabelStore | str | os.PathLike[str],
        annotator: str = "",
        model: Pipeline | None = None,
        model_name: str = "",
    ) -> None:
        self.store = store if isinstance(store, LabelStore) else LabelStore(store)
        self.annotator = (annotator or "").strip()
        self.model = model
        self.model_name = model_name or ("shipped model" if model is not None else "")
        self.warnings: list[str] = []
        self.docs: list[Document] = []
        self.doc_pos = 0
        self.cursor = 0
        self.mode = "document"  # or "queue"
        self.message = ""
        self._paras: dict[str, list[Paragraph]] = {}
        self._suggest: dict[tuple[int, str], pd.DataFrame] = {}
        self._queue: list[tuple[float, int, int]] | None = None
        self._undo: dict[str, list[_Undo]] = {}
        self._registered: set[str] = set()
        self._resolved_cache: tuple[int, tuple] | None = None
        #: Bumped whenever the session moves the cursor or opens a document by itself (not
        #: when a key from the page says where the cursor is): the page then follows.
        self.view = 0
        self.reload()

    # -- state from the store ------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the store (torn last lines are skipped and listed in :attr:`warnings`)."""
        torn: list[Problem] = []
        self.store_docs: dict[str, Document] = self.store.documents(torn=torn)
        self.records: list[LabelRecord] = self.store.records(torn=torn)
        self.warnings = [str(p) for p in torn]
        self._registered = set(self.store_docs)
        self._latest: dict[tuple[str, bool, Key], LabelRecord] = {}
        for rec in self.records:
            self._ingest(rec)
        self._queue = None
        self._resolved_cache = None

    def _ingest(self, rec: LabelRecord) -> None:
        k = (rec.annotator, rec.adjudicated, (rec.doc_id, rec.doc_sha256, rec.index))
        prev = self._latest.get(k)
        if prev is None or rec.time >= prev.time:
            self._latest[k] = rec

    def _write(
        self, doc: Document, index: int, label: str, *, adjudicated: bool = False, retracted: bool = False
    ) -> LabelRecord:
        self._register(doc)
        rec = self.store.label(
            doc,
            self.paragraphs(doc)[index],
            label,
            self.annotator,
            adjudicated=adjudicated,
            retracted=retracted,
        )
        self.records.append(rec)
        self._ingest(rec)
        self._resolved_cache = None
        return rec

    def _register(self, doc: Document) -> None:
        if doc.doc_id in self._registered:
            known = self.store_docs.get(doc.doc_id)
            if known is not None and known.sha256 != doc.sha256:
                raise LabelStoreError(
                    f"document {doc.doc_id!r} is already in the store with other text; "
                    "it changed since it was labelled"
                )
            return
        stored = self.store.add_document(
            doc.doc_id, doc.text, path=doc.path, source=doc.source, license=doc.license, url=doc.url
        )
        self.store_docs[doc.doc_id] = stored
        self._registered.add(doc.doc_id)

    # -- annotator and model ---------------------------------------------------------------
    def set_annotator(self, name: str) -> None:
        """Switch annotator (each has their own decisions and undo history) and go to their
        first unlabelled paragraph of the current document."""
        self.annotator = (name or "").strip()
        self._queue = None
        self.view += 1
        if self.docs and self.mode == "document":
            nxt = self.next_unlabelled(-1)
            self.cursor = self.cursor if nxt is None else nxt

    def set_model(self, model: Pipeline | None, name: str) -> None:
        """Use another model for suggestions (the cache of suggestions is per model)."""
        self.model, self.model_name = model, name
        self._suggest.clear()
        self._queue = None

    # -- documents -----------------------------------------------------------------------
    def set_documents(self, docs: Iterable[Document]) -> None:
        """Replace the working set; the cursor goes to the first unlabelled paragraph."""
        self.docs = list(docs)
        self.doc_pos = 0
        self.cursor = 0
        self._queue = None
        self.view += 1
        if self.docs:
            self.cursor = self.next_unlabelled(-1) or 0

    def add_document(self, doc: Document) -> None:
        """Add one document (pasted, uploaded) to the working set and go to it."""
        for pos, d in enumerate(self.docs):
            if d.doc_id == doc.doc_id:
                self.select_document(pos)
                return
        self.docs.append(doc)
        self._queue = None
        self.select_document(len(self.docs) - 1)

    def select_document(self, pos: int) -> None:
        """Open document ``pos`` of the working set at its first unlabelled paragraph."""
        if not self.docs:
            return
        self.doc_pos = max(0, min(pos, len(self.docs) - 1))
        self.cursor = 0
        nxt = self.next_unlabelled(-1)
        self.cursor = 0 if nxt is None else nxt
        self.mode = "document"
        self.view += 1

    @property
    def doc(self) -> Document | None:
        """The current document."""
        return self.docs[self.doc_pos] if self.docs else None

    def paragraphs(self, doc: Document | None = None) -> list[Paragraph]:
        """The paragraphs of ``doc`` (default: the current one), cached by text hash."""
        doc = doc or self.doc
        if doc is None:
            return []
        if doc.sha256 not in self._paras:
            self._paras[doc.sha256] = segment(doc.text)
        return self._paras[doc.sha256]

    def find_document(self, doc_id: str, sha256: str) -> Document | None:
        """The document ``doc_id`` with exactly this text (sha256): from the working set, else
        the store; None when neither holds it."""
        for d in self.docs:
            if d.doc_id == doc_id and d.sha256 == sha256:
                return d
        stored = self.store_docs.get(doc_id)
        return stored if stored is not None and stored.sha256 == sha256 else None

    def position_of(self, doc: Document) -> int | None:
        """Where ``doc`` is in the working set (None: not in it)."""
        return next(
            (i for i, d in enumerate(self.docs) if d.doc_id == doc.doc_id and d.sha256 == doc.sha256), None
        )

    # -- decisions read back -------------------------------------------------------------
    def decision(
        self, doc: Document, index: int, annotator: str | None = None, adjudicated: bool = False
    ) -> LabelRecord | None:
        """The annotator's standing decision about a paragraph (None if none or retracted)."""
        rec = self._latest.get((annotator or self.annotator, adjudicated, (doc.doc_id, doc.sha256, index)))
        return None if rec is None or rec.retracted else rec

    def my_labels(self, doc: Document | None = None) -> list[str | None]:
        """The current annotator's label for each paragraph of ``doc`` (None: not labelled)."""
        doc = doc or self.doc
        if doc is None:
            return []
        out: list[str | None] = []
        for p in self.paragraphs(doc):
            rec = self.decision(doc, p.index)
            out.append(rec.label if rec else None)
        return out

    def next_unlabelled(self, after: int | None = None) -> int | None:
        """The first paragraph after ``after`` (default: the cursor) the annotator has not
        labelled, wrapping to the start of the document; None when all are labelled."""
        labels = self.my_labels()
        after = self.cursor if after is None else after
        order = list(range(after + 1, len(labels))) + list(range(0, min(after + 1, len(labels))))
        return next((i for i in order if labels[i] is None), None)

    # -- suggestions ---------------------------------------------------------------------
    def suggestions(self, doc: Document | None = None) -> pd.DataFrame | None:
        """``segmenter.classify`` of ``doc`` with the session's model plus a ``margin`` column
        (how far the suggestion is from flipping, see ``_with_margin``); cached per model and
        document sha256."""
        doc = doc or self.doc
        if doc is None or self.model is None:
            return None
        key = (id(self.model), doc.sha256)
        if key not in self._suggest:
            from ..api import classify, default_threshold

            df = classify(doc.text, model=self.model)
            self._suggest[key] = _with_margin(df, default_threshold(self.model))
        return self._suggest[key]

    def rows(self, radius: int = 3) -> list[Row]:
        """The current paragraph with ``radius`` neighbours on each side."""
        paras = self.paragraphs()
        if not paras:
            return []
        lo, hi = max(0, self.cursor - radius), min(len(paras), self.cursor + radius + 1)
        return [self._row(i) for i in range(lo, hi)]

    def lead(self, n: int = 2) -> list[Row]:
        """The headline and lead (first ``n`` paragraphs), always shown above the window."""
        return [self._row(i) for i in range(min(n, len(self.paragraphs())))]

    def _row(self, i: int) -> Row:
        p = self.paragraphs()[i]
        rec = self.decision(self.doc, i)  # type: ignore[arg-type]
        sug = self.suggestions()
        s: str | None = None
        pr: float | None = None
        m: float | None = None
        if sug is not None:
            r = sug.iloc[i]
            s, pr, m = str(r["label"]), float(r["proba"]), float(r["margin"])
        return Row(i, p.text, rec.label if rec else None, s, pr, m, i == self.cursor)

    # -- actions -------------------------------------------------------------------------
    def _ready(self) -> tuple[Document, list[Paragraph]]:
        self.annotator = clean_annotator(self.annotator)
        doc = self.doc
        if doc is None or not self.paragraphs(doc):
            raise ValueError("no document open: choose documents in the sidebar")
        return doc, self.paragraphs(doc)

    def _apply(
        self,
        doc: Document,
        items: Sequence[tuple[int, str]],
        description: str,
        *,
        adjudicated: bool = False,
        position: tuple[str, int, int] | None = None,
    ) -> list[LabelRecord]:
        if position is None:
            position = (self.doc.doc_id if self.doc else "", self.doc_pos, self.cursor)
        written, before = [], []
        for index, label in items:
            before.append(self._latest.get((self.annotator, adjudicated, (doc.doc_id, doc.sha256, index))))
            written.append(self._write(doc, index, label, adjudicated=adjudicated))
        if written:
            entry = _Undo(written, before, position, description, position_sha(self, position))
            self._undo.setdefault(self.annotator, []).append(entry)
        return written

    def label_at(self, doc_id: str, doc_sha256: str, index: int, label: str) -> LabelRecord:
        """Label paragraph ``index`` of the document ``doc_id`` whose text has this sha256: the
        paragraph the screen showed when the key was pressed, wherever the cursor is now. The
        cursor does not move (the page says where it went); undo comes back to this paragraph."""
        if label not in ALLOWED_LABELS:
            raise ValueError(f"unknown label {label!r}")
        self.annotator = clean_annotator(self.annotator)
        doc = self.find_document(doc_id, doc_sha256)
        if doc is None:
            raise ValueError(
                f"document {doc_id!r} with that text is neither open nor in the store; "
                "the decision was not stored (reload the page)"
            )
        n = len(self.paragraphs(doc))
        if not 0 <= int(index) < n:
            raise ValueError(f"document {doc_id!r} has paragraphs 0 to {n - 1}; got {index}")
        index = int(index)
        pos = self.position_of(doc)
        (rec,) = self._apply(
            doc,
            [(index, label)],
            f"{label} on paragraph {index}",
            position=(doc.doc_id, self.doc_pos if pos is None else pos, index),
        )
        self.message = ""
        return rec

    def undo_entries(self, limit: int = 30) -> list[dict[str, Any]]:
        """The annotator's last ``limit`` undo steps, oldest first: per step the document, the
        paragraph the cursor goes back to and, per paragraph written, the label it goes back to
        (None: none). What the page needs to show an undo before the store has it."""
        out = []
        for e in (self._undo.get(self.annotator) or [])[-limit:]:
            first = e.written[0]
            out.append(
                {
                    "doc": first.doc_id,
                    "sha": first.doc_sha256,
                    "cursor_doc": e.position[0],
                    "cursor_sha": e.doc_sha256,
                    "cursor": e.position[2],
                    "items": [
                        [r.index, None if b is None or b.retracted else b.label]
                        for r, b in zip(e.written, e.before)
                    ],
                    "adjudicated": first.adjudicated,
                    "description": e.description,
                }
            )
        return out

    def label(self, label: str, advance: bool = True) -> LabelRecord:
        """Label the current paragraph (stored at once) and go to the next unlabelled one."""
        if label not in ALLOWED_LABELS:
            raise ValueError(f"unknown label {label!r}")
        doc, _ = self._ready()
        (rec,) = self._apply(doc, [(self.cursor, label)], f"{label} on paragraph {self.cursor}")
        self.message = ""
        if advance:
            self._advance()
        return rec

    def accept_suggestion(self) -> LabelRecord:
        """Label the current paragraph with the model's suggestion, then advance."""
        sug = self.suggestions()
        if sug is None:
            raise ValueError("no model loaded: no suggestion to accept")
        return self.label(str(sug.iloc[self.cursor]["label"]))

    def accept_above(self, threshold: float) -> int:
        """Label every paragraph of the current document the annotator has not labelled yet
        with the model's suggestion where its probability is at least ``threshold``; one undo
        step. Returns how many were labelled."""
        doc, paras = self._ready()
        sug = self.suggestions(doc)
        if sug is None:
            raise ValueError("no model loaded: no suggestions to accept")
        mine = self.my_labels(doc)
        items = [
            (i, str(sug.iloc[i]["label"]))
            for i in range(len(paras))
            if mine[i] is None and float(sug.iloc[i]["proba"]) >= threshold
        ]
        self._apply(doc, items, f"accepted {len(items)} suggestions ≥ {threshold:.2f}")
        self.message = f"accepted {len(items)} suggestions with probability ≥ {threshold:.2f}"
        if items and self.my_labels(doc)[self.cursor] is not None:
            self._advance()
        return len(items)

    def bulk_label(self, first: int, last: int, label: str) -> int:
        """Give paragraphs ``first``..``last`` (inclusive, as numbered on screen) ``label``,
        replacing the annotator's earlier decisions there; one undo step."""
        if label not in ALLOWED_LABELS:
            raise ValueError(f"unknown label {label!r}")
        doc, paras = self._ready()
        first, last = int(first), int(last)
        if first > last:
            first, last = last, first
        if first < 0 or last >= len(paras):
            raise ValueError(f"paragraphs are numbered 0 to {len(paras) - 1}; got {first}-{last}")
        items = [(i, label) for i in range(first, last + 1)]
        self._apply(doc, items, f"{label} on paragraphs {first}-{last}")
        self.message = f"labelled paragraphs {first}-{last} {label}"
        self.cursor = last
        self._advance()
        return len(items)

    def undo(self) -> str:
        """Undo the annotator's last action in this session: append, per paragraph, a record
        restoring their previous decision, or a retraction when there was none."""
        stack = self._undo.get(self.annotator) or []
        if not stack:
            self.message = "nothing to undo"
            return self.message
        entry = stack.pop()
        for rec, prev in zip(reversed(entry.written), reversed(entry.before)):
            doc = self.store_docs[rec.doc_id]
            if prev is not None and not prev.retracted:
                self._write(doc, rec.index, prev.label, adjudicated=rec.adjudicated)
            else:
                self._write(doc, rec.index, rec.label, adjudicated=rec.adjudicated, retracted=True)
        doc_id, pos, cursor = entry.position
        if pos < len(self.docs) and self.docs[pos].doc_id == doc_id:
            self.doc_pos, self.cursor = pos, cursor
        self.message = f"undone: {entry.description}"
        self._queue = None
        self.view += 1
        return self.message

    def undo_target(self) -> tuple[str, int] | None:
        """(document, first paragraph) the next undo would touch; None when nothing to undo."""
        stack = self._undo.get(self.annotator) or []
        return (stack[-1].written[0].doc_id, stack[-1].written[0].index) if stack else None

    def can_undo(self) -> bool:
        """Whether the annotator has an action to undo in this session."""
        return bool(self._undo.get(self.annotator))

    def move(self, delta: int) -> None:
        """Move the cursor ``delta`` paragraphs (j/k)."""
        n = len(self.paragraphs())
        if n:
            self.cursor = max(0, min(n - 1, self.cursor + delta))
            self.view += 1

    def goto(self, index: int) -> None:
        """Put the cursor on paragraph ``index``."""
        n = len(self.paragraphs())
        if n:
            self.cursor = max(0, min(n - 1, int(index)))
            self.view += 1

    def advance(self) -> None:
        """Go on as after a decision: the next unlabelled paragraph, or in the uncertainty
        queue the most uncertain one left."""
        self._advance()

    def _advance(self) -> None:
        self.view += 1
        if self.mode == "queue":
            self.queue_next()
            return
        nxt = self.next_unlabelled()
        if nxt is None:
            self.message = (
                self.message + "; " if self.message else ""
            ) + "every paragraph of this document is labelled"
        else:
            self.cursor = nxt

    # -- uncertainty queue ---------------------------------------------------------------
    def uncertainty_queue(self, max_docs: int = 100) -> list[tuple[float, int, int]]:
        """(margin, document position, paragraph index) of the paragraphs the annotator has
        not labelled across the working set (first ``max_docs`` documents), lowest margin
        (top-1 minus top-2 probability) first."""
        if self.model is None:
            raise ValueError("no model loaded: the uncertainty queue needs one")
        if self._queue is None:
            docs = self.docs[:max_docs]
            items: list[tuple[float, int, int]] = []
            for pos, d in enumerate(docs):
                margins = self.suggestions(d)["margin"].tolist()  # type: ignore[index]
                items.extend((float(m), pos, i) for i, m in enumerate(margins))
            self._queue = sorted(items)
        return [q for q in self._queue if self.decision(self.docs[q[1]], q[2]) is None]

    def queue_next(self) -> bool:
        """Go to the most uncertain paragraph not labelled yet; False when none is left."""
        queue = self.uncertainty_queue()
        if not queue:
            self.message = "the uncertainty queue is empty: every paragraph is labelled"
            return False
        _, self.doc_pos, self.cursor = queue[0]
        self.view += 1
        return True

    def set_mode(self, mode: str) -> None:
        """``document`` (paragraph by paragraph) or ``queue`` (most uncertain first)."""
        if mode not in ("document", "queue"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode == "queue" and self.model is None:
            raise ValueError("no model loaded: the uncertainty queue needs one")
        self.mode = mode
        if mode == "queue":
            self.queue_next()

    # -- preview -------------------------------------------------------------------------
    def preview(self, doc: Document | None = None) -> tuple[pd.DataFrame, str]:
        """Per paragraph: number, text, the model's label and probability, kept by ``clean``
        or not, and the annotator's label; with ``clean(text)`` itself."""
        import pandas as pd

        from ..api import clean

        doc = doc or self.doc
        if doc is None or self.model is None:
            raise ValueError("the preview needs a document and a model")
        sug = self.suggestions(doc)
        assert sug is not None, "a model is set, so there are suggestions"
        mine = self.my_labels(doc)
        df = pd.DataFrame(
            {
                "¶": sug["index"].astype(int),
                "text": sug["text"].astype(object),
                "model": sug["label"].astype(object),
                "p": sug["proba"].round(2),
                "kept": sug["label"] == CORE,
                "yours": pd.Series([m or "" for m in mine], dtype=object),
            }
        )
        return df, clean(doc.text, model=self.model)

    # -- adjudication and agreement ----------------------------------------------------------
    def adjudicate(self, doc_id: str, index: int, label: str) -> LabelRecord:
        """Store the current annotator's (a reviewer's) adjudicated label for a paragraph of a
        stored document; training takes it over every annotator's label. Undoable."""
        self.annotator = clean_annotator(self.annotator)
        if label not in ALLOWED_LABELS:
            raise ValueError(f"unknown label {label!r}")
        doc = self.store_docs.get(doc_id)
        if doc is None:
            raise ValueError(f"document {doc_id!r} is not in the store")
        (rec,) = self._apply(
            doc, [(int(index), label)], f"adjudicated {label} on {doc_id} ¶{index}", adjudicated=True
        )
        self.message = f"adjudicated: {label}"
        return rec

    def resolved(self) -> tuple[dict[str, dict[int, str]], list[Problem]]:
        """``LabelStore.resolve`` over what this session has read and written (cached)."""
        n = len(self.records)
        if self._resolved_cache is None or self._resolved_cache[0] != n:
            self._resolved_cache = (n, resolve_records(self.store_docs, self.records))
        return self._resolved_cache[1]

    # -- progress and export ---------------------------------------------------------------
    def progress(self) -> pd.DataFrame:
        """Per document of the working set: paragraphs, labelled by you, labelled by anyone
        (the label training takes) and that label's counts per class."""
        import pandas as pd

        resolved, _ = self.resolved()
        rows = []
        for d in self.docs:
            n = len(self.paragraphs(d))
            mine = sum(lab is not None for lab in self.my_labels(d))
            stored = self.store_docs.get(d.doc_id)
            res = resolved.get(d.doc_id, {}) if stored is not None and stored.sha256 == d.sha256 else {}
            row: dict[str, Any] = {"document": d.doc_id, "paragraphs": n, "yours": mine, "labelled": len(res)}
            for c in ALLOWED_LABELS:
                row[c] = sum(1 for v in res.values() if v == c)
            rows.append(row)
        cols = ["document", "paragraphs", "yours", "labelled", *ALLOWED_LABELS]
        return pd.DataFrame(rows, columns=cols)


def position_sha(sess: AnnotationSession, position: tuple[str, int, int]) -> str:
    """The sha256 of the document an undo position names (its place in the working set)."""
    doc_id, pos, _ = position
    if 0 <= pos < len(sess.docs) and sess.docs[pos].doc_id == doc_id:
        return sess.docs[pos].sha256
    stored = sess.store_docs.get(doc_id)
    return stored.sha256 if stored is not None else ""


def _with_margin(df: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Add ``margin``: how far the suggested label is from flipping. Without a threshold,
    top-1 minus top-2 probability. With one (the model keeps core-story at p >= threshold),
    the distance of p(core-story) from the threshold, and for a paragraph not kept also the
    gap between its two likeliest other classes, whichever is smaller."""
    import numpy as np

    cols = [f"p_{c}" for c in CLASSES]
    if not len(df):
        df["margin"] = np.array([], dtype=float)
        return df
    p = df[cols].to_numpy()
    if threshold is None:
        top = np.sort(p, axis=1)
        df["margin"] = top[:, -1] - top[:, -2]
        return df
    core = CLASSES.index(CORE)
    keep_gap = np.abs(p[:, core] - threshold)
    others = np.sort(np.delete(p, core, axis=1), axis=1)
    other_gap = others[:, -1] - others[:, -2]
    df["margin"] = np.where(p[:, core] >= threshold, keep_gap, np.minimum(keep_gap, other_gap))
    return df


def progress_totals(table: pd.DataFrame) -> dict[str, int]:
    """Column sums of :meth:`AnnotationSession.progress` (overall progress)."""
    return {c: int(table[c].sum()) for c in table.columns if c != "document"}


# -- export ----------------------------------------------------------------------------------
EXPORT_FIELDS = [
    "doc_id",
    "doc_sha256",
    "index",
    "start",
    "end",
    "text_sha256",
    "label",
    "annotator",
    "time",
    "adjudicated",
    "retracted",
]


def export_jsonl(records: Iterable[LabelRecord]) -> bytes:
    """The records as JSONL, one per line, in the store's own format."""
    return "".join(r.to_json() + "\n" for r in records).encode("utf-8")


def export_csv(records: Iterable[LabelRecord]) -> bytes:
    """The records as CSV with a header row (every field, flags as true/false)."""
    buf = io.StringIO()
    # RFC 4180 line ends: with "\n" alone, a field holding a bare "\r" would go unquoted and
    # split its record in two when read back
    w = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    w.writeheader()
    for r in records:
        d = asdict(r)
        d["adjudicated"] = "true" if r.adjudicated else "false"
        d["retracted"] = "true" if r.retracted else "false"
        w.writerow(d)
    # a lone surrogate (a doc_id from an undecodable file name or a JSON "\ud800" escape) has
    # no UTF-8 form: write it as a visible \udXXX escape rather than fail the whole export
    return buf.getvalue().encode("utf-8", "backslashreplace")


def export_resolved_csv(resolved: Mapping[str, Mapping[int, str]]) -> bytes:
    """The label training takes per (document, paragraph) as CSV: doc_id, index, label."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["doc_id", "index", "label"])
    for doc_id in sorted(resolved):
        for index in sorted(resolved[doc_id]):
            w.writerow([doc_id, index, resolved[doc_id][index]])
    return buf.getvalue().encode("utf-8")
