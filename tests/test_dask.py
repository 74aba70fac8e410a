"""segmenter.dask on a real (local, multi-process) Dask cluster: cleaned pages equal
``segmenter.clean`` page by page and in order, and each worker process loads the model once
however many partitions it cleans."""

import shutil

import pytest

pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

import dask.bag as db  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402
from conftest import WCXB_DATA, wcxb_records  # noqa: E402

import segmenter  # noqa: E402
import segmenter.dask as sdask  # noqa: E402
from segmenter.api import default_model_path  # noqa: E402

N_PAGES = 240
DEFAULT_MODEL = str(default_model_path())


@pytest.fixture(scope="module")
def pages():
    texts = [r["text"] for r in wcxb_records(N_PAGES)]
    assert len(texts) == N_PAGES, f"{WCXB_DATA} has fewer than {N_PAGES} pages"
    return texts


@pytest.fixture(scope="module")
def expected(pages):
    """The single-process reference: ``clean`` on each page by itself."""
    return [segmenter.clean(t) for t in pages]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def worker_loads(client) -> dict[str, dict[str, int]]:
    """Per worker address: model file -> loads in that worker process."""
    return client.run(sdask.model_loads)


def test_clean_series_equals_clean_in_order_with_one_model_load_per_worker(client, pages, expected):
    series = dd.from_pandas(pd.Series(pages, name="text"), npartitions=8)
    cleaned = sdask.clean_series(series)
    assert cleaned.npartitions == 8 and cleaned.name == "text"

    first = cleaned.compute()
    assert first.index.tolist() == list(range(N_PAGES))
    assert first.tolist() == expected
    # a second computation over other partitions reuses the models already in the workers
    second = sdask.clean_series(series.repartition(npartitions=5)).compute()
    assert second.tolist() == expected

    loads = worker_loads(client)
    assert len(loads) == 2
    assert [w.get(DEFAULT_MODEL) for w in loads.values()] == [1, 1], loads
    assert sdask.model_loads().get(DEFAULT_MODEL) is None, "the client itself loaded no model"


def test_clean_bag_equals_clean_in_order(client, pages, expected):
    bag = db.from_sequence(pages[:60], npartitions=4)
    assert sdask.clean_bag(bag).compute() == expected[:60]
    assert all(w.get(DEFAULT_MODEL, 0) <= 1 for w in worker_loads(client).values())


def test_missing_pages_stay_missing(client, pages, expected):
    series = dd.from_pandas(pd.Series([pages[0], None, pages[1]], name="text"), npartitions=2)
    out = sdask.clean_series(series).compute().tolist()
    assert out[0] == expected[0] and pd.isna(out[1]) and out[2] == expected[1]
    with pytest.raises(TypeError, match="expects the page as str"):
        sdask.clean_bag(db.from_sequence([pages[0], b"bytes"], npartitions=1)).compute()


def test_custom_model_is_a_path_loaded_once_per_worker(client, pages, tmp_path, monkeypatch):
    for suffix in (".joblib", ".json"):
        shutil.copy(default_model_path().with_suffix(suffix), tmp_path / f"mine{suffix}")
    custom = str(tmp_path / "mine.joblib")
    reference = segmenter.load_model(custom)
    want = [segmenter.clean(t, model=reference, threshold=0.3) for t in pages[:40]]

    # a relative path is resolved on the client: the workers' working folder is another one
    monkeypatch.chdir(tmp_path)
    series = dd.from_pandas(pd.Series(pages[:40], name="text"), npartitions=4)
    for _ in range(2):
        assert sdask.clean_series(series, model="mine.joblib", threshold=0.3).compute().tolist() == want

    per_worker = [w.get(custom, 0) for w in worker_loads(client).values()]
    assert max(per_worker) == 1, per_worker


def test_a_loaded_pipeline_is_refused_so_it_is_not_shipped_in_the_graph(shipped_model):
    series = dd.from_pandas(pd.Series(["page"], name="text"), npartitions=1)
    with pytest.raises(TypeError, match="as a path"):
        sdask.clean_series(series, model=shipped_model)
    with pytest.raises(TypeError, match="dask.dataframe Series"):
        sdask.clean_series(pd.Series(["page"]))
