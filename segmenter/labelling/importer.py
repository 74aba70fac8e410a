"""Import outside corpora into the label store.

``python -m segmenter.importer wcxb ../shared/data/wcxb_dev_articles.jsonl.gz`` brings in the
WCXB dev article pages (CC-BY-4.0) with their coarse line labels: ``core`` becomes
``core-story``, ``other`` becomes ``not-core`` (not core-story, class unknown).

Second and later copies of a 5+ word paragraph are labelled ``duplicate``, exactly as
docs/labels.md defines it (near copies are left coarse).

WCXB's gold body excludes the headline, which docs/labels.md calls core-story, so the few lines
just before the first body line (headline, byline, dateline) get no label at all: they stay
in the document as context, and training neither rewards nor punishes them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..jsonl import read_jsonl
from ..labels import CORE, DUPLICATE, NOT_CORE
from ..segment import segment
from .store import Document, LabelRecord, LabelStore, LabelStoreError, paragraph_hash, sha256_text

WCXB_SOURCE = "WCXB dev split, article pages (Web Content Extraction Benchmark)"
WCXB_LICENSE = "CC-BY-4.0"
WCXB_ANNOTATOR = "wcxb-dev-import"


@dataclass(frozen=True)
class Corpus:
    """An outside corpus the importer knows: where its pages go in the store and whom to credit."""

    shard: str  # the store's file stem, and the doc_id prefix (``<shard>/<page id>``)
    source: str
    license: str
    annotator: str  # the coarse labels' annotator name (an importer, not a person)


CORPORA = {
    "wcxb": Corpus("wcxb-dev", WCXB_SOURCE, WCXB_LICENSE, WCXB_ANNOTATOR),
    "andy": Corpus(
        "andy-news",
        "AndyTheFactory/article-extraction-dataset, news pages of 2023",
        "Apache-2.0",
        "andy-news-import",
    ),
}
IMPORT_TIME = "2026-11-24T00:00:00+00:00"  # fixed, so a re-import is byte-identical
#: lines before the first body line left unlabelled (headline, byline, date live here)
HEADLINE_WINDOW = 6
_NORM = re.compile(r"[\W_]+")


def coarse_paragraph_labels(text: str, line_labels: list[str], where: str) -> list[str | None]:
    """Map per-line ``core``/``other`` labels to per-paragraph store labels (None = unlabelled)."""
    lines = text.splitlines()
    if len(lines) != len(line_labels):
        raise LabelStoreError(f"{where}: {len(line_labels)} line labels for {len(lines)} lines")
    labels: list[str] = []
    for line, lab in zip(lines, line_labels):
        if lab not in ("core", "other"):
            raise LabelStoreError(f"{where}: line label {lab!r} is neither 'core' nor 'other'")
        if line.strip():
            labels.append(CORE if lab == "core" else NOT_CORE)
    out: list[str | None] = list(labels)
    first_core = next((i for i, lab in enumerate(labels) if lab == CORE), None)
    if first_core is not None:
        for i in range(max(0, first_core - HEADLINE_WINDOW), first_core):
            out[i] = None
    # docs/labels.md defines `duplicate` mechanically (5+ words, equal to an earlier paragraph once
    # case, whitespace and punctuation are ignored; it wins over every other label), so the
    # coarse labels can be made exact there: the second and later copies are `duplicate`.
    # Words are counted as written (whitespace-separated): "$898.00 from Lowe's" is 3 words.
    seen: set[str] = set()
    for i, p in enumerate(segment(text)):
        key = _NORM.sub(" ", p.text.lower()).strip()
        if key in seen and len(p.text.split()) >= 5:
            out[i] = DUPLICATE
        seen.add(key)
    return out


def import_wcxb(
    path: str | Path, store: LabelStore, shard: str = "wcxb-dev", skipped: list[str] | None = None
) -> tuple[int, int]:
    """Import WCXB pages into ``store`` as shard ``shard`` (replacing it). Returns (docs, labels)."""
    return import_corpus(path, store, "wcxb", shard, skipped)


def import_corpus(
    path: str | Path,
    store: LabelStore,
    corpus: str,
    shard: str | None = None,
    skipped: list[str] | None = None,
) -> tuple[int, int]:
    """Import the pages of a known corpus (``CORPORA``: JSONL of ``{id, url, text, line_labels}``)
    into ``store`` as shard ``shard`` (the corpus' own by default), replacing that shard, so
    a re-import of a corrected file leaves nothing of the old one. Returns (docs, labels).

    A bad record raises naming its ``file:line`` and leaves the old shard as it was; with a
    ``skipped`` list, bad records are reported there instead and the rest is imported."""
    spec = CORPORA[corpus]
    shard = spec.shard if shard is None else shard
    docs: list[Document] = []
    records: list[LabelRecord] = []
    first_seen: dict[str, str] = {}
    for where, rec in _progress(read_jsonl(path, LabelStoreError, skipped), "importing"):
        try:
            doc, recs = _page(where, rec, first_seen, spec)
        except LabelStoreError as exc:
            if skipped is None:
                raise
            skipped.append(str(exc))
            continue
        docs.append(doc)
        records.extend(recs)
    if not docs:
        raise LabelStoreError(
            f"{path}: no usable pages"
            + (f" ({len(skipped)} skipped)" if skipped else "")
            + f"; the shard {shard!r} was left as it was"
        )
    store.write_shard(shard, docs, records, compress=True)
    return len(docs), len(records)


def _page(
    where: str, rec: object, first_seen: dict[str, str], spec: Corpus
) -> tuple[Document, list[LabelRecord]]:
    if not isinstance(rec, dict):
        raise LabelStoreError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    for field in ("id", "text", "line_labels"):
        if field not in rec:
            raise LabelStoreError(f"{where}: missing field {field!r}")
    text = rec["text"]
    if not isinstance(text, str):
        raise LabelStoreError(f"{where}: 'text' should be a string")
    if not isinstance(rec["line_labels"], list):
        raise LabelStoreError(f"{where}: 'line_labels' should be a list of 'core'/'other'")
    if isinstance(rec["id"], (dict, list)) or rec["id"] is None:
        raise LabelStoreError(f"{where}: 'id' should be a string or a number")
    if str(rec["id"]) in first_seen:
        raise LabelStoreError(f"{where}: page id {rec['id']!r} already used at {first_seen[str(rec['id'])]}")
    url = rec.get("url")
    doc = Document(
        f"{spec.shard}/{rec['id']}",
        text,
        sha256_text(text),
        spec.source,
        spec.license,
        url if isinstance(url, str) else None,
    )
    labels = coarse_paragraph_labels(text, rec["line_labels"], where)
    first_seen[str(rec["id"])] = where
    records = [
        LabelRecord(
            doc.doc_id,
            doc.sha256,
            para.index,
            para.start,
            para.end,
            paragraph_hash(para.text),
            lab,
            spec.annotator,
            IMPORT_TIME,
        )
        for para, lab in zip(segment(text), labels)
        if lab is not None
    ]
    return doc, records


def _progress(items: Iterable, desc: str) -> Iterable:
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(items, desc=desc, unit=" docs")
    return items


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m segmenter.importer",
        description="Import an outside corpus into the label store (labels/).",
    )
    sub = ap.add_subparsers(dest="corpus", required=True)
    examples = {
        "wcxb": ("WCXB article pages", "../shared/data/wcxb_dev_articles.jsonl.gz"),
        "andy": ("AndyTheFactory news pages of 2023", "../shared/data/andy_news_dev.jsonl.gz"),
    }
    for name, (what, example) in examples.items():
        spec = CORPORA[name]
        w = sub.add_parser(
            name,
            help=f"{what} ({spec.license}): JSONL(.gz) of {{id, url, text, line_labels}}",
            description=f"Import {what} into the label store as shard {spec.shard!r}, "
            f"replacing it. Example: python -m segmenter.importer {name} {example}",
        )
        w.add_argument("path", help=f"e.g. {example}")
        w.add_argument("--labels", default="labels", help="label store folder (default: labels)")
        w.add_argument(
            "--shard", default=spec.shard, help=f"file name stem inside the store (default: {spec.shard})"
        )
        w.add_argument(
            "--on-error",
            choices=("stop", "skip"),
            default="stop",
            help="a bad record: stop and import nothing (default), or skip it and import "
            "the rest; every skipped record is reported with its FILE:LINE",
        )
    args = ap.parse_args(argv)
    skipped: list[str] | None = [] if args.on_error == "skip" else None
    try:
        n_docs, n_labels = import_corpus(args.path, LabelStore(args.labels), args.corpus, args.shard, skipped)
    except LabelStoreError as exc:
        print(f"error: {exc}; nothing was imported", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"error: {exc.filename or args.labels}: {exc.strerror or exc}; nothing was imported",
            file=sys.stderr,
        )
        return 1
    for problem in skipped or ():
        print(f"skipped {problem}", file=sys.stderr)
    print(
        f"imported {n_docs} documents, {n_labels} paragraph labels into {args.labels}"
        + (f"; skipped {len(skipped)} bad records (listed above)" if skipped else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
