"""Document-relative paragraph features: a stateless scikit-learn transformer.

Input: a sequence of documents, each a ``str`` or a list of :class:`Paragraph`.
Output: a list with one float32 matrix per document, one row per paragraph.

Every feature describes a paragraph *relative to its own document*: its shape, where it
sits against the document's densest run of prose, what its neighbours look like, whether a
widget heading ("Related Articles", "Comments") came before it, how close its words are to
the headline, the lead and the main run (TF-IDF fitted on the document itself), and whether
it repeats an earlier paragraph. Topic decides core vs related, and no list of words that
happen to mean "Telegram" can carry over to other sites; these relations can.

The algorithm, top to bottom (``_feature_families``): read the page once into flat arrays
(``_Page``); find its prose and the densest run of prose; then compute each family of
columns in turn (shape, line marks, word mix, cards, position, furniture before, comment
threads, blocks, the loose run, topic, word overlap, duplication), each a function that
returns its columns by name; then copy some of them onto the neighbours' rows. The column
names are the families' own keys, read off the code (``_FEATURE_NAMES``), so the names and
the columns cannot drift apart. The shipped model's coefficients are indexed by column:
moving a column, or changing a threshold below, needs a retrained model.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import chain, repeat
from numbers import Integral
from operator import itemgetter
from typing import NamedTuple

import numpy as np
import pandas as pd  # already loaded by scikit-learn's import just below: no start-up cost
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from .segment import Paragraph, segment

_WORD = re.compile(r"\w+")
#: A paragraph ends like a sentence: one of these, then only closing quotes and brackets.
_SENT_END_CHARS = frozenset(".!?。！？…")
_SENT_CLOSERS = "\"'”’»)]"
_SENT_END_CODES = np.array(sorted(map(ord, _SENT_END_CHARS)))
_SENT_CLOSER_CODES = np.array(sorted(map(ord, _SENT_CLOSERS)))
_QUESTION_CODES = np.array([ord(c) for c in "?\"'”’"])  # a question's last character
_BULLET_CODES = np.array([ord(c) for c in "•·*▪►»◦‣-"])
# _SENT_SPLIT runs once over the whole page (paragraphs joined by "\n", which no paragraph
# holds) and matches no "\n", so no match spans two paragraphs.
_SENT_SPLIT = re.compile(r"[.!?。！？][\"'”’»)\]]*[^\S\n]")
_TIME_AGO = re.compile(
    r"\b\d+\s*(?:s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|"
    r"months?|mos?|y|yrs?|years?)\s+ago\b|\b(?:yesterday|just now|today)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|"
    r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|"
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b\d{1,2}:\d{2}\b",
    re.I,
)
#: A short line that opens or closes one comment of a thread: "Jane says", "by jo (123) writes:",
#: "Reply", "Report".
_COMMENT_MARK = re.compile(
    r"(?:\b(?:says|writes|wrote|said|replied|replies)\s*:?|^(?:reply|report(?: comment)?|"
    r"log in to reply|like|likes?\s*\d*|\d+\s+likes?))$",
    re.I,
)
#: Share buttons and follow links: short lines naming where to share the page.
_SOCIAL_SITES = (
    "facebook",
    "twitter",
    "linkedin",
    "pinterest",
    "reddit",
    "tumblr",
    "whatsapp",
    "flipboard",
    "instagram",
    "youtube",
    "tiktok",
    "threads",
    "bluesky",
    "mastodon",
    "print",
    "copy link",
    "share",
)
_SOCIAL = re.compile(rf"\b(?:{'|'.join(map(re.escape, _SOCIAL_SITES))}|e-?mail)\b", re.I)
#: What every match of ``_SOCIAL`` holds, lower case: the sites, and "mail" for "e-mail".
_SOCIAL_NEEDLES = _SOCIAL_SITES + ("mail",)
#: Headings that open a comment thread or reviews: what follows them is readers' text.
_COMMENTS_HEADINGS = (
    r"comments?|\d+\s+(?:comments?|responses?|replies|thoughts)\b.*|leave a (?:comment|reply)|"
    r"reader interactions|(?:join the )?(?:discussion|conversation)|reviews|testimonials"
)
_COMMENTS_HEADING = re.compile(rf"^(?:{_COMMENTS_HEADINGS})\s*:?$", re.I)
_HEADING_TRIM = " :-–—|#*"  # stripped from a line's ends before the heading test
_COMMENT_NEEDLES = ("says", "writes", "wrote", "said", "repl", "report", "like")
_SOURCE_DASH = re.compile(r"^[-–—]\s*\S")
_DASHES = np.array([ord(c) for c in "-–—"])
#: A bullet and a space opening a paragraph (tested only where the first character is one).
_BULLET = re.compile(r"^[•·*▪►»◦‣-][^\S\n]")
_URLISH = re.compile(r"https?://|www\.|\.com\b|@\w", re.I)
#: Widget and section headings that start page furniture (several languages, lower case).
_HEADING = re.compile(
    r"^(?:related(?: articles?| stories| posts| news| content| reading)?|"
    r"you (?:may|might) also (?:like|enjoy)\b.*|more (?:from|on|stories|news|like this)\b.*|"
    r"recent(?: articles| posts| stories| news)?|" + _COMMENTS_HEADINGS + "|"
    r"read (?:more|next|also)|see also|also read|recommended(?: for you| stories)?|"
    r"(?:most )?(?:popular|read|viewed|shared)(?: stories| articles| now)?|trending(?: now| stories)?|"
    r"latest(?: news| stories| articles)?|top stories|"
    r"share(?: this)?(?: article| story| post)?|hashtags|tags?|topics|categories|"
    r"advertisement|sponsored(?: content)?|newsletter|sign up.*|subscribe.*|follow us.*|"
    r"lire aussi|à lire aussi|weitere artikel|mehr zum thema|leer más|noticias relacionadas|"
    r"leia também|artigos relacionados|altri articoli|correlati)\s*:?$",
    re.I,
)


# -- thresholds -------------------------------------------------------------------------
#: A paragraph of fewer words than this has "few words"; a duplicate of this many or more is "long".
_FEW_WORDS = 5
#: A word of at most this many characters is a short word (articles, prepositions, pronouns).
_SHORT_WORD_CHARS = 3
#: Card times ("5 hours ago", "yesterday") are looked for in paragraphs of at most this many words.
_TIME_AGO_MAX_WORDS = 8
#: Dates, share buttons and comment marks are looked for in paragraphs of at most this many words.
_SHORT_LINE_WORDS = 12
#: A source credit ("— Reuters") is looked for in paragraphs of at most this many words.
_SOURCE_DASH_MAX_WORDS = 6
#: In a paragraph of fewer words than this, " - " separates like a bar ("Home - News").
_DASH_BAR_MAX_WORDS = 15
#: The loose run counts a paragraph of at least this many words as prose, sentence end or not.
_LOOSE_PROSE_WORDS = 15
#: Comment stamps and marks are counted over this many paragraphs either side of each one.
_MARK_WINDOW = 6
#: A block of at least this many consecutive non-prose paragraphs is a big block (menus, cards).
_BIG_BLOCK = 3
#: What a non-prose paragraph costs the strict run, in median prose lengths.
_STRICT_GAP_COST = 1.0
#: What it costs the loose run: a quarter, so the run bridges subheadings, lists and captions.
_LOOSE_GAP_COST = 0.25
#: The run's median prose length is taken as at least this many words.
_RUN_MIN_MEDIAN = 10.0
#: A prose paragraph adds at most this many median lengths to a run.
_RUN_WORD_CAP = 1.5
#: What every paragraph of a run costs it, in words: a run must earn its length.
_RUN_PARAGRAPH_COST = 2.0
#: The headline is looked for among this many paragraphs, from the run's start backwards.
_TITLE_LOOKBACK = 8
#: A headline has this many words, at least and at most.
_TITLE_MIN_WORDS, _TITLE_MAX_WORDS = 3, 30
#: A word found in at most this many of the page's paragraphs is rare.
_RARE_MAX_PARAGRAPHS = 2
#: The own features copied onto each paragraph's neighbours' rows, which read them as context.
_NEIGHBOUR_FEATURES = (
    "log_words",
    "ends_sentence",
    "is_prose",
    "few_words",
    "time_ago",
    "source_dash",
    "is_heading",
    "in_run",
    "sim_run",
    "dup_long",
    "block_len",
    "in_loose_run",
)
#: The neighbours, in column order: a prefix for their columns' names and how far away they are.
_NEIGHBOUR_OFFSETS = {"prev": -1, "next": 1, "prev2": -2, "next2": 2}


class ParagraphFeatures(TransformerMixin, BaseEstimator):
    """Turn documents into per-paragraph feature matrices (see the module docstring).

    Parameters
    ----------
    prose_min_words : int, default=8
        A paragraph of at least this many words counts as prose when it also ends like a
        sentence; the densest run of prose anchors the position and topic features.
    lead_size : int, default=3
        How many paragraphs from the start of the densest run form the "lead".
    function_words : int, default=40
        How many of a document's most frequent words count as its function words (a
        language-neutral stand-in for a stopword list).

    Attributes
    ----------
    n_features_out_ : int
        The number of columns of every matrix ``transform`` returns.
    """

    _parameter_constraints: dict = {
        "prose_min_words": [Interval(Integral, 1, None, closed="left")],
        "lead_size": [Interval(Integral, 1, None, closed="left")],
        "function_words": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, prose_min_words: int = 8, lead_size: int = 3, function_words: int = 40):
        self.prose_min_words = prose_min_words
        self.lead_size = lead_size
        self.function_words = function_words

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Sequence[str | Sequence[Paragraph]], y: object = None) -> ParagraphFeatures:
        """Check the parameters; there is nothing to learn (every feature is relative to
        its own document)."""
        self.n_features_out_ = len(_FEATURE_NAMES)
        return self

    def transform(self, X: Sequence[str | Sequence[Paragraph]]) -> list[np.ndarray]:
        return [self.document_features(_paragraph_texts(doc)) for doc in X]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.asarray(_FEATURE_NAMES, dtype=object)

    def document_features(self, texts: Sequence[str]) -> np.ndarray:
        """Feature matrix (n_paragraphs x n_features, float32) for one document's paragraph
        texts: each family's columns in turn, then the neighbours' copies."""
        if not len(texts):
            return np.zeros((0, len(_FEATURE_NAMES)), dtype=np.float32)
        page = _Page(texts)
        families = _feature_families(page, self.prose_min_words, self.lead_size, self.function_words)
        own = np.column_stack([column for family in families for column in family.values()])
        return _with_neighbours(own)


# -- the algorithm ------------------------------------------------------------------------
def _feature_families(
    page: _Page, prose_min_words: int, lead_size: int, function_words: int
) -> list[dict[str, np.ndarray]]:
    """Every own feature of a page's paragraphs, one mapping (name -> column) per family, in
    column order. The page is read once (``_Page``); what several families build on is found
    here first: which paragraphs are prose, the densest run of prose (where the story most
    likely is), each line up to a bar (where widget headings are looked for), the key under
    which two paragraphs are the same, the page's TF-IDF, its lead and its headline.

    Vectorised: the paragraphs are joined by newlines (no paragraph holds one) and each
    regular expression runs once over the page; per-paragraph figures are sums over flat
    token and character arrays, so the Python work per paragraph is a few calls."""
    prose = _prose(page, prose_min_words)
    run = _densest_run(page.n_words, prose, _STRICT_GAP_COST)
    # a heading may carry the page's name after a bar ("109 Comments | Garden Blog")
    heads = _before_bar(page.given, page.bars())
    keys = page.normalised()
    key_ids, _ = _factorize(keys)  # numbered in order of first appearance
    cards = _card_features(page, heads, key_ids)
    tfidf = _TfIdf(page.word_para, page.word_ids, page.n, page.vocab_size)
    lead = _lead(page.n, run, lead_size)
    title = _title(page, run)
    return [
        _shape_features(page, prose),
        _line_mark_features(page),
        _word_mix_features(page, function_words),
        cards,
        _position_features(page, prose, run),
        _furniture_before_features(page, prose, run, cards["is_heading"], cards["time_ago"]),
        _comment_thread_features(page, heads, cards["is_heading"], cards["date_like"], cards["time_ago"]),
        _block_features(page, prose, run),
        _loose_run_features(page, prose),
        _topic_features(page, tfidf, run, lead, title),
        _word_overlap_features(page, tfidf, run, lead | title),
        _duplication_features(page, keys, key_ids),
    ]


def _prose(page: _Page, min_words: int) -> np.ndarray:
    """1.0 for prose: a paragraph of at least ``min_words`` words that ends like a sentence."""
    return ((page.n_words >= min_words) & (page.ends > 0)).astype(np.float64)


def _lead(n: int, run: _Run, size: int) -> np.ndarray:
    """The lead: the first ``size`` paragraphs of the run (fewer if the run is shorter)."""
    lead = np.zeros(n, dtype=bool)
    lead[run.start : min(run.start + size, run.end + 1)] = True
    return lead


def _title(page: _Page, run: _Run) -> np.ndarray:
    """The likeliest headline (see ``_title_index``) as a mask, empty when there is none."""
    title = np.zeros(page.n, dtype=bool)
    at = _title_index(page.n_words, page.ends, run.start)
    if at is not None:
        title[at] = True
    return title


def _shape_features(page: _Page, prose: np.ndarray) -> dict[str, np.ndarray]:
    """How a paragraph is written: its length in words, characters and sentences, whether it
    ends like a sentence, and its mix of capitals, digits and punctuation."""
    n_words, n_chars, ends = page.n_words, page.n_chars, page.ends
    digits, alnum, space = page.char_counts()
    return {
        "log_words": np.log1p(n_words),
        "log_chars": np.log1p(n_chars),
        "mean_word_len": page.per_word(page.word_len) / 10,
        "ends_sentence": ends,
        "is_prose": prose,
        "log_sentences": np.log1p(page.count(_SENT_SPLIT) + ends),
        "few_words": (n_words < _FEW_WORDS).astype(np.float64),
        "one_word": (n_words <= 1).astype(np.float64),
        "cap_ratio": page.n_upper_caps / np.maximum(page.n_caps, 1),
        "digit_ratio": digits / np.maximum(n_chars, 1),
        "punct_ratio": (n_chars - alnum - space) / np.maximum(n_chars, 1),
        "ends_colon": (page.last_chars() == ord(":")).astype(np.float64),
    }


def _line_mark_features(page: _Page) -> dict[str, np.ndarray]:
    """The marks of page furniture on a line: separator bars, a bullet, a link or address, a
    copyright notice (and whether one came before: boilerpipe's terminating blocks, after
    which comes the footer), a share button, a question."""
    short = page.n_words <= _SHORT_LINE_WORDS
    copyright = page.contains("©", "(c)").astype(np.float64)
    dash_bar = page.holds(" - ") & (page.n_words < _DASH_BAR_MAX_WORDS)
    return {
        "has_pipe": (page.bars() | dash_bar).astype(np.float64),
        "is_bullet": page.bullets(),
        "urlish": page.matches_short(_URLISH, page.contains("http", "www.", ".com", "@")),
        "copyright": copyright,
        "social": page.matches_short(_SOCIAL, short, _SOCIAL_NEEDLES),
        "copyright_before": (_count_before(copyright) > 0).astype(np.float64),
        "question": page.questions(),
    }


def _word_mix_features(page: _Page, function_words: int) -> dict[str, np.ndarray]:
    """What a paragraph's words are made of: the shares of short words and of the page's own
    function words (its ``function_words`` most frequent words, ties broken by first
    appearance): prose is full of both, furniture is not."""
    word_counts = np.bincount(page.word_ids, minlength=page.vocab_size)
    funcs = np.zeros(page.vocab_size, dtype=bool)
    funcs[np.argsort(-word_counts, kind="stable")[:function_words]] = True
    return {
        "short_word_ratio": page.per_word(page.word_len <= _SHORT_WORD_CHARS),
        "function_ratio": page.per_word(funcs[page.word_ids]),
    }


def _card_features(page: _Page, heads: list[str], key_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The patterns of cards and widgets: a card's time ("5 hours ago") or date and a source
    credit after a dash (in short lines only: in prose they mean nothing), a widget heading
    ("Related Articles"; ``heads`` are the lines up to a bar), and how often the line recurs
    on the page (the same "Share" under every card)."""
    n_words = page.n_words
    # every date and "N hours ago" holds a digit; only "today" and kin do not
    has_digit = page.char_counts()[0] > 0
    maybe_time = has_digit | page.contains("yesterday", "just now", "today")
    heading = np.fromiter(
        map(bool, map(_HEADING.match, map(str.strip, heads, repeat(_HEADING_TRIM)))), bool, page.n
    ).astype(np.float64)
    return {
        "time_ago": page.matches_short(_TIME_AGO, (n_words <= _TIME_AGO_MAX_WORDS) & maybe_time),
        "date_like": page.matches_short(_DATE, (n_words <= _SHORT_LINE_WORDS) & has_digit),
        "source_dash": page.matches_short(
            _SOURCE_DASH, (n_words <= _SOURCE_DASH_MAX_WORDS) & _among(page.first_chars(), _DASHES)
        ),
        "is_heading": heading,
        "log_repeats": np.log(np.bincount(key_ids)[key_ids]),
    }


