"""Old import paths of modules that moved into ``segmenter.labelling`` and
``segmenter.evaluation``: ``import segmenter.store`` still works, with a
DeprecationWarning naming the new path, and gives the very same module object.

The table is the one place that knows the old layout; nothing else imports through it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings

MOVED = {
    "segmenter.agreement": "segmenter.labelling.agreement",
    "segmenter.annotate": "segmenter.labelling.session",
    "segmenter.appconfig": "segmenter.labelling.config",
    "segmenter.metrics": "segmenter.evaluation.metrics",
    "segmenter.retrain": "segmenter.labelling.retrain",
    "segmenter.softlr": "segmenter.solver",
    "segmenter.sources": "segmenter.labelling.sources",
    "segmenter.store": "segmenter.labelling.store",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to."""

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec):
        return None  # a placeholder; exec_module swaps in the real module

    def exec_module(self, module) -> None:
        new = MOVED[module.__name__]
        warnings.warn(
            f"{module.__name__} moved to {new}; import it from there", DeprecationWarning, stacklevel=2
        )
        # the import system returns whatever sys.modules holds under the name once this returns
        sys.modules[module.__name__] = importlib.import_module(new)


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
