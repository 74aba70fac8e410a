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
from collections import Counter
from typing import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

from .segment import Paragraph, segment

_WORD = re.compile(r"\w+")
_CAP = re.compile(r"\b[^\W\d_][\w'’-]*")
_SENT_END = re.compile(r"[.!?。！？…][\"'”’»)\]]*$")
_SENT_SPLIT = re.compile(r"[.!?。！？][\"'”’»)\]]*\s")
_NORM = re.compile(r"[\W_]+")
_TIME_AGO = re.compile(
    r"\b\d+\s*(?:s|sec|secs|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?|"
    r"months?|mos?|y|yrs?|years?)\s+ago\b|\b(?:yesterday|just now|today)\b", re.I)
_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b|"
    r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|"
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b\d{1,2}:\d{2}\b", re.I)
_SOURCE_DASH = re.compile(r"^[-–—]\s*\S")
_BULLET = re.compile(r"^[•·*▪►»◦‣-]\s")
_URLISH = re.compile(r"https?://|www\.|\.com\b|@\w", re.I)
#: Widget and section headings that start page furniture (several languages, lower case).
_HEADING = re.compile(
    r"^(?:related(?: articles?| stories| posts| news| content| reading)?|"
    r"you (?:may|might) also (?:like|enjoy)|more (?:from|on|stories|news|like this)\b.*|"
    r"read (?:more|next|also)|see also|also read|recommended(?: for you| stories)?|"
    r"(?:most )?(?:popular|read|viewed|shared)(?: stories| articles| now)?|trending(?: now| stories)?|"
    r"latest(?: news| stories| articles)?|top stories|comments?|\d+\s+comments?|leave a (?:comment|reply)|"
    r"share(?: this)?(?: article| story| post)?|hashtags|tags?|topics|categories|"
    r"advertisement|sponsored(?: content)?|newsletter|sign up.*|subscribe.*|follow us.*|"
    r"lire aussi|à lire aussi|weitere artikel|mehr zum thema|leer más|noticias relacionadas|"
    r"leia também|artigos relacionados|altri articoli|correlati)\s*:?$", re.I)


