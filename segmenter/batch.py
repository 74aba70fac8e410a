"""Batch cleaning: JSONL or Parquet records in, the same records plus ``clean`` (and, asked
for, ``labels``) out, streamed in chunks in input order, optionally across worker processes.

    from segmenter.batch import clean_jsonl, clean_parquet
    stats = clean_jsonl("pages.jsonl.gz", "clean.jsonl.gz", jobs=2, on_error="skip")

``clean`` is exactly ``segmenter.clean(text, threshold=threshold)``; ``labels`` has one label
per paragraph (non-blank line) of the text, and agrees with ``clean``: a paragraph is
``core-story`` exactly when it is kept (under a threshold, a paragraph that is not kept gets
its most probable other label). Memory stays bounded whatever the input size: the input is
read as it goes, and at most ``2 * jobs`` chunks of records are in flight.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import zlib
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .api import check_threshold, load_model, predict_many
from .decision import core_mask, default_threshold, paragraph_labels
from .jsonl import read_jsonl

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.pipeline import Pipeline

ON_ERROR = ("fail", "skip")
#: a chunk (the unit of work sent to a worker) closes at this many records or characters of text;
#: the model takes ~100 bytes per character of a batch at its peak, so this bounds memory
CHUNK_RECORDS = 16
CHUNK_CHARS = 500_000
#: Parquet output: a row group is written once this many rows or bytes are buffered
ROW_GROUP_ROWS = 10_000
ROW_GROUP_BYTES = 32 << 20


class BatchError(ValueError):
    """A record or an input that stops the run; the message names ``IN:LINE`` (or ``IN:row N``)."""


@dataclass
class BatchStats:
    records: int = 0  # read, bad ones included
    written: int = 0
    skipped: int = 0


_NO_ID = object()


class _Item(NamedTuple):
    where: str  # "IN:LINE", "IN:row N"; "" when ``problem`` names it already
    rid: object  # the record's id, _NO_ID when it has none
    text: str | None  # None when the record cannot be cleaned
    problem: str | None  # why not (a bad record), or the input's fatal error
    payload: Any  # what the writer needs: the record (JSONL), (batch, row) (Parquet)
    fatal: bool = False  # the input cannot be read further


class _Spec(NamedTuple):
    model: object  # a Pipeline, or a path (None: the shipped model) for workers to load
    allow_unverified: bool
    threshold: float | None
    labels: bool


def clean_jsonl(
    src: str | Path,
    dst: str | Path,
    model: Pipeline | str | Path | None = None,
    *,
    allow_unverified: bool = False,
    threshold: float | None = None,
    labels: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    jobs: int = 1,
    on_error: str = "fail",
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
) -> BatchStats:
    """Clean JSONL records (``-``: stdin/stdout; ``.gz``: gzip) into ``dst``, one output line
    per record with every field kept plus ``clean`` (and ``labels``), in input order.

    A bad record (a line that is not UTF-8 JSON, not an object, without a string
    ``text_field``, or whose cleaning raised) raises ``BatchError`` naming ``IN:LINE`` and its
    id (``on_error="fail"``; the records before it are written), or is left out and passed to
    ``report`` (``"skip"``; default: a warning on stderr). ``jobs`` worker processes (0: one
    per core) each load the model once; they are spawned, so a script that asks for them runs
    under ``if __name__ == "__main__":``. ``progress``: a bar on stderr (None: when a terminal)."""
    _check_paths(src, dst)
    spec, jobs = _prepare(model, allow_unverified, threshold, labels, jobs, on_error)
    total = _count_records(src) if _bar_shows(progress) else None
    items = _jsonl_items(src, text_field, id_field)
    with _open_out(dst) as out:
        sink = _JsonlSink(out, labels, flush=str(dst) == "-")
        return _run(items, sink, spec, jobs, on_error, progress, report, total)


def clean_parquet(
    src: str | Path,
    dst: str | Path,
    model: Pipeline | str | Path | None = None,
    *,
    allow_unverified: bool = False,
    threshold: float | None = None,
    labels: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    jobs: int = 1,
    on_error: str = "fail",
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
) -> BatchStats:
    """``clean_jsonl`` for Parquet (needs pyarrow): read in record batches, written with
    every column kept plus ``clean`` (string) and ``labels`` (list of strings) row group by
    row group. ``dst`` may be ``-`` (stdout); ``src`` must be a file (Parquet keeps its index
    at the end). Bad rows are named ``IN:row N`` (from 1)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchError("Parquet needs pyarrow: pip install 'segmenter[parquet]'") from None
    if str(src) == "-":
        raise BatchError(
            "Parquet cannot be read from stdin (its index is at the end of the file); give a file"
        )
    _check_paths(src, dst)
    spec, jobs = _prepare(model, allow_unverified, threshold, labels, jobs, on_error)
    try:
        pf = pq.ParquetFile(src)
    except (OSError, pa.ArrowException) as exc:
        raise BatchError(f"{src}: not a readable Parquet file ({exc})") from None
    try:
        schema = pf.schema_arrow
        _check_text_column(schema, text_field, src)
        out_schema = _ParquetSink.transform(schema.empty_table(), [], [], [], labels).schema
        items = _parquet_items(pf, src, text_field, id_field)
        with _open_out(dst, gz=False) as out:
            writer = pq.ParquetWriter(out, out_schema)
            try:
                sink = _ParquetSink(writer, labels)
                total = pf.metadata.num_rows
                return _run(items, sink, spec, jobs, on_error, progress, report, total)
            finally:
                writer.close()  # the footer: the row groups written so far stay readable
    finally:
        pf.close()


