"""The label store: documents and per-paragraph decisions as JSONL files under ``labels/``.

One format for the app, the importers and training. Files in a store folder:

* ``*.documents.jsonl[.gz]`` -- one document per line: ``doc_id``, ``sha256`` of its text and
  either the ``text`` itself or a ``path`` (relative to the store folder) holding it,
  plus optional ``source``, ``license``, ``url``.
* ``*.labels.jsonl[.gz]`` -- one decision per line: the document (``doc_id``, ``doc_sha256``),
  the paragraph (``index``, ``start``, ``end``, ``text_sha256``), the ``label``, the
  ``annotator``, the ``time`` and, for a reviewer's decision, ``adjudicated: true``.
  ``retracted: true`` marks an undo: the annotator withdraws their decision about that
  paragraph (the ``label`` field then names the label withdrawn).

Appends take a lock, write one record with one ``write`` call and ``fsync``, so several
annotators (processes) can write at once and a crash loses at most the record being written.
Such a crash can leave a torn (unterminated, unparseable) last line: readers that pass a
``torn`` list skip it and report it there, and the next append moves the fragment to
``<file>.torn`` before writing, so it never glues itself to a good record.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tempfile
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from ..labels import ALLOWED_LABELS
from ..segment import Paragraph, segment

DOCS_SUFFIX = ".documents.jsonl"
LABELS_SUFFIX = ".labels.jsonl"
DEFAULT_SHARD = "annotations"


class LabelStoreError(ValueError):
    """A store file is malformed; the message names the file and line."""


def sha256_text(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (lone surrogates escaped rather than refused)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def paragraph_hash(text: str) -> str:
    """Short (64-bit) hash naming a paragraph's text in a label record."""
    return sha256_text(text)[:16]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Document:
    """A labelled page. ``text`` is loaded from ``path`` when the record names a file."""

    doc_id: str
    text: str
    sha256: str
    source: str | None = None
    license: str | None = None
    url: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class LabelRecord:
    """One annotator's decision about one paragraph of one document."""

    doc_id: str
    doc_sha256: str
    index: int
    start: int
    end: int
    text_sha256: str
    label: str
    annotator: str
    time: str
    adjudicated: bool = False
    #: An undo: this annotator no longer has a decision about this paragraph.
    retracted: bool = False

    def to_json(self) -> str:
        d = asdict(self)
        for flag in ("adjudicated", "retracted"):
            if not d[flag]:
                del d[flag]
        return _dumps(d)