def _ends_sentence(t: str) -> bool:
    return bool(_SENT_END.search(t))


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

    def fit(self, X: Sequence[str | Sequence[Paragraph]], y: object = None) -> "ParagraphFeatures":
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
        """Feature matrix (n_paragraphs x n_features) for one document's paragraph texts."""
        n = len(texts)
        width = len(self.get_feature_names_out())
        if n == 0:
            return np.zeros((0, width), dtype=np.float32)
        tokens = [_WORD.findall(t.lower()) for t in texts]
        n_words = np.array([len(t) for t in tokens], dtype=np.float64)
        n_chars = np.array([len(t) for t in texts], dtype=np.float64)
        ends = np.array([_ends_sentence(t) for t in texts], dtype=np.float64)
        prose = ((n_words >= self.prose_min_words) & (ends > 0)).astype(np.float64)
        f: dict[str, np.ndarray] = {}

        # -- shape ------------------------------------------------------------------------
        f["log_words"] = np.log1p(n_words)
        f["log_chars"] = np.log1p(n_chars)
        f["mean_word_len"] = np.array([sum(map(len, t)) / len(t) if t else 0.0 for t in tokens]) / 10
        f["ends_sentence"] = ends
        f["is_prose"] = prose
        f["log_sentences"] = np.log1p([len(_SENT_SPLIT.findall(t)) + e for t, e in zip(texts, ends)])
        f["few_words"] = (n_words < 5).astype(np.float64)
        f["one_word"] = (n_words <= 1).astype(np.float64)
        caps = [len(_CAP.findall(t)) for t in texts]
        upper_initial = np.array([sum(1 for w in _CAP.findall(t) if w[0].isupper()) for t in texts], dtype=np.float64)
        f["cap_ratio"] = upper_initial / np.maximum(np.array(caps, dtype=np.float64), 1)
        f["digit_ratio"] = np.array([sum(map(str.isdigit, t)) for t in texts]) / np.maximum(n_chars, 1)
        f["punct_ratio"] = np.array([len(t) - sum(map(str.isalnum, t)) - sum(map(str.isspace, t))
                                     for t in texts]) / np.maximum(n_chars, 1)
        f["ends_colon"] = np.array([t.endswith(":") for t in texts], dtype=np.float64)
        f["has_pipe"] = np.array([(" | " in t) or (" - " in t and n_w < 15) for t, n_w in zip(texts, n_words)], dtype=np.float64)
        f["is_bullet"] = np.array([bool(_BULLET.match(t)) for t in texts], dtype=np.float64)
        f["urlish"] = np.array([bool(_URLISH.search(t)) for t in texts], dtype=np.float64)
        f["copyright"] = np.array(["©" in t or "(c)" in t.lower() for t in texts], dtype=np.float64)
        f["question"] = np.array([t.rstrip("\"'”’").endswith("?") for t in texts], dtype=np.float64)
        f["short_word_ratio"] = np.array([sum(len(w) <= 3 for w in t) / len(t) if t else 0.0 for t in tokens])
        counts = Counter(w for t in tokens for w in t)
        funcs = {w for w, _ in counts.most_common(self.function_words)}
        f["function_ratio"] = np.array([sum(w in funcs for w in t) / len(t) if t else 0.0 for t in tokens])
        # -- card and furniture patterns ---------------------------------------------------
        f["time_ago"] = np.array([bool(_TIME_AGO.search(t)) and nw <= 8 for t, nw in zip(texts, n_words)], dtype=np.float64)
        f["date_like"] = np.array([bool(_DATE.search(t)) and nw <= 12 for t, nw in zip(texts, n_words)], dtype=np.float64)
        f["source_dash"] = np.array([bool(_SOURCE_DASH.match(t)) and nw <= 6 for t, nw in zip(texts, n_words)], dtype=np.float64)
        heading = np.array([bool(_HEADING.match(t.strip(" :-–—|#*"))) for t in texts], dtype=np.float64)
        f["is_heading"] = heading
        norm = [_NORM.sub(" ", t.lower()).strip() for t in texts]
        norm_counts = Counter(norm)
        f["log_repeats"] = np.log([norm_counts[k] for k in norm])

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
        run_words = n_words[run_start:run_end + 1].sum()
        f["run_share"] = np.full(n, run_words / total_words)
        # widget headings and short furniture after the run
        seen_heading = np.cumsum(heading) - heading > 0
        f["heading_before"] = seen_heading.astype(np.float64)
        last_heading = np.full(n, -1.0)
        lh = -1
        for i in range(n):
            last_heading[i] = lh
            if heading[i]:
                lh = i
        f["since_heading"] = np.where(last_heading >= 0, np.log1p(idx - last_heading), 0.0)
        nonprose_after = np.cumsum((1 - prose) * (idx > run_end))
        f["furniture_after_run"] = np.log1p(nonprose_after) * (idx > run_end)
        f["time_ago_before"] = (np.cumsum(f["time_ago"]) - f["time_ago"] > 0).astype(np.float64)
        # blocks of consecutive non-prose lines: menus, widget headings and cards come in
        # blocks; a story's subheadings come alone. Structural, so no word list is needed.
        block_len, block_id = _blocks(prose)
        f["block_len"] = np.log1p(block_len)
        big_block = (block_len >= 3) & (prose == 0)
        big_ids = np.unique(block_id[big_block])
        # block_id never decreases, so each block's first paragraph is one binary search away
        starts = np.searchsorted(block_id, big_ids).astype(np.int64)
        after_starts = np.searchsorted(np.sort(starts[starts > run_end]), idx, side="right") if len(starts) else np.zeros(n)
        f["big_blocks_after_run"] = np.log1p(after_starts) * (idx > run_end)
        before_starts = (len(starts[starts < run_start]) - np.searchsorted(np.sort(starts[starts < run_start]), idx, side="right")) if len(starts) else np.zeros(n)
        f["big_blocks_before_run"] = np.log1p(np.maximum(before_starts, 0)) * (idx < run_start)
        prev_prose = np.maximum.accumulate(np.where(prose > 0, idx, -1))
        f["since_prose"] = np.log1p(np.where(prev_prose >= 0, idx - prev_prose, idx + 1))
        next_prose = np.minimum.accumulate(np.where(prose > 0, idx, n)[::-1])[::-1]
        f["until_prose"] = np.log1p(next_prose - idx)
        run_median = np.median(n_words[run_start:run_end + 1])
        f["words_vs_run"] = np.log1p(n_words) - np.log1p(run_median)
        # a looser run, where a non-prose line costs a quarter as much: it bridges the
        # subheadings, lists and captions inside long bodies that split the strict run
        loose_prose = np.maximum(prose, (n_words >= 15).astype(np.float64))
        loose_start, loose_end = _densest_run(n_words, loose_prose, gap_cost=0.25)
        f["in_loose_run"] = ((idx >= loose_start) & (idx <= loose_end)).astype(np.float64)
        f["before_loose_run"] = np.log1p(np.maximum(loose_start - idx, 0))
        f["after_loose_run"] = np.log1p(np.maximum(idx - loose_end, 0))
        f["loose_run_share"] = np.full(n, n_words[loose_start:loose_end + 1].sum() / total_words)
        f["nonprose_in_loose_run"] = f["in_loose_run"] * (1 - prose)

        # -- topic: TF-IDF on the document itself -----------------------------------------
        X, binary = _tfidf(tokens)
        lead = np.zeros(n, dtype=bool)
        lead[run_start:min(run_start + self.lead_size, run_end + 1)] = True
        title_idx = _title_index(texts, n_words, ends, run_start)
        f["sim_lead"] = _sim_to(X, lead, exclude_self=True)
        f["sim_run"] = _sim_to(X, inside, exclude_self=True)
        title_mask = np.zeros(n, dtype=bool)
        if title_idx is not None:
            title_mask[title_idx] = True
        f["sim_title"] = _sim_to(X, title_mask, exclude_self=True)
        f["is_title_candidate"] = title_mask.astype(np.float64)
        f["sim_first"] = _sim_to(X, idx == 0, exclude_self=True)
        adj = np.asarray(X[:-1].multiply(X[1:]).sum(axis=1)).ravel() if n > 1 else np.zeros(0)
        f["sim_prev"] = np.concatenate([[0.0], adj])
        f["sim_next"] = np.concatenate([adj, [0.0]])
        f["sim_run_minus_rest"] = f["sim_run"] - _sim_to(X, ~inside, exclude_self=True)
        # overlap of names / numbers / rare words with the lead and title
        anchor_tokens = set()
        for i in np.flatnonzero(lead | title_mask):
            anchor_tokens.update(tokens[i])
        cap_sets = [{w.lower() for w in _CAP.findall(t) if w[0].isupper()} for t in texts]
        anchor_caps = set().union(*(cap_sets[i] for i in np.flatnonzero(lead | title_mask))) if (lead | title_mask).any() else set()
        df = np.asarray(binary.sum(axis=0)).ravel()
        f["cap_overlap_lead"] = np.array([len(c & anchor_caps) / len(c) if c else 0.0 for c in cap_sets])
        f["word_overlap_lead"] = np.array([sum(w in anchor_tokens for w in set(t)) / len(set(t)) if t else 0.0 for t in tokens])
        vocab_index = _vocab_index(tokens)
        rare = [{w for w in set(t) if df[vocab_index[w]] <= 2} for t in tokens]
        run_vocab = set()
        for i in np.flatnonzero(inside):
            run_vocab.update(tokens[i])
        f["rare_overlap_run"] = np.array([
            len({w for w in r if w in run_vocab and not inside[i] or df[vocab_index[w]] == 2 and inside[i]}) / len(r) if r else 0.0
            for i, r in enumerate(rare)])

        # -- duplication --------------------------------------------------------------------
        exact, contain = _duplication(norm, tokens)
        f["dup_exact"] = exact
        f["dup_contain"] = contain
        f["dup_long"] = exact * (n_words >= 5)
        f["dup_contain_long"] = contain * (n_words >= 5)

        own = np.column_stack([f[name] for name in _OWN])
        neigh = np.column_stack([f[name] for name in _NEIGHBOUR])
        pad = np.zeros((2, neigh.shape[1]))
        padded = np.vstack([pad, neigh, pad])
        out = np.hstack([own, padded[1:n + 1], padded[3:n + 3], padded[0:n], padded[4:n + 4]])
        return out.astype(np.float32)


