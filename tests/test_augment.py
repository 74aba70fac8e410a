"""Training-time word perturbation: changes words, keeps structure, keeps duplicates true."""

from segmenter.augment import perturb_document, perturb_paragraph


def test_perturbation_changes_at_least_one_word_and_keeps_the_rest_of_the_line():
    line = "Russia restricts calls on WhatsApp, Telegram as internet control tightens"
    out = perturb_paragraph(line, seed=1, rate=0.3)
    assert out != line
    assert len(out.split()) == len(line.split())
    changed = [(a, b) for a, b in zip(line.split(), out.split()) if a != b]
    assert changed and all(b.rstrip(",").isalpha() and b.islower() for _, b in changed)
    assert "," in out  # punctuation and spacing survive


def test_perturbation_is_deterministic_and_differs_by_seed():
    line = "Telegram was still available in Vietnam as of Friday."
    assert perturb_paragraph(line, seed=3) == perturb_paragraph(line, seed=3)
    assert len({perturb_paragraph(line, seed=s) for s in range(5)}) > 1


def test_repeated_paragraphs_stay_repeated_so_duplicate_labels_stay_true():
    doc = [
        "A long paragraph that repeats itself later on the page.",
        "Share",
        "A long paragraph that repeats itself later on the page.",
    ]
    out = perturb_document(doc, seed=7)
    assert out[0] == out[2] and out[0] != doc[0]


def test_lines_without_words_are_left_alone():
    assert perturb_paragraph("12:30 | 5 / 7", seed=0) == "12:30 | 5 / 7"
