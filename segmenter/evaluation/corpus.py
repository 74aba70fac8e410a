"""Read a labelled corpus: one JSON page per line with its text and gold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..jsonl import read_jsonl
from ..labels import CORE
from ..segment import segment

#: line label values meaning "part of the story" (``labels`` and ``line_labels`` schemes)
CORE_VALUES = {"core-story", "core"}
#: line label fields, in order of preference (the finer scheme first)
LABEL_FIELDS = ("labels", "line_labels")


class EvaluationError(ValueError):
    """Bad input (corpus, options); the message names the file and line where it can."""


@dataclass
class CorpusDoc:
    """One page of the corpus as the evaluation sees it."""

    where: str  # file:line
    doc_id: str | None
    url: str | None
    text: str
    lines: list[str]  # paragraph texts, as segmenter.segment splits ``text``
    gold: str  # the gold story text
    line_labels: list[str] | None  # per line, mapped to our scheme ("core-story", "other", ...)
    spillover: bool | None = None
    spillover_heavy: bool | None = None
    variant: str | None = None  # pages built by segmenter.construct: how,
    derived_from: list[str] | None = None  # from which source pages (ids),
    fold: int | None = None  # and in which group of stories

    @property
    def sha256(self) -> str:
        from ..labelling.store import sha256_text

        return sha256_text(self.text)


def _norm_label(value: str) -> str:
    return CORE if value in CORE_VALUES else value


def _parse_doc(obj: object, where: str) -> CorpusDoc:
    if not isinstance(obj, dict):
        raise EvaluationError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    text = obj.get("text")
    if not isinstance(text, str):
        raise EvaluationError(f"{where}: missing or non-string field 'text'")
    lines = [p.text for p in segment(text)]
    line_labels = None
    for name in LABEL_FIELDS:
        if name in obj:
            labs = obj[name]
            if not isinstance(labs, list) or not all(isinstance(x, str) for x in labs):
                raise EvaluationError(f"{where}: field {name!r} should be a list of strings")
            if len(labs) != len(lines):
                raise EvaluationError(f"{where}: {len(labs)} {name} for {len(lines)} lines of text")
            line_labels = [_norm_label(x) for x in labs]
            break
    truth = obj.get("truth")
    if truth is not None and not isinstance(truth, str):
        raise EvaluationError(f"{where}: field 'truth' should be a string")
    if truth is None:
        if line_labels is None:
            raise EvaluationError(f"{where}: needs 'truth' or per-line labels ({' or '.join(LABEL_FIELDS)})")
        truth = "\n".join(t for t, lab in zip(lines, line_labels) if lab == CORE)
    flags = {}
    for name in ("spillover", "spillover_heavy"):
        v = obj.get(name)
        if v is not None and not isinstance(v, bool):
            raise EvaluationError(f"{where}: field {name!r} should be true or false")
        flags[name] = v
    variant, derived, fold = obj.get("variant"), obj.get("derived_from"), obj.get("fold")
    if fold is not None and (not isinstance(fold, int) or isinstance(fold, bool)):
        raise EvaluationError(f"{where}: field 'fold' should be an integer")
    if variant is not None and not isinstance(variant, str):
        raise EvaluationError(f"{where}: field 'variant' should be a string")
    if derived is not None and (
        not isinstance(derived, list) or not all(isinstance(x, str) for x in derived)
    ):
        raise EvaluationError(f"{where}: field 'derived_from' should be a list of page ids")
    doc_id = obj.get("id", obj.get("doc_id"))
    url = obj.get("url")
    return CorpusDoc(
        where,
        None if doc_id is None else str(doc_id),
        url if isinstance(url, str) else None,
        text,
        lines,
        truth,
        line_labels,
        **flags,
        variant=variant,
        derived_from=derived,
        fold=fold,
    )


def iter_corpus(path: str | Path) -> Iterator[CorpusDoc]:
    """Documents of a JSONL corpus (gzip when the name ends in .gz); a bad line raises
    EvaluationError naming ``file:line``."""
    for where, obj in read_jsonl(path, EvaluationError):
        yield _parse_doc(obj, where)


def read_corpus(path: str | Path, limit: int | None = None, spillover_only: bool = False) -> list[CorpusDoc]:
    """The first ``limit`` documents (of those with spillover, with ``spillover_only``)."""
    docs: list[CorpusDoc] = []
    if limit is not None and limit <= 0:
        return docs
    for doc in iter_corpus(path):
        if spillover_only:
            if doc.spillover is None:
                raise EvaluationError(
                    f"{doc.where}: --spillover-only, but the document has no 'spillover' flag"
                )
            if not doc.spillover:
                continue
        docs.append(doc)
        if limit is not None and len(docs) >= limit:
            break
    return docs
