import gzip
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
GOLD = REPO / "tests" / "data" / "gold_labels.jsonl"
WCXB_DATA = REPO.parent / "shared" / "data" / "wcxb_dev_articles.jsonl.gz"


def read_seed(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def gold_records() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_core(name: str) -> list[str]:
    """The seed's core-story paragraph texts by the gold labels, in order."""
    return [r["text"].strip() for r in gold_records() if r["file"] == name and r["label"] == "core-story"]


def read_records(path) -> list[dict]:
    """The records of a JSONL file (gzip when the name ends in .gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def wcxb_records(n: int) -> list[dict]:
    """The first ``n`` WCXB dev pages of the shared data; skips the test when it is not there."""
    if not WCXB_DATA.exists():
        pytest.skip(f"WCXB data not found at {WCXB_DATA}")
    records = []
    with gzip.open(WCXB_DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(records) >= n:
                break
            if line.strip():
                records.append(json.loads(line))
    return records


@pytest.fixture(scope="session")
def shipped_model():
    import segmenter

    return segmenter.load_model()


@pytest.fixture
def store(tmp_path):
    """An empty label store in a temporary folder."""
    from segmenter.labelling.store import LabelStore

    return LabelStore(tmp_path / "labels")
