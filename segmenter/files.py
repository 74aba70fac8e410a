"""Plain page files in and out: folders, globs and lists of files, read as UTF-8 text and
cleaned by the worker pool and ``on_error`` policy of :mod:`segmenter.batch`.

    from segmenter.files import clean_files, collect
    inputs = collect(["crawl/"])                          # every file under crawl/
    stats = clean_files(inputs.sources, "clean/", jobs=2, on_error="skip")

Each input is written to the same relative path under the output folder (a folder's files
relative to it, a glob's relative to the folder before its first wildcard, a file by its
name), whole or not at all; or to stdout as text or as JSON lines naming the file.
"""

from __future__ import annotations

import glob
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from .batch import _NO_ID, BatchError, BatchStats, _Item, _prepare, _run

if TYPE_CHECKING:  # pragma: no cover
    from sklearn.pipeline import Pipeline

FORMATS = ("text", "jsonl")
#: a file is binary, not text, when it has a NUL byte or more than this share of control bytes
BINARY_CONTROL_SHARE = 0.3
#: undecodable lines named in the warning (``verbose``: all of them); the rest are counted
SHOWN_LINES = 5
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\v\f\r") + b"\x7f"
_MAGIC = frozenset("*?[")


class InputError(ValueError):
    """An input file cannot be used; the message names the file (and line)."""


def _warn(message: str) -> None:
    print(f"segmenter: warning: {message}", file=sys.stderr)


