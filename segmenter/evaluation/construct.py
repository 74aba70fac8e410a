"""Spillover by construction: pages built from WCXB gold bodies in which parts of *other*
stories sit after, inside or before the story, to measure (and later train) the topic
decision that layout alone cannot make.

    python -m segmenter.construct OUT.jsonl.gz [--corpus ../shared/data/wcxb_dev_articles.jsonl.gz]

Each usable story (a gold body split into paragraphs, cut to 120-900 words, log-uniform,
at least 3 paragraphs: full-length bodies make the task much easier than real pages) gives
one page per variant:

* ``cards``: the story, a widget heading, then 2-4 teaser cards of other stories
  (source, "N hours ago", "- Source", teaser headline, teaser paragraph; layouts vary);
* ``bare``: the story, then another story's paragraphs, with no heading or furniture;
* ``inline``: a "Read more: ..." / "Related: ..." teaser line inside the story;
* ``before``: the last paragraphs of the previous article, then the story.

Lines are labelled ``core-story`` (the story), ``related-article`` (other stories, their
cards' source and time lines included, as docs/labels.md says) and ``nav`` (widget headings).
With ``--in-page`` the constructed body sits inside its source page's own lines before and
after the body (menus, headline, footer; labelled ``other``, coarse as in WCXB), so the
story is not the only prose-free frame the model sees.
Stories fall into ``--folds`` groups by a hash of their id, and other stories are drawn from
the same group and the same script, so cross-validation grouped by ``fold`` never has a story
on both sides. Output is deterministic for a seed. Each record carries what
``python -m segmenter.evaluate`` reads (``text``, ``truth``, ``labels``, spillover flags)
plus ``variant``, ``story``, ``fold`` and ``derived_from`` (the source page ids), by which
evaluate knows a page built from documents in the label store is not held out.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..jsonl import read_jsonl
from ..labels import CORE
from ..segment import segment

VARIANTS = ("cards", "bare", "inline", "before")
RELATED = "related-article"
NAV = "nav"
OTHER = "other"  # --in-page: the page's own chrome, coarse as in the source corpus
MIN_WORDS, MAX_WORDS, MIN_PARAGRAPHS = 120, 900, 3

_SOURCES = (
    "Reuters",
    "AP News",
    "Al Jazeera",
    "The Guardian",
    "BBC News",
    "Bloomberg",
    "CNN",
    "Le Monde",
    "DW",
    "NPR",
    "The Hindu",
    "ABC News",
    "Euronews",
    "The Straits Times",
)
_HEADINGS = (
    "Related Articles",
    "More from {source}",
    "You may also like",
    "Recommended for you",
    "Read next",
    "Trending now",
    "More stories",
    "Most read",
    "Latest news",
    "Also on {source}",
    "Related stories",
    "Top stories",
)
_TIMES = (
    "{n} hours ago",
    "{n}h ago",
    "{n} minutes ago",
    "{n} days ago",
    "Yesterday",
    "{n} hrs ago",
    "Updated {n} hours ago",
)
_TEASER_PREFIXES = ("Read more:", "Related:", "READ MORE:", "See also:", "Also read:", "More:")
# card layouts: which lines a teaser card shows, in order
_CARD_LAYOUTS = (
    ("source", "time", "headline", "teaser"),
    ("headline", "dash", "time"),
    ("headline", "teaser"),
    ("source", "headline", "time"),
    ("time", "headline"),
    ("headline", "source", "teaser"),
    ("headline",),
)

#: WCXB dev in ``../shared/data`` beside a source checkout (segmenter/evaluation/ is two
#: folders below the checkout)
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "wcxb_dev_articles.jsonl.gz"


class ConstructError(ValueError):
    """The source corpus cannot be used; the message names the file and line."""


@dataclass
class Story:
    id: str
    paragraphs: list[str]  # the gold body as segmenter.segment splits it, list markers dropped
    script: str
    fold: int
    head: tuple[str, ...] = ()  # --in-page: the page's lines before its first body line
    tail: tuple[str, ...] = ()  # ... and after its last


def script_of(text: str, sample: int = 400) -> str:
    """The dominant writing system of ``text`` (LATIN, CYRILLIC, CJK, ...), from the Unicode
    names of its first letters; pages of one script only borrow from each other."""
    counts: Counter[str] = Counter()
    for ch in text:
        if ch.isalpha():
            name = unicodedata.name(ch, "")
            counts[name.split(" ")[0] if name else "OTHER"] += 1
            if sum(counts.values()) >= sample:
                break
    return counts.most_common(1)[0][0] if counts else "NONE"


def fold_of(story_id: str, folds: int) -> int:
    return int(hashlib.sha256(story_id.encode("utf-8")).hexdigest(), 16) % folds


#: A Markdown list marker opening a gold line ("- item", "* item"; not "+": WCXB's gold has
#: none, and "+ 3% growth" is a figure).
_LIST_MARKER = re.compile(r"^[-*][^\S\n]+(?=\S)")


def as_page_line(line: str) -> str:
    """A gold-body line as page text shows it: without a Markdown list marker. WCXB's gold
    bodies mark list items (7 921 of their 63 662 paragraphs open with "- " or "* "), page
    text rendered from HTML almost never does (103 of 190 693 page lines), and a dash
    opening a short line is what a card's "- Source" line looks like. The metric's words
    are the same either way."""
    return _LIST_MARKER.sub("", line, count=1)


def read_stories(path: str | Path, folds: int, in_page: bool = False) -> list[Story]:
    """Stories from a corpus of ``{"id", "truth", ...}`` records (pages with an empty gold are
    left out). ``in_page``: the story is the page's ``core`` lines (``line_labels``) and keeps
    the page's own lines before and after them, so constructed pages have real chrome."""
    out = []
    for where, obj in read_jsonl(path, ConstructError):
        if not isinstance(obj, dict) or not isinstance(obj.get("truth"), str) or "id" not in obj:
            raise ConstructError(f"{where}: expected an object with 'id' and a string 'truth'")
        sid = str(obj["id"])
        head: tuple[str, ...] = ()
        tail: tuple[str, ...] = ()
        if in_page:
            lines = [p.text for p in segment(obj.get("text") or "")]
            labels = obj.get("line_labels")
            if not isinstance(labels, list) or len(labels) != len(lines):
                raise ConstructError(f"{where}: --in-page needs 'text' and one 'line_labels' entry per line")
            core = [i for i, lab in enumerate(labels) if lab == "core"]
            if not core:
                continue
            paras = [lines[i] for i in core]
            head, tail = tuple(lines[: core[0]]), tuple(lines[core[-1] + 1 :])
        else:
            paras = [as_page_line(p.text) for p in segment(obj["truth"])]
        if paras:
            out.append(Story(sid, paras, script_of("\n".join(paras)), fold_of(sid, folds), head, tail))
    return out


