"""What pass two reads besides the features: pass one's probabilities averaged over windows
around each paragraph, and the story run (the contiguous paragraphs pass one most believes
are the story) with each paragraph's relation to it."""

import numpy as np

from segmenter.model import STORY_RUN_FEATURES, _max_subarray, context_features, story_run_features

COL = {name: i for i, name in enumerate(STORY_RUN_FEATURES)}


def test_the_story_run_is_the_run_with_the_largest_sum():
    rng = np.random.default_rng(0)
    for _ in range(500):
        score = rng.normal(size=rng.integers(1, 10)) - rng.uniform(0, 1)
        lo, hi = _max_subarray(score)
        best = max(score[i : j + 1].sum() for i in range(len(score)) for j in range(i, len(score)))
        assert np.isclose(score[lo : hi + 1].sum(), best)


def test_a_trough_of_furniture_separates_a_paragraph_from_the_story():
    core = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.9, 0.95, 0.1, 0.05, 0.6, 0.7, 0.2])
    out = story_run_features(core, np.full(len(core), 40.0))
    assert out[:, COL["in_story_run"]].tolist() == [0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    valley = out[:, COL["valley_to_story_run"]]
    # inside or next to the run: nothing between; beyond the 0.1 and 0.05 lines: the trough
    assert valley[[1, 2, 6, 7]].tolist() == [1, 1, 1, 1]
    assert np.isclose(valley[0], 0.2) and np.isclose(valley[8], 0.1) and np.isclose(valley[10], 0.05)
    assert np.isclose(out[9, COL["after_story_run"]], np.log1p(3))
    assert np.isclose(out[0, COL["before_story_run"]], np.log1p(2))


def test_each_page_of_a_batch_gets_its_own_story_run():
    a = np.array([0.9, 0.9, 0.1, 0.1])
    b = np.array([0.1, 0.2, 0.8, 0.9, 0.9])
    words = np.full(9, 20.0)
    together = story_run_features(np.concatenate([a, b]), words, [0, 4])
    assert np.array_equal(together[:4], story_run_features(a, words[:4]))
    assert np.array_equal(together[4:], story_run_features(b, words[4:]))


def test_pass_two_reads_the_page_mean_beyond_the_page_edge_and_nothing_from_a_batch_neighbour():
    """Text that ends (or starts) with its story must not read as "only furniture follows":
    a window's rows past the page's edge count as the page's mean, not as zeros."""
    page = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9]])
    other = np.array([[0.0, 1.0], [0.0, 1.0]])
    mean = page.mean(axis=0)
    out = context_features(page, windows=[1, 2])
    k = 2
    # last row, window 2 after: two rows past the edge, both the page's mean
    np.testing.assert_allclose(out[2, k * 4 : k * 5], mean)
    # first row, window 2 before: likewise; window 2 after: the two rows that exist
    np.testing.assert_allclose(out[0, k * 3 : k * 4], mean)
    np.testing.assert_allclose(out[0, k * 4 : k * 5], page[1:3].mean(axis=0))
    # second-to-last row, window 2 after: one real row and one page-mean row
    np.testing.assert_allclose(out[1, k * 4 : k * 5], (page[2] + mean) / 2)
    np.testing.assert_allclose(out[:, -k:], np.tile(mean, (3, 1)))
    batched = context_features(np.vstack([page, other]), windows=[1, 2], starts=[0, 3])
    np.testing.assert_array_equal(batched[:3], out)
    np.testing.assert_array_equal(batched[3:], context_features(other, windows=[1, 2]))
