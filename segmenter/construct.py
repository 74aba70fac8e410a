"""``python -m segmenter.construct``: build pages with other stories' text placed in them.

The code is :mod:`segmenter.evaluation.construct`; this module keeps the command and the old
import path.
"""

from .evaluation.construct import *  # noqa: F403
from .evaluation.construct import main

if __name__ == "__main__":
    raise SystemExit(main())
