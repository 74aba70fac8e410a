"""The feature transformer: one row per paragraph, pages independent of each other, and the
duplication and heading signals the model leans on."""

import numpy as np
from conftest import SEEDS, read_seed

from segmenter.features import ParagraphFeatures

NAMES = list(ParagraphFeatures().get_feature_names_out())


def _column(rows: np.ndarray, name: str) -> list[float]:
    return rows[:, NAMES.index(name)].tolist()


def test_a_page_gets_the_same_features_alone_or_in_a_batch():
    pages = [read_seed(s) for s in SEEDS] + ["", "one line"]
    pf = ParagraphFeatures()
    together = pf.transform(pages)
    for page, rows in zip(pages, together):
        assert np.array_equal(rows, pf.transform([page])[0])
        assert rows.shape == (len([line for line in page.splitlines() if line.strip()]), len(NAMES))


def test_paragraphs_given_with_line_breaks_inside_still_get_one_row_each():
    rows = ParagraphFeatures().document_features(["A headline here", "one\ntwo three", "four"])
    assert rows.shape == (3, len(NAMES)) and np.isfinite(rows).all()


def test_a_repeat_ignoring_case_punctuation_and_underscores_is_an_exact_duplicate():
    paras = [
        "The council voted on Tuesday to close the old bridge.",
        "the council voted on tuesday -- to close the OLD bridge",
        "The_council voted on Tuesday to close the old bridge",
        "Something else entirely, said the mayor of the town.",
    ]
    rows = ParagraphFeatures().document_features(paras)
    assert _column(rows, "dup_exact") == [0.0, 1.0, 1.0, 0.0]
    assert _column(rows, "log_repeats")[0] == np.float32(np.log(3))


def test_containment_is_the_share_of_a_paragraphs_trigrams_found_in_one_earlier_paragraph():
    first = "alpha beta gamma delta epsilon zeta"
    rows = ParagraphFeatures().document_features([first, "beta gamma delta", "gamma delta epsilon psi"])
    contain = _column(rows, "dup_contain")
    assert contain[0] == 0.0 and contain[1] == 1.0  # its one trigram is in the first
    assert contain[2] == 0.5  # "gamma delta epsilon" is in the first, "delta epsilon psi" is not


def test_a_line_read_with_its_newline_still_ends_like_a_sentence():
    line = "This is a sentence that is long enough to count as prose."
    with_nl = ParagraphFeatures().document_features([line + "\n"] * 3)
    without = ParagraphFeatures().document_features([line] * 3)
    for name in ("ends_sentence", "is_prose", "in_run"):
        assert _column(with_nl, name) == _column(without, name)
    assert _column(with_nl, "ends_sentence") == [1.0, 1.0, 1.0]


def test_card_times_are_found_whatever_the_case_or_letter_form():
    rows = ParagraphFeatures().document_features(["YESTERDAY", "yeſterday", "5 Hours Ago", "Today's weather"])
    assert _column(rows, "time_ago") == [1.0, 1.0, 1.0, 1.0]


def test_capitalised_words_and_word_lengths_come_from_the_one_tokenizing_pass():
    from segmenter.features import _Page

    page = _Page(["Hello wörld 12 ab_c Über", "", "x Ǆ Ⅻ", "hello HELLO"])
    assert page.word_len.tolist() == [5, 5, 2, 4, 4, 1, 1, 1, 5, 5]
    # a word start counts when it is a letter, a capital when it is also upper case ("Ⅻ" is not)
    assert page.n_caps.tolist() == [4, 0, 2, 2] and page.n_upper_caps.tolist() == [2, 0, 1, 1]
    rows, cols, size = page.name_sets()
    assert rows.tolist() == [0, 0, 2, 3] and size == page.vocab_size
    # names are lower-cased: "Hello" and "HELLO" are one name
    assert cols[0] == cols[3] and len(set(cols.tolist())) == 3
    assert (page.n_upper_caps <= page.n_caps).all()


