"""The evaluation suite (segmenter evaluate --suite) and its error breakdown, on a small
synthetic store and corpora so that the whole run takes seconds."""

import gzip
import json
import subprocess
import sys

import pytest
from conftest import REPO

from segmenter.evaluation import errors as ER
from segmenter.evaluation import suite as S
from segmenter.evaluation.corpus import CorpusDoc
from segmenter.evaluation.systems import Prediction
from segmenter.labelling.store import Document, LabelRecord, LabelStore, paragraph_hash, sha256_text
from segmenter.segment import segment

STORY = "Story {d} sentence {j} tells what happened in the town of {d} on day {j}, the mayor said today."
OTHER = "Another story {d} line {j} is about a different town and a different mayor, who said nothing."


def _page(d: int, heavy: bool) -> tuple[str, list[str], str]:
    lines = [f"Menu {d}", "Home"] + [STORY.format(d=d, j=j) for j in range(5)]
    labels = ["other", "other"] + ["core"] * 5
    if heavy:
        lines += ["Related Articles"] + [OTHER.format(d=d, j=j) for j in range(6)]
        labels += ["other"] * 7
    lines += ["Share this", f"© 2026 Site {d}. All rights reserved."]
    labels += ["other", "other"]
    truth = "\n".join(line for line, lab in zip(lines, labels) if lab == "core")
    return "\n".join(lines), labels, truth


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A label store of 8 pages of 8 sites and the four suite corpora, of 4 pages each."""
    root = tmp_path_factory.mktemp("suite")
    docs, records = [], []
    for d in range(8):
        text, labels, _ = _page(d, heavy=d % 2 == 0)
        doc = Document(f"wcxb-dev/{d}", text, sha256_text(text), url=f"https://site{d}.example/{d}")
        docs.append(doc)
        for p, lab in zip(segment(text), labels):
            label = "core-story" if lab == "core" else "nav"
            records.append(
                LabelRecord(
                    doc.doc_id, doc.sha256, p.index, p.start, p.end, paragraph_hash(p.text), label, "t", "t"
                )
            )
    LabelStore(root / "labels").write_shard("syn", docs, records)
    data = root / "data"
    data.mkdir()
    for c in S.CORPORA:
        with gzip.open(data / c.file, "wt", encoding="utf-8") as fh:
            for d in range(4):
                pid = d if c.mode == "cv" else 100 + d
                text, labels, truth = _page(pid, heavy=d % 2 == 0)
                rec = {
                    "id": str(pid),
                    "url": f"https://site{pid}.example/{pid}",
                    "text": text,
                    "truth": truth,
                    "line_labels": labels,
                    "spillover": d % 2 == 0,
                    "spillover_heavy": d % 2 == 0,
                }
                fh.write(json.dumps(rec) + "\n")
    return root


def test_suite_reports_every_corpus_on_all_and_heavy_pages_with_seed_spread_and_baselines(small):
    opts = S.SuiteOptions(data=small / "data", labels=small / "labels", seeds=(0, 1), k=2, justext=False)
    result = S.run_suite(opts, log=lambda s: None)
    assert list(result["corpora"]) == ["wcxb", "andy", "l3s-gn1", "dragnet"]
    for block in result["corpora"].values():
        assert block["pages"] == 4
        assert set(block["subsets"]) == {"all", "spillover_heavy"}
        assert block["subsets"]["spillover_heavy"]["pages"] == 2
        f1 = block["subsets"]["all"]["segmenter"]["f1"]
        assert len(f1["per_seed"]) == 2 and f1["mean"] == pytest.approx(sum(f1["per_seed"]) / 2)
        base = block["subsets"]["all"]["baselines"]
        assert set(base) == {"keep-everything", "lines-10-words"}
        assert base["keep-everything"]["recall"] == pytest.approx(1.0)
        assert set(block["errors"]["share"]) == set(ER.KINDS)
    means = [
        sum(
            result["corpora"][n]["subsets"]["all"]["segmenter"]["f1"]["per_seed"][i]
            for n in result["corpora"]
        )
        / 4
        for i in range(2)
    ]
    assert result["suite_mean_f1"]["per_seed"] == pytest.approx(means)
    text = S.format_suite(result)
    assert "suite mean F1 over 4 corpora" in text and "heavy spillover" in text


def test_suite_names_a_missing_corpus_file_and_the_option_to_fix_it(tmp_path):
    opts = S.SuiteOptions(data=tmp_path, labels=tmp_path, seeds=(0,))
    with pytest.raises(S.EvaluationError, match=r"wcxb_dev_articles.jsonl.gz.*--data"):
        S.run_suite(opts, log=lambda s: None)


def test_suite_is_reached_from_the_evaluate_command(small):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmenter",
            "evaluate",
            "--suite",
            "--data",
            str(small / "data"),
            "--labels",
            str(small / "labels"),
            "--seeds",
            "0",
            "--cv",
            "2",
            "--corpora",
            "l3s-gn1",
            "--no-justext",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    assert "l3s-gn1" in res.stdout and "wcxb" not in res.stdout.split("Errors by kind")[0]


def test_suite_records_its_figures_beside_the_model(small, tmp_path):
    opts = S.SuiteOptions(
        data=small / "data", labels=small / "labels", seeds=(0,), k=2, justext=False, corpora=("dragnet",)
    )
    result = S.run_suite(opts, log=lambda s: None)
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"sha256": "x"}))
    S.record_suite(meta, result)
    kept = json.loads(meta.read_text())
    assert kept["sha256"] == "x"
    assert kept["suite"]["corpora"]["dragnet"]["subsets"]["all"]["segmenter"]["f1"]["per_seed"]
    assert "worst_pages" not in kept["suite"]["corpora"]["dragnet"]["errors"]


def _doc(lines, labels):
    return CorpusDoc("f:1", None, None, "\n".join(lines), lines, "", labels)


def test_error_kinds_tell_comments_legal_menus_and_prose_apart():
    lines = [
        "Home",
        "A long line of another story that reads like news and runs on well past twelve words in all.",
        "Privacy Policy",
        "Comments",
        "jane says:",
        "I think the mayor is wrong about this, and so do most of my neighbours here.",
    ]
    kinds = ER.line_kinds(lines)
    assert kinds == [ER.MENUS, ER.PROSE, ER.LEGAL, ER.COMMENTS, ER.COMMENTS, ER.COMMENTS]


def test_page_errors_count_words_kept_wrongly_by_kind_and_story_words_lost():
    import numpy as np

    lines = ["Home", "The story line one has six words", "Comments", "a reader writes at length here"]
    doc = _doc(lines, ["other", "core-story", "other", "other"])
    kept = np.array([True, False, False, True])
    errs = ER.page_errors(doc, Prediction("", kept))
    assert errs[ER.MENUS] == 1 and errs[ER.LOST] == 7 and errs[ER.COMMENTS] == 6
    assert errs[ER.PROSE] == 0 and errs[ER.LEGAL] == 0


def test_error_shares_per_page_weigh_a_huge_page_as_one_page():
    """A 1 000-word page whose story is all lost must not drown a small page's kept menu:
    per page, each counts once, as the metric averages over pages."""
    import numpy as np

    big = _doc(["word " * 1000], ["core-story"])
    small = _doc(["Home menu", "The story line one has six words"], ["other", "core-story"])
    preds = [Prediction("", np.array([False])), Prediction("", np.array([True, True]))]
    out = ER.error_breakdown([big, small], preds, np.array([0.0, 0.9]))
    assert out["share"][ER.LOST] > 0.99
    # the big page: 1000 lost of 1000 words; the small page: 2 menu words kept of 7 + 9 words
    per_page = {ER.LOST: 1.0, ER.MENUS: 2 / 16}
    total = sum(per_page.values())
    assert out["share_per_page"][ER.LOST] == pytest.approx(per_page[ER.LOST] / total)
    assert out["share_per_page"][ER.MENUS] == pytest.approx(per_page[ER.MENUS] / total)
