"""Copies of labelled documents that teach structure, for training only: word-perturbed
copies of the finely labelled pages, and imported pages cut to their story.

A handful of finely labelled pages carry most of what the model knows about related
stories, promos and nav, and on them a single word ("Comments", "Related Articles",
"5 hours ago") can explain a whole tail of the page. Training also on copies in which
words are swapped for made-up ones makes the model learn the structure around those words
(where the story ends, blocks of short lines, cards) instead of leaning on the words alone.

On every full page the first and last lines are menus and footers, so a model trained on
full pages alone learns that a page's last paragraph is never the story, and drops the end
of text that another extractor already cut, or of a page built of stories only. A copy of
each imported page cut a few lines around its story (:func:`story_cut`), labelled only near
the cut ends (:func:`edge_labels`), shows it that a page may start and end with its story.
"""
from __future__ import annotations

import re
import zlib
from typing import Sequence

import numpy as np

from .labels import CORE

_WORD = re.compile(r"[^\W\d_]{3,}")
_CONSONANTS = "bcdfgklmnprstvz"
_VOWELS = "aeiou"


def made_up_word(key: int) -> str:
    """A pronounceable non-word chosen by ``key`` (so the same key gives the same word)."""
    parts = []
    for _ in range(3):
        parts.append(_CONSONANTS[key % len(_CONSONANTS)] + _VOWELS[(key // len(_CONSONANTS)) % len(_VOWELS)])
        key //= len(_CONSONANTS) * len(_VOWELS)
    return "".join(parts) + "r"


def perturb_paragraph(text: str, seed: int, rate: float = 0.5) -> str:
    """Replace about ``rate`` of the paragraph's words of 3+ letters (at least one when it has
    any) by made-up words. Deterministic in (text, seed), so repeated paragraphs stay
    repeated and ``duplicate`` labels stay true."""
    matches = list(_WORD.finditer(text))
    if not matches:
        return text
    h = zlib.crc32(f"{seed}\0{text}".encode())
    chosen = {k for k, m in enumerate(matches) if zlib.crc32(f"{h}\0{k}".encode()) % 1000 < rate * 1000}
    if not chosen:
        chosen = {h % len(matches)}
    out, last = [], 0
    for k, m in enumerate(matches):
        if k in chosen:
            out.append(text[last:m.start()])
            out.append(made_up_word(zlib.crc32(f"{h}\0{m.group().lower()}".encode())))
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def perturb_document(paragraphs: Sequence[str], seed: int, rate: float = 0.5) -> list[str]:
    """Every paragraph perturbed by :func:`perturb_paragraph` with the same seed."""
    return [perturb_paragraph(p, seed, rate) for p in paragraphs]


def story_cut(labels: Sequence[str | None], rng: np.random.Generator, pad: int) -> tuple[int, int] | None:
    """Where to cut a labelled page so that it starts and ends at its story: from up to
    ``pad`` lines (drawn by ``rng``) before the first core-story line to up to ``pad`` after
    the last, as ``(start, stop)``. None when the page has no story or nothing would go."""
    core = [i for i, lab in enumerate(labels) if lab == CORE]
    if not core:
        return None
    start = max(core[0] - int(rng.integers(0, pad + 1)), 0)
    stop = min(core[-1] + 1 + int(rng.integers(0, pad + 1)), len(labels))
    if start == 0 and stop == len(labels):
        return None
    return start, stop


def edge_labels(labels: Sequence[str | None], start: int, stop: int, edge: int) -> list[str | None]:
    """The labels of the cut ``labels[start:stop]``, kept only on the ``edge`` lines next to
    an end that was cut (None, unlabelled, elsewhere). The cut teaches what the page's new
    first and last lines are; its middle is the original page again, and training on it
    twice would only tilt the model towards the story's kind of lines."""
    out: list[str | None] = list(labels[start:stop])
    n = len(out)
    for i in range(n):
        near_start = start > 0 and i < edge
        near_stop = stop < len(labels) and i >= n - edge
        if not (near_start or near_stop):
            out[i] = None
    return out