def _position_features(page: _Page, prose: np.ndarray, run: _Run) -> dict[str, np.ndarray]:
    """Where a paragraph sits: in the page, against the densest run of prose (inside it, or
    how far before or after), and how much of the page's words and prose lie around it."""
    n, idx, n_words = page.n, page.index, page.n_words
    total_words = max(n_words.sum(), 1.0)
    prose_words = n_words * prose
    return {
        "rel_index": idx / max(n - 1, 1),
        "log_index": np.log1p(idx),
        "log_from_end": np.log1p(n - 1 - idx),
        "in_run": run.inside(idx).astype(np.float64),
        "before_run": run.log_before(idx),
        "after_run": run.log_after(idx),
        "words_before_frac": (np.cumsum(n_words) - n_words) / total_words,
        "prose_after_frac": (prose_words.sum() - np.cumsum(prose_words)) / max(prose_words.sum(), 1.0),
        "run_share": np.full(n, run.word_share(n_words)),
    }


def _furniture_before_features(
    page: _Page, prose: np.ndarray, run: _Run, heading: np.ndarray, time_ago: np.ndarray
) -> dict[str, np.ndarray]:
    """The furniture a paragraph follows: a widget heading (and how many lines ago), the
    non-prose lines since the run ended, a card's time."""
    idx = page.index
    last_heading = np.concatenate([[-1.0], np.maximum.accumulate(np.where(heading > 0, idx, -1.0))[:-1]])
    past_run = idx > run.end
    return {
        "heading_before": (_count_before(heading) > 0).astype(np.float64),
        "since_heading": np.where(last_heading >= 0, np.log1p(idx - last_heading), 0.0),
        "furniture_after_run": np.log1p(np.cumsum((1 - prose) * past_run)) * past_run,
        "time_ago_before": (_count_before(time_ago) > 0).astype(np.float64),
    }


