"""The keep rule: class probabilities -> which paragraphs are core-story -> one label each.

Everything that turns the classifier's probabilities into decisions lives here, below the
public API, so that the model, training and evaluation apply exactly the rule ``clean`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .labels import CLASSES, CORE

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: p(core-story) at which a paragraph is kept; chosen on WCXB grouped 5-fold held-out
#: predictions with `python -m segmenter.evaluate --cv 5 --sweep ...` (docs/model-card.md)
DEFAULT_THRESHOLD = 0.5


def core_mask(proba: np.ndarray, threshold: float | None) -> np.ndarray:
    """Which paragraphs are core-story: p(core) >= threshold, or (None) the most probable class."""
    if threshold is None:
        return proba.argmax(axis=1) == CLASSES.index(CORE)
    return proba[:, CLASSES.index(CORE)] >= threshold


def default_threshold(model: Pipeline) -> float | None:
    """The p(core-story) cutoff the model was trained with (``segmenter.train --threshold``,
    chosen on held-out pages), or None: keep a paragraph when core-story is its most probable
    label. ``threshold=None`` in ``clean`` and the rest means this."""
    steps = getattr(model, "named_steps", None)
    classifier = steps.get("classifier") if steps else model
    return getattr(classifier, "core_threshold", None)


def paragraph_labels(proba: np.ndarray, keep: np.ndarray) -> list[str]:
    """One label per paragraph that agrees with what is kept: core-story exactly when kept,
    otherwise the most probable of the other classes."""
    if not len(proba):
        return []
    other = np.array(proba, dtype=np.float64, copy=True)
    other[:, CLASSES.index(CORE)] = -np.inf
    return [CORE if k else CLASSES[j] for k, j in zip(keep, other.argmax(axis=1))]
