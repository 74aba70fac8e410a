"""Training copies: word perturbation changes words, keeps structure, keeps duplicates true;
cut copies start and end at the story and teach only their cut ends."""
import numpy as np

from segmenter.augment import edge_labels, perturb_document, perturb_paragraph, story_cut
from segmenter.train import Augmented, TrainingData


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
    doc = ["A long paragraph that repeats itself later on the page.", "Share",
           "A long paragraph that repeats itself later on the page."]
    out = perturb_document(doc, seed=7)
    assert out[0] == out[2] and out[0] != doc[0]


def test_lines_without_words_are_left_alone():
    assert perturb_paragraph("12:30 | 5 / 7", seed=0) == "12:30 | 5 / 7"


def _page():
    # menu, headline, a six-line story, a footer
    return ["not-core"] * 2 + ["core-story"] * 6 + ["not-core"] * 3


def test_a_cut_copy_starts_and_ends_at_most_pad_lines_beyond_its_story():
    labels = _page()
    spans = {story_cut(labels, np.random.default_rng(s), pad=2) for s in range(40)}
    assert {a for a, _ in spans} == {0, 1, 2} and {b for _, b in spans} == {8, 9, 10}
    assert (2, 8) in spans  # cut exactly at the story on both sides
    assert story_cut(labels, np.random.default_rng(0), pad=0) == (2, 8)
    assert story_cut(["not-core"] * 4, np.random.default_rng(0), pad=2) is None  # no story
    assert story_cut(["core-story"] * 4, np.random.default_rng(0), pad=2) is None  # nothing to cut


def test_a_cut_copy_is_labelled_only_next_to_the_ends_that_were_cut():
    labels = ["nav"] * 3 + ["core-story"] * 10 + ["nav"] * 2
    out = edge_labels(labels, 3, 15, edge=2)  # cut before the story; the page's own end kept
    assert out[:2] == ["core-story"] * 2 and set(out[2:]) == {None}
    out = edge_labels(labels, 2, 13, edge=2)  # one menu line left; cut after the story
    assert out[:2] == ["nav", "core-story"] and out[-2:] == ["core-story"] * 2
    assert set(out[2:-2]) == {None}


def test_cut_copies_train_only_beside_their_original():
    texts = [[f"line {i} {j}" for j in range(11)] for i in range(4)]
    data = TrainingData(docs=[None] * 4, texts=texts, labels=[_page() for _ in range(4)])
    aug = Augmented.build(data, copies=0, rate=0.3, seed=0, cut_pad=0, cut_edge=3)
    assert set(aug.cuts) == {0, 1, 2, 3}
    X = [np.zeros((11, 1)) for _ in range(4)]
    W = [np.arange(11, dtype=float) for _ in range(4)]
    xs, ys, ws, groups = aug.training_set([1, 3], X, data.labels, W)
    assert groups == [1, 3, 1, 3]
    assert [len(x) for x in xs] == [11, 11, 6, 6]  # the story's six lines
    assert ys[2] == ["core-story"] * 6 and list(ws[2]) == list(range(2, 8))
    assert not Augmented.build(data, copies=0, rate=0.3, seed=0, cut_edge=0).cuts
