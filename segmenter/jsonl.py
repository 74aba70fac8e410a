"""Reading JSONL input files (gzip when the name ends in ``.gz``), every error naming its
``file:line``: one reader for the importer, the evaluation command and the batch CLI."""

from __future__ import annotations

import gzip
import json
import sys
import zlib
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path


def read_jsonl(
    path: str | Path, error: type[Exception] = ValueError, skipped: list[str] | None = None
) -> Iterator[tuple[str, object]]:
    """Yield (``file:line``, parsed value) for each non-blank line. A line that is not UTF-8
    JSON raises ``error`` naming its line, or, given a ``skipped`` list, is reported there and
    skipped. A file that is missing, a folder or unreadable (a damaged gzip) raises ``error``.
    ``-`` reads stdin (plain JSONL), named ``<stdin>`` in messages."""
    stdin = str(path) == "-"
    path = Path(path)
    if not stdin and path.is_dir():
        raise error(f"{path}: is a directory")
    opener = gzip.open if path.name.endswith(".gz") else open
    name = "<stdin>" if stdin else path
    lineno = 0
    try:
        with nullcontext(sys.stdin.buffer) if stdin else opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                if not raw.strip():
                    continue
                where = f"{name}:{lineno}"
                try:
                    value = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    _bad(f"{where}: not valid UTF-8 (byte {exc.start + 1} of the line)", error, skipped)
                    continue
                except json.JSONDecodeError as exc:
                    _bad(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})", error, skipped)
                    continue
                yield where, value
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise error(
            f"{name}:{lineno + 1}: cannot be read ({type(exc).__name__}: "
            f"{getattr(exc, 'strerror', None) or exc})"
        ) from None


def _bad(message: str, error: type[Exception], skipped: list[str] | None) -> None:
    if skipped is None:
        raise error(message)
    skipped.append(message)