def _comment_thread_features(
    page: _Page, heads: list[str], heading: np.ndarray, date_like: np.ndarray, time_ago: np.ndarray
) -> dict[str, np.ndarray]:
    """Comment threads: every comment has a byline, a date and a reply link, so their marks
    keep recurring (a story has one byline and one date at most); and what follows a
    heading that opens a thread ("59 Comments") is readers' text."""
    n, idx = page.n, page.index
    comment_mark = page.matches_short(_COMMENT_MARK, page.n_words <= _SHORT_LINE_WORDS, _COMMENT_NEEDLES)
    stamps = np.maximum(date_like, time_ago)
    marks = np.concatenate([[0.0], np.cumsum(stamps + comment_mark)])
    lo = np.maximum(idx - _MARK_WINDOW, 0).astype(np.int64)
    hi = np.minimum(idx + (_MARK_WINDOW + 1), n).astype(np.int64)
    thread = np.zeros(n)
    for i in np.flatnonzero(heading):
        thread[i] = _COMMENTS_HEADING.match(heads[i].strip(_HEADING_TRIM)) is not None
    return {
        "comment_mark": comment_mark,
        "log_stamps_before": np.log1p(_count_before(stamps)),
        "log_marks_before": np.log1p(_count_before(comment_mark)),
        "mark_density": (marks[hi] - marks[lo]) / (hi - lo),
        "comments_heading_before": (_count_before(thread) > 0).astype(np.float64),
    }