def test_a_comment_thread_is_marked_by_its_bylines_stamps_and_heading():
    story = "The council voted on Tuesday to close the old bridge for repairs."
    thread = [
        "59 Comments on “The bridge closes”",
        "Sharon says",
        "December 18, 2025, 10:00 pm",
        "I drive over it every day, so this is bad news for me.",
        "Reply",
        "by geekmux ( 1040042 ) writes:",
        "They should have fixed it years ago, honestly.",
    ]
    rows = ParagraphFeatures().document_features([story, story + " More.", *thread])
    assert _column(rows, "comment_mark") == [0, 0, 0, 1, 0, 0, 1, 1, 0]
    # the heading keeps the page name after its bar, and everything after it is the thread's
    assert _column(rows, "is_heading")[2] == 1.0
    assert _column(rows, "comments_heading_before") == [0, 0, 0, 1, 1, 1, 1, 1, 1]
    stamps = _column(rows, "log_stamps_before")
    assert stamps[:5] == [0.0] * 5 and stamps[5] > 0  # the date stamp counts from the next line on
    density = _column(rows, "mark_density")
    assert density[-1] > 0 and density[-1] == max(density)  # the thread's end is all marks around


def test_share_buttons_are_social_lines_only_when_short():
    rows = ParagraphFeatures().document_features(
        [
            "Click to share on WhatsApp (Opens in new window) WhatsApp",
            "Email",
            "Russia restricted calls on WhatsApp and Telegram this week, regulators in Moscow said on Monday.",
            "© 2025 Example News",
            "About us",
        ]
    )
    assert _column(rows, "social") == [1, 1, 0, 0, 0]
    assert _column(rows, "copyright_before") == [0, 0, 0, 0, 1]


def test_dotted_and_dotless_i_still_match_comment_and_share_patterns():
    # re ignores case as "İ"/"ı" == "i", casefold() does not: the needle prefilter must not hide them
    rows = ParagraphFeatures().document_features(["LİKE", "SAİD", "PRİNT", "Lıke", "Some other line here"])
    assert _column(rows, "comment_mark")[:2] == [1.0, 1.0] and _column(rows, "comment_mark")[3] == 1.0
    assert _column(rows, "social")[2] == 1.0


def test_paragraphs_given_with_their_own_newlines_are_tested_as_written():
    rows = ParagraphFeatures().document_features(["Comments\n| Garden Blog", "Home | News", "x"])
    assert _column(rows, "has_pipe") == [0.0, 1.0, 0.0]


def test_every_family_returns_the_same_columns_in_the_same_order_on_every_page():
    # the names are read off the families' keys, so those must not depend on the page
    from segmenter.features import _OWN_FEATURES, _feature_families, _Page

    pages = [read_seed(s).splitlines() for s in SEEDS] + [
        ["one line"],
        ["Comments\n| Garden Blog", "Home | News", "x"],  # paragraphs holding newlines
        ["", "   ", "?"],
    ]
    for texts in pages:
        families = _feature_families(_Page(texts), 8, 3, 40)
        assert [name for family in families for name in family] == list(_OWN_FEATURES)
        assert all(np.shape(column) == (len(texts),) for family in families for column in family.values())
    assert NAMES[: len(_OWN_FEATURES)] == list(_OWN_FEATURES)


def test_the_neighbours_columns_are_their_own_columns_shifted():
    rows = ParagraphFeatures().transform([read_seed(SEEDS[0])])[0]
    for prefix, offset in (("prev", -1), ("next", 1), ("prev2", -2), ("next2", 2)):
        for name in ("log_words", "is_heading", "sim_run", "in_loose_run"):
            own = rows[:, NAMES.index(name)]
            expected = np.zeros_like(own)
            if offset < 0:
                expected[-offset:] = own[:offset]
            else:
                expected[:-offset] = own[offset:]
            assert np.array_equal(rows[:, NAMES.index(f"{prefix}_{name}")], expected)