_OWN = (
    "log_words", "log_chars", "mean_word_len", "ends_sentence", "is_prose", "log_sentences",
    "few_words", "one_word", "cap_ratio", "digit_ratio", "punct_ratio", "ends_colon", "has_pipe",
    "is_bullet", "urlish", "copyright", "question", "short_word_ratio", "function_ratio",
    "time_ago", "date_like", "source_dash", "is_heading", "log_repeats",
    "rel_index", "log_index", "log_from_end", "in_run", "before_run", "after_run",
    "words_before_frac", "prose_after_frac", "run_share", "heading_before", "since_heading",
    "furniture_after_run", "time_ago_before", "block_len", "big_blocks_after_run",
    "big_blocks_before_run", "since_prose", "until_prose", "words_vs_run",
    "in_loose_run", "before_loose_run", "after_loose_run", "loose_run_share", "nonprose_in_loose_run",
    "sim_lead", "sim_run", "sim_title", "is_title_candidate", "sim_first", "sim_prev", "sim_next",
    "sim_run_minus_rest", "cap_overlap_lead", "word_overlap_lead", "rare_overlap_run",
    "dup_exact", "dup_contain", "dup_long", "dup_contain_long",
)
_NEIGHBOUR = (
    "log_words", "ends_sentence", "is_prose", "few_words", "time_ago", "source_dash",
    "is_heading", "in_run", "sim_run", "dup_long", "block_len", "in_loose_run",
)


