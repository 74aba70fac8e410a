"""Retraining from the labelling app: ``python -m segmenter.train`` as a background
:class:`RetrainJob` writing a candidate model, how long it has run and is likely to run (from
the runs before it, kept in ``MODELS/retrain_history.jsonl``), the candidate's held-out metrics
as tables beside the installed model's, and its promotion to the model the app loads."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import PROJECT_ROOT

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

CANDIDATE = "candidate.joblib"
MODEL = "segmenter.joblib"
HISTORY = "retrain_history.jsonl"


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
        self.started: float | None = None  # time.monotonic() at start
        self.finished: float | None = None
        self.paragraphs = 0  # labelled paragraphs the run trains on

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

    @property
    def history_path(self) -> Path:
        """One JSON line per finished run: seconds, labelled paragraphs, status."""
        return self.models / HISTORY

    def start(self, paragraphs: int = 0) -> None:
        """Start training in the background (refused while a run is going); ``paragraphs``
        (the labelled paragraphs it trains on) scales the estimate from earlier runs."""
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
        self.started, self.finished, self.paragraphs = time.monotonic(), None, int(paragraphs)
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
        status = "succeeded" if code == 0 and self.candidate.exists() else "failed"
        if self._log_fh is not None:
            self._log_fh.close()
            self._log_fh = None
            self.finished = time.monotonic()
            self._record(status)
        return status

    def _record(self, status: str) -> None:
        if self.started is None or self.finished is None:
            return
        line: dict[str, Any] = {
            "seconds": round(self.finished - self.started, 1),
            "paragraphs": self.paragraphs,
            "status": status,
        }
        try:
            with open(self.history_path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(line) + "\n")
        except OSError:  # a read-only models folder: no estimate next time, nothing else lost
            pass

    def elapsed(self) -> float | None:
        """Seconds the current (or last) run has taken so far; None before the first."""
        if self.started is None:
            return None
        self.status()
        return (self.finished or time.monotonic()) - self.started

    def estimate(self, paragraphs: int | None = None) -> float | None:
        """Expected seconds for a run on ``paragraphs`` labelled paragraphs (default: this
        run's): the last successful run's time, scaled by paragraphs (training is linear in
        them); None when no run has succeeded here yet."""
        runs = []
        try:
            for line in self.history_path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if isinstance(r, dict) and r.get("status") == "succeeded" and r.get("seconds"):
                    runs.append(r)
        except OSError:
            return None
        if not runs:
            return None
        last = runs[-1]
        n = self.paragraphs if paragraphs is None else paragraphs
        if n and last.get("paragraphs"):
            return float(last["seconds"]) * n / float(last["paragraphs"])
        return float(last["seconds"])

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


def compare_frames(candidate: Mapping[str, Any], installed: Mapping[str, Any] | None) -> pd.DataFrame | None:
    """Per class: the candidate's held-out precision, recall and F1 beside the installed
    model's and the F1 difference (empty where the installed model recorded none); None when
    the candidate recorded no metrics. The two were measured on the labels each was trained
    with, so the figures compare like for like only when the labels overlap."""
    import pandas as pd

    cand, _ = metrics_frames(candidate)
    if cand is None:
        return None
    inst, _ = metrics_frames(installed or {})
    old = {} if inst is None else {r["class"]: r for r in inst.to_dict("records")}
    rows = []
    for r in cand.to_dict("records"):
        o = old.get(r["class"], {})
        rows.append(
            {
                "class": r["class"],
                "support": r.get("support"),
                "candidate precision": r.get("precision"),
                "candidate recall": r.get("recall"),
                "candidate F1": r.get("f1"),
                "installed F1": o.get("f1"),
                "F1 change": None if o.get("f1") is None else r.get("f1") - o["f1"],
                "installed support": o.get("support"),
            }
        )
    return pd.DataFrame(rows)


def read_metadata(path: Path) -> dict | None:
    """A model's ``.json`` beside its artifact (None when missing or unreadable)."""
    try:
        return json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def model_path(models: Path) -> Path:
    """The model the app loads: ``MODELS/segmenter.joblib`` if there is one, else the shipped one."""
    from ..api import default_model_path

    own = Path(models) / MODEL
    return own if own.exists() else default_model_path()
