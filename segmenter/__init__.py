"""segmenter: keep the story of a scraped news page, drop boilerplate and other stories.

    import segmenter
    story = segmenter.clean(text)          # core-story paragraphs, "\\n"-joined
    df = segmenter.classify(text)          # one row per paragraph with label and probabilities
    paras = segmenter.segment(text)        # paragraphs with offsets (no model needed)

The model loads lazily on first use, so ``import segmenter`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import _moved
from .labels import CLASSES
from .segment import Paragraph, segment

_moved.install()

__all__ = [
    "CLASSES",
    "Paragraph",
    "segment",
    "clean",
    "clean_many",
    "classify",
    "load_model",
    "default_threshold",
    "__version__",
]


def __getattr__(name: str):
    # The model-side API imports scikit-learn and pandas; load it on first use only.
    if name in ("clean", "clean_many", "classify", "load_model", "default_threshold"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'segmenter' has no attribute {name!r}")
