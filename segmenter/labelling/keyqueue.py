"""The labelling page's keys, applied in the order they were pressed, each to the paragraph it
was pressed on.

The page (:mod:`segmenter.labelling.keys`, a Streamlit component) handles a key the moment it
is pressed: it moves the highlight and shows the decision at once, and appends an *event*
naming the document (id and text sha256), the paragraph, the label, the annotator and the
cursor after it to a queue it sends to Python with every new key. Python applies the events it
has not applied yet (by sequence number, per page load), in order, and sends back how far it
got; the page keeps the rest queued. A key pressed while a run is going is therefore neither
lost nor doubled, and never lands on a paragraph the screen did not show when it was pressed.

This module has no Streamlit in it: :class:`KeyLog` applies a queue to an
:class:`~segmenter.labelling.session.AnnotationSession`; :func:`view_data` is what the page
is given to draw.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..labels import CLASSES
from .session import LABEL_CSS, LABEL_KEYS, AnnotationSession
from .store import LabelStoreError

#: Event types the page sends.
EVENT_TYPES = ("label", "undo", "move", "document", "accept_above", "bulk")
#: Items of the uncertainty queue the page is given (it advances through them itself).
QUEUE_ITEMS = 300


@dataclass(frozen=True)
class BulkRange:
    """The bulk box's fields when ``b`` was applied: first and last paragraph, label."""

    first: int
    last: int
    label: str


@dataclass
class KeyLog:
    """Which events of each page load (its ``nonce``) are applied, and what went wrong."""

    applied: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    # Streamlit can start a run while the one it interrupts is still finishing, in another
    # thread: both would apply the same events, so one applies at a time
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def apply(
        self,
        sess: AnnotationSession,
        payload: object,
        *,
        threshold: float = 0.9,
        bulk: BulkRange | None = None,
    ) -> int:
        """Apply the events of ``payload`` (``{"nonce": str, "events": [...]}``) not applied
        yet, in sequence order; returns how many were applied. An event that cannot be applied
        (a document no longer there, no name) is skipped with its reason in :attr:`problems`,
        so the queue behind it does not stall."""
        if not isinstance(payload, Mapping):
            return 0
        with self.lock:
            return self._apply(sess, payload, threshold, bulk)

    def _apply(
        self, sess: AnnotationSession, payload: Mapping, threshold: float, bulk: BulkRange | None
    ) -> int:
        nonce = str(payload.get("nonce") or "")
        events = payload.get("events")
        if not nonce or not isinstance(events, list):
            return 0
        last = self.applied.get(nonce, 0)
        todo = sorted(
            (ev for ev in events if isinstance(ev, Mapping) and _int(ev.get("seq"), 0) > last),
            key=lambda ev: _int(ev.get("seq"), 0),
        )
        done = 0
        for ev in todo:
            try:
                _apply_one(sess, ev, threshold, bulk)
            except (ValueError, LabelStoreError, KeyError, TypeError) as exc:
                self.problems.append(f"key {ev.get('key') or ev.get('type')!s}: {exc}")
                del self.problems[:-20]
            last = _int(ev.get("seq"), last)
            self.applied[nonce] = last  # after each event: what is in the store is marked applied
            done += 1
        return done

    def take_problems(self) -> list[str]:
        """The problems since the last call (shown once)."""
        out, self.problems = self.problems, []
        return out


