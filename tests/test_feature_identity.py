"""The features are the ones the shipped model was trained on, bit for bit, and in the same
column order: its coefficients are indexed by column.

The reference (``tests/data/feature_digests.json``, ``tests/data/feature_names.json``) was
written by the feature code of commit 71338f8, before features.py was split by family: for
each page the sha256 of its text and of its float32 feature matrix's bytes (the exact
bytes, not rounded: they were the same with NumPy's SIMD dispatch and OpenBLAS's kernels
forced down to SSE4.2). The pages are the five seeds and 40 WCXB dev pages of the label
store, chosen among those whose URL is in the shared WCXB file; a page no longer in the
store is skipped.

A change that means to change the features needs a retrained model, and a new reference:
``python tests/test_feature_identity.py --write`` writes one with the code it imports.
"""

import hashlib
import json
import sys

import numpy as np
from conftest import REPO, SEEDS, WCXB_DATA, read_records, read_seed

from segmenter.features import ParagraphFeatures
from segmenter.labelling.store import LabelStore, sha256_text

DIGESTS = REPO / "tests" / "data" / "feature_digests.json"
NAMES = REPO / "tests" / "data" / "feature_names.json"
#: How many WCXB pages the reference holds, and how many must still be found.
N_WCXB, MIN_WCXB = 40, 30


def feature_digest(text: str) -> str:
    """sha256 of a page's feature matrix: float32, little-endian, row by row."""
    rows = ParagraphFeatures().transform([text])[0]
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<f4").tobytes()).hexdigest()


def _reference() -> dict:
    return json.loads(DIGESTS.read_text(encoding="utf-8"))


def _mismatches(texts: list[str], pages: dict) -> list[str]:
    return [
        pages[sha256_text(t)]["name"] for t in texts if feature_digest(t) != pages[sha256_text(t)]["features"]
    ]


def test_the_feature_names_are_the_committed_list_in_order():
    assert list(ParagraphFeatures().get_feature_names_out()) == json.loads(NAMES.read_text(encoding="utf-8"))


def test_the_seeds_features_are_bit_identical_to_the_reference():
    pages = _reference()["seeds"]
    texts = [read_seed(path) for path in SEEDS]
    assert len(texts) == len(pages) == 5 and all(sha256_text(t) in pages for t in texts)
    assert _mismatches(texts, pages) == []


def test_wcxb_pages_features_are_bit_identical_to_the_reference():
    pages = _reference()["wcxb"]
    docs = [d for d in LabelStore(REPO / "labels").documents().values() if d.sha256 in pages]
    assert len(docs) >= MIN_WCXB, (
        f"only {len(docs)} of the reference's {len(pages)} WCXB pages are in labels/: "
        "write a new reference from the commit the shipped model was trained with"
    )
    assert _mismatches([d.text for d in docs], pages) == []


def write_reference() -> None:
    """Write the reference with the ``segmenter`` this imports (see the module docstring)."""
    import segmenter

    if not WCXB_DATA.exists():
        sys.exit(f"WCXB data not found at {WCXB_DATA}")
    shared_urls = {r["url"] for r in read_records(WCXB_DATA)}
    docs = sorted(
        (d for d in LabelStore(REPO / "labels").documents().values() if d.url in shared_urls),
        key=lambda d: d.doc_id,
    )
    chosen = [docs[i] for i in np.linspace(0, len(docs) - 1, N_WCXB).round().astype(int)]
    seeds = {
        sha256_text(read_seed(p)): {"name": p.name, "features": feature_digest(read_seed(p))} for p in SEEDS
    }
    wcxb = {d.sha256: {"name": d.doc_id, "url": d.url, "features": feature_digest(d.text)} for d in chosen}
    about = (
        "sha256 of each page's text -> sha256 of its ParagraphFeatures float32 matrix (little-endian, "
        "row by row); see tests/test_feature_identity.py"
    )
    DIGESTS.write_text(json.dumps({"about": about, "seeds": seeds, "wcxb": wcxb}, indent=1) + "\n", "utf-8")
    names = list(ParagraphFeatures().get_feature_names_out())
    NAMES.write_text(json.dumps(names, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {len(seeds)} seeds and {len(wcxb)} WCXB pages with {segmenter.__file__}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_feature_identity.py --write")
    write_reference()
