"""Clean pages on a Dask cluster: a crawl too big for one process, on the engine scrapers have.

    import dask.dataframe as dd
    from segmenter.dask import clean_series

    df = dd.read_parquet("crawl/")                    # a column "text", one page per row
    df["story"] = clean_series(df["text"])
    df.to_parquet("cleaned/")

Each partition is cleaned with ``segmenter.clean_many`` (same output as ``clean`` page by
page). The model is loaded once per worker process and kept there: the task graph carries
only the model's path, never the pickled pipeline, so tasks stay small and partitions after
the first do not pay for a load. Needs the ``dask`` extra: ``pip install "segmenter[dask]"``.
"""

from __future__ import annotations

# This module is segmenter.dask; absolute imports (the Python 3 default) make "dask" below
# the top-level Dask package, not this file.
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask.bag as db
import dask.dataframe as dd
import pandas as pd

from . import api

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.pipeline import Pipeline

__all__ = ["clean_series", "clean_bag", "model_loads"]

# Per process (so per Dask worker process): the models loaded so far, and how many loads of
# each model file happened. The lock makes a worker with several threads load a model once.
_MODELS: dict[tuple[str | None, bool], Pipeline] = {}
_LOADS: dict[str, int] = {}
_LOCK = threading.Lock()


def model_loads() -> dict[str, int]:
    """Model file -> how many times this process loaded it for segmenter.dask. On a worker
    each model it used shows 1, however many partitions it cleaned; ask every worker with
    ``client.run(segmenter.dask.model_loads)``."""
    with _LOCK:
        return dict(_LOADS)


def _worker_model(path: str | None, allow_unverified: bool) -> Pipeline:
    """The model at ``path`` (None: the shipped one), loaded on first use in this process."""
    key = (path, allow_unverified)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = api.load_model(path, allow_unverified=allow_unverified)
            _MODELS[key] = model
            name = path if path is not None else str(api.default_model_path())
            _LOADS[name] = _LOADS.get(name, 0) + 1
    return model


def _model_path(model: str | os.PathLike | None) -> str | None:
    """What the task graph carries: an absolute path string (or None for the shipped model).
    A fitted pipeline is refused: it would be pickled into the graph and shipped with tasks."""
    if model is None:
        return None
    if isinstance(model, (str, os.PathLike)):
        # Absolute against the client's working directory: a worker's may differ.
        return str(Path(model).absolute())
    raise TypeError(
        f"segmenter.dask takes the model as a path (str or os.PathLike) that every "
        f"worker can read, got {type(model).__name__}; a loaded pipeline would be "
        "shipped inside the task graph instead of loaded once per worker"
    )


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _clean_values(
    values: Iterable[Any],
    path: str | None,
    threshold: float | None,
    allow_unverified: bool,
    batch_size: int,
) -> list[object]:
    """Clean each page; a missing value (None, NaN, NA: a page that was not fetched) stays
    missing, any other non-str raises TypeError as ``clean`` does."""
    values = list(values)
    pages = [v for v in values if not _is_missing(v)]
    if not pages:
        return values
    model = _worker_model(path, allow_unverified)
    cleaned = iter(api.clean_many(pages, model=model, threshold=threshold, batch_size=batch_size))
    return [v if _is_missing(v) else next(cleaned) for v in values]


def _output_dtype(dtype: object) -> object:
    """Keep a string dtype of the input (Arrow strings stay Arrow strings); anything else
    becomes object. Cleaned text is a subset of the page's characters, so it fits wherever
    the page did."""
    return dtype if isinstance(dtype, pd.StringDtype) else object


def _clean_partition(
    part: pd.Series, path: str | None, threshold: float | None, allow_unverified: bool, batch_size: int
) -> pd.Series:
    """Clean one pandas partition: same index, name and (string) dtype."""
    values = _clean_values(part.tolist(), path, threshold, allow_unverified, batch_size)
    return pd.Series(values, index=part.index, name=part.name, dtype=_output_dtype(part.dtype))


def clean_series(
    series: dd.Series,
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    *,
    allow_unverified: bool = False,
    batch_size: int = api.BATCH_SIZE,
) -> dd.Series:
    """A lazy Dask Series of the cleaned pages of ``series``, partition for partition, same
    index and name. ``model`` is a path every worker can read (None: the shipped model);
    ``threshold`` and ``allow_unverified`` mean what they do for ``clean``/``load_model``."""
    if not isinstance(series, dd.Series):
        raise TypeError(
            f"clean_series() expects a dask.dataframe Series, got {type(series).__name__}; "
            "for a DataFrame pass its text column, e.g. df['text']"
        )
    path = _model_path(model)
    meta = pd.Series([], dtype=_output_dtype(series.dtype), name=series.name)
    return series.map_partitions(_clean_partition, path, threshold, allow_unverified, batch_size, meta=meta)


def clean_bag(
    bag: db.Bag,
    model: str | os.PathLike | None = None,
    threshold: float | None = None,
    *,
    allow_unverified: bool = False,
    batch_size: int = api.BATCH_SIZE,
) -> db.Bag:
    """A lazy Dask Bag of the cleaned pages of ``bag`` (a Bag of str, e.g.
    ``db.read_text("crawl/*.jsonl.gz").map(json.loads).pluck("text")``), in order."""
    if not isinstance(bag, db.Bag):
        raise TypeError(f"clean_bag() expects a dask.bag Bag, got {type(bag).__name__}")
    return bag.map_partitions(_clean_values, _model_path(model), threshold, allow_unverified, batch_size)
