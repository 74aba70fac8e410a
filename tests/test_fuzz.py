"""Whatever a scraper hands over as str, clean/classify/segment return an answer: no exception,
the kept paragraphs are the input's own paragraphs (a subsequence, each unchanged), offsets
slice the input, time grows linearly with the input, and a non-str is a TypeError that says
what to pass."""

import gc
import statistics
import time

import pytest
from conftest import SEEDS, read_seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmenter
from segmenter.augment import perturb_paragraph

SEED_PARAGRAPHS = [p.text for s in SEEDS for p in segmenter.segment(read_seed(s))]
SEED_WORDS = sorted({w for t in SEED_PARAGRAPHS for w in t.split()})

# NUL, lone surrogates, bidi controls, RTL letters, combining marks, emoji (with ZWJ), BOM,
# the replacement character, and every line break and blank str.splitlines / str.strip know
_SPECIAL = [
    "\x00",
    "\ud800",
    "\udfff",
    "\udc80",
    "\u202e",
    "\u202d",
    "\u200f",
    "\u200e",
    "\u2067",
    "\u05e9\u05dc\u05d5\u05dd",
    "\u0627\u0644\u062e\u0628\u0631",
    "e\u0301",
    "\u0308",
    "\u20dd",
    "\U0001f600",
    "\U0001f469\u200d\U0001f4bb",
    "\U0001f1fa\U0001f1f8",
    "\ufeff",
    "\ufffd",
    "\r\n",
    "\r",
    "\n",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x85",
    "\u2028",
    "\u2029",
    "\t",
    " ",
    "\xa0",
    "\u3000",
    "\u200b",
    "5 hours ago",
    "Related Articles",
    ".",
    "?",
]
_PIECES = st.sampled_from(_SPECIAL) | st.characters() | st.characters(categories=["Cs"])


def junk(max_pieces: int):
    """Text made of arbitrary characters and the special pieces above."""
    return st.lists(_PIECES, max_size=max_pieces).map("".join)


_BREAKS = st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\n\n", " \n\t", "\x0c"])
_WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"


# pages that look like scraped news (seed paragraphs, some with junk spliced in, some junk
# alone), joined by any line break: the model sees realistic context, the junk reaches it
_LINES = st.one_of(
    st.sampled_from(SEED_PARAGRAPHS),
    st.builds(str.__add__, st.sampled_from(SEED_PARAGRAPHS), junk(8)),
    junk(30),
)
PAGES = st.builds(lambda lines, sep: sep.join(lines), st.lists(_LINES, max_size=40), _BREAKS)
ANY_TEXT = junk(150)

FUZZ = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def is_subsequence(kept: list[str], paragraphs: list[str]) -> bool:
    it = iter(paragraphs)
    return all(any(k == p for p in it) for k in kept)


def check_promises(text: str, model) -> None:
    """Every promise about one input: offsets slice it, classify has one row per paragraph,
    clean keeps a subsequence of the paragraphs, unchanged, exactly the core-story rows."""
    paras = segmenter.segment(text)
    texts = [p.text for p in paras]
    for p in paras:
        assert text[p.start : p.end] == p.text
    out = segmenter.clean(text, model=model)
    assert isinstance(out, str)
    kept = out.split("\n") if out else []
    assert is_subsequence(kept, texts), "clean() returned text that is not the input's paragraphs in order"
    df = segmenter.classify(text, model=model)
    assert df["text"].tolist() == texts
    assert all(text[s:e] == t for s, e, t in zip(df["start"], df["end"], df["text"]))
    assert out == "\n".join(t for t, lab in zip(df["text"], df["label"]) if lab == "core-story")


@FUZZ
@given(ANY_TEXT)
def test_any_unicode_text_never_raises_and_keeps_a_subsequence_of_its_paragraphs(shipped_model, text):
    check_promises(text, shipped_model)


@FUZZ
@given(PAGES)
def test_news_like_pages_with_junk_and_any_line_breaks(shipped_model, text):
    check_promises(text, shipped_model)


@FUZZ
@given(st.text(st.sampled_from(list(_WHITESPACE)), max_size=50))
def test_whitespace_only_text_has_no_paragraphs_and_an_empty_story(shipped_model, text):
    assert segmenter.segment(text) == []
    assert segmenter.clean(text, model=shipped_model) == ""
    assert len(segmenter.classify(text, model=shipped_model)) == 0


@FUZZ
@given(st.binary(max_size=400), st.sampled_from(["replace", "surrogateescape", "ignore", "backslashreplace"]))
def test_bytes_decoded_with_any_error_handler(shipped_model, data, errors):
    check_promises(data.decode("utf-8", errors=errors), shipped_model)


@pytest.mark.parametrize("errors", ["replace", "surrogateescape"])
def test_a_seed_page_with_broken_bytes_decoded_with_errors(shipped_model, errors):
    """A real page whose bytes were damaged: latin-1 spliced in, a multi-byte character cut."""
    raw = read_seed(SEEDS[3]).encode("utf-8")
    raw = raw[:200] + "Caf\u00e9 \u00fcber".encode("latin-1") + raw[200:] + "\u2603".encode()[:2]
    text = raw.decode("utf-8", errors=errors)
    check_promises(text, shipped_model)
    assert segmenter.clean(text, model=shipped_model)  # the story survives the damage