@dataclass(frozen=True)
class Problem:
    """A record that could not be used, and why (reported, never silently used)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _check_label(label: object, where: str) -> str:
    if label not in ALLOWED_LABELS:
        raise LabelStoreError(
            f"{where}: unknown label {label!r}; allowed: {', '.join(ALLOWED_LABELS)} "
            "(use one of these, or remove the record)"
        )
    return label


_RECORD_FIELDS = {
    "doc_id": str,
    "doc_sha256": str,
    "index": int,
    "start": int,
    "end": int,
    "text_sha256": str,
    "label": str,
    "annotator": str,
    "time": str,
}


_FIX_LINE = "(fix or remove that line)"


def _parse_label(obj: object, where: str) -> LabelRecord:
    if not isinstance(obj, dict):
        raise LabelStoreError(f"{where}: expected a JSON object, got {type(obj).__name__} {_FIX_LINE}")
    for name, typ in _RECORD_FIELDS.items():
        if name not in obj:
            raise LabelStoreError(f"{where}: missing field {name!r} {_FIX_LINE}")
        if not isinstance(obj[name], typ) or (typ is int and isinstance(obj[name], bool)):
            raise LabelStoreError(f"{where}: field {name!r} should be {typ.__name__} {_FIX_LINE}")
    _check_label(obj["label"], where)
    if not isinstance(obj.get("retracted", False), bool):
        raise LabelStoreError(f"{where}: field 'retracted' should be true or false {_FIX_LINE}")
    return LabelRecord(
        **{k: obj[k] for k in _RECORD_FIELDS},
        adjudicated=bool(obj.get("adjudicated", False)),
        retracted=obj.get("retracted", False),
    )


def _open_bytes(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _iter_json_lines(path: Path, torn: list[Problem] | None = None) -> Iterator[tuple[str, dict]]:
    """Yield (``file:line``, object) for each non-blank line; a bad line raises with its place.

    Lines are split on ``\\n`` and decoded one by one, so bytes that are not UTF-8 are reported
    with their line too. With a ``torn`` list, an unparseable *last* line without a line end
    (an append cut short by a crash, possibly inside a multi-byte character) is skipped and
    reported there instead. A file that cannot be read at all (a damaged gzip) raises naming it."""
    lineno = 0
    try:
        with _open_bytes(path) as fh:
            for lineno, raw in enumerate(fh, 1):
                where = f"{path}:{lineno}"
                # only the file's last line can lack a line end
                unterminated = not raw.endswith(b"\n")
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if torn is not None and unterminated:
                        torn.append(
                            Problem(
                                where,
                                f"torn last line skipped ({len(raw)} bytes, not valid "
                                "UTF-8); an interrupted write?",
                            )
                        )
                        return
                    raise LabelStoreError(
                        f"{where}: not valid UTF-8 (byte {exc.start + 1} of the line); "
                        "the store is UTF-8 JSONL: fix or remove that line"
                    ) from None
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    if torn is not None and unterminated:
                        torn.append(
                            Problem(
                                where,
                                f"torn last line skipped ({len(line)} characters, "
                                f"not valid JSON: {exc.msg}); an interrupted write?",
                            )
                        )
                        return
                    raise LabelStoreError(
                        f"{where}: not valid JSON ({exc.msg}); the store holds one "
                        "JSON record per line: fix or remove that line"
                    ) from None
                yield where, obj
    except (OSError, EOFError, zlib.error) as exc:
        after = f" after line {lineno}" if lineno else ""
        raise LabelStoreError(
            f"{path}: cannot be read{after} ({type(exc).__name__}: {exc}); restore the file from a copy"
        ) from None


def _repair_torn_tail(path: Path) -> None:
    """Under the append lock: if ``path`` ends in an unterminated line, end it with a newline
    when it is a whole JSON value, else move the fragment to ``<path>.torn`` and cut it off, so
    the next record starts on a line of its own."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # find the start of the last line
        pos, block = size, 1 << 16
        start = 0
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            chunk = fh.read(step)
            nl = chunk.rfind(b"\n")
            if nl >= 0:
                start = pos + nl + 1
                break
        fh.seek(start)
        fragment = fh.read()
        try:
            json.loads(fragment.decode("utf-8"))
            whole = True
        except (UnicodeDecodeError, json.JSONDecodeError):
            whole = False
        if whole:
            fh.seek(size)
            fh.write(b"\n")
        else:
            with open(str(path) + ".torn", "ab") as side:
                side.write(fragment + b"\n")
                side.flush()
                os.fsync(side.fileno())
            fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())