# -- reading one page --------------------------------------------------------------------------
def read_page(
    path: str,
    on_decode_error: str = "replace",
    warn: Callable[[str], None] | None = _warn,
    verbose: bool = False,
) -> str:
    """The page text of a file, or of stdin for ``-``; offsets stay true (no newline
    translation). A binary file (a NUL byte, or mostly control bytes) raises ``InputError``
    naming it. Bytes that are not UTF-8 are replaced, with one warning that names the first
    undecodable lines as FILE:LINE (``verbose``: every one) and counts them all, or
    (``on_decode_error="fail"``) raise ``InputError`` naming the first. An empty page (no
    non-blank line) is warned about. ``OSError`` (missing, a folder, no permission) passes."""
    warn = warn or (lambda message: None)
    if path == "-":
        data, where = sys.stdin.buffer.read(), "<stdin>"
    else:
        with open(path, "rb") as fh:
            data = fh.read()
        where = path
    _refuse_binary(data, where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        bad = undecodable_lines(data)
        line, byte, col = bad[0]
        place = f"{where}:{line}: not valid UTF-8 (byte {byte}, column {col})"
        if on_decode_error == "fail":
            raise InputError(f"{place}; decode it first or pass --on-decode-error replace") from None
        warn(place + _more_lines(bad, None if verbose else SHOWN_LINES) + "; undecodable bytes replaced")
        text = data.decode("utf-8", errors="replace")
    if not text.strip():
        warn(f"{where}: empty input ({'no bytes' if not data else 'only blank lines'}); nothing to keep")
    return text


def _refuse_binary(data: bytes, where: str) -> None:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{where}: UTF-16 text, not UTF-8; convert it first (iconv -f UTF-16 -t UTF-8)")
    if b"\0" in data:
        raise InputError(f"{where}: a binary file (it has NUL bytes), not text; give text files (UTF-8)")
    control = len(data) - len(data.translate(None, _CONTROL))
    if data and control > BINARY_CONTROL_SHARE * len(data):
        raise InputError(
            f"{where}: a binary file ({100 * control / len(data):.0f} % control bytes), not text; "
            "give text files (UTF-8)"
        )


def undecodable_lines(data: bytes) -> list[tuple[int, int, int]]:
    """(line, byte offset in the file, column) of the first bad byte of every line of
    ``data`` that is not valid UTF-8; lines, columns from 1, offsets from 0."""
    bad = []
    offset = 0
    for line, raw in enumerate(data.split(b"\n"), 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((line, offset + exc.start, exc.start + 1))
        offset += len(raw) + 1
    return bad


def _more_lines(bad: Sequence[tuple[int, int, int]], shown: int | None) -> str:
    if len(bad) == 1:
        return ""
    rest = [str(line) for line, _, _ in bad[1:]]
    named = rest if shown is None else rest[: shown - 1]
    more = len(rest) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if more else "")
    return f"; also line{'s' if len(rest) > 1 else ''} {listed} ({len(bad)} lines in all)"


# -- what to read: files, folders, globs, lists ------------------------------------------------
class Source(NamedTuple):
    path: str  # as given or found (``-``: stdin)
    rel: str | None  # its path under the output folder; None for stdin


@dataclass
class Inputs:
    sources: list[Source] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # the folders among the inputs
    single: bool = False  # one FILE (or -) given as such: no closing summary line


def collect(
    args: Iterable[str] = (),
    input_file: str | None = None,
    input_dir: str | None = None,
    out_dir: str | Path | None = None,
    warn: Callable[[str], None] | None = _warn,
) -> Inputs:
    """The files to clean, in order: each FILE as given (``-``: stdin), each DIR's files
    (recursively, sorted, hidden files and folders and ``out_dir`` left out), each GLOB's
    matches (``**`` recurses) and the paths listed in ``input_file``, one per line (blank
    lines and ``#`` comments skipped; ``-``: the list on stdin), each of them a FILE, DIR or
    GLOB too. A path that does not exist is kept: reading it is a bad input, under the run's
    policy. A folder, glob or list with no files is warned about."""
    warn = warn or (lambda message: None)
    given = list(args)
    if input_dir is not None:
        if not os.path.isdir(input_dir):
            raise InputError(f"--input-dir {input_dir}: not a folder")
        given.append(input_dir)
    if input_file == "-" and "-" in given:
        raise InputError("- (stdin) can hold the list (-i -) or a page, not both")
    inputs = Inputs()
    exclude = Path(out_dir).resolve() if out_dir is not None else None
    for arg in given:
        _expand(arg, inputs, exclude, warn)
    if input_file is not None:
        listed = _read_list(input_file)
        if not listed:
            warn(f"{input_file}: lists no files (one path per line)")
        for arg in listed:
            _expand(arg, inputs, exclude, warn)
    inputs.single = len(given) == 1 and input_file is None and not inputs.folders and _is_plain(given[0])
    return inputs


def _is_plain(arg: str) -> bool:
    return arg == "-" or os.path.exists(arg) or not _MAGIC & set(arg)


def _expand(arg: str, inputs: Inputs, exclude: Path | None, warn: Callable[[str], None]) -> None:
    if arg == "-":
        inputs.sources.append(Source("-", None))
    elif os.path.isdir(arg):
        inputs.folders.append(arg)
        found = [Source(path, os.path.relpath(path, arg)) for path in _walk(arg, exclude)]
        if not found:
            warn(f"{arg}: no files in this folder (hidden ones are left out)")
        inputs.sources.extend(found)
    elif os.path.exists(arg) or not _MAGIC & set(arg):
        inputs.sources.append(Source(arg, os.path.basename(arg) or arg))
    else:
        base = _glob_base(arg)
        found = [
            Source(path, os.path.relpath(path, base))
            for path in sorted(glob.glob(arg, recursive=True))
            if os.path.isfile(path) and not _under(path, exclude)
        ]
        if not found:
            warn(f"{arg}: matches no files")
        inputs.sources.extend(found)


def _walk(folder: str, exclude: Path | None) -> Iterator[str]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and not _under(os.path.join(root, d), exclude)
        )
        for name in sorted(files):
            if not name.startswith("."):
                yield os.path.join(root, name)


def _under(path: str, folder: Path | None) -> bool:
    if folder is None:
        return False
    resolved = Path(path).resolve()
    return resolved == folder or folder in resolved.parents


def _glob_base(pattern: str) -> str:
    """The folder before the first wildcard of ``pattern``: its matches' paths are relative to it."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."


def _read_list(input_file: str) -> list[str]:
    if input_file == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(input_file, "rb") as fh:
            raw = fh.read()
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{input_file}:{line}: not valid UTF-8; the list holds one path per line") from None
    return [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]


def check_outputs(sources: Sequence[Source], out_dir: str | Path) -> None:
    """Refuse, before any work, an output folder that is a file, stdin to a folder, two inputs
    that would be written to one output, and an output that would overwrite its input."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"-o {out_dir}: is a file, not a folder")
    seen: dict[str, str] = {}
    root = out.resolve()
    for src in sources:
        if src.rel is None:
            raise InputError("- (stdin) has no file name to write under -o OUT; give files, or leave out -o")
        key = os.path.normpath(src.rel)
        if key in seen:
            raise InputError(
                f"{seen[key]} and {src.path} would both be written to {out / key}; give their "
                "folder (DIR) instead, so that the outputs keep their relative paths"
            )
        seen[key] = src.path
        if (root / key).exists() and os.path.samefile(root / key, src.path):
            raise InputError(f"{src.path}: -o {out_dir} would overwrite it; write the output elsewhere")


