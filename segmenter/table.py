"""A plain-text table for a terminal: left-aligned text cut to a width with an ellipsis."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (East Asian) characters 2, combining 0."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def cut(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` if it fits ``width`` columns, else its start and ``ellipsis`` within them."""
    if display_width(text) <= width:
        return text
    room = max(0, width - display_width(ellipsis))
    out, used = [], 0
    for c in text:
        w = display_width(c)
        if used + w > room:
            break
        out.append(c)
        used += w
    return "".join(out) + ellipsis


def format_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    width: int,
    right: Sequence[str] = (),
    ellipsis: str = "…",
    gap: int = 2,
) -> str:
    """The rows under their header, columns ``gap`` apart, each left-aligned (those named in
    ``right`` right-aligned); the last column takes what is left of ``width`` and its
    cells are cut to it with ``ellipsis``. No line ends in spaces."""
    fixed = [
        max([display_width(header[k]), *(display_width(r[k]) for r in rows)]) for k in range(len(header) - 1)
    ]
    room = max(10, width - sum(fixed) - gap * len(fixed))

    def line(cells: Sequence[str]) -> str:
        parts = []
        for k, cell in enumerate(cells[:-1]):
            pad = " " * (fixed[k] - display_width(cell))
            parts.append(pad + cell if header[k] in right else cell + pad)
        parts.append(cut(cells[-1], room, ellipsis))
        return (" " * gap).join(parts).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])
