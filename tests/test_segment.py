"""segment(): paragraphs are the non-blank lines of str.splitlines(), stripped, with offsets
that slice the original text back to the paragraph text."""

import pytest
from conftest import SEEDS, read_seed
from hypothesis import given, settings
from hypothesis import strategies as st

from segmenter.segment import Paragraph, segment


def expected_texts(text: str) -> list[str]:
    """The guideline's definition, written independently of segment()."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def assert_well_formed(text: str, paragraphs: list[Paragraph]) -> None:
    assert [p.text for p in paragraphs] == expected_texts(text)
    assert [p.index for p in paragraphs] == list(range(len(paragraphs)))
    for p in paragraphs:
        assert isinstance(p, Paragraph)
        assert text[p.start : p.end] == p.text
    starts = [p.start for p in paragraphs]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name)
def test_seed_paragraphs_are_the_stripped_non_blank_lines_and_offsets_slice_the_seed(seed):
    text = read_seed(seed)
    paragraphs = segment(text)
    assert len(paragraphs) > 5
    assert_well_formed(text, paragraphs)


@pytest.mark.parametrize(
    "sep", ["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"], ids=repr
)
def test_every_splitlines_line_break_separates_paragraphs(sep):
    text = f"Headline{sep}{sep}  Body text here.{sep}\t{sep}Footer"
    paragraphs = segment(text)
    assert [p.text for p in paragraphs] == ["Headline", "Body text here.", "Footer"]
    assert_well_formed(text, paragraphs)


def test_mixed_line_endings_give_exact_offsets():
    text = "one\r\ntwo\rthree\nfour\x85five\u2028six"
    assert segment(text) == [
        Paragraph(0, 0, 3, "one"),
        Paragraph(1, 5, 8, "two"),
        Paragraph(2, 9, 14, "three"),
        Paragraph(3, 15, 19, "four"),
        Paragraph(4, 20, 24, "five"),
        Paragraph(5, 25, 28, "six"),
    ]


def test_tabs_and_non_breaking_spaces_around_text_are_stripped_but_kept_inside():
    text = "\t\xa0 Price:\xa0100\xa0EUR \xa0\t\n\xa0\xa0\n\tx"
    assert segment(text) == [Paragraph(0, 3, 17, "Price:\xa0100\xa0EUR"), Paragraph(1, 25, 26, "x")]


def test_missing_final_newline_keeps_the_last_paragraph():
    assert [p.text for p in segment("a\nlast line")] == ["a", "last line"]
    assert segment("only") == [Paragraph(0, 0, 4, "only")]
    assert segment("a\n") == [Paragraph(0, 0, 1, "a")]


@pytest.mark.parametrize("text", ["", " ", "\n", "\r\n\r\n", "\t\xa0\x0c\x85\u2028\u2029 \n"], ids=repr)
def test_empty_and_whitespace_only_text_has_no_paragraphs(text):
    assert segment(text) == []


def test_indexes_count_paragraphs_not_lines():
    paragraphs = segment("\n\n a \n\n\n b\n   \n c")
    assert [(p.index, p.text) for p in paragraphs] == [(0, "a"), (1, "b"), (2, "c")]


@pytest.mark.parametrize("bad", [b"bytes text", None, 42, ["a line"]], ids=repr)
def test_non_str_input_raises_type_error_that_mentions_str(bad):
    with pytest.raises(TypeError, match="str"):
        segment(bad)


_CHARS = (
    st.sampled_from(list("ab .\t\xa0\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\u200b\u3000é")) | st.characters()
)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_CHARS, max_size=60))
def test_property_offsets_slice_the_input_and_texts_are_the_stripped_non_blank_lines(text):
    assert_well_formed(text, segment(text))
