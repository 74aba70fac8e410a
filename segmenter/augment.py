"""Word-level perturbation of labelled documents, for training only.

A handful of finely labelled pages carry most of what the model knows about related
stories, promos and nav, and on them a single word ("Comments", "Related Articles",
"5 hours ago") can explain a whole tail of the page. Training also on copies in which
words are swapped for made-up ones makes the model learn the structure around those words
(where the story ends, blocks of short lines, cards) instead of leaning on the words alone.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

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
            out.append(text[last : m.start()])
            out.append(made_up_word(zlib.crc32(f"{h}\0{m.group().lower()}".encode())))
            last = m.end()
    out.append(text[last:])
    return "".join(out)


def perturb_document(paragraphs: Sequence[str], seed: int, rate: float = 0.5) -> list[str]:
    """Every paragraph perturbed by :func:`perturb_paragraph` with the same seed."""
    return [perturb_paragraph(p, seed, rate) for p in paragraphs]