@FUZZ
@given(st.lists(ANY_TEXT | PAGES, max_size=6), st.integers(1, 4))
def test_clean_many_agrees_with_clean_on_fuzzed_pages(shipped_model, texts, batch_size):
    many = list(segmenter.clean_many(texts, model=shipped_model, batch_size=batch_size))
    assert many == [segmenter.clean(t, model=shipped_model) for t in texts]


# -- big inputs ------------------------------------------------------------------------------
def test_one_10_mb_line(shipped_model):
    text = long_line(10 * 2**20)
    paras = segmenter.segment(text)
    assert len(paras) == 1 and text[paras[0].start : paras[0].end] == paras[0].text
    out = segmenter.clean(text, model=shipped_model)
    assert out in ("", paras[0].text)


def test_100_000_one_word_lines(shipped_model):
    text = "\n".join(SEED_WORDS[i % len(SEED_WORDS)] for i in range(100_000))
    paras = segmenter.segment(text)
    assert len(paras) == 100_000
    assert all(text[p.start : p.end] == p.text for p in paras)
    out = segmenter.clean(text, model=shipped_model)
    assert is_subsequence(out.split("\n") if out else [], [p.text for p in paras])


# -- linear time -----------------------------------------------------------------------------
def news_like(n_paragraphs: int) -> str:
    """A long page of real seed paragraphs, each copy with other made-up words swapped in (so
    the vocabulary grows with the page, as on real long pages), under mixed line ends."""
    out = []
    for k in range(n_paragraphs):
        copy, i = divmod(k, len(SEED_PARAGRAPHS))
        out.append(perturb_paragraph(SEED_PARAGRAPHS[i], seed=copy, rate=0.3) if copy else SEED_PARAGRAPHS[i])
    return "".join(t + ("\r\n" if k % 7 == 0 else "\n") for k, t in enumerate(out))


def seed_lines(n_paragraphs: int) -> str:
    """The seed paragraphs over and over (cheap to build; segment() does not read words),
    indented and separated by blank lines and mixed line ends now and then."""
    ends = ["\n", "\r\n", "\n\n", "\u2028", "\n \t\n"]
    return "".join(
        ("  " if k % 5 == 0 else "") + SEED_PARAGRAPHS[k % len(SEED_PARAGRAPHS)] + ends[k % 5]
        for k in range(n_paragraphs)
    )


def long_line(n_chars: int) -> str:
    line = " ".join(SEED_PARAGRAPHS)
    return ((line + " ") * (n_chars // len(line) + 1))[:n_chars]


def cpu_seconds(fn, text) -> float:
    """CPU time of one call: the machine may be shared, and waiting for a CPU is not work.
    The cyclic garbage collector is paused: its full collections scan the whole heap (pandas,
    scikit-learn) and come in steps, which would time the heap, not segmenter."""
    gc.collect()
    gc.disable()
    try:
        t0 = time.process_time()
        fn(text)
        return time.process_time() - t0
    finally:
        gc.enable()


def median_cpu_seconds(fn, small, large, repeats=3) -> tuple[float, float]:
    """Median of ``repeats`` runs on each input, interleaved so both see the same conditions."""
    runs = [(cpu_seconds(fn, small), cpu_seconds(fn, large)) for _ in range(repeats)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


@pytest.mark.parametrize(
    "what, build, small",
    [
        ("clean", news_like, 1_000),  # 1 000 vs 10 000 paragraphs
        ("clean", long_line, 100_000),  # one line of 100 kB vs 1 MB
        ("segment", seed_lines, 30_000),  # 30 000 vs 300 000 paragraphs
    ],
    ids=["clean-paragraphs", "clean-one-long-line", "segment-paragraphs"],
)
def test_time_grows_linearly_with_the_input(shipped_model, what, build, small):
    """10x the input takes < 15x the time (median of 3; not a wall-clock limit). A quadratic
    step would take ~100x. Inputs are large enough to be out of the CPU caches already (a
    300-paragraph page is cache-resident and runs ~25 % faster per paragraph)."""
    small_text, large_text = build(small), build(10 * small)
    assert 9 * len(small_text) < len(large_text) < 11 * len(small_text)
    if what == "segment":
        fn = segmenter.segment
    else:

        def fn(text):
            return segmenter.clean(text, model=shipped_model)

    fn(small_text)  # warm up (and a small input is never so small that it fits in a CPU cache)
    t_small, t_large = median_cpu_seconds(fn, small_text, large_text)
    assert t_large < 15 * t_small, (
        f"{what} on {build.__name__}: 10x the input took "
        f"{t_large / t_small:.1f}x the time ({t_small:.3f} s -> {t_large:.3f} s)"
    )


# -- wrong types -----------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [b"bytes", bytearray(b"x"), None, 3, ["a line"]], ids=repr)
def test_non_str_page_is_a_type_error_that_says_to_pass_str(shipped_model, bad):
    for call in (
        lambda: segmenter.segment(bad),
        lambda: segmenter.clean(bad, model=shipped_model),
        lambda: segmenter.classify(bad, model=shipped_model),
        lambda: list(segmenter.clean_many([bad], model=shipped_model)),
    ):
        with pytest.raises(TypeError, match=r"expects the page as str, got .*decode bytes first"):
            call()


@pytest.mark.parametrize("bad", [b"bytes", "one page as str", None, 3], ids=repr)
def test_clean_many_wants_an_iterable_of_str_and_says_so_at_once(shipped_model, bad):
    with pytest.raises(
        TypeError, match=r"clean_many\(\) expects an iterable of pages \(str\).*clean\(text\)"
    ):
        segmenter.clean_many(bad, model=shipped_model)  # raised by the call, not on first next()