def _block_features(page: _Page, prose: np.ndarray, run: _Run) -> dict[str, np.ndarray]:
    """Blocks of consecutive non-prose lines: menus, widget headings and cards come in
    blocks, a story's subheadings come alone (structural, so no word list is needed). Also
    how far the nearest prose is, and a paragraph's length against the run's median."""
    n, idx, n_words = page.n, page.index, page.n_words
    block_len, block_id = _blocks(prose)
    big_ids = _unique(block_id[(block_len >= _BIG_BLOCK) & (prose == 0)])
    # block_id never decreases, so each block's first paragraph is one binary search away
    starts = np.searchsorted(block_id, big_ids).astype(np.int64)
    after_starts = (
        np.searchsorted(np.sort(starts[starts > run.end]), idx, side="right") if len(starts) else np.zeros(n)
    )
    before_starts = (
        (
            len(starts[starts < run.start])
            - np.searchsorted(np.sort(starts[starts < run.start]), idx, side="right")
        )
        if len(starts)
        else np.zeros(n)
    )
    prev_prose = np.maximum.accumulate(np.where(prose > 0, idx, -1))
    next_prose = np.minimum.accumulate(np.where(prose > 0, idx, n)[::-1])[::-1]
    run_median = _median(n_words[run.start : run.end + 1])
    return {
        "block_len": np.log1p(block_len),
        "big_blocks_after_run": np.log1p(after_starts) * (idx > run.end),
        "big_blocks_before_run": np.log1p(np.maximum(before_starts, 0)) * (idx < run.start),
        "since_prose": np.log1p(np.where(prev_prose >= 0, idx - prev_prose, idx + 1)),
        "until_prose": np.log1p(next_prose - idx),
        "words_vs_run": np.log1p(n_words) - np.log1p(run_median),
    }


def _loose_run_features(page: _Page, prose: np.ndarray) -> dict[str, np.ndarray]:
    """Position against a looser run, where long paragraphs count as prose and other lines
    cost a quarter as much: it bridges the subheadings, lists and captions inside long
    bodies that split the strict run."""
    n_words, idx = page.n_words, page.index
    loose_prose = np.maximum(prose, (n_words >= _LOOSE_PROSE_WORDS).astype(np.float64))
    loose = _densest_run(n_words, loose_prose, _LOOSE_GAP_COST)
    in_loose = loose.inside(idx).astype(np.float64)
    return {
        "in_loose_run": in_loose,
        "before_loose_run": loose.log_before(idx),
        "after_loose_run": loose.log_after(idx),
        "loose_run_share": np.full(page.n, loose.word_share(n_words)),
        "nonprose_in_loose_run": in_loose * (1 - prose),
    }


def _topic_features(
    page: _Page, tfidf: _TfIdf, run: _Run, lead: np.ndarray, title: np.ndarray
) -> dict[str, np.ndarray]:
    """Topic, by TF-IDF fitted on the page itself: a paragraph's similarity to the lead, the
    run, the headline, the first paragraph and its neighbours, and to the run against the
    rest of the page. Topic is what tells core from related."""
    inside = run.inside(page.index)
    sim_run = tfidf.similarity_to(inside)
    adjacent = tfidf.similarity_to_next()
    return {
        "sim_lead": tfidf.similarity_to(lead),
        "sim_run": sim_run,
        "sim_title": tfidf.similarity_to(title),
        "is_title_candidate": title.astype(np.float64),
        "sim_first": tfidf.similarity_to(page.index == 0),
        "sim_prev": np.concatenate([[0.0], adjacent]),
        "sim_next": np.concatenate([adjacent, [0.0]]),
        "sim_run_minus_rest": sim_run - tfidf.similarity_to(~inside),
    }


def _word_overlap_features(
    page: _Page, tfidf: _TfIdf, run: _Run, anchor: np.ndarray
) -> dict[str, np.ndarray]:
    """Overlap of a paragraph's distinct names and words with the ``anchor`` (lead and
    headline), and of its rare words with the run's: a related story shares the page's
    common words, not its names."""
    n, vocab_size = page.n, page.vocab_size
    rows, cols = tfidf.rows, tfidf.cols  # each paragraph's distinct words
    anchor_words = np.zeros(vocab_size, dtype=bool)
    anchor_words[cols[anchor[rows]]] = True
    cap_rows, cap_cols, cap_vocab = page.name_sets()
    anchor_caps = np.zeros(cap_vocab, dtype=bool)
    anchor_caps[cap_cols[anchor[cap_rows]]] = True
    inside = run.inside(page.index)
    df = np.bincount(cols, minlength=vocab_size)
    run_vocab = np.zeros(vocab_size, dtype=bool)
    run_vocab[cols[inside[rows]]] = True
    rare = df[cols] <= _RARE_MAX_PARAGRAPHS
    # a rare word outside the run that the run also uses, or a word of the run that occurs
    # in exactly one other paragraph
    shared = np.where(inside[rows], df[cols] == 2, run_vocab[cols]) & rare
    return {
        "cap_overlap_lead": _ratio(
            np.bincount(cap_rows, weights=anchor_caps[cap_cols], minlength=n),
            np.bincount(cap_rows, minlength=n),
        ),
        "word_overlap_lead": _ratio(
            np.bincount(rows, weights=anchor_words[cols], minlength=n),
            np.bincount(rows, minlength=n).astype(np.float64),
        ),
        "rare_overlap_run": _ratio(
            np.bincount(rows, weights=shared, minlength=n), np.bincount(rows, weights=rare, minlength=n)
        ),
    }