# -- the run: read items, clean them in chunks (here or in workers), write in order -----------
def _prepare(model, allow_unverified, threshold, labels, jobs, on_error) -> tuple[_Spec, int]:
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be one of {ON_ERROR}, got {on_error!r}")
    if not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"jobs must be an int >= 0 (0: one per core), got {jobs!r}")
    check_threshold(threshold)
    if jobs == 0:
        jobs = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    loaded = model
    if model is None or isinstance(model, (str, Path)):
        loaded = load_model(model, allow_unverified=allow_unverified)  # refuse a bad artifact up front
        model = loaded if jobs == 1 else model  # workers load it themselves, from the path
    if threshold is None:
        threshold = default_threshold(loaded)
    return _Spec(model, allow_unverified, threshold, labels), jobs


def _bar_shows(progress: bool | None) -> bool:
    """Whether ``_run`` shows a progress bar (None: when stderr is a terminal)."""
    return sys.stderr.isatty() if progress is None else progress


def _run(
    items: Iterable[_Item],
    sink,
    spec: _Spec,
    jobs: int,
    on_error: str,
    progress: bool | None,
    report: Callable[[str], None] | None,
    total: int | None = None,
    unit: str = "rec",
) -> BatchStats:
    """Clean ``items`` into ``sink`` under the ``on_error`` policy; a progress bar on stderr
    with ``total`` (then also an ETA) when it is known."""
    from tqdm import tqdm

    stats = BatchStats()
    bar = tqdm(
        total=total,
        unit=unit,
        file=sys.stderr,
        disable=not _bar_shows(progress),
        mininterval=0.5,
        dynamic_ncols=True,
    )
    if report is None:

        def report(message: str) -> None:
            tqdm.write(f"segmenter: warning: {message}; skipped", file=sys.stderr)

    outcomes = _outcomes(items, spec, jobs)
    try:
        for item, clean, labels, problem in outcomes:
            if item.fatal:
                raise BatchError(item.problem)
            stats.records += 1
            bar.update()
            if problem is None:
                sink.write(item, clean, labels)
                stats.written += 1
                continue
            message = ": ".join(filter(None, (item.where, _show_id(item.rid), problem)))
            if on_error == "fail":
                raise BatchError(message)
            stats.skipped += 1
            sink.skip(item)
            report(message)
    except BatchError:
        sink.finish()  # what came before the bad record is written
        raise
    else:
        sink.finish()
    finally:
        outcomes.close()
        bar.close()
    return stats


