"""What the model gets wrong, by kind of text: a report, not a model.

Every line the model keeps that the gold calls not-story, and every story line it drops,
is put in one kind by the rules below (first match wins), and counted in words, as the
standard metric counts shingles of words. Two shares are given: of all error words (where a
page of 40 000 words weighs as much as a hundred ordinary ones), and per page, each page's
error words over its gold and kept words averaged over the pages, which weighs pages as the
metric does (it averages precision and recall over pages):

* ``comment threads``: a line after a comments heading ("Comments", "12 comments",
  "Leave a reply", ...), or comment furniture (vote counts, "Reply", "X says:");
* ``footers and legal``: copyright, rights, privacy, terms, cookie lines;
* ``menus and teaser lists``: a short line (under :data:`SHORT_WORDS` words), the shape of
  menu items, headlines, card source and time lines;
* ``other stories' prose``: a longer line, read as prose: another story's body, a bio;
* ``story lines lost``: a gold story line the model dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from . import metrics as M
from .corpus import CorpusDoc
from .systems import Prediction

#: Lines of fewer words than this are menu items, headlines or card lines, not prose.
SHORT_WORDS = 12

COMMENTS = "comment threads"
LEGAL = "footers and legal"
MENUS = "menus and teaser lists"
PROSE = "other stories' prose"
LOST = "story lines lost"
KINDS = (COMMENTS, MENUS, PROSE, LEGAL, LOST)

_COMMENTS_HEADING = re.compile(
    r"^(?:\d+\s+)?(?:comments?|responses?|replies|reader comments|top comments|"
    r"leave a (?:reply|comment)|add a comment|join the (?:discussion|conversation)|"
    r"post a comment|discussion|show comments|view comments)\b.{0,30}$",
    re.I,
)
_COMMENT_FURNITURE = re.compile(
    r"(?:\b(?:says|wrote|writes|replied)\s*:?$|^(?:reply|report|flag|share|like)$|"
    r"^\d+\s+(?:points?|likes?|votes?|replies)\b|^(?:up|down)vote|\bago$)",
    re.I,
)
_LEGAL = re.compile(
    r"©|\bcopyright\b|all rights reserved|\bprivacy\b|\bterms (?:of|and) |\bcookies?\b|"
    r"\bdo not sell\b|\blicen[cs]ed?\b|\bdisclaimer\b",
    re.I,
)


def line_kinds(lines: Sequence[str]) -> list[str]:
    """The kind of every line of a page, as if it were wrongly kept (``LOST`` is not given
    here: it depends on the gold)."""
    kinds: list[str] = []
    in_thread = False
    for line in lines:
        words = len(M.tokens(line))
        if _COMMENTS_HEADING.match(line.strip(" :-|#*")):
            in_thread = True
        if in_thread or _COMMENT_FURNITURE.search(line):
            kinds.append(COMMENTS)
        elif _LEGAL.search(line) and words < 40:
            kinds.append(LEGAL)
        elif words < SHORT_WORDS:
            kinds.append(MENUS)
        else:
            kinds.append(PROSE)
    return kinds


def page_errors(doc: CorpusDoc, pred: Prediction) -> dict[str, float]:
    """Words of each kind the model kept wrongly or lost on one page (needs line labels and
    line decisions; {} when either is missing)."""
    return _page_tally(doc, pred)[0]


def _page_tally(doc: CorpusDoc, pred: Prediction) -> tuple[dict[str, float], float]:
    """``page_errors``, and the page's gold words plus the words it keeps (at least 1): what
    its errors are out of."""
    if doc.line_labels is None or pred.kept is None:
        return {}, 1.0
    kinds = line_kinds(doc.lines)
    out = dict.fromkeys(KINDS, 0.0)
    size = 0
    for line, gold, kept, kind in zip(doc.lines, doc.line_labels, pred.kept, kinds):
        words = len(M.tokens(line))
        core = gold == "core-story"
        size += words * (int(core) + int(bool(kept)))
        if core and not kept:
            out[LOST] += words
        elif kept and not core:
            out[kind] += words
    return out, float(max(size, 1))


def error_breakdown(
    docs: Sequence[CorpusDoc], preds: Sequence[Prediction], f1: np.ndarray, worst: int = 10
) -> dict:
    """Words wrongly kept or lost by kind, summed over the pages, with each kind's share of
    all errors and the ``worst`` pages (lowest F1) with the kind that costs them most."""
    totals = dict.fromkeys(KINDS, 0.0)
    by_page = dict.fromkeys(KINDS, 0.0)
    per_page = []
    for doc, pred in zip(docs, preds):
        errs, size = _page_tally(doc, pred)
        if errs:
            for k, v in errs.items():
                totals[k] += v
                by_page[k] += v / size
        per_page.append(errs)
    all_words = sum(totals.values())
    all_shares = sum(by_page.values())
    order = np.argsort(np.nan_to_num(f1, nan=1.0), kind="stable")[:worst]
    return {
        "pages": sum(bool(e) for e in per_page),
        "words": totals,
        "share": {k: (v / all_words if all_words else 0.0) for k, v in totals.items()},
        "share_per_page": {k: (v / all_shares if all_shares else 0.0) for k, v in by_page.items()},
        "worst_pages": [
            {
                "where": docs[i].where,
                "url": docs[i].url,
                "f1": float(f1[i]),
                "costliest": max(per_page[i], key=per_page[i].__getitem__) if per_page[i] else None,
                "words": per_page[i],
            }
            for i in order
        ],
    }