def _paragraph_texts(doc: str | Sequence[Paragraph]) -> list[str]:
    if isinstance(doc, str):
        return [p.text for p in segment(doc)]
    return [p.text if isinstance(p, Paragraph) else str(p) for p in doc]


def _densest_run(n_words: np.ndarray, prose: np.ndarray, gap_cost: float = 1.0) -> tuple[int, int]:
    """The contiguous run maximising prose words (capped at 1.5x the median prose length m,
    m at least 10) minus ``gap_cost`` x m per other paragraph: where the story most likely
    is (Kadane's algorithm). The cost scales with the page, so at the default a tail of
    teaser cards does not join the run."""
    median = max(10.0, float(np.median(n_words[prose > 0]))) if (prose > 0).any() else 10.0
    # capped, so one pasted-in full story cannot outweigh a run of ordinary paragraphs
    value = np.where(prose > 0, np.minimum(n_words, 1.5 * median), -gap_cost * median) - 2.0
    best, best_span = -np.inf, (0, 0)
    cur, start = 0.0, 0
    for i, v in enumerate(value):
        if cur <= 0:
            cur, start = v, i
        else:
            cur += v
        if cur > best:
            best, best_span = cur, (start, i)
    return best_span


def _blocks(prose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per paragraph: the length of its run of equal prose/non-prose status, and the run's id."""
    n = len(prose)
    change = np.flatnonzero(np.diff(prose) != 0) + 1
    bounds = np.concatenate([[0], change, [n]])
    lengths = np.diff(bounds)
    block_id = np.repeat(np.arange(len(lengths)), lengths)
    return lengths[block_id].astype(np.float64), block_id


def _title_index(texts: Sequence[str], n_words: np.ndarray, ends: np.ndarray, run_start: int) -> int | None:
    """The likeliest headline: the nearest short, non-sentence line of 3-30 words at or just
    before the start of the main run."""
    for i in range(run_start, max(-1, run_start - 8), -1):
        if 3 <= n_words[i] <= 30 and not ends[i]:
            return i
    return None


def _vocab_index(tokens: Sequence[Sequence[str]]) -> dict[str, int]:
    vocab: dict[str, int] = {}
    for t in tokens:
        for w in t:
            vocab.setdefault(w, len(vocab))
    return vocab


def _tfidf(tokens: Sequence[Sequence[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Row-normalised TF-IDF (idf from this document's paragraphs) and the binary matrix."""
    vocab = _vocab_index(tokens)
    indptr = np.zeros(len(tokens) + 1, dtype=np.int64)
    indices = np.fromiter((vocab[w] for t in tokens for w in t), dtype=np.int64,
                          count=sum(len(t) for t in tokens))
    indptr[1:] = np.cumsum([len(t) for t in tokens])
    counts = sp.csr_matrix((np.ones(len(indices)), indices, indptr),
                           shape=(len(tokens), max(len(vocab), 1)))
    counts.sum_duplicates()
    binary = counts.copy()
    binary.data[:] = 1.0
    df = np.asarray(binary.sum(axis=0)).ravel()
    idf = np.log((1 + len(tokens)) / (1 + df)) + 1
    tfidf = counts.multiply(idf).tocsr()
    tfidf.data = np.sqrt(tfidf.data)  # damp repeated words
    norms = np.sqrt(np.asarray(tfidf.multiply(tfidf).sum(axis=1)).ravel())
    tfidf = sp.diags(1 / np.maximum(norms, 1e-12)) @ tfidf
    return tfidf.tocsr(), binary.tocsr()


def _sim_to(X: sp.csr_matrix, mask: np.ndarray, exclude_self: bool) -> np.ndarray:
    """Cosine similarity of each row to the sum of the rows in ``mask`` (minus itself)."""
    if not mask.any():
        return np.zeros(X.shape[0])
    centroid = np.asarray(X[np.flatnonzero(mask)].sum(axis=0)).ravel()
    dots = X @ centroid
    self_dot = np.asarray(X.multiply(X).sum(axis=1)).ravel()
    c_norm2 = centroid @ centroid
    if exclude_self:
        # ||c - x||^2 = ||c||^2 - 2 x.c + ||x||^2 for rows inside the mask
        m = mask.astype(np.float64)
        dots = dots - m * self_dot
        norm2 = c_norm2 - m * (2 * (X @ centroid) - self_dot)
    else:
        norm2 = np.full(X.shape[0], c_norm2)
    return dots / np.sqrt(np.maximum(norm2, 1e-12))


def _duplication(norm: Sequence[str], tokens: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Per paragraph: equals an earlier one once case/punctuation are ignored (0/1), and the
    highest share of its word 3-grams found in one earlier paragraph. Hash lookups only, so
    linear in the number of paragraphs."""
    n = len(norm)
    exact = np.zeros(n)
    contain = np.zeros(n)
    seen: set[str] = set()
    owners: dict[tuple[str, ...], list[int]] = {}
    for i, (key, toks) in enumerate(zip(norm, tokens)):
        if key and key in seen:
            exact[i] = 1.0
        seen.add(key)
        grams = {tuple(toks[k:k + 3]) for k in range(max(len(toks) - 2, 1))} if toks else set()
        hits: Counter[int] = Counter()
        for g in grams:
            for j in owners.get(g, ()):
                hits[j] += 1
        if hits and grams:
            contain[i] = max(hits.values()) / len(grams)
        for g in grams:
            lst = owners.setdefault(g, [])
            if len(lst) < 8:
                lst.append(i)
    return exact, contain