def _outcomes(items: Iterable[_Item], spec: _Spec, jobs: int) -> Generator[tuple, None, None]:
    """(item, clean, labels, problem) for every item, in input order."""
    chunks = _chunks(items)
    if jobs == 1:
        for chunk in chunks:
            yield from _merge(chunk, _clean_texts(_texts(chunk), spec))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn: the same on every platform, and no fork of a process that runs threads
    pool = ProcessPoolExecutor(
        jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker, initargs=(spec,)
    )
    pending: deque = deque()
    try:
        for chunk in chunks:
            pending.append((chunk, pool.submit(_work, _texts(chunk))))
            if len(pending) >= 2 * jobs:
                chunk, future = pending.popleft()
                yield from _merge(chunk, future.result())
        while pending:
            chunk, future = pending.popleft()
            yield from _merge(chunk, future.result())
    except BrokenProcessPool as exc:
        raise BatchError(
            f"a worker process stopped unexpectedly ({exc}); out of memory? try fewer --jobs"
        ) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Iterable[_Item]) -> Iterator[list[_Item]]:
    chunk: list[_Item] = []
    chars = 0
    for item in items:
        chunk.append(item)
        chars += len(item.text or "")
        if len(chunk) >= CHUNK_RECORDS or chars >= CHUNK_CHARS or item.fatal:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _texts(chunk: list[_Item]) -> list[str]:
    return [item.text for item in chunk if item.problem is None and item.text is not None]


def _merge(chunk: list[_Item], results: list[tuple]) -> Iterator[tuple]:
    done = iter(results)
    for item in chunk:
        yield (item, None, None, item.problem) if item.problem is not None else (item, *next(done))


# -- cleaning a chunk of texts: the same keep rule as segmenter.clean ---------------------------
_WORKER_SPEC: _Spec | None = None


def _init_worker(spec: _Spec) -> None:
    """Once per worker process: load the model, one BLAS thread (the workers are the
    parallelism), and leave Ctrl-C to the parent."""
    import signal

    from threadpoolctl import threadpool_limits

    global _WORKER_SPEC
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threadpool_limits(1)
    model = spec.model
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model, allow_unverified=spec.allow_unverified)
    _WORKER_SPEC = spec._replace(model=model)


def _work(texts: list[str]) -> list[tuple]:
    assert _WORKER_SPEC is not None, "_init_worker runs before any work"
    return _clean_texts(texts, _WORKER_SPEC)


def _clean_texts(texts: list[str], spec: _Spec) -> list[tuple]:
    """(clean, labels or None, problem) per text. The chunk runs as one model batch; if that
    raises, page by page, so that only the page at fault is a bad record."""
    try:
        return [
            _outcome(paras, proba, spec)
            for paras, proba in predict_many(texts, spec.model, batch_size=max(1, len(texts)))
        ]
    except Exception:
        return [_failed(text, spec) for text in texts]


def _failed(text: str, spec: _Spec) -> tuple:
    try:
        return _outcome(*next(predict_many([text], spec.model, batch_size=1)), spec)
    except Exception as exc:  # the page's fault, or the model's: a bad record either way
        return None, None, f"cleaning failed ({type(exc).__name__}: {exc})"


def _outcome(paras, proba, spec: _Spec) -> tuple:
    if not len(paras):
        return "", [] if spec.labels else None, None
    keep = core_mask(proba, spec.threshold)
    clean = "\n".join(p.text for p, k in zip(paras, keep) if k)
    if not spec.labels:
        return clean, None, None
    return clean, paragraph_labels(proba, keep), None