def _words(text: str) -> int:
    return len(text.split())


def cut(paragraphs: list[str], rng: random.Random) -> list[str] | None:
    """The story's first paragraphs up to a log-uniform 120-900 word budget, at least 3
    paragraphs and at most 900 words; None when the story cannot give that."""
    target = math.exp(rng.uniform(math.log(MIN_WORDS), math.log(MAX_WORDS)))
    out: list[str] = []
    words = 0
    for p in paragraphs:
        if len(out) >= MIN_PARAGRAPHS and (words >= target or words + _words(p) > MAX_WORDS):
            break
        out.append(p)
        words += _words(p)
    if len(out) < MIN_PARAGRAPHS or not MIN_WORDS <= words <= MAX_WORDS:
        return None
    return out


def headline_of(paragraphs: list[str], max_words: int = 14) -> str:
    """A teaser headline for a story: its first sentence, at most ``max_words`` words,
    without the closing full stop."""
    first = paragraphs[0]
    for end in (". ", "? ", "! "):
        if end in first:
            first = first.split(end, 1)[0]
    return " ".join(first.split()[:max_words]).rstrip(".;:,")


def _teaser(paragraphs: list[str], max_words: int = 45) -> str:
    words = paragraphs[min(1, len(paragraphs) - 1)].split()
    return " ".join(words[:max_words]) + ("..." if len(words) > max_words else "")


def _card(other: list[str], rng: random.Random) -> list[str]:
    source = rng.choice(_SOURCES)
    parts = {
        "source": source,
        "dash": f"- {source}",
        "time": rng.choice(_TIMES).format(n=rng.randint(1, 23)),
        "headline": headline_of(other),
        "teaser": _teaser(other),
    }
    return [parts[k] for k in rng.choice(_CARD_LAYOUTS)]


