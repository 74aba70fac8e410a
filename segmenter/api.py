"""The public calls: load the model once, classify paragraphs, keep the story."""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .decision import core_mask, default_threshold, paragraph_labels
from .labels import CLASSES
from .segment import Paragraph, segment

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

MODEL_NAME = "segmenter.joblib"
META_NAME = "segmenter.json"
#: Pages per model run in ``clean_many``: large enough to spread the per-call cost, small
#: enough that a batch's matrices stay in cache (16 ran 5-8 % faster than 64 here).
BATCH_SIZE = 16


__all__ = [
    "ModelError",
    "check_threshold",
    "classify",
    "clean",
    "clean_many",
    "core_mask",
    "default_threshold",
    "load_model",
    "paragraph_labels",
    "predict_many",
]


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


def load_model(path: str | Path | None = None, *, allow_unverified: bool = False) -> Pipeline:
    """Load a trained pipeline (the shipped one by default), checking it first against the
    sha256 and scikit-learn version recorded in the ``.json`` beside it.

    A ``.joblib`` file is a pickle: loading it runs code. Without a ``.json`` beside it there
    is nothing to check it against, so it is refused unless ``allow_unverified=True`` (CLI:
    ``--unverified``) says you built it or trust it. A ``.json`` that is there is always
    checked. The checksum proves the file is intact, not who made it."""
    if path is None:
        return _load_cached(str(default_model_path()))
    return _load_uncached(Path(path), allow_unverified=allow_unverified)


@lru_cache(maxsize=4)
def _load_cached(path: str) -> Pipeline:
    return _load_uncached(Path(path))


def _minor(version: str) -> list[str]:
    return str(version).split(".")[:2]


def _read_meta(meta_path: Path) -> dict:
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(
            f"cannot read the model metadata {meta_path} ({exc}); restore it from where "
            "the artifact came from, or retrain with `python -m segmenter.train`"
        ) from None
    if not isinstance(meta, dict):
        raise ModelError(f"{meta_path} is not model metadata (expected a JSON object)")
    return meta


def _load_uncached(path: Path, allow_unverified: bool = False) -> Pipeline:
    import sklearn

    if not path.exists():
        raise ModelError(f"no model at {path}; train one with `python -m segmenter.train`")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a model artifact (.joblib)")
    meta_path = path.with_suffix(".json")
    if meta_path.exists():
        meta = _read_meta(meta_path)
        digest = file_sha256(path)
        if meta.get("sha256") != digest:
            raise ModelError(
                f"{path}: sha256 {digest} does not match {meta_path} "
                f"({meta.get('sha256')}); the file was altered or replaced"
            )
        versions = meta.get("versions")
        built = str(versions.get("scikit-learn", "") if isinstance(versions, dict) else "")
        if _minor(built) != _minor(sklearn.__version__):
            raise ModelError(
                f"{path} was built with scikit-learn {built or '(unrecorded)'}, but "
                f"{sklearn.__version__} is installed; retrain with `python -m segmenter.train` "
                f"or install scikit-learn {'.'.join(_minor(built))}.*"
            )
    elif not allow_unverified:
        raise ModelError(
            f"{path} has no {meta_path.name} beside it, so its sha256 and scikit-learn version cannot "
            "be checked. A .joblib file is a pickle: loading it runs code. If you built it or trust "
            "it, load it with load_model(path, allow_unverified=True) (CLI: --model PATH --unverified)"
        )
    model = _unpickle(path)
    _check_features(model, path)
    return model


def _unpickle(path: Path) -> Pipeline:
    """joblib.load, with scikit-learn's warning about a pickle from another version turned into
    a refusal when the minor series differs (the check an artifact without metadata lacks)."""
    import warnings

    import joblib
    import sklearn
    from sklearn.exceptions import InconsistentVersionWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InconsistentVersionWarning)
        try:
            model = joblib.load(path)
        except Exception as exc:  # a pickle can fail in any way: name the file, not the frame
            raise ModelError(
                f"{path} cannot be loaded as a segmenter artifact ({type(exc).__name__}: {exc})"
            ) from None
    for w in caught:
        old = getattr(w.message, "original_sklearn_version", None)
        if old is not None and _minor(old) != _minor(sklearn.__version__):
            raise ModelError(
                f"{path} was pickled by scikit-learn {old}, but {sklearn.__version__} is "
                "installed; retrain with `python -m segmenter.train` or install "
                f"scikit-learn {'.'.join(_minor(old))}.*"
            )
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def _check_features(model: Pipeline, path: Path) -> None:
    """The pickled classifier must expect as many features as this version's feature code
    makes; otherwise it was trained with other feature code and would fail on first use."""
    steps = getattr(model, "named_steps", {})
    feats, clf = steps.get("features"), steps.get("classifier")
    if feats is None or clf is None:
        return
    made = len(feats.get_feature_names_out())
    expected = getattr(clf, "n_features_in_", made)
    if made != expected:
        raise ModelError(
            f"{path} expects {expected} features per paragraph, but this version of "
            f"segmenter makes {made}; retrain with `python -m segmenter.train`"
        )