def _duplication_features(page: _Page, keys: list[str], key_ids: np.ndarray) -> dict[str, np.ndarray]:
    """Repeats of earlier paragraphs: the same text (ignoring case and punctuation), or most
    of its word 3-grams found in one earlier paragraph; and the same for paragraphs of
    more than a few words, where a repeat is not a "Share" line but a duplicated story."""
    n_words = page.n_words
    exact = _exact_duplicates(keys, key_ids)
    contain = _contained_trigrams(page.word_ids, page.word_para, n_words.astype(np.int64), page.vocab_size)
    return {
        "dup_exact": exact,
        "dup_contain": contain,
        "dup_long": exact * (n_words >= _FEW_WORDS),
        "dup_contain_long": contain * (n_words >= _FEW_WORDS),
    }


def _with_neighbours(own: np.ndarray) -> np.ndarray:
    """The own columns, then for each neighbour (``_NEIGHBOUR_OFFSETS``) its copy of the
    ``_NEIGHBOUR_FEATURES`` (zeros past the page's edges), as float32."""
    n, n_own = own.shape
    neighbours = own[:, _NEIGHBOUR_COLUMNS]
    width = neighbours.shape[1]
    out = np.zeros((n, n_own + width * len(_NEIGHBOUR_OFFSETS)), dtype=np.float32)
    out[:, :n_own] = own
    for k, offset in enumerate(_NEIGHBOUR_OFFSETS.values()):
        block = out[:, n_own + k * width : n_own + (k + 1) * width]
        if offset < 0:  # row i reads row i + offset
            block[-offset:] = neighbours[: n + offset]
        else:
            block[: n - offset] = neighbours[offset:]
    return out


def _count_before(flags: np.ndarray) -> np.ndarray:
    """How many of the paragraphs before each one are flagged (itself not counted)."""
    return np.cumsum(flags) - flags


def _before_bar(texts: Sequence[str], has_bar: np.ndarray) -> list[str]:
    """Each text up to its first " | " (a heading may carry the page's name after a bar)."""
    out = list(texts)
    for i in np.flatnonzero(has_bar):
        out[i] = out[i].split(" | ", 1)[0]
    return out


def _paragraph_texts(doc: str | Sequence[Paragraph]) -> list[str]:
    if isinstance(doc, str):
        return [p.text for p in segment(doc)]
    return [p.text if isinstance(p, Paragraph) else str(p) for p in doc]


