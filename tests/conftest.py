import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SEEDS = sorted((REPO / "seeds").glob("*.txt"))
GOLD = REPO / "tests" / "data" / "gold_labels.jsonl"


def read_seed(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def gold_records() -> list[dict]:
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def gold_core(name: str) -> list[str]:
    """The seed's core-story paragraph texts by the gold labels, in order."""
    return [r["text"].strip() for r in gold_records() if r["file"] == name and r["label"] == "core-story"]


@pytest.fixture(scope="session")
def shipped_model():
    import segmenter

    return segmenter.load_model()


@pytest.fixture
def store(tmp_path):
    """An empty label store in a temporary folder."""
    from segmenter.store import LabelStore

    return LabelStore(tmp_path / "labels")
