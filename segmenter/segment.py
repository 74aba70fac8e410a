"""Split scraped text into paragraphs: non-blank lines, with offsets into the original."""

from __future__ import annotations

from typing import NamedTuple


class Paragraph(NamedTuple):
    """One paragraph: its position among paragraphs, its span and its stripped text.

    ``source[start:end] == text`` always holds for the string it came from.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the field has always been named
    start: int
    end: int
    text: str


# a NamedTuple's own constructor is a Python function; tuple.__new__ builds the same object
# in C, which is a quarter of segment()'s time on a long page
_new = tuple.__new__


def segment(text: str) -> list[Paragraph]:
    """Return the paragraphs of ``text``: lines as ``str.splitlines`` splits them that hold
    a non-whitespace character, stripped, with character offsets into ``text``."""
    if not isinstance(text, str):
        raise TypeError(
            f"segment() expects the page as str, got {type(text).__name__}; "
            "decode bytes first, e.g. data.decode('utf-8', errors='replace')"
        )
    paragraphs: list[Paragraph] = []
    pos = 0
    for line in text.splitlines(keepends=True):
        # Line terminators are whitespace to str.strip, so strip() drops them too.
        stripped = line.strip()
        if stripped:
            start = pos + (len(line) - len(line.lstrip()))
            paragraphs.append(_new(Paragraph, (len(paragraphs), start, start + len(stripped), stripped)))
        pos += len(line)
    return paragraphs
