"""Document-relative paragraph features: a stateless scikit-learn transformer.

Input: a sequence of documents, each a ``str`` or a list of :class:`Paragraph`.
Output: a list with one float32 matrix per document, one row per paragraph.

Every feature describes a paragraph *relative to its own document*: its shape, where it
sits against the document's densest run of prose, what its neighbours look like, whether a
widget heading ("Related Articles", "Comments") came before it, how close its words are to
the headline, the lead and the main run (TF-IDF fitted on the document itself), and whether
it repeats an earlier paragraph. Topic decides core vs related, and no list of words that
happen to mean "Telegram" can carry over to other sites; these relations can.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from itertools import chain, repeat
from operator import itemgetter

import numpy as np
import pandas as pd  # already loaded by scikit-learn's import just below: no start-up cost
from sklearn.base import BaseEstimator, TransformerMixin

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


class ParagraphFeatures(TransformerMixin, BaseEstimator):
    """Turn documents into per-paragraph feature matrices (see the module docstring).

    Parameters
    ----------
    prose_min_words : a paragraph of at least this many words counts as prose when it also
        ends like a sentence; the densest run of prose anchors position and topic features.
    lead_size : how many paragraphs from the start of the densest run form the "lead".
    function_words : how many of a document's most frequent words count as its function
        words (a language-neutral stand-in for a stopword list).
    """

    def __init__(self, prose_min_words: int = 8, lead_size: int = 3, function_words: int = 40):
        self.prose_min_words = prose_min_words
        self.lead_size = lead_size
        self.function_words = function_words

    def fit(self, X: Sequence[str | Sequence[Paragraph]], y: object = None) -> ParagraphFeatures:
        self.n_features_out_ = len(self.get_feature_names_out())
        return self

    def transform(self, X: Sequence[str | Sequence[Paragraph]]) -> list[np.ndarray]:
        return [self.document_features(_paragraph_texts(doc)) for doc in X]

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = list(_OWN)
        names += [f"prev_{n}" for n in _NEIGHBOUR] + [f"next_{n}" for n in _NEIGHBOUR]
        names += [f"prev2_{n}" for n in _NEIGHBOUR] + [f"next2_{n}" for n in _NEIGHBOUR]
        return np.asarray(names, dtype=object)

    # ------------------------------------------------------------------------------------
    def document_features(self, texts: Sequence[str]) -> np.ndarray:
        """Feature matrix (n_paragraphs x n_features) for one document's paragraph texts.

        Vectorised: the paragraphs are joined by newlines (no paragraph holds one) and each
        regular expression runs once over the page; per-paragraph figures are sums over
        flat token and character arrays, so the Python work per paragraph is a few calls."""
        n = len(texts)
        width = len(self.get_feature_names_out())
        if n == 0:
            return np.zeros((0, width), dtype=np.float32)
        page = _Page(texts)
        n_words = page.n_words
        n_chars = page.n_chars
        ends = page.ends
        prose = ((n_words >= self.prose_min_words) & (ends > 0)).astype(np.float64)
        f: dict[str, np.ndarray] = {}

        # -- shape ------------------------------------------------------------------------
        f["log_words"] = np.log1p(n_words)
        f["log_chars"] = np.log1p(n_chars)
        f["mean_word_len"] = page.per_word(page.word_len) / 10
        f["ends_sentence"] = ends
        f["is_prose"] = prose
        f["log_sentences"] = np.log1p(page.count(_SENT_SPLIT) + ends)
        f["few_words"] = (n_words < 5).astype(np.float64)
        f["one_word"] = (n_words <= 1).astype(np.float64)
        f["cap_ratio"] = page.n_upper_caps / np.maximum(page.n_caps, 1)
        digits, alnum, space = page.char_counts()
        f["digit_ratio"] = digits / np.maximum(n_chars, 1)
        f["punct_ratio"] = (n_chars - alnum - space) / np.maximum(n_chars, 1)
        f["ends_colon"] = (page.last_chars() == ord(":")).astype(np.float64)
        if page.clean:
            has_bar = page.contains(" | ")
            f["has_pipe"] = (has_bar | (page.contains(" - ") & (n_words < 15))).astype(np.float64)
        else:  # the page's copy has spaces for the paragraphs' own newlines: test the texts
            has_bar = np.array([" | " in t for t in texts])
            f["has_pipe"] = np.array(
                [(" | " in t) or (" - " in t and n_w < 15) for t, n_w in zip(texts, n_words)],
                dtype=np.float64,
            )
        f["is_bullet"] = page.bullets()
        f["urlish"] = page.matches_short(_URLISH, page.contains("http", "www.", ".com", "@"))
        f["copyright"] = page.contains("©", "(c)").astype(np.float64)
        f["social"] = page.matches_short(_SOCIAL, n_words <= 12, _SOCIAL_NEEDLES)
        # boilerpipe's terminating blocks: after a copyright line comes the footer
        f["copyright_before"] = (_count_before(f["copyright"]) > 0).astype(np.float64)
        f["question"] = np.zeros(n)
        for i in np.flatnonzero(_among(page.last_chars(), _QUESTION_CODES)):
            f["question"][i] = texts[i].rstrip("\"'”’").endswith("?")
        f["short_word_ratio"] = page.per_word(page.word_len <= 3)
        word_counts = np.bincount(page.word_ids, minlength=page.vocab_size)
        # the most frequent words, ties broken by first appearance
        funcs = np.zeros(page.vocab_size, dtype=bool)
        funcs[np.argsort(-word_counts, kind="stable")[: self.function_words]] = True
        f["function_ratio"] = page.per_word(funcs[page.word_ids])
        # -- card and furniture patterns (short lines only: the patterns mean nothing in prose)
        has_digit = digits > 0  # every date and "N hours ago" holds one; only "today" and kin do not
        f["time_ago"] = page.matches_short(
            _TIME_AGO, (n_words <= 8) & (has_digit | page.contains("yesterday", "just now", "today"))
        )
        f["date_like"] = page.matches_short(_DATE, (n_words <= 12) & has_digit)
        f["source_dash"] = page.matches_short(
            _SOURCE_DASH, (n_words <= 6) & _among(page.first_chars(), _DASHES)
        )
        # a heading may carry the page's name after a bar ("109 Comments | Garden Blog")
        heads = _before_bar(texts, has_bar)
        heading = np.fromiter(
            map(bool, map(_HEADING.match, map(str.strip, heads, repeat(_HEADING_TRIM)))), bool, n
        ).astype(np.float64)
        f["is_heading"] = heading
        norm = page.normalised()
        norm_ids, _ = _factorize(norm)  # numbered in order of first appearance
        f["log_repeats"] = np.log(np.bincount(norm_ids)[norm_ids])

        # -- position against the densest run of prose -------------------------------------
        idx = np.arange(n, dtype=np.float64)
        f["rel_index"] = idx / max(n - 1, 1)
        f["log_index"] = np.log1p(idx)
        f["log_from_end"] = np.log1p(n - 1 - idx)
        run_start, run_end = _densest_run(n_words, prose)
        inside = (idx >= run_start) & (idx <= run_end)
        f["in_run"] = inside.astype(np.float64)
        f["before_run"] = np.log1p(np.maximum(run_start - idx, 0))
        f["after_run"] = np.log1p(np.maximum(idx - run_end, 0))
        total_words = max(n_words.sum(), 1.0)
        cum = np.cumsum(n_words)
        f["words_before_frac"] = (cum - n_words) / total_words
        prose_words = n_words * prose
        cum_prose = np.cumsum(prose_words)
        f["prose_after_frac"] = (prose_words.sum() - cum_prose) / max(prose_words.sum(), 1.0)
        run_words = n_words[run_start : run_end + 1].sum()
        f["run_share"] = np.full(n, run_words / total_words)
        # widget headings and short furniture after the run
        seen_heading = _count_before(heading) > 0
        f["heading_before"] = seen_heading.astype(np.float64)
        last_heading = np.concatenate([[-1.0], np.maximum.accumulate(np.where(heading > 0, idx, -1.0))[:-1]])
        f["since_heading"] = np.where(last_heading >= 0, np.log1p(idx - last_heading), 0.0)
        nonprose_after = np.cumsum((1 - prose) * (idx > run_end))
        f["furniture_after_run"] = np.log1p(nonprose_after) * (idx > run_end)
        f["time_ago_before"] = (_count_before(f["time_ago"]) > 0).astype(np.float64)
        # comment threads: a byline, a date and a reply link for every comment, so their
        # marks keep recurring; a story has one byline and one date at most
        f["comment_mark"] = page.matches_short(_COMMENT_MARK, n_words <= 12, _COMMENT_NEEDLES)
        stamps = np.maximum(f["date_like"], f["time_ago"])
        f["log_stamps_before"] = np.log1p(_count_before(stamps))
        f["log_marks_before"] = np.log1p(_count_before(f["comment_mark"]))
        # stamps and marks within six paragraphs either side: one every few lines in a thread
        marks = np.concatenate([[0.0], np.cumsum(stamps + f["comment_mark"])])
        lo, hi = np.maximum(idx - 6, 0).astype(np.int64), np.minimum(idx + 7, n).astype(np.int64)
        f["mark_density"] = (marks[hi] - marks[lo]) / (hi - lo)
        thread = np.zeros(n)
        for i in np.flatnonzero(heading):
            thread[i] = _COMMENTS_HEADING.match(heads[i].strip(_HEADING_TRIM)) is not None
        f["comments_heading_before"] = (_count_before(thread) > 0).astype(np.float64)
        # blocks of consecutive non-prose lines: menus, widget headings and cards come in
        # blocks; a story's subheadings come alone. Structural, so no word list is needed.
        block_len, block_id = _blocks(prose)
        f["block_len"] = np.log1p(block_len)
        big_block = (block_len >= 3) & (prose == 0)
        big_ids = _unique(block_id[big_block])
        # block_id never decreases, so each block's first paragraph is one binary search away
        starts = np.searchsorted(block_id, big_ids).astype(np.int64)
        after_starts = (
            np.searchsorted(np.sort(starts[starts > run_end]), idx, side="right")
            if len(starts)
            else np.zeros(n)
        )
        f["big_blocks_after_run"] = np.log1p(after_starts) * (idx > run_end)
        before_starts = (
            (
                len(starts[starts < run_start])
                - np.searchsorted(np.sort(starts[starts < run_start]), idx, side="right")
            )
            if len(starts)
            else np.zeros(n)
        )
        f["big_blocks_before_run"] = np.log1p(np.maximum(before_starts, 0)) * (idx < run_start)
        prev_prose = np.maximum.accumulate(np.where(prose > 0, idx, -1))
        f["since_prose"] = np.log1p(np.where(prev_prose >= 0, idx - prev_prose, idx + 1))
        next_prose = np.minimum.accumulate(np.where(prose > 0, idx, n)[::-1])[::-1]
        f["until_prose"] = np.log1p(next_prose - idx)
        run_median = _median(n_words[run_start : run_end + 1])
        f["words_vs_run"] = np.log1p(n_words) - np.log1p(run_median)
        # a looser run, where a non-prose line costs a quarter as much: it bridges the
        # subheadings, lists and captions inside long bodies that split the strict run
        loose_prose = np.maximum(prose, (n_words >= 15).astype(np.float64))
        loose_start, loose_end = _densest_run(n_words, loose_prose, gap_cost=0.25)
        f["in_loose_run"] = ((idx >= loose_start) & (idx <= loose_end)).astype(np.float64)
        f["before_loose_run"] = np.log1p(np.maximum(loose_start - idx, 0))
        f["after_loose_run"] = np.log1p(np.maximum(idx - loose_end, 0))
        f["loose_run_share"] = np.full(n, n_words[loose_start : loose_end + 1].sum() / total_words)
        f["nonprose_in_loose_run"] = f["in_loose_run"] * (1 - prose)

        # -- topic: TF-IDF on the document itself -----------------------------------------
        X = _TfIdf(page.word_para, page.word_ids, n, page.vocab_size)
        lead = np.zeros(n, dtype=bool)
        lead[run_start : min(run_start + self.lead_size, run_end + 1)] = True
        title_idx = _title_index(n_words, ends, run_start)
        f["sim_lead"] = X.similarity_to(lead)
        f["sim_run"] = X.similarity_to(inside)
        title_mask = np.zeros(n, dtype=bool)
        if title_idx is not None:
            title_mask[title_idx] = True
        f["sim_title"] = X.similarity_to(title_mask)
        f["is_title_candidate"] = title_mask.astype(np.float64)
        f["sim_first"] = X.similarity_to(idx == 0)
        adj = X.similarity_to_next()
        f["sim_prev"] = np.concatenate([[0.0], adj])
        f["sim_next"] = np.concatenate([adj, [0.0]])
        f["sim_run_minus_rest"] = f["sim_run"] - X.similarity_to(~inside)
        # overlap of names / numbers / rare words with the lead and title, over each
        # paragraph's distinct words
        anchor = lead | title_mask
        rows, cols = X.rows, X.cols
        n_distinct = np.bincount(rows, minlength=n).astype(np.float64)
        anchor_words = np.zeros(page.vocab_size, dtype=bool)
        anchor_words[cols[anchor[rows]]] = True
        cap_rows, cap_cols, cap_vocab = page.name_sets()
        anchor_caps = np.zeros(cap_vocab, dtype=bool)
        anchor_caps[cap_cols[anchor[cap_rows]]] = True
        n_names = np.bincount(cap_rows, minlength=n)
        f["cap_overlap_lead"] = _ratio(
            np.bincount(cap_rows, weights=anchor_caps[cap_cols], minlength=n), n_names
        )
        f["word_overlap_lead"] = _ratio(
            np.bincount(rows, weights=anchor_words[cols], minlength=n), n_distinct
        )
        df = np.bincount(cols, minlength=page.vocab_size)
        run_vocab = np.zeros(page.vocab_size, dtype=bool)
        run_vocab[cols[inside[rows]]] = True
        rare = df[cols] <= 2
        # a rare word outside the run that the run also uses, or a word of the run that
        # occurs in exactly one other paragraph
        shared = np.where(inside[rows], df[cols] == 2, run_vocab[cols]) & rare
        f["rare_overlap_run"] = _ratio(
            np.bincount(rows, weights=shared, minlength=n), np.bincount(rows, weights=rare, minlength=n)
        )

        # -- duplication --------------------------------------------------------------------
        exact = _exact_duplicates(norm, norm_ids)
        contain = _contained_trigrams(
            page.word_ids, page.word_para, n_words.astype(np.int64), page.vocab_size
        )
        f["dup_exact"] = exact
        f["dup_contain"] = contain
        f["dup_long"] = exact * (n_words >= 5)
        f["dup_contain_long"] = contain * (n_words >= 5)

        own = np.column_stack([f[name] for name in _OWN])
        neigh = np.column_stack([f[name] for name in _NEIGHBOUR])
        pad = np.zeros((2, neigh.shape[1]))
        padded = np.vstack([pad, neigh, pad])
        out = np.hstack([own, padded[1 : n + 1], padded[3 : n + 3], padded[0:n], padded[4 : n + 4]])
        return out.astype(np.float32)


_OWN = (
    "log_words",
    "log_chars",
    "mean_word_len",
    "ends_sentence",
    "is_prose",
    "log_sentences",
    "few_words",
    "one_word",
    "cap_ratio",
    "digit_ratio",
    "punct_ratio",
    "ends_colon",
    "has_pipe",
    "is_bullet",
    "urlish",
    "copyright",
    "social",
    "copyright_before",
    "question",
    "short_word_ratio",
    "function_ratio",
    "time_ago",
    "date_like",
    "source_dash",
    "is_heading",
    "log_repeats",
    "rel_index",
    "log_index",
    "log_from_end",
    "in_run",
    "before_run",
    "after_run",
    "words_before_frac",
    "prose_after_frac",
    "run_share",
    "heading_before",
    "since_heading",
    "furniture_after_run",
    "time_ago_before",
    "comment_mark",
    "log_stamps_before",
    "log_marks_before",
    "mark_density",
    "comments_heading_before",
    "block_len",
    "big_blocks_after_run",
    "big_blocks_before_run",
    "since_prose",
    "until_prose",
    "words_vs_run",
    "in_loose_run",
    "before_loose_run",
    "after_loose_run",
    "loose_run_share",
    "nonprose_in_loose_run",
    "sim_lead",
    "sim_run",
    "sim_title",
    "is_title_candidate",
    "sim_first",
    "sim_prev",
    "sim_next",
    "sim_run_minus_rest",
    "cap_overlap_lead",
    "word_overlap_lead",
    "rare_overlap_run",
    "dup_exact",
    "dup_contain",
    "dup_long",
    "dup_contain_long",
)
_NEIGHBOUR = (
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
    paragraph each belongs to, so per-paragraph figures are sums, not Python loops."""

    def __init__(self, texts: Sequence[str]):
        texts = list(texts)
        self.n = n = len(texts)
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
        """Per paragraph: digits, alphanumerics and whitespace characters (str's own tests)."""
        table = _char_table(self.codepoints(), _ASCII_CLASSES, _char_class)
        end = self.starts + self.n_chars.astype(np.int64)
        out = []
        for bit in (1, 2, 4):
            cum = np.concatenate([[0], np.cumsum((table & bit) > 0)])
            out.append((cum[end] - cum[self.starts]).astype(np.float64))
        return out[0], out[1], out[2]

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


