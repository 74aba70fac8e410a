"""Documents into the labelling app: the files of ``seeds/``, a folder of ``.txt`` files, a
JSONL file of ``{"id", "text"}`` lines, pasted text and uploads. Paths are confined to the
allowed folders (through symlinks and ``..``), sizes are capped, and bytes that are not UTF-8
are decoded with a notice saying so."""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..segment import segment
from .store import Document, sha256_text

#: Largest pasted or uploaded document accepted.
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class PathRefused(ValueError):
    """A path the app may not read: outside the allowed folders, missing, or of the wrong kind."""


class UploadTooLarge(ValueError):
    """Pasted or uploaded text above :data:`MAX_UPLOAD_BYTES`."""


def confine(path: str | os.PathLike[str], roots: Sequence[Path], base: Path | None = None) -> Path:
    """``path`` (relative to ``base``) resolved through every symlink and ``..``; PathRefused
    unless it exists inside one of ``roots``."""
    if not str(path).strip():
        raise PathRefused("enter a path")
    raw = Path(os.path.expanduser(str(path).strip()))
    if not raw.is_absolute() and base is not None:
        raw = Path(base) / raw
    try:
        resolved = raw.resolve(strict=True)
    except (FileNotFoundError, NotADirectoryError):
        raise PathRefused(f"{path} does not exist") from None
    except (OSError, RuntimeError) as exc:  # symlink loops, permissions
        raise PathRefused(f"{path} cannot be read: {exc}") from None
    for root in roots:
        if resolved.is_relative_to(Path(root).resolve()):
            return resolved
    allowed = ", ".join(str(r) for r in roots)
    raise PathRefused(
        f"{path} is outside the folders this app may read ({allowed}); "
        "start the app with `streamlit run annotate_app.py -- --allow DIR` to add one"
    )


def decode_bytes(data: bytes, name: str = "upload") -> tuple[str, str | None]:
    """Text of ``data`` and a notice when it was not UTF-8 (then decoded as UTF-16 by its
    byte-order mark, else windows-1252, else latin-1, which never fails)."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        bad = exc.start
    for bom, enc in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(enc), f"{name} is UTF-16 (byte-order mark); decoded as UTF-16"
            except UnicodeDecodeError:
                break
    for enc in ("cp1252", "latin-1"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        return text, (
            f"{name} is not valid UTF-8 (byte 0x{data[bad]:02x} at offset {bad}); "
            f"decoded as {enc}: check accented letters and quotes before labelling"
        )
    raise AssertionError("latin-1 decodes any bytes")  # pragma: no cover


def check_size(n_bytes: int, name: str, limit: int = MAX_UPLOAD_BYTES) -> None:
    """UploadTooLarge when ``n_bytes`` exceeds ``limit``."""
    if n_bytes > limit:
        raise UploadTooLarge(
            f"{name} is {n_bytes / 2**20:.1f} MiB; the limit is {limit / 2**20:.1f} MiB "
            "per document: split it, or load it as a folder of .txt files"
        )


def pasted_document(text: str, limit: int = MAX_UPLOAD_BYTES) -> Document:
    """A document from pasted text (UploadTooLarge above ``limit``, ValueError when empty)."""
    check_size(len(text.encode("utf-8", "surrogatepass")), "the pasted text", limit)
    if not segment(text):
        raise ValueError("the pasted text has no paragraphs (non-blank lines)")
    digest = sha256_text(text)
    return Document(f"pasted/{digest[:16]}", text, digest, source="pasted")


def uploaded_document(name: str, data: bytes, limit: int = MAX_UPLOAD_BYTES) -> tuple[Document, str | None]:
    """A document from uploaded bytes and a decoding notice (UploadTooLarge above ``limit``)."""
    check_size(len(data), name, limit)
    text, notice = decode_bytes(data, name)
    if not segment(text):
        raise ValueError(f"{name} has no paragraphs (non-blank lines)")
    digest = sha256_text(text)
    safe = Path(name).name or "upload"
    return Document(f"upload/{safe}#{digest[:12]}", text, digest, source="upload"), notice


def _doc_id_for(file: Path, project: Path) -> str:
    return file.relative_to(project).as_posix() if file.is_relative_to(project) else file.as_posix()


def _file_document(file: Path, project: Path, store_root: Path) -> tuple[Document, str | None]:
    data = file.read_bytes()
    text, notice = decode_bytes(data, str(file))
    digest = sha256_text(text)
    # The store reads a ``path`` as strict UTF-8; a file that is not keeps its decoded text inline.
    path = os.path.relpath(file, store_root) if notice is None else None
    return Document(_doc_id_for(file, project), text, digest, source="file", path=path), notice


def load_folder(
    path: str | os.PathLike[str], roots: Sequence[Path], project: Path, store_root: Path
) -> tuple[list[Document], list[str]]:
    """The ``.txt`` files of a folder inside ``roots`` as documents, and warnings (files
    linking outside the allowed folders are skipped)."""
    folder = confine(path, roots, project)
    if not folder.is_dir():
        raise PathRefused(f"{path} is not a folder")
    docs: list[Document] = []
    notes: list[str] = []
    for file in sorted(folder.glob("*.txt")):
        try:
            real = confine(file, roots)
        except PathRefused as exc:
            notes.append(f"skipped {file.name}: {exc}")
            continue
        if not real.is_file():
            continue
        doc, notice = _file_document(real, Path(project).resolve(), store_root)
        if not segment(doc.text):
            notes.append(f"skipped {file.name}: no paragraphs")
            continue
        docs.append(doc)
        if notice:
            notes.append(notice)
    if not docs:
        notes.append(f"no .txt documents in {folder}")
    return docs, notes


def load_jsonl(
    path: str | os.PathLike[str], roots: Sequence[Path], project: Path
) -> tuple[list[Document], list[str]]:
    """Documents from a JSONL file of ``{"id", "text"}`` lines inside ``roots``, and warnings
    naming the lines skipped."""
    file = confine(path, roots, project)
    if not file.is_file():
        raise PathRefused(f"{path} is not a file")
    text, notice = decode_bytes(file.read_bytes(), str(file))
    notes = [notice] if notice else []
    docs: list[Document] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{file.name}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            notes.append(f"{where}: skipped, not valid JSON ({exc.msg})")
            continue
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("id"), (str, int))
            or not isinstance(obj.get("text"), str)
        ):
            notes.append(f"{where}: skipped, needs a string 'id' and a string 'text'")
            continue
        doc_id = str(obj["id"])
        if doc_id in seen:
            notes.append(f"{where}: skipped, id {doc_id!r} repeats an earlier line")
            continue
        if not segment(obj["text"]):
            notes.append(f"{where}: skipped, no paragraphs")
            continue
        seen.add(doc_id)
        docs.append(Document(doc_id, obj["text"], sha256_text(obj["text"]), source="jsonl"))
    return docs, notes


def seed_documents(project: Path, store_root: Path) -> list[Document]:
    """The files of ``seeds/``, with ids ``seeds/<name>`` and paths relative to the store."""
    docs, _ = load_folder(Path(project) / "seeds", [Path(project)], project, store_root)
    return docs