# -- JSONL ---------------------------------------------------------------------------------------
def _count_records(src) -> int | None:
    """The non-blank lines of a JSONL file, for the progress bar's total and ETA (one quick
    pass before the run); None for stdin, which cannot be read twice, or an unreadable file
    (the run names the problem)."""
    if str(src) == "-":
        return None
    opener = gzip.open if str(src).endswith(".gz") else open
    try:
        with opener(src, "rb") as fh:
            return sum(1 for raw in fh if not raw.isspace())
    except (OSError, EOFError, zlib.error):
        return None


def _jsonl_items(src, text_field: str, id_field: str) -> Iterator[_Item]:
    skipped: list[str] = []  # read_jsonl puts lines that are not UTF-8 JSON here, and goes on
    try:
        for where, value in read_jsonl(src, BatchError, skipped):
            yield from (_Item("", _NO_ID, None, message, None) for message in skipped)
            skipped.clear()
            yield _record_item(where, value, text_field, id_field)
        yield from (_Item("", _NO_ID, None, message, None) for message in skipped)
    except BatchError as exc:  # unreadable from here on (a damaged gzip): after what came before
        yield _Item("", _NO_ID, None, str(exc), None, fatal=True)


def _record_item(where: str, value: object, text_field: str, id_field: str) -> _Item:
    if not isinstance(value, dict):
        return _Item(where, _NO_ID, None, f"not a JSON object ({_json_type(value)})", value)
    rid = value.get(id_field, _NO_ID)
    if text_field not in value:
        return _Item(where, rid, None, f"no {json.dumps(text_field)} field", value)
    text = value[text_field]
    if not isinstance(text, str):
        return _Item(where, rid, None, f"{json.dumps(text_field)} is {_json_type(text)}, not a string", value)
    return _Item(where, rid, text, None, value)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    for kind, name in (
        (bool, "a boolean"),
        ((int, float), "a number"),
        (str, "a string"),
        (list, "a list"),
        (dict, "an object"),
    ):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


def _show_id(rid: object) -> str:
    if rid is _NO_ID:
        return ""
    shown = json.dumps(rid, ensure_ascii=False, default=str)
    return f"id={shown if len(shown) <= 80 else shown[:77] + '...'}"


class _JsonlSink:
    def __init__(self, out, labels: bool, flush: bool):
        self.out, self.labels, self.flush, self.pending = out, labels, flush, 0

    def write(self, item: _Item, clean: str, labels: list[str] | None) -> None:
        record = item.payload
        record["clean"] = clean
        if self.labels:
            record["labels"] = labels
        try:
            line = json.dumps(record, ensure_ascii=False)
            data = line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
            data = json.dumps(record).encode("ascii")
        self.out.write(data + b"\n")  # one write per record: never half a line of ours
        self.pending += 1
        if self.flush and self.pending >= CHUNK_RECORDS:  # a pipe's reader sees progress
            self.out.flush()
            self.pending = 0

    def skip(self, item: _Item) -> None:
        pass

    def finish(self) -> None:
        self.out.flush()


# -- Parquet -------------------------------------------------------------------------------------
def _check_text_column(schema, text_field: str, src) -> None:
    import pyarrow as pa

    if text_field not in schema.names:
        raise BatchError(
            f"{src}: no column {text_field!r} (columns: {', '.join(schema.names)}); "
            "name the text column with --text-field"
        )
    kind = schema.field(text_field).type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_view(kind)):
        raise BatchError(f"{src}: column {text_field!r} holds {schema.field(text_field).type}, not strings")


def _parquet_items(pf, src, text_field: str, id_field: str) -> Iterator[_Item]:
    import pyarrow as pa

    row = 0
    has_id = id_field in pf.schema_arrow.names
    try:
        for batch in pf.iter_batches(batch_size=CHUNK_RECORDS):
            texts = batch.column(batch.schema.get_field_index(text_field)).to_pylist()
            ids = (
                batch.column(batch.schema.get_field_index(id_field)).to_pylist()
                if has_id
                else [_NO_ID] * len(texts)
            )
            for i, (text, rid) in enumerate(zip(texts, ids)):
                row += 1
                if text is None:
                    yield _Item(
                        f"{src}:row {row}", rid, None, f"{json.dumps(text_field)} is null", (batch, i)
                    )
                else:
                    yield _Item(f"{src}:row {row}", rid, text, None, (batch, i))
    except (OSError, pa.ArrowException) as exc:
        yield _Item("", _NO_ID, None, f"{src}:row {row + 1}: cannot be read ({exc})", None, fatal=True)