def build(
    story: list[str], others: list[list[str]], variant: str, rng: random.Random
) -> tuple[list[tuple[str, str]], int]:
    """The lines of one constructed page, each with its label, and how many of ``others``
    (from the first) it shows."""
    core = [(p, CORE) for p in story]
    if variant == "cards":
        heading = rng.choice(_HEADINGS).format(source=rng.choice(_SOURCES))
        lines = core + [(heading, NAV)]
        shown = others[: rng.randint(2, 4)]
        for other in shown:
            lines += [(line, RELATED) for line in _card(other, rng)]
        return lines, len(shown)
    if variant == "bare":
        return core + [(p, RELATED) for p in others[0]], 1
    if variant == "inline":
        at = rng.randint(1, len(story) - 1)
        teaser = f"{rng.choice(_TEASER_PREFIXES)} {headline_of(others[0])}"
        return core[:at] + [(teaser, RELATED)] + core[at:], 1
    if variant == "before":
        tail = others[0][-rng.randint(2, min(4, len(others[0]))) :]
        return [(p, RELATED) for p in tail] + core, 1
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


def construct(stories: list[Story], variants: Iterable[str] = VARIANTS, seed: int = 0) -> Iterator[dict]:
    """One record per usable story and variant, in corpus order; deterministic for ``seed``."""
    variants = list(variants)
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
    rng = random.Random(seed)
    drawn = {s.id: cut(s.paragraphs, rng) for s in stories}
    cuts = {k: v for k, v in drawn.items() if v is not None}
    usable = [s for s in stories if s.id in cuts]
    pools: dict[tuple[int, str], list[Story]] = {}
    for s in usable:
        pools.setdefault((s.fold, s.script), []).append(s)
    for s in usable:
        pool = [o for o in pools[(s.fold, s.script)] if o.id != s.id]
        if not pool:
            continue
        for variant in variants:
            r = random.Random(f"{seed}/{s.id}/{variant}")
            others = r.sample(pool, min(4, len(pool)))
            lines, shown = build(cuts[s.id], [cuts[o.id] for o in others], variant, r)
            lines = [(t, OTHER) for t in s.head] + lines + [(t, OTHER) for t in s.tail]
            text = "\n".join(t for t, _ in lines)
            labels = [lab for _, lab in lines]
            related_words = sum(_words(t) for t, lab in lines if lab == RELATED)
            story_words = sum(_words(t) for t in cuts[s.id])
            yield {
                "id": f"{s.id}-{variant}",
                "story": s.id,
                "variant": variant,
                "fold": s.fold,
                "script": s.script,
                "text": text,
                "truth": "\n".join(cuts[s.id]),
                "labels": labels,
                "spillover": related_words > 0,
                "spillover_heavy": related_words * 2 >= story_words,
                "derived_from": [s.id] + [o.id for o in others[:shown]],
            }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m segmenter.construct",
        description="Build pages with spillover from the gold bodies of a corpus (WCXB dev): "
        "other stories' cards after a widget heading, bare appended paragraphs, "
        "inline 'Read more:' teasers, and the previous article's tail before the "
        "story; deterministic for a seed.",
    )
    ap.add_argument("out", metavar="OUT", help="JSONL output (.gz: gzip), one page per line")
    ap.add_argument(
        "--corpus",
        default=str(DEFAULT_CORPUS),
        help="source corpus with 'id' and 'truth' per line (default: WCXB dev in ../shared/data)",
    )
    ap.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, from {', '.join(VARIANTS)} (default: all)",
    )
    ap.add_argument("--folds", type=int, default=5, help="story groups for cross-validation (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument(
        "--in-page",
        action="store_true",
        help="keep each story inside its own page: the source page's lines before and "
        "after its body (labelled 'other', as the corpus has them) frame the "
        "constructed body; needs 'text' and 'line_labels' in the corpus",
    )
    args = ap.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        ap.error(f"--variants: unknown {', '.join(bad) or '(none given)'}; choose from {', '.join(VARIANTS)}")
    if args.folds < 2:
        ap.error("--folds must be at least 2")
    try:
        stories = read_stories(args.corpus, args.folds, args.in_page)
    except ConstructError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or args.corpus}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    opener = gzip.open if args.out.endswith(".gz") else open
    counts: Counter[str] = Counter()
    tmp = Path(args.out + ".part")
    with opener(tmp, "wt", encoding="utf-8") as fh:
        for rec in construct(stories, variants, args.seed):
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            counts[rec["variant"]] += 1
    tmp.replace(args.out)  # all or nothing: a crash leaves no half-written OUT
    print(
        f"wrote {args.out}: {sum(counts.values())} pages from {len(stories)} stories "
        f"({', '.join(f'{v} {counts[v]}' for v in variants)})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