# -- the run -------------------------------------------------------------------------------------
def clean_files(
    sources: Sequence[Source],
    out_dir: str | Path | None = None,
    model: Pipeline | str | Path | None = None,
    *,
    fmt: str = "text",
    allow_unverified: bool = False,
    threshold: float | None = None,
    labels: bool = False,
    jobs: int = 1,
    on_error: str = "fail",
    on_decode_error: str = "replace",
    progress: bool | None = None,
    report: Callable[[str], None] | None = None,
    warn: Callable[[str], None] | None = None,
    verbose: bool = False,
) -> BatchStats:
    """Clean page files: each to its ``rel`` path under ``out_dir`` (written whole, through a
    temporary file and a rename), or, without ``out_dir``, to stdout in input order as text
    (a blank line between files) or (``fmt="jsonl"``) one JSON line per file with ``file``,
    ``clean`` (and ``labels``). A file that cannot be used (missing, unreadable, binary, or
    with ``on_decode_error="fail"`` not UTF-8) is a bad record under ``on_error``, as in
    :func:`segmenter.batch.clean_jsonl`; so are ``jobs``, ``progress`` (here with a total and an
    ETA) and ``report``. ``warn`` gets the warnings about a page that is still cleaned
    (undecodable bytes, empty); default: stderr, above the progress bar."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if labels and (out_dir is not None or fmt != "jsonl"):
        raise ValueError('labels go into JSON lines only (fmt="jsonl", no out_dir)')
    if out_dir is not None:
        check_outputs(sources, out_dir)
    spec, jobs = _prepare(model, allow_unverified, threshold, labels, jobs, on_error)
    if warn is None:
        from tqdm import tqdm

        def warn(message: str) -> None:
            tqdm.write(f"segmenter: warning: {message}", file=sys.stderr)

    items = _file_items(sources, on_decode_error, warn, verbose)
    sink: _DirSink | _TextSink | _JsonlSink
    if out_dir is not None:
        sink = _DirSink(Path(out_dir))
    elif fmt == "jsonl":
        sink = _JsonlSink(labels)
    else:
        sink = _TextSink()
    return _run(items, sink, spec, jobs, on_error, progress, report, total=len(sources), unit="file")


def _file_items(
    sources: Iterable[Source], on_decode_error: str, warn: Callable[[str], None], verbose: bool
) -> Iterator[_Item]:
    for src in sources:
        try:
            text = read_page(src.path, on_decode_error, warn, verbose)
        except FileNotFoundError:
            yield _Item("", _NO_ID, None, f"{src.path}: no such file", src)
        except IsADirectoryError:
            yield _Item("", _NO_ID, None, f"{src.path}: Is a directory", src)
        except OSError as exc:
            yield _Item("", _NO_ID, None, f"{src.path}: {exc.strerror or exc}", src)
        except InputError as exc:
            yield _Item("", _NO_ID, None, str(exc), src)
        else:
            yield _Item(src.path, _NO_ID, text, None, src)


class _DirSink:
    def __init__(self, root: Path):
        self.root = root

    def write(self, item: _Item, clean: str, labels: list[str] | None) -> None:
        rel = item.payload.rel
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes((clean + "\n" if clean else "").encode("utf-8", "surrogateescape"))
            os.replace(tmp, target)
        except OSError as exc:
            raise BatchError(f"{target}: cannot be written ({exc.strerror or exc})") from None
        finally:
            if tmp.exists():
                tmp.unlink()

    def skip(self, item: _Item) -> None:
        pass

    def finish(self) -> None:
        pass


class _TextSink:
    """The stories one after another on stdout, a blank line between files."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, item: _Item, clean: str, labels: list[str] | None) -> None:
        out = sys.stdout
        out.write(("\n" if self.written else "") + clean + ("\n" if clean else ""))
        out.flush()  # a pipe's reader sees each story as it is done
        self.written += 1

    def skip(self, item: _Item) -> None:
        pass

    def finish(self) -> None:
        sys.stdout.flush()


class _JsonlSink:
    """One JSON line per file on stdout: ``{"file": PATH, "clean": ...}`` (and ``labels``)."""

    def __init__(self, labels: bool):
        self.labels = labels

    def write(self, item: _Item, clean: str, labels: list[str] | None) -> None:
        record: dict = {"file": item.payload.path, "clean": clean}
        if self.labels:
            record["labels"] = labels
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def skip(self, item: _Item) -> None:
        pass

    def finish(self) -> None:
        sys.stdout.flush()
