"""Retraining from the labelling app: ``python -m segmenter.train`` as a background
:class:`RetrainJob` writing a candidate model, the candidate's held-out metrics as tables,
and its promotion to the model the app loads."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import PROJECT_ROOT

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

CANDIDATE = "candidate.joblib"
MODEL = "segmenter.joblib"


class RetrainJob:
    """``python -m segmenter.train --labels STORE --out MODELS/candidate.joblib`` in a
    subprocess, its output captured to ``candidate.log``; poll it, read its metrics, and
    promote the candidate only when asked."""

    def __init__(
        self,
        labels: Path,
        models: Path,
        *,
        cwd: Path = PROJECT_ROOT,
        extra_args: Sequence[str] = (),
        module: str = "segmenter.train",
    ) -> None:
        self.labels, self.models, self.cwd = Path(labels), Path(models), Path(cwd)
        self.extra_args, self.module = list(extra_args), module
        self.proc: subprocess.Popen | None = None
        self._log_fh: io.BufferedWriter | None = None

    @property
    def candidate(self) -> Path:
        """Where the run writes its artifact (its ``.json`` beside it)."""
        return self.models / CANDIDATE

    @property
    def log_path(self) -> Path:
        """The run's captured stdout and stderr."""
        return self.models / "candidate.log"

    def command(self) -> list[str]:
        """The command run: the same code as ``python -m segmenter.train``."""
        return [
            sys.executable,
            "-m",
            self.module,
            "--labels",
            str(self.labels),
            "--out",
            str(self.candidate),
            *self.extra_args,
        ]

    def start(self) -> None:
        """Start training in the background (refused while a run is going)."""
        if self.status() == "running":
            raise RuntimeError("a training run is already going")
        self.models.mkdir(parents=True, exist_ok=True)
        for old in (self.candidate, self.candidate.with_suffix(".json")):
            if old.exists():
                old.unlink()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(self.cwd), *filter(None, [env.get("PYTHONPATH")])])
        env["PYTHONUNBUFFERED"] = "1"
        self._log_fh = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.command(),
            cwd=self.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
        )

    def status(self) -> str:
        """``idle``, ``running``, ``succeeded`` or ``failed``."""
        if self.proc is None:
            return "idle"
        code = self.proc.poll()
        if code is None:
            return "running"
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
        return "succeeded" if code == 0 and self.candidate.exists() else "failed"

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run ends (tests); returns :meth:`status`."""
        if self.proc is not None:
            self.proc.wait(timeout)
        return self.status()

    def cancel(self) -> None:
        """Stop the run this job started."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.status()

    def log(self, limit: int = 20000) -> str:
        """The last ``limit`` characters of the run's output."""
        try:
            data = self.log_path.read_bytes()
        except FileNotFoundError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def metadata(self) -> dict | None:
        """The candidate's ``.json`` (held-out metrics and all) once the run succeeded."""
        meta = self.candidate.with_suffix(".json")
        if self.status() != "succeeded" or not meta.exists():
            return None
        return json.loads(meta.read_text(encoding="utf-8"))


def promote_candidate(models: Path) -> Path:
    """Install ``candidate.joblib`` (+ ``.json``) as ``segmenter.joblib`` (+ ``.json``):
    each by an atomic rename, the artifact first; returns the new model's path.

    A crash between the two renames leaves the new artifact beside the old ``.json``;
    ``load_model`` checks the artifact's sha256 against the ``.json`` before unpickling, so
    it refuses that pair instead of loading a model under the wrong metadata. The candidate's
    ``.json`` is removed last, so calling this again finishes the interrupted promotion."""
    from ..api import file_sha256

    models = Path(models)
    cand, target = models / CANDIDATE, models / MODEL
    meta_path = cand.with_suffix(".json")
    if not meta_path.exists():
        raise FileNotFoundError(f"no candidate model in {models}: retrain first")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if not cand.exists():
        # Resume only a promotion that stopped after the first rename: the installed
        # artifact is the candidate this .json describes.
        if not (target.exists() and meta.get("sha256") == file_sha256(target)):
            raise FileNotFoundError(f"no candidate model in {models}: retrain first")
    meta["artifact"] = MODEL
    tmp_meta = models / ".segmenter.json.tmp"
    with open(tmp_meta, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(meta, indent=2) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    if cand.exists():
        os.replace(cand, target)
    os.replace(tmp_meta, target.with_suffix(".json"))  # the .json last: see the docstring
    meta_path.unlink()
    _fsync_dir(models)
    return target


def _fsync_dir(folder: Path) -> None:
    """Make renames in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def metrics_frames(meta: Mapping[str, Any]) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Held-out per-class metrics (one row per class) and the confusion matrix in long form
    (gold, predicted, count) from a model's metadata; None where the run recorded none."""
    import pandas as pd

    fine = (meta.get("held_out_metrics") or {}).get("fine")
    if not fine:
        return None, None
    per_class = pd.DataFrame([{"class": c, **m} for c, m in fine["per_class"].items()])
    labels = fine["confusion"]["labels"]
    conf = pd.DataFrame(
        [
            {"gold": g, "predicted": p, "count": int(v)}
            for g, row in zip(labels, fine["confusion"]["matrix"])
            for p, v in zip(labels, row)
        ]
    )
    return per_class, conf


def model_path(models: Path) -> Path:
    """The model the app loads: ``MODELS/segmenter.joblib`` if there is one, else the shipped one."""
    from ..api import default_model_path

    own = Path(models) / MODEL
    return own if own.exists() else default_model_path()
