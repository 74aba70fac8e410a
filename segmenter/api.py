"""The public calls: load the model once, classify paragraphs, keep the story."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .labels import CLASSES, CORE
from .segment import Paragraph, segment

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODEL_NAME = "segmenter.joblib"
META_NAME = "segmenter.json"


class ModelError(RuntimeError):
    """The model artifact is missing, altered, or was built for another scikit-learn."""


def default_model_path() -> Path:
    """The shipped artifact: inside the installed package, or models/ of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "models" / MODEL_NAME, here.parent / "models" / MODEL_NAME):
        if candidate.exists():
            return candidate
    return here.parent / "models" / MODEL_NAME


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(path: str | Path | None = None) -> "Pipeline":
    """Load a trained pipeline (the shipped one by default), checking it first against the
    sha256 and scikit-learn version recorded in the ``.json`` beside it."""
    if path is None:
        return _load_cached(str(default_model_path()))
    return _load_uncached(Path(path))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> "Pipeline":
    return _load_uncached(Path(path))


def _load_uncached(path: Path) -> "Pipeline":
    import joblib
    import sklearn

    if not path.exists():
        raise ModelError(f"no model at {path}; train one with `python -m segmenter.train`")
    meta_path = path.with_suffix(".json")
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        digest = file_sha256(path)
        if meta.get("sha256") != digest:
            raise ModelError(f"{path}: sha256 {digest} does not match {meta_path} "
                             f"({meta.get('sha256')}); the file was altered or replaced")
        built = str(meta.get("versions", {}).get("scikit-learn", ""))
        if built.split(".")[:2] != sklearn.__version__.split(".")[:2]:
            raise ModelError(f"{path} was built with scikit-learn {built}, but {sklearn.__version__} "
                             "is installed; retrain with `python -m segmenter.train` or install "
                             f"scikit-learn {'.'.join(built.split('.')[:2])}.*")
    model = joblib.load(path)
    _check_features(model, path)
    return model


def _check_features(model: "Pipeline", path: Path) -> None:
    """The pickled classifier must expect as many features as this version's feature code
    makes; otherwise it was trained with other feature code and would fail on first use."""
    steps = getattr(model, "named_steps", {})
    feats, clf = steps.get("features"), steps.get("classifier")
    if feats is None or clf is None:
        return
    made = len(feats.get_feature_names_out())
    expected = getattr(clf, "n_features_in_", made)
    if made != expected:
        raise ModelError(f"{path} expects {expected} features per paragraph, but this version of "
                         f"segmenter makes {made}; retrain with `python -m segmenter.train`")


def _resolve(model: "Pipeline | str | Path | None") -> "Pipeline":
    if model is None or isinstance(model, (str, Path)):
        return load_model(model)
    return model


def _check_text(text: object, fn: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{fn}() expects the page as str, got {type(text).__name__}; "
                        "decode bytes first, e.g. data.decode('utf-8', errors='replace')")
    return text


def _keep(proba, threshold: float | None):
    """Which paragraphs are core-story: the most probable class, or p(core) >= threshold."""
    if threshold is None:
        return proba.argmax(axis=1) == CLASSES.index(CORE)
    return proba[:, CLASSES.index(CORE)] >= threshold


def classify(text: str, model: "Pipeline | str | Path | None" = None) -> "pd.DataFrame":
    """One row per paragraph: index, start, end, text, label, proba (of that label) and
    p_<class> for each of the five classes."""
    import pandas as pd

    paras = segment(_check_text(text, "classify"))
    pipe = _resolve(model)
    proba = pipe.predict_proba([paras])[0]
    df = pd.DataFrame(paras, columns=list(Paragraph._fields))
    best = proba.argmax(axis=1) if len(paras) else []
    df["label"] = pd.Series([CLASSES[i] for i in best], dtype=object)
    df["proba"] = proba.max(axis=1) if len(paras) else pd.Series(dtype=float)
    for j, c in enumerate(CLASSES):
        df[f"p_{c}"] = proba[:, j] if len(paras) else pd.Series(dtype=float)
    return df


def clean(text: str, model: "Pipeline | str | Path | None" = None,
          threshold: float | None = None) -> str:
    """The core-story paragraphs of ``text`` in their original order and wording, joined
    by newlines. ``threshold`` keeps paragraphs with p(core-story) >= it instead of the most
    probable label: lower it for recall, raise it for precision."""
    return next(clean_many([_check_text(text, "clean")], model=model, threshold=threshold))


def clean_many(texts: Iterable[str], model: "Pipeline | str | Path | None" = None,
               threshold: float | None = None, batch_size: int = 64) -> Iterator[str]:
    """``clean`` over many pages, batched so the model runs once per batch; lazy, in order."""
    pipe = _resolve(model)
    batch: list[list[Paragraph]] = []
    for text in texts:
        batch.append(segment(_check_text(text, "clean_many")))
        if len(batch) >= batch_size:
            yield from _clean_batch(pipe, batch, threshold)
            batch = []
    if batch:
        yield from _clean_batch(pipe, batch, threshold)


def _clean_batch(pipe: "Pipeline", batch: list[list[Paragraph]], threshold: float | None) -> Iterator[str]:
    for paras, proba in zip(batch, pipe.predict_proba(batch)):
        keep = _keep(proba, threshold) if len(paras) else []
        yield "\n".join(p.text for p, k in zip(paras, keep) if k)