class _ParquetSink:
    """Keeps the rows of the current input batch that are written, appends ``clean`` (and
    ``labels``), and writes a row group when enough is buffered."""

    def __init__(self, writer, labels: bool):
        self.writer, self.labels = writer, labels
        self.batch: Any = None
        self.rows: list[int] = []
        self.cleans: list[str] = []
        self.label_lists: list[list[str] | None] = []
        self.tables: list[Any] = []
        self.buffered_rows, self.buffered_bytes = 0, 0

    @staticmethod
    def transform(table, rows: list[int], cleans: list[str], label_lists: list, labels: bool = False):
        import pyarrow as pa

        table = table.take(pa.array(rows, pa.int64()))
        new = [("clean", pa.array(cleans, pa.string()))]
        if labels:
            new.append(("labels", pa.array(label_lists, pa.list_(pa.string()))))
        for name, column in new:
            if name in table.column_names:  # replaced, not duplicated
                table = table.remove_column(table.schema.get_field_index(name))
            table = table.append_column(pa.field(name, column.type), column)
        return table

    def _switch(self, batch) -> None:
        if batch is self.batch:
            return
        self._end_batch()
        self.batch = batch

    def _end_batch(self) -> None:
        if self.batch is None:
            return
        import pyarrow as pa

        if self.rows:
            table = self.transform(
                pa.Table.from_batches([self.batch]), self.rows, self.cleans, self.label_lists, self.labels
            )
            self.tables.append(table)
            self.buffered_rows += table.num_rows
            self.buffered_bytes += table.nbytes
        self.batch, self.rows, self.cleans, self.label_lists = None, [], [], []
        if self.buffered_rows >= ROW_GROUP_ROWS or self.buffered_bytes >= ROW_GROUP_BYTES:
            self._write()

    def _write(self) -> None:
        if self.tables:
            import pyarrow as pa

            self.writer.write_table(pa.concat_tables(self.tables))
        self.tables, self.buffered_rows, self.buffered_bytes = [], 0, 0

    def write(self, item: _Item, clean: str, labels: list[str] | None) -> None:
        batch, row = item.payload
        self._switch(batch)
        self.rows.append(row)
        self.cleans.append(clean)
        self.label_lists.append(labels)

    def skip(self, item: _Item) -> None:
        self._switch(item.payload[0])

    def finish(self) -> None:
        self._end_batch()
        self._write()


# -- files -----------------------------------------------------------------------------------------
def _check_paths(src, dst) -> None:
    if str(src) != "-":
        if not Path(src).exists():
            raise BatchError(f"{src}: no such file")
        if Path(src).is_dir():
            raise BatchError(f"{src}: is a directory")
        if str(dst) != "-" and Path(dst).exists() and os.path.samefile(src, dst):
            raise BatchError(f"{dst} is the input file; write the output elsewhere")


class _open_out:
    """``dst`` for writing bytes: stdout for ``-``, gzip when it ends in ``.gz``. On the way
    out the file is closed (a gzip gets its trailer), so what was written stays readable."""

    def __init__(self, dst, gz: bool = True):
        self.dst, self.gz = dst, gz

    def __enter__(self):
        if str(self.dst) == "-":
            self.fh = None
            return sys.stdout.buffer
        path = str(self.dst)
        self.fh = gzip.open(path, "wb") if self.gz and path.endswith(".gz") else open(path, "wb")
        return self.fh

    def __exit__(self, *exc) -> None:
        if self.fh is not None:
            self.fh.close()
        else:
            sys.stdout.buffer.flush()