def _int(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _apply_one(
    sess: AnnotationSession, ev: Mapping[str, Any], threshold: float, bulk: BulkRange | None
) -> None:
    kind = ev.get("type")
    if kind not in EVENT_TYPES:
        raise ValueError(f"unknown event {kind!r}")
    # the decision is the annotator's whose name the page showed when the key was pressed
    saved = sess.annotator
    name = str(ev.get("annotator") or saved)
    sess.annotator = name
    try:
        if kind == "label":
            sess.label_at(str(ev["doc"]), str(ev["sha"]), _int(ev["index"], -1), str(ev["label"]))
            if sess.mode == "queue":
                sess.advance()
            else:
                _follow(sess, ev)
        elif kind == "undo":
            expect = ev.get("expect")
            target = sess.undo_target()
            if expect is not None and target is not None and (str(expect[0]), _int(expect[1], -1)) != target:
                raise ValueError(
                    f"undo refused: the page meant to undo {expect[0]} ¶{expect[1]}, "
                    f"the last decision here is {target[0]} ¶{target[1]}"
                )
            sess.undo()
        elif kind == "move":
            _follow(sess, ev)
        elif kind == "document":
            _on_shown_document(sess, ev)
            sess.select_document(sess.doc_pos + _int(ev.get("delta"), 0))
        elif kind == "accept_above":
            _on_shown_document(sess, ev)
            sess.accept_above(threshold)
        else:  # bulk
            _on_shown_document(sess, ev)
            if bulk is None:
                raise ValueError("no paragraph range given (the bulk box)")
            sess.bulk_label(bulk.first, bulk.last, bulk.label)
    finally:
        sess.annotator = saved


def _shown(sess: AnnotationSession, ev: Mapping[str, Any]) -> bool:
    doc = sess.doc
    return doc is not None and doc.doc_id == ev.get("doc") and doc.sha256 == ev.get("sha")


def _on_shown_document(sess: AnnotationSession, ev: Mapping[str, Any]) -> None:
    if not _shown(sess, ev):
        raise ValueError(f"pressed on {ev.get('doc')!s}, which is no longer the open document; nothing done")


def _follow(sess: AnnotationSession, ev: Mapping[str, Any]) -> None:
    """Put the cursor where the page says it went (only while that document is open)."""
    n = len(sess.paragraphs())
    if _shown(sess, ev) and n and "cursor" in ev:
        sess.cursor = max(0, min(n - 1, _int(ev["cursor"], sess.cursor)))


def view_data(
    sess: AnnotationSession, log: KeyLog, *, problems: list[str] | None = None, name_field: str = ""
) -> dict[str, Any]:
    """What the page draws: the open document's paragraphs (text, your label, the model's
    suggestion and probability), the cursor, the undo steps, the uncertainty queue, and how
    far each page load's events are applied. Text is data: the page shows it as text.
    ``name_field`` is the label of the name box: keys wait for a name left in it."""
    doc = sess.doc
    paras: list[list[Any]] = []
    if doc is not None:
        sug = sess.suggestions(doc)
        mine = sess.my_labels(doc)
        labels = sug["label"].tolist() if sug is not None else [None] * len(mine)
        proba = sug["proba"].tolist() if sug is not None else [None] * len(mine)
        paras = [
            [p.text, mine[i], labels[i], None if (pr := proba[i]) is None else round(float(pr), 3)]
            for i, p in enumerate(sess.paragraphs(doc))
        ]
    queue: list[list[int]] = []
    if sess.mode == "queue" and sess.model is not None and sess.annotator:
        queue = [[pos, i] for _, pos, i in sess.uncertainty_queue()[:QUEUE_ITEMS]]
    return {
        "doc": None if doc is None else {"id": doc.doc_id, "sha": doc.sha256},
        "doc_pos": sess.doc_pos,
        "doc_count": len(sess.docs),
        "paras": paras,
        "cursor": sess.cursor,
        "view": f"{log.token}-{sess.view}",
        "mode": sess.mode,
        "queue": queue,
        "undo": sess.undo_entries() if sess.annotator else [],
        "acks": dict(list(log.applied.items())[-20:]),
        "annotator": sess.annotator,
        "name_field": name_field,
        "model": sess.model is not None,
        "message": sess.message,
        "problems": list(problems or []),
        "labels": [{"name": c, "key": LABEL_KEYS[c], "color": LABEL_CSS[c]} for c in CLASSES],
    }
