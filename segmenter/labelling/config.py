"""Where the labelling app reads and writes: the label store, the models folder and the
folders documents may be read from, from ``streamlit run annotate_app.py -- ARGS`` or the
environment."""

from __future__ import annotations

import argparse
import getpass
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class AppConfig:
    """Where the app reads and writes: label store, models folder, folders it may read."""

    project: Path
    labels: Path
    models: Path
    allow: tuple[Path, ...]
    annotator: str = ""

    @property
    def roots(self) -> tuple[Path, ...]:
        """Folders documents may be read from: the project and the ``--allow`` folders."""
        return (self.project,) + self.allow

    @classmethod
    def from_argv(
        cls, argv: Sequence[str], environ: Mapping[str, str], project: Path = PROJECT_ROOT
    ) -> AppConfig:
        """``streamlit run annotate_app.py -- --labels DIR --models DIR --allow DIR --annotator NAME``;
        unset options fall back to SEGMENTER_LABELS, SEGMENTER_MODELS, SEGMENTER_ALLOW
        (``os.pathsep``-separated) and SEGMENTER_ANNOTATOR, then to the project's folders and
        the name you are logged in as (:func:`os_user`), so labelling can start at once."""
        ap = argparse.ArgumentParser(prog="annotate_app.py", add_help=False, allow_abbrev=False)
        ap.add_argument("--labels")
        ap.add_argument("--models")
        ap.add_argument("--allow", action="append", default=[])
        ap.add_argument("--annotator")
        args, _ = ap.parse_known_args(list(argv))
        project = Path(project).resolve()
        labels = args.labels or environ.get("SEGMENTER_LABELS") or str(project / "labels")
        models = args.models or environ.get("SEGMENTER_MODELS") or str(project / "models")
        allow = list(args.allow) + [a for a in environ.get("SEGMENTER_ALLOW", "").split(os.pathsep) if a]
        return cls(
            project,
            Path(labels).resolve(),
            Path(models).resolve(),
            tuple(Path(a).resolve() for a in allow),
            (args.annotator or environ.get("SEGMENTER_ANNOTATOR") or os_user()).strip(),
        )


def os_user() -> str:
    """The operating system's name for the user running the app (``getpass.getuser``), or ""
    where it has none (a container without a passwd entry)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return ""
