"""``python -m segmenter.importer``: import a labelled corpus into the label store.

The code is :mod:`segmenter.labelling.importer`; this module keeps the command and the old
import path.
"""

from .labelling.importer import *  # noqa: F403
from .labelling.importer import main

if __name__ == "__main__":
    raise SystemExit(main())