def _densest_run(n_words: np.ndarray, prose: np.ndarray, gap_cost: float = 1.0) -> tuple[int, int]:
    """The contiguous run maximising prose words (capped at 1.5x the median prose length m,
    m at least 10) minus ``gap_cost`` x m per other paragraph: where the story most likely
    is. The cost scales with the page, so at the default a tail of teaser cards does not
    join the run. Kadane's algorithm on prefix sums: the best run ending at i starts after
    the latest minimum of the prefix sums before it (values are multiples of 1/8, so the
    sums are exact and ties resolve as the sequential scan resolves them)."""
    median = max(10.0, float(_median(n_words[prose > 0]))) if (prose > 0).any() else 10.0
    # capped, so one pasted-in full story cannot outweigh a run of ordinary paragraphs
    value = np.where(prose > 0, np.minimum(n_words, 1.5 * median), -gap_cost * median) - 2.0
    prefix = np.concatenate([[0.0], np.cumsum(value)])
    low = np.minimum.accumulate(prefix[:-1])
    new_low = prefix[:-1] <= np.concatenate([[np.inf], low[:-1]])
    start = np.maximum.accumulate(np.where(new_low, np.arange(len(value)), 0))
    end = int(np.argmax(prefix[1:] - low))
    return int(start[end]), end


def _blocks(prose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per paragraph: the length of its run of equal prose/non-prose status, and the run's id."""
    n = len(prose)
    change = np.flatnonzero(np.diff(prose) != 0) + 1
    bounds = np.concatenate([[0], change, [n]])
    lengths = np.diff(bounds)
    block_id = np.repeat(np.arange(len(lengths)), lengths)
    return lengths[block_id].astype(np.float64), block_id


def _title_index(n_words: np.ndarray, ends: np.ndarray, run_start: int) -> int | None:
    """The likeliest headline: the nearest short, non-sentence line of 3-30 words at or just
    before the start of the main run."""
    for i in range(run_start, max(-1, run_start - 8), -1):
        if 3 <= n_words[i] <= 30 and not ends[i]:
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