class LabelStore:
    """A folder of document and label JSONL files (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # -- files ---------------------------------------------------------------------------
    def _files(self, suffix: str) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.iterdir() if p.name.endswith(suffix) or p.name.endswith(suffix + ".gz")
        )

    def _append_lines(
        self, path: Path, lines: Iterable[str], check: Callable[[], bool] | None = None
    ) -> None:
        """Append JSON lines under a lock: one ``write`` per record, then ``fsync``. ``check``
        runs under the lock first; when it returns False nothing is written."""
        self.root.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            _repair_torn_tail(path)
            if check is not None and not check():
                return
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                for line in lines:
                    os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)

    def write_shard(
        self,
        shard: str,
        documents: Iterable[Document],
        records: Iterable[LabelRecord],
        *,
        compress: bool = False,
    ) -> None:
        """Replace ``shard``'s document and label files atomically (importers): written to a
        temporary file, then renamed, so a crash leaves the old files whole."""
        self.root.mkdir(parents=True, exist_ok=True)
        records = list(records)
        for r in records:
            _check_label(r.label, f"record for {r.doc_id}#{r.index}")
        for suffix, lines in (
            (DOCS_SUFFIX, (_doc_json(d) for d in documents)),
            (LABELS_SUFFIX, (r.to_json() for r in records)),
        ):
            target = self.root / (f"{shard}{suffix}" + (".gz" if compress else ""))
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=f".{shard}", suffix=".tmp")
            try:
                with open(fd, "wb") as raw:
                    # mtime=0 keeps the compressed bytes reproducible run to run.
                    out = gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if compress else raw
                    for line in lines:
                        out.write((line + "\n").encode("utf-8"))
                    if compress:
                        out.close()
                    raw.flush()
                    os.fsync(raw.fileno())
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
                # the shard's other form (compressed or not) would be read twice: remove it
                other = self.root / (f"{shard}{suffix}" + ("" if compress else ".gz"))
                if other.exists():
                    other.unlink()
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    # -- documents -----------------------------------------------------------------------
    def documents(self, *, torn: list[Problem] | None = None) -> dict[str, Document]:
        """All documents by id; a document whose text no longer matches its hash is an error.
        With a ``torn`` list, a torn last line of a file is skipped and reported there."""
        docs: dict[str, Document] = {}
        first: dict[str, str] = {}
        for path in self._files(DOCS_SUFFIX):
            for where, obj in _iter_json_lines(path, torn):
                doc = self._parse_document(obj, where)
                if doc.doc_id in docs and docs[doc.doc_id].sha256 != doc.sha256:
                    raise LabelStoreError(
                        f"{where}: document {doc.doc_id!r} registered twice with different text "
                        f"(first at {first[doc.doc_id]}); remove one of the two records, or give "
                        "the other text its own doc_id (its labels then need that id too)"
                    )
                docs[doc.doc_id] = doc
                first.setdefault(doc.doc_id, where)
        return docs

    def _parse_document(self, obj: object, where: str) -> Document:
        if not isinstance(obj, dict) or not isinstance(obj.get("doc_id"), str):
            raise LabelStoreError(f"{where}: a document record needs a string 'doc_id'")
        if "text" in obj:
            text = obj["text"]
            if not isinstance(text, str):
                raise LabelStoreError(f"{where}: 'text' should be a string")
        elif isinstance(obj.get("path"), str):
            file = self.root / obj["path"]
            try:
                with open(file, encoding="utf-8", newline="") as fh:
                    text = fh.read()
            except OSError as exc:
                raise LabelStoreError(f"{where}: cannot read document file {file}: {exc.strerror}") from None
            except UnicodeDecodeError as exc:
                raise LabelStoreError(
                    f"{where}: document file {file} is not valid UTF-8 (byte {exc.start})"
                ) from None
        else:
            raise LabelStoreError(f"{where}: a document record needs 'text' or 'path'")
        digest = sha256_text(text)
        if obj.get("sha256", digest) != digest:
            raise LabelStoreError(f"{where}: text of {obj['doc_id']!r} does not match its sha256")
        return Document(
            obj["doc_id"],
            text,
            digest,
            obj.get("source"),
            obj.get("license"),
            obj.get("url"),
            obj.get("path"),
        )

    def add_document(
        self,
        doc_id: str,
        text: str,
        *,
        path: str | None = None,
        source: str | None = None,
        license: str | None = None,
        url: str | None = None,
        shard: str = DEFAULT_SHARD,
    ) -> Document:
        """Register a document (idempotent). With ``path`` the record points at that file
        (relative to the store folder) instead of holding the text."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, got {type(text).__name__}")
        doc = Document(doc_id, text, sha256_text(text), source, license, url, path)
        known: list[Document] = []

        def is_new() -> bool:  # under the lock, so two processes cannot both register it
            found = self.documents().get(doc_id)
            if found is not None and found.sha256 != doc.sha256:
                raise LabelStoreError(f"document {doc_id!r} is already registered with other text")
            known.extend([found] if found is not None else [])
            return found is None

        self._append_lines(self.root / f"{shard}{DOCS_SUFFIX}", [_doc_json(doc)], check=is_new)
        return known[0] if known else doc

    # -- labels --------------------------------------------------------------------------
    def append(self, records: Iterable[LabelRecord], shard: str = DEFAULT_SHARD) -> None:
        """Append decisions (validated before anything is written)."""
        records = list(records)
        for r in records:
            _check_label(r.label, f"record for {r.doc_id}#{r.index}")
        self._append_lines(self.root / f"{shard}{LABELS_SUFFIX}", (r.to_json() for r in records))

    def label(
        self,
        doc: Document,
        paragraph: Paragraph,
        label: str,
        annotator: str,
        *,
        adjudicated: bool = False,
        retracted: bool = False,
        shard: str = DEFAULT_SHARD,
        time: str | None = None,
    ) -> LabelRecord:
        """Record one decision about one paragraph and return the stored record
        (``retracted=True``: withdraw this annotator's decision, ``label`` naming the one withdrawn)."""
        if not annotator:
            raise ValueError("annotator must be a non-empty name")
        rec = LabelRecord(
            doc.doc_id,
            doc.sha256,
            paragraph.index,
            paragraph.start,
            paragraph.end,
            paragraph_hash(paragraph.text),
            label,
            annotator,
            time or utc_now(),
            adjudicated,
            retracted,
        )
        self.append([rec], shard=shard)
        return rec

    def records(self, *, torn: list[Problem] | None = None) -> list[LabelRecord]:
        """Every decision in file order; a malformed line raises naming its file and line.
        With a ``torn`` list, a torn last line of a file is skipped and reported there."""
        out: list[LabelRecord] = []
        for path in self._files(LABELS_SUFFIX):
            out.extend(_parse_label(obj, where) for where, obj in _iter_json_lines(path, torn))
        return out

    def resolve(self, *, tolerant: bool = False) -> tuple[dict[str, dict[int, str]], list[Problem]]:
        """The label training takes for each (document, paragraph index), and the problems.

        Per annotator the latest decision counts; a retraction as an annotator's latest
        record means that annotator has no decision. Across annotators: the latest adjudicated
        label if any, else the majority, else (a tie) the latest of the tied labels.
        Records whose document is missing, changed, or whose paragraph no longer matches
        are reported as problems and not used. ``tolerant``: torn last lines are skipped and
        reported as problems instead of raising.
        """
        torn: list[Problem] | None = [] if tolerant else None
        docs = self.documents(torn=torn)
        resolved, problems = resolve_records(docs, self.records(torn=torn))
        return resolved, (torn or []) + problems