def _resolve(model: Pipeline | str | Path | None) -> Pipeline:
    if model is None or isinstance(model, (str, Path)):
        return load_model(model)
    return model


def _check_text(text: object, fn: str) -> str:
    if not isinstance(text, str):
        raise TypeError(
            f"{fn}() expects the page as str, got {type(text).__name__}; "
            "decode bytes first, e.g. data.decode('utf-8', errors='replace')"
        )
    return text


def classify(
    text: str, model: Pipeline | str | Path | None = None, threshold: float | None = None
) -> pd.DataFrame:
    """One row per paragraph: index, start, end, text, label, proba and p_<class> for each of
    the five classes. ``label`` is core-story exactly when ``clean`` (same ``threshold``)
    keeps the paragraph, else its most probable other class; ``proba`` is p(label)."""
    import numpy as np
    import pandas as pd

    paras = segment(_check_text(text, "classify"))
    check_threshold(threshold)
    pipe = _resolve(model)
    proba = pipe.predict_proba([paras])[0]
    try:
        df = pd.DataFrame(paras, columns=list(Paragraph._fields))
    except UnicodeEncodeError:
        # pandas' Arrow-backed string dtype cannot hold a lone surrogate (text decoded with
        # errors="surrogateescape"); keep such texts unchanged in an object column instead.
        df = pd.DataFrame(
            {
                "index": [p.index for p in paras],
                "start": [p.start for p in paras],
                "end": [p.end for p in paras],
                "text": pd.Series([p.text for p in paras], dtype=object),
            }
        )
    keep = core_mask(proba, _threshold(pipe, threshold)) if len(paras) else np.zeros(0, dtype=bool)
    labels = paragraph_labels(proba, keep)
    df["label"] = pd.Series(labels, dtype=object)
    df["proba"] = (
        proba[range(len(paras)), [CLASSES.index(lab) for lab in labels]]
        if len(paras)
        else pd.Series(dtype=float)
    )
    for j, c in enumerate(CLASSES):
        df[f"p_{c}"] = proba[:, j] if len(paras) else pd.Series(dtype=float)
    return df


def _threshold(pipe: Pipeline, threshold: float | None) -> float | None:
    return default_threshold(pipe) if threshold is None else threshold


def check_threshold(threshold: float | None) -> float | None:
    """``threshold`` itself when it is None or a number in [0, 1]; else ValueError (TypeError
    for what is not a number): p(core-story) lies in [0, 1], so a threshold outside it would
    silently keep everything or nothing."""
    if threshold is None:
        return None
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number in [0, 1] or None, got {type(threshold).__name__}")
    if not 0.0 <= threshold <= 1.0:  # NaN fails this too
        raise ValueError(
            f"threshold must lie in [0, 1] (the p(core-story) at which a paragraph is kept), got {threshold!r}"
        )
    return threshold


def clean(text: str, model: Pipeline | str | Path | None = None, threshold: float | None = None) -> str:
    """The core-story paragraphs of ``text`` in their original order and wording, joined
    by newlines. ``threshold`` (in [0, 1]; outside it is a ValueError) keeps paragraphs with
    p(core-story) >= it: lower it for recall, raise it for precision; None uses the model's
    own (see ``default_threshold``). Any ``str`` is a page: it never raises on the text."""
    return next(clean_many([_check_text(text, "clean")], model=model, threshold=check_threshold(threshold)))


def clean_many(
    texts: Iterable[str],
    model: Pipeline | str | Path | None = None,
    threshold: float | None = None,
    batch_size: int = BATCH_SIZE,
) -> Iterator[str]:
    """``clean`` over many pages, batched so the model runs once per batch; lazy, in order."""
    if isinstance(texts, (str, bytes, bytearray)) or not hasattr(texts, "__iter__"):
        raise TypeError(
            f"clean_many() expects an iterable of pages (str), got {type(texts).__name__}; "
            "for one page call clean(text); decode bytes first, e.g. "
            "data.decode('utf-8', errors='replace')"
        )
    return _clean_many(texts, model, check_threshold(threshold), batch_size)


def _clean_many(
    texts: Iterable[str], model: Pipeline | str | Path | None, threshold: float | None, batch_size: int
) -> Iterator[str]:
    pipe = _resolve(model)
    threshold = _threshold(pipe, threshold)
    for paras, proba in predict_many(texts, pipe, batch_size):
        keep = core_mask(proba, threshold) if len(paras) else ()
        yield "\n".join(p.text for p, k in zip(paras, keep) if k)


def predict_many(
    texts: Iterable[str], model: Pipeline | str | Path | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[tuple[list[Paragraph], np.ndarray]]:
    """Per page, its paragraphs and their class probabilities (columns in ``CLASSES`` order);
    batched so the model runs once per ``batch_size`` pages; lazy, in order. The one place
    that runs the model on pages: ``clean_many`` and the batch CLI build on it."""
    pipe = _resolve(model)
    batch: list[list[Paragraph]] = []
    for text in texts:
        batch.append(segment(_check_text(text, "clean_many")))
        if len(batch) >= batch_size:
            yield from zip(batch, pipe.predict_proba(batch))
            batch = []
    if batch:
        yield from zip(batch, pipe.predict_proba(batch))