class _Page:
    """One page's paragraphs as flat arrays: its words (lower case) and names with the
    paragraph each belongs to, so per-paragraph figures are sums, not Python loops. What
    several families read (character classes, bars, code points) is computed once."""

    def __init__(self, texts: Sequence[str]):
        texts = list(texts)
        self.given = texts  # as given: a paragraph may hold newlines of its own
        self.n = n = len(texts)
        self.index = np.arange(n, dtype=np.float64)
        joined = "\n".join(texts)
        # the joined page holds n - 1 newlines unless a paragraph holds one of its own
        clean = joined.count("\n") == max(n - 1, 0)
        # a sentence end may sit before one final newline (a line read with its "\n")
        if not clean:
            tails = [t[:-1] if t.endswith("\n") else t for t in texts]
            self.ends = np.array(
                [t.rstrip(_SENT_CLOSERS)[-1:] in _SENT_END_CHARS for t in tails], dtype=np.float64
            )
            # no paragraph may hold the joining "\n"
            texts = [t.replace("\n", " ") for t in texts]
            joined = "\n".join(texts)
        self.clean = clean
        self.texts = texts
        self.joined = joined
        self.n_chars = np.fromiter(map(len, texts), np.int64, n).astype(np.float64)
        self.starts = np.concatenate([[0], np.cumsum(self.n_chars[:-1] + 1)]).astype(np.int64)
        self._folded: str | None = None
        self._cp: np.ndarray | None = None
        self._first: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._short: tuple[bytes, list[int], str, list[int]] | None = None
        self._bars: np.ndarray | None = None
        self._char_counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if clean:  # a sentence end from the last character, unless closing quotes hide it
            last = self.last_chars()
            self.ends = _among(last, _SENT_END_CODES).astype(np.float64)
            for i in np.flatnonzero(_among(last, _SENT_CLOSER_CODES)):
                self.ends[i] = texts[i].rstrip(_SENT_CLOSERS)[-1:] in _SENT_END_CHARS
        # one tokenizing pass, over the text as written: words and names both come from it
        self._tokens = list(map(_WORD.findall, texts))
        self.n_words = np.fromiter(map(len, self._tokens), np.int64, n).astype(np.float64)
        written = list(chain.from_iterable(self._tokens))
        # lower-case every word at once (no lower-case form holds a space); word lengths
        # are the gaps between the spaces of the joined words
        spaced = " ".join(written)
        words = spaced.lower().split(" ") if written else []
        self.word_para = np.repeat(np.arange(n), self.n_words.astype(np.int64))
        cp = _codepoints(spaced)
        gaps = np.flatnonzero(cp == 32)
        self.word_len = (
            np.diff(np.concatenate([[-1], gaps, [len(cp)]])).astype(np.float64) - 1
            if written
            else np.zeros(0)
        )
        self.word_ids, self.vocab_size = _factorize(words)
        # names: words that start with a letter, capitalised ones apart
        letter, upper = _letter_and_upper("".join(map(itemgetter(0), written)))
        self.n_caps = np.bincount(self.word_para[letter], minlength=n).astype(np.float64)
        self.n_upper_caps = np.bincount(self.word_para[upper], minlength=n).astype(np.float64)
        self._names = self.word_ids[upper], self.word_para[upper]

    def per_word(self, values: np.ndarray) -> np.ndarray:
        """Mean of a per-word value over each paragraph's words (0 for a paragraph without)."""
        return _ratio(np.bincount(self.word_para, weights=values, minlength=self.n), self.n_words)

    def count(self, pattern: re.Pattern) -> np.ndarray:
        """Matches of ``pattern`` (which must not match "\\n") per paragraph, in one scan."""
        where = np.fromiter((m.start() for m in pattern.finditer(self.joined)), np.int64)
        return np.bincount(np.searchsorted(self.starts, where, side="right") - 1, minlength=self.n).astype(
            np.float64
        )

    def contains(self, *needles: str) -> np.ndarray:
        """Whether each paragraph holds any of ``needles`` (lower case), ignoring case as the
        patterns do (casefold: "ſ" is "s"): a cheap test that picks the few paragraphs
        worth a regular expression."""
        if self._folded is None:  # casefold() may change lengths ("ß"), so own offsets
            self._folded = self.joined.casefold()
            lengths = np.fromiter(map(len, self._folded.split("\n")), np.int64, self.n)
            self._folded_starts = np.concatenate([[0], np.cumsum(lengths[:-1] + 1)])
        text, where = self._folded, []
        for needle in needles:
            at = text.find(needle)
            while at >= 0:
                where.append(at)
                at = text.find(needle, at + 1)
        out = np.zeros(self.n, dtype=bool)
        out[np.searchsorted(self._folded_starts, np.asarray(where, dtype=np.int64), side="right") - 1] = True
        return out

    def holds(self, needle: str) -> np.ndarray:
        """Whether each paragraph, as given, holds ``needle`` (spaces and punctuation, which
        no other character casefolds to): in the joined page when it is clean, else in
        each text, as the joined copy has spaces for the texts' own newlines."""
        if self.clean:
            return self.contains(needle)
        return np.fromiter((needle in t for t in self.given), bool, self.n)

    def bars(self) -> np.ndarray:
        """Whether each paragraph holds a " | " bar (computed once)."""
        if self._bars is None:
            self._bars = self.holds(" | ")
        return self._bars

    def matches_short(
        self, pattern: re.Pattern, short: np.ndarray, needles: Sequence[str] = ()
    ) -> np.ndarray:
        """1.0 where a paragraph marked ``short`` contains ``pattern``; with ``needles`` (lower
        case, one of which every match holds, ignoring case) only the short paragraphs
        holding a needle are searched, found by ``str.find`` over those paragraphs alone."""
        out = np.zeros(self.n)
        which = np.flatnonzero(short).tolist()
        if needles and which:
            key = np.packbits(short).tobytes()
            if self._short is None or self._short[0] != key:  # several patterns share a mask
                folded = "\n".join([self.texts[i] for i in which]).casefold()
                lengths = np.fromiter(map(len, folded.split("\n")), np.int64, len(which))
                ends = np.cumsum(lengths + 1).tolist()  # one past each "\n"
                self._short = key, which, folded, ends
            _, which, folded, ends = self._short
            if "ı" in folded or "\u0307" in folded:
                # "ı" and "İ" (casefolded to "i" + U+0307) match "i" ignoring case in a
                # pattern but hold no "i" once casefolded: search every short paragraph
                return self.matches_short(pattern, short)
            hit = set()
            for needle in needles:
                at = folded.find(needle)
                while at >= 0:
                    k = bisect_right(ends, at)
                    hit.add(k)
                    at = folded.find(needle, ends[k])  # on from the next paragraph
            which = [which[k] for k in sorted(hit)]
        for i in which:
            out[i] = pattern.search(self.texts[i]) is not None
        return out

    def codepoints(self) -> np.ndarray:
        """The joined page's code points (computed once)."""
        if self._cp is None:
            self._cp = _codepoints(self.joined)
        return self._cp

    def bullets(self) -> np.ndarray:
        """Whether each paragraph starts with a bullet character and a space (``_BULLET``),
        tested by the regular expression only where the first character is a bullet."""
        out = np.zeros(self.n, dtype=bool)
        for i in np.flatnonzero(_among(self.first_chars(), _BULLET_CODES)):
            out[i] = _BULLET.match(self.texts[i]) is not None
        return out

    def questions(self) -> np.ndarray:
        """1.0 where a paragraph, as given, ends with a question mark (closing quotes after
        it allowed), tested only where the last character may end a question."""
        out = np.zeros(self.n)
        for i in np.flatnonzero(_among(self.last_chars(), _QUESTION_CODES)):
            out[i] = self.given[i].rstrip("\"'”’").endswith("?")
        return out

    def first_chars(self) -> np.ndarray:
        """Each paragraph's first code point (0 for an empty one; computed once)."""
        if self._first is None:
            cp = self.codepoints()
            self._first = np.where(
                self.n_chars > 0, cp[np.minimum(self.starts, max(len(cp) - 1, 0))] if len(cp) else 0, 0
            )
        return self._first

    def last_chars(self) -> np.ndarray:
        """Each paragraph's last code point (0 for an empty one; computed once)."""
        if self._last is None:
            cp = self.codepoints()
            n_chars = self.n_chars.astype(np.int64)
            self._last = np.where(
                n_chars > 0, cp[np.maximum(self.starts + n_chars - 1, 0)] if len(cp) else 0, 0
            )
        return self._last

    def char_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per paragraph: digits, alphanumerics and whitespace characters (str's own tests;
        computed once)."""
        if self._char_counts is None:
            table = _char_table(self.codepoints(), _ASCII_CLASSES, _char_class)
            end = self.starts + self.n_chars.astype(np.int64)
            out = []
            for bit in (1, 2, 4):
                cum = np.concatenate([[0], np.cumsum((table & bit) > 0)])
                out.append((cum[end] - cum[self.starts]).astype(np.float64))
            self._char_counts = out[0], out[1], out[2]
        return self._char_counts

    def normalised(self) -> list[str]:
        """Each paragraph lower-cased with every run of characters other than letters and
        digits turned into one space, ends stripped: the key under which two paragraphs
        count as the same. Built from the words, split at underscores."""
        keys = "\n".join(map(" ".join, self._tokens)).lower().split("\n")
        for i, key in enumerate(keys):
            if "_" in key:
                keys[i] = " ".join(filter(None, key.replace("_", " ").split(" ")))
        return keys

    def name_sets(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Each paragraph's distinct capitalised words (lower-cased) as (row, name id) pairs."""
        ids, rows = self._names  # word ids: names share the words' vocabulary
        size = self.vocab_size
        pairs = _unique(rows * max(size, 1) + ids)
        return pairs // max(size, 1), pairs % max(size, 1), size


