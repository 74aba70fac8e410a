"""HTML for the app's read-only views (the preview), built from escaped text only.

Every piece of document text, label and name goes through :func:`html.escape` before it is put
into markup, so a page's ``<script>`` or ``<img onerror>`` shows as the characters it is made
of; the markup around it is this module's own, with inline styles only.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from .session import LABEL_CSS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_ROW = (
    "display:grid;grid-template-columns:3.2em 10.5em 1fr;gap:0 10px;padding:4px 2px;"
    "border-bottom:1px solid #eceef1;line-height:1.4"
)
_TEXT = "white-space:pre-wrap;overflow-wrap:anywhere"


def preview_rows_html(df: pd.DataFrame) -> str:
    """The original page, one row per paragraph (``AnnotationSession.preview``'s table): number,
    the model's label and probability and yours, and the full text, wrapped; the paragraphs
    ``clean`` drops struck through and coloured by the model's label."""
    rows = []
    for rec in df.to_dict("records"):
        label = str(rec["model"])
        colour = LABEL_CSS.get(label, "#555")
        kept = bool(rec["kept"])
        text_style = _TEXT + ("" if kept else f";color:{colour};text-decoration:line-through")
        yours = str(rec["yours"] or "")
        meta = (
            f'<span style="color:{colour};font-weight:600">{escape(label)}</span> '
            f'<span style="color:#6e7781">{float(rec["p"]):.2f}</span>'
            + (f'<br><span style="color:#6e7781">yours: {escape(yours)}</span>' if yours else "")
        )
        rows.append(
            f'<div style="{_ROW}" data-kept="{"true" if kept else "false"}">'
            f'<span style="color:#6e7781">¶{int(rec["¶"])}</span>'
            f"<span>{meta}</span>"
            f'<span style="{text_style}">{escape(str(rec["text"]))}</span></div>'
        )
    return '<div style="font-size:14px">' + "".join(rows) + "</div>"


def cleaned_html(cleaned: str) -> str:
    """``clean(text)`` with each kept paragraph on its own, as the scraper receives it."""
    paras = [p for p in cleaned.split("\n") if p.strip()]
    if not paras:
        return '<p style="color:#6e7781">(clean keeps nothing of this page)</p>'
    return (
        '<div style="font-size:14px;line-height:1.45">'
        + "".join(f'<p style="margin:0 0 0.7em 0;{_TEXT}">{escape(p)}</p>' for p in paras)
        + "</div>"
    )
