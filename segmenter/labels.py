"""The label set (docs/labels.md): five paragraph classes, plus ``not-core`` for coarse imported data."""

from __future__ import annotations

CORE = "core-story"
DUPLICATE = "duplicate"
CLASSES: tuple[str, ...] = (CORE, "related-article", "promo", "nav", DUPLICATE)
#: Coarse label from imported corpora: "not core-story", without saying which other class.
NOT_CORE = "not-core"
ALLOWED_LABELS: tuple[str, ...] = CLASSES + (NOT_CORE,)