def _median(a: np.ndarray) -> float:
    """``np.median`` of a non-empty 1-d array (the same value), without its per-call overhead."""
    s = np.sort(a)
    return (s[(len(s) - 1) // 2] + s[len(s) // 2]) / 2


def _unique(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` (sorted distinct values) by sorting: the same array, and on the few
    thousand integers of a page about 10x faster than NumPy 2's hash-based ``np.unique``."""
    s = np.sort(a)
    return s[np.concatenate([[True], s[1:] != s[:-1]])] if len(s) else s


def _factorize(items: list[str]) -> tuple[np.ndarray, int]:
    """Integer ids for strings, numbered in order of first appearance. pandas' hash table
    does it in half the time of a dict."""
    codes, uniques = pd.factorize(np.array(items, dtype=object), sort=False)
    return codes.astype(np.int64, copy=False), len(uniques)


def _letter_and_upper(chars: str) -> tuple[np.ndarray, np.ndarray]:
    """Per character of ``chars``: is it a letter, and is it an upper-case letter ("Ⅻ" is
    upper case but no letter: not a name)."""
    bits = _char_table(_codepoints(chars), _ASCII_LETTER_BITS, _letter_bits)
    return (bits & 1) > 0, bits == 3


def _letter_bits(c: str) -> int:
    return c.isalpha() | c.isupper() << 1


def _among(cp: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Whether each code point is one of a handful of ``codes`` (np.isin costs more than the
    comparison at this size)."""
    return (cp[:, None] == codes[None, :]).any(axis=1)


def _codepoints(text: str) -> np.ndarray:
    """The code points of ``text`` (lone surrogates included) as a uint32 array."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _char_table(cp: np.ndarray, ascii_table: np.ndarray, bits_of) -> np.ndarray:
    """Per code point, the bits ``bits_of(char)`` gives it: from ``ascii_table`` for ASCII,
    and by calling ``bits_of`` once per distinct character beyond."""
    out = ascii_table[np.minimum(cp, 127)]
    wide = np.flatnonzero(cp > 127)
    if len(wide):
        uniq, inv = np.unique(cp[wide], return_inverse=True)
        out[wide] = np.array([bits_of(chr(c)) for c in uniq], dtype=out.dtype)[inv]
    return out


_ASCII_LETTER_BITS = np.array([_letter_bits(chr(c)) for c in range(128)], dtype=np.uint8)


def _char_class(c: str) -> int:
    return c.isdigit() | c.isalnum() << 1 | c.isspace() << 2


_ASCII_CLASSES = np.array([_char_class(chr(c)) for c in range(128)], dtype=np.uint8)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 0 where den is 0."""
    num = np.asarray(num, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=np.asarray(den) > 0)


class _Run(NamedTuple):
    """A contiguous run of paragraphs, from ``start`` to ``end`` (both included)."""

    start: int
    end: int

    def inside(self, idx: np.ndarray) -> np.ndarray:
        """Whether each paragraph index lies in the run."""
        return (idx >= self.start) & (idx <= self.end)

    def log_before(self, idx: np.ndarray) -> np.ndarray:
        """log1p of how many paragraphs each one lies before the run's start (0 from it on)."""
        return np.log1p(np.maximum(self.start - idx, 0))

    def log_after(self, idx: np.ndarray) -> np.ndarray:
        """log1p of how many paragraphs each one lies after the run's end (0 up to it)."""
        return np.log1p(np.maximum(idx - self.end, 0))

    def word_share(self, n_words: np.ndarray) -> float:
        """The run's share of the page's words."""
        return n_words[self.start : self.end + 1].sum() / max(n_words.sum(), 1.0)


def _densest_run(n_words: np.ndarray, prose: np.ndarray, gap_cost: float) -> _Run:
    """The contiguous run maximising prose words (capped at ``_RUN_WORD_CAP`` x the median
    prose length m, m at least ``_RUN_MIN_MEDIAN``) minus ``gap_cost`` x m per other
    paragraph and ``_RUN_PARAGRAPH_COST`` per paragraph: where the story most likely is.
    The cost scales with the page, so at ``_STRICT_GAP_COST`` a tail of teaser cards does
    not join the run. Kadane's algorithm on prefix sums: the best run ending at i starts
    after the latest minimum of the prefix sums before it (values are multiples of 1/8, so
    the sums are exact and ties resolve as the sequential scan resolves them)."""
    has_prose = (prose > 0).any()
    median = max(_RUN_MIN_MEDIAN, float(_median(n_words[prose > 0]))) if has_prose else _RUN_MIN_MEDIAN
    # capped, so one pasted-in full story cannot outweigh a run of ordinary paragraphs
    capped = np.minimum(n_words, _RUN_WORD_CAP * median)
    value = np.where(prose > 0, capped, -gap_cost * median) - _RUN_PARAGRAPH_COST
    prefix = np.concatenate([[0.0], np.cumsum(value)])
    low = np.minimum.accumulate(prefix[:-1])
    new_low = prefix[:-1] <= np.concatenate([[np.inf], low[:-1]])
    start = np.maximum.accumulate(np.where(new_low, np.arange(len(value)), 0))
    end = int(np.argmax(prefix[1:] - low))
    return _Run(int(start[end]), end)


def _blocks(prose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per paragraph: the length of its run of equal prose/non-prose status, and the run's id."""
    n = len(prose)
    change = np.flatnonzero(np.diff(prose) != 0) + 1
    bounds = np.concatenate([[0], change, [n]])
    lengths = np.diff(bounds)
    block_id = np.repeat(np.arange(len(lengths)), lengths)
    return lengths[block_id].astype(np.float64), block_id


def _title_index(n_words: np.ndarray, ends: np.ndarray, run_start: int) -> int | None:
    """The likeliest headline: the nearest line of ``_TITLE_MIN_WORDS`` to ``_TITLE_MAX_WORDS``
    words that does not end like a sentence, at most ``_TITLE_LOOKBACK`` lines back from the
    start of the main run (the start included)."""
    for i in range(run_start, max(-1, run_start - _TITLE_LOOKBACK), -1):
        if _TITLE_MIN_WORDS <= n_words[i] <= _TITLE_MAX_WORDS and not ends[i]:
            return i
    return None


class _TfIdf:
    """Row-normalised TF-IDF of one page's paragraphs, idf from the page itself, as flat
    (row, column, value) arrays sorted by row then column (the layout of a CSR matrix,
    without its per-call overhead; sums run in the same order, so results are the same)."""

    def __init__(self, word_para: np.ndarray, word_ids: np.ndarray, n: int, vocab_size: int):
        width = max(vocab_size, 1)
        self.n, self.width = n, width
        self.keys, counts = np.unique(word_para * width + word_ids, return_counts=True)
        self.rows, self.cols = self.keys // width, self.keys % width
        df = np.bincount(self.cols, minlength=width)
        idf = np.log((1 + n) / (1 + df)) + 1
        data = np.sqrt(counts * idf[self.cols])  # sqrt damps repeated words
        norms = np.sqrt(np.bincount(self.rows, weights=data * data, minlength=n))
        self.data = data * (1 / np.maximum(norms, 1e-12))[self.rows]
        self.self_dot = np.bincount(self.rows, weights=self.data * self.data, minlength=n)

    def similarity_to(self, mask: np.ndarray) -> np.ndarray:
        """Cosine similarity of each row to the sum of the rows in ``mask``, leaving a row
        in ``mask`` out of the sum it is compared with."""
        if not mask.any():
            return np.zeros(self.n)
        in_mask = mask[self.rows]
        centroid = np.bincount(self.cols[in_mask], weights=self.data[in_mask], minlength=self.width)
        dots = np.bincount(self.rows, weights=self.data * centroid[self.cols], minlength=self.n)
        # ||c - x||^2 = ||c||^2 - 2 x.c + ||x||^2 for rows inside the mask
        m = mask.astype(np.float64)
        norm2 = centroid @ centroid - m * (2 * dots - self.self_dot)
        return (dots - m * self.self_dot) / np.sqrt(np.maximum(norm2, 1e-12))

    def similarity_to_next(self) -> np.ndarray:
        """Dot product of each row with the next one (n - 1 values)."""
        if self.n < 2:
            return np.zeros(0)
        nxt = np.searchsorted(self.keys, self.keys + self.width)
        found = nxt < len(self.keys)
        found[found] = self.keys[nxt[found]] == self.keys[found] + self.width
        products = np.where(found, self.data * self.data[np.minimum(nxt, len(self.keys) - 1)], 0.0)
        return np.bincount(self.rows, weights=products, minlength=self.n)[:-1]


def _exact_duplicates(norm: Sequence[str], ids: np.ndarray) -> np.ndarray:
    """1.0 where a paragraph's key (see ``_Page.normalised``) is not empty and an earlier
    paragraph has the same key. ``ids`` numbers the keys in order of first appearance, so a
    key has been seen before exactly when its id is at most the largest id before it."""
    n = len(norm)
    seen = np.concatenate([[-1], np.maximum.accumulate(ids)[:-1]]) if n else ids
    nonempty = np.fromiter(map(bool, norm), bool, n)
    return ((ids <= seen) & nonempty).astype(np.float64)


#: A word 3-gram is matched against at most this many earlier paragraphs holding it.
_MAX_OWNERS = 8


def _contained_trigrams(
    word_ids: np.ndarray, word_para: np.ndarray, n_words: np.ndarray, vocab_size: int
) -> np.ndarray:
    """Per paragraph: the highest share of its distinct word 3-grams (a paragraph of one or
    two words is one gram) found in one earlier paragraph. Each gram is looked up in the
    first ``_MAX_OWNERS`` paragraphs holding it, so the work is linear in the words."""
    n = len(n_words)
    out = np.zeros(n)
    if not len(word_ids):
        return out
    pad = vocab_size
    offset = np.concatenate([[0], np.cumsum(n_words)[:-1]])
    pos = np.arange(len(word_ids)) - offset[word_para]
    length = n_words[word_para]
    first = (pos <= length - 3) | ((length < 3) & (pos == 0))
    following = np.concatenate([word_ids, [pad, pad]])
    second = np.where(pos + 1 < length, following[1 : len(word_ids) + 1], pad)
    third = np.where(pos + 2 < length, following[2 : len(word_ids) + 2], pad)
    base = vocab_size + 1
    if base**3 * n < 2**62:  # (gram, paragraph) fits one int64 key as it is
        gram = (word_ids[first] * base + second[first]) * base + third[first]
    else:  # number the grams first
        _, pair = np.unique(word_ids[first] * base + second[first], return_inverse=True)
        _, gram = np.unique(pair * base + third[first], return_inverse=True)
    keys = _unique(gram * n + word_para[first])  # distinct (gram, paragraph), by gram then paragraph
    gram_of, para_of = keys // n, keys % n
    n_grams = np.bincount(para_of, minlength=n)
    group_start = np.searchsorted(gram_of, gram_of)
    owners = np.minimum(np.arange(len(keys)) - group_start, _MAX_OWNERS)
    if not owners.sum():
        return out
    member = np.repeat(np.arange(len(keys)), owners)
    nth = np.arange(len(member)) - np.repeat(np.cumsum(owners) - owners, owners)
    hit_pairs, hits = np.unique(para_of[member] * n + para_of[group_start[member] + nth], return_counts=True)
    later = hit_pairs // n  # sorted, so each paragraph's pairs are one run
    runs = np.flatnonzero(np.diff(later, prepend=-1))
    best = np.zeros(n)
    best[later[runs]] = np.maximum.reduceat(hits, runs)
    return _ratio(best, n_grams)


# -- the names, read off the code ---------------------------------------------------------
def _own_feature_names() -> tuple[str, ...]:
    """The own features' names in column order: the families' keys, which are the same for
    every page (each family builds its mapping whole), read off a two-paragraph page."""
    defaults = ParagraphFeatures()
    page = _Page(["A headline", "A sentence of prose that is long enough to count."])
    families = _feature_families(page, defaults.prose_min_words, defaults.lead_size, defaults.function_words)
    names = tuple(name for family in families for name in family)
    if len(set(names)) != len(names):
        raise RuntimeError(f"two feature families return a column of the same name: {names}")
    return names


#: The own columns' names, in column order.
_OWN_FEATURES = _own_feature_names()
#: Every column's name, in column order: the own features, then each neighbour's copies.
_FEATURE_NAMES = _OWN_FEATURES + tuple(
    f"{prefix}_{name}" for prefix in _NEIGHBOUR_OFFSETS for name in _NEIGHBOUR_FEATURES
)
#: Where the neighbours' features sit among the own columns.
_NEIGHBOUR_COLUMNS = np.array([_OWN_FEATURES.index(name) for name in _NEIGHBOUR_FEATURES])
