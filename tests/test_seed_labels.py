"""labels/ holds the seeds' gold labels exactly as the guideline's gold_labels.jsonl gives them."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GOLD, REPO, gold_records

from segmenter.labelling.store import LabelStore
from segmenter.segment import segment

SHARED_GOLD = REPO.parent / "shared" / "seeds" / "gold_labels.jsonl"


def _store_seed_rows(root: Path) -> list[tuple[str, int, str, str]]:
    """(file, 1-based line, label, text) for every seed-gold record of the store, in order."""
    store = LabelStore(root)
    docs = store.documents()
    rows = []
    for rec in store.records():
        if rec.annotator != "seed-gold":
            continue
        text = docs[rec.doc_id].text
        para = segment(text)[rec.index]
        assert text[rec.start : rec.end] == para.text
        before = text[: rec.start].splitlines(keepends=True)
        # lines wholly before the paragraph's own line, then its own: the 1-based line number
        line = sum(1 for l in before if l != l.rstrip("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")) + 1
        rows.append((Path(rec.doc_id).name, line, rec.label, para.text))
    return rows


def test_store_agrees_with_gold_labels_line_for_line():
    gold = [(r["file"], r["line"], r["label"], r["text"].strip()) for r in gold_records()]
    assert _store_seed_rows(REPO / "labels") == gold


def test_store_resolves_every_seed_paragraph_to_its_gold_label():
    resolved, problems = LabelStore(REPO / "labels").resolve()
    assert not problems
    for r in gold_records():
        labels = resolved[f"seeds/{r['file']}"]
        assert r["label"] in labels.values()
    assert sum(len(v) for k, v in resolved.items() if k.startswith("seeds/")) == len(gold_records())


@pytest.mark.skipif(
    not SHARED_GOLD.exists(), reason="the shared guideline folder is not beside this checkout"
)
def test_gold_copy_matches_the_guideline_file_byte_for_byte():
    assert GOLD.read_bytes() == SHARED_GOLD.read_bytes()


def test_seed_files_are_the_guideline_seeds_unchanged():
    shared = REPO.parent / "shared" / "seeds"
    if not shared.exists():
        pytest.skip("the shared guideline folder is not beside this checkout")
    names = sorted(p.name for p in shared.glob("*.txt"))
    assert names == sorted(p.name for p in (REPO / "seeds").glob("*.txt"))
    for name in names:
        assert (REPO / "seeds" / name).read_bytes() == (shared / name).read_bytes()


def test_import_script_reproduces_the_committed_seed_shard(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "import_seed_gold.py"),
            str(GOLD),
            "--labels",
            str(tmp_path),
            "--seeds",
            str(REPO / "seeds"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    assert res.returncode == 0, res.stderr
    got = [(a, b, c, d) for a, b, c, d in _store_seed_rows(tmp_path)]
    assert got == _store_seed_rows(REPO / "labels")
    assert (tmp_path / "seed-gold.labels.jsonl").read_bytes() == (
        REPO / "labels" / "seed-gold.labels.jsonl"
    ).read_bytes()
