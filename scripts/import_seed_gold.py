"""Bring the seeds' gold labels (docs/labels.md, one record per paragraph) into labels/.

Usage: python scripts/import_seed_gold.py [GOLD_JSONL] [--labels labels] [--seeds seeds]

Writes labels/seed-gold.documents.jsonl (pointing at the files in seeds/) and
labels/seed-gold.labels.jsonl (annotator "seed-gold") through the store API; re-running
rewrites them identically.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from segmenter.labelling.store import Document, LabelRecord, LabelStore, paragraph_hash, sha256_text
from segmenter.segment import segment

ROOT = Path(__file__).resolve().parent.parent
SEED_TIME = "2026-11-24T00:00:00+00:00"  # fixed, so the file is reproducible


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gold", nargs="?", default=str(ROOT.parent / "shared/seeds/gold_labels.jsonl"))
    ap.add_argument("--labels", default=str(ROOT / "labels"))
    ap.add_argument("--seeds", default=str(ROOT / "seeds"))
    args = ap.parse_args(argv)
    store = LabelStore(args.labels)
    seeds = Path(args.seeds)
    gold = [json.loads(line) for line in open(args.gold, encoding="utf-8") if line.strip()]
    docs: dict[str, Document] = {}
    paras_by_line: dict[str, dict[int, object]] = {}
    records = []
    for n, g in enumerate(gold, 1):
        name = g["file"]
        if name not in docs:
            with open(seeds / name, encoding="utf-8", newline="") as fh:
                text = fh.read()
            rel = os.path.relpath(seeds / name, store.root)
            docs[name] = Document(f"seeds/{name}", text, sha256_text(text), source="seed", path=rel)
            paras = segment(text)
            # map 1-based line numbers (str.splitlines) to paragraphs
            by_line, k = {}, 0
            for lineno, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    by_line[lineno] = paras[k]
                    k += 1
            paras_by_line[name] = by_line
        para = paras_by_line[name].get(g["line"])
        if para is None or para.text != g["text"].strip():
            raise SystemExit(f"{args.gold}:{n}: line {g['line']} of {name} is not the labelled paragraph")
        doc = docs[name]
        records.append(
            LabelRecord(
                doc.doc_id,
                doc.sha256,
                para.index,
                para.start,
                para.end,
                paragraph_hash(para.text),
                g["label"],
                "seed-gold",
                SEED_TIME,
            )
        )
    store.write_shard("seed-gold", docs.values(), records)
    print(f"wrote {len(records)} labels for {len(docs)} seed documents into {store.root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
