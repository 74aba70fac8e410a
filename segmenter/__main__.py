"""``python -m segmenter`` is the ``segmenter`` command."""

from .cli import main

raise SystemExit(main())
