"""The --precision/--recall presets as training chooses them: on held-out core-story words,
the lowest threshold that reaches the target precision and the highest that reaches the
target recall."""

from types import SimpleNamespace

import numpy as np

import segmenter
from segmenter.presets import TARGETS, choose, held_out_presets

# six paragraphs of 10 words; kept from the top, precision 1, 1, 2/3, 3/4, 4/5, 4/6 and
# recall 1/4, 2/4, 2/4, 3/4, 1, 1
P_CORE = np.array([0.95, 0.85, 0.75, 0.65, 0.45, 0.25])
GOLD = np.array([True, True, False, True, True, False])
WORDS = np.full(6, 10)


def test_precision_preset_is_the_lowest_threshold_reaching_the_target_and_recall_the_highest():
    record = choose(P_CORE, GOLD, WORDS, default=0.5)
    assert record["precision"] == 0.76  # keeps 0.95 and 0.85: precision 1 (0.75 would be 2/3)
    assert record["recall"] == 0.45  # keeps down to 0.45: recall 1 (0.46 loses a story paragraph)
    assert record["measured"]["precision"] == {"threshold": 0.76, "precision": 1.0, "recall": 0.5}
    assert record["measured"]["recall"] == {"threshold": 0.45, "precision": 0.8, "recall": 1.0}
    assert record["measured"]["default"] == {"threshold": 0.5, "precision": 0.75, "recall": 0.75}
    assert record["targets"] == TARGETS and record["default"] == 0.5


def test_words_weigh_in_the_choice():
    words = np.array([10, 10, 1, 10, 10, 10])  # the not-story paragraph at 0.75 is one word
    assert choose(P_CORE, GOLD, words)["precision"] == 0.26  # 40 of 41 words kept are story


def test_a_target_no_threshold_reaches_leaves_its_preset_out():
    record = choose(P_CORE, ~GOLD, WORDS, targets={"precision": 0.95, "recall": 0.97})
    assert record["precision"] is None  # the best is 1/3
    assert record["measured"]["precision"] == {"threshold": 0.0, "precision": 0.3333, "recall": 1.0}
    assert record["recall"] == 0.25


def test_train_chooses_them_on_imported_pages_when_it_has_them():
    fine_text, coarse_text = ["one two", "three"], ["four five six", "seven"]
    data = SimpleNamespace(
        fine=[0],
        coarse=[1],
        labels=[["core-story", "nav"], ["core-story", "not-core"]],
        texts=[fine_text, coarse_text],
    )
    core = segmenter.CLASSES.index("core-story")

    def proba(p):
        out = np.zeros((2, len(segmenter.CLASSES)))
        out[:, core] = p
        out[:, core - 1 if core else 1] = 1 - np.array(p)
        return out

    record = held_out_presets(data, [proba([0.1, 0.9]), proba([0.8, 0.3])], 0.5)
    assert record["measured_on"] == "core-story words of 1 held-out imported pages"
    assert record["precision"] == 0.31 and record["recall"] == 0.8  # from the imported page alone
    data.coarse = []
    assert held_out_presets(data, [proba([0.1, 0.9]), None], 0.5)["measured_on"].endswith(
        "1 held-out finely labelled documents"
    )
    assert held_out_presets(data, [None, None], 0.5) is None