def resolve_records(
    docs: dict[str, Document], records: Iterable[LabelRecord]
) -> tuple[dict[str, dict[int, str]], list[Problem]]:
    """:meth:`LabelStore.resolve` over documents and records already read (in file order)."""
    paragraphs: dict[str, dict[tuple[int, int], Paragraph]] = {}
    problems: list[Problem] = []
    # (doc, index) -> annotator -> (time, order, record); reviewers' adjudications apart
    latest: dict[tuple[str, int], dict[str, tuple[str, int, LabelRecord]]] = defaultdict(dict)
    adjudicated: dict[tuple[str, int], dict[str, tuple[str, int, LabelRecord]]] = defaultdict(dict)

    def skip(rec: LabelRecord, why: str) -> None:
        problems.append(Problem(f"label by {rec.annotator} for {rec.doc_id!r} paragraph {rec.index}", why))

    for order, rec in enumerate(records):
        doc = docs.get(rec.doc_id)
        if doc is None:
            skip(rec, "document is not in the store")
            continue
        if doc.sha256 != rec.doc_sha256:
            skip(rec, "document text changed since it was labelled")
            continue
        if doc.doc_id not in paragraphs:
            paragraphs[doc.doc_id] = {(p.start, p.end): p for p in segment(doc.text)}
        para = paragraphs[doc.doc_id].get((rec.start, rec.end))
        if para is None or para.index != rec.index or paragraph_hash(para.text) != rec.text_sha256:
            skip(rec, "paragraph no longer matches the document")
            continue
        key = (rec.doc_id, rec.index)
        entry = (rec.time, order, rec)
        by_person = adjudicated[key] if rec.adjudicated else latest[key]
        prev = by_person.get(rec.annotator)
        if prev is None or entry[:2] >= prev[:2]:
            by_person[rec.annotator] = entry
    resolved: dict[str, dict[int, str]] = defaultdict(dict)
    for key in set(latest) | set(adjudicated):
        # the latest adjudication still standing (a reviewer's retraction withdraws theirs)
        standing = [e for e in adjudicated.get(key, {}).values() if not e[2].retracted]
        if standing:
            resolved[key[0]][key[1]] = max(standing, key=lambda e: e[:2])[2].label
            continue
        votes = [e for e in latest.get(key, {}).values() if not e[2].retracted]
        if votes:
            resolved[key[0]][key[1]] = _majority_then_latest(votes)
    return dict(resolved), problems


def _majority_then_latest(entries: Iterable[tuple[str, int, LabelRecord]]) -> str:
    entries = list(entries)
    if len(entries) == 1:  # one annotator: nothing to count (most paragraphs of a big store)
        return entries[0][2].label
    counts = Counter(e[2].label for e in entries)
    top = max(counts.values())
    tied = {lab for lab, c in counts.items() if c == top}
    return max((e for e in entries if e[2].label in tied), key=lambda e: e[:2])[2].label


def _doc_json(doc: Document) -> str:
    d: dict[str, object] = {"doc_id": doc.doc_id, "sha256": doc.sha256}
    if doc.path is not None:
        d["path"] = doc.path
    else:
        d["text"] = doc.text
    for k in ("source", "license", "url"):
        if getattr(doc, k) is not None:
            d[k] = getattr(doc, k)
    return _dumps(d)


def _dumps(obj: dict) -> str:
    """One JSON line, readable UTF-8; a lone surrogate (not encodable as UTF-8) is written as
    a JSON ``\\uXXXX`` escape instead, so the file stays valid UTF-8 and reads back equal."""
    line = json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(obj, ensure_ascii=True)
    return line


def labelled_documents(store: LabelStore) -> tuple[list[Document], list[list[str | None]], list[Problem]]:
    """Documents with at least one usable label, and per document one label (or None) per paragraph."""
    resolved, problems = store.resolve()
    docs = store.documents()
    out_docs: list[Document] = []
    out_labels: list[list[str | None]] = []
    for doc_id in sorted(resolved):
        doc = docs[doc_id]
        n = len(segment(doc.text))
        labels: list[str | None] = [None] * n
        for idx, lab in resolved[doc_id].items():
            labels[idx] = lab
        out_docs.append(doc)
        out_labels.append(labels)
    return out_docs, out_labels, problems
