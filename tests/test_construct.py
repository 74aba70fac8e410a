"""Spillover by construction: deterministic pages whose labels, gold and grouping the
evaluation can trust."""

import json

import pytest
from conftest import read_records

from segmenter import evaluate as E
from segmenter.evaluation import construct as C
from segmenter.segment import segment


def _story(i: int, n_paragraphs: int = 6, words: int = 40) -> str:
    return "\n".join(" ".join(f"s{i}p{j}w{k}" for k in range(words)) + "." for j in range(n_paragraphs))


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "src.jsonl"
    rows = [{"id": f"{i:04d}", "truth": _story(i)} for i in range(30)]
    rows.append({"id": "short", "truth": "Too short.\nTwo lines."})
    rows.append({"id": "cyr", "truth": "\n".join(["Привет мир " * 15 + "."] * 5)})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_construction_is_deterministic_for_a_seed(corpus, tmp_path):
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        assert C.main([str(tmp_path / f"{name}.jsonl.gz"), "--corpus", str(corpus), "--seed", str(seed)]) == 0
    a, b, c = (read_records(tmp_path / f"{n}.jsonl.gz") for n in "abc")
    assert a == b and a != c


def test_every_page_has_one_label_per_line_and_its_gold_is_the_story(corpus, tmp_path):
    out = tmp_path / "o.jsonl.gz"
    assert C.main([str(out), "--corpus", str(corpus)]) == 0
    recs = read_records(out)
    assert {r["variant"] for r in recs} == set(C.VARIANTS)
    stories = {r["story"] for r in recs}
    assert "short" not in stories and "cyr" not in stories  # too short; alone in its script
    for r in recs:
        lines = [p.text for p in segment(r["text"])]
        assert len(lines) == len(r["labels"])
        core = [t for t, lab in zip(lines, r["labels"]) if lab == "core-story"]
        assert "\n".join(core) == r["truth"] and len(core) >= C.MIN_PARAGRAPHS
        assert C.MIN_WORDS <= len(r["truth"].split()) <= C.MAX_WORDS
        assert set(r["labels"]) <= {"core-story", "related-article", "nav"}
        assert "related-article" in r["labels"] and r["spillover"] is True
        # the other stories come from the story's own fold, and their text is what is related
        others = r["derived_from"][1:]
        assert r["derived_from"][0] == r["story"] and others and r["story"] not in others
        assert all(C.fold_of(o, 5) == r["fold"] for o in others)
        related = " ".join(t for t, lab in zip(lines, r["labels"]) if lab == "related-article")
        assert any(f"s{int(o)}p" in related for o in others)
        if r["variant"] == "cards":
            assert r["labels"][len(core)] == "nav"  # the widget heading
        if r["variant"] == "before":
            assert r["labels"][0] == "related-article" and r["labels"][-1] == "core-story"


def test_evaluate_reports_each_variant_and_knows_the_pages_are_not_held_out(corpus, tmp_path, capsys):
    out = tmp_path / "o.jsonl.gz"
    assert C.main([str(out), "--corpus", str(corpus), "--variants", "bare,cards"]) == 0
    docs = E.read_corpus(out)
    assert {d.variant for d in docs} == {"bare", "cards"}

    class Store:
        def __init__(self, doc_id):
            self.doc_id, self.sha256, self.url = doc_id, "x", None

    hits = E.match_store(docs, [Store(f"wcxb-dev/{docs[0].derived_from[1]}")])
    assert hits[0] == 0  # the page borrows that stored document's text
    res = E.evaluate(E.Options(corpus=str(out), justext=False, resamples=20), log=lambda s: None)
    assert {"variant_bare", "variant_cards"} <= set(res["standard"])
    keep = res["standard"]["variant_bare"]["systems"]["keep-everything"]
    assert keep["recall"] == 1.0 and keep["precision"] < 0.8

    # --cv: fold j is scored by a model trained without every stored page fold j draws on
    store = [Store(f"wcxb-dev/{i:04d}") for i in range(30)]
    folds, assigned = E.construction_folds(docs, store, 5)
    for test, positions in zip(folds, assigned):
        used = {f"wcxb-dev/{src}" for pos in positions for src in docs[pos].derived_from}
        assert {store[i].doc_id for i in test} == used
        assert len({docs[pos].fold for pos in positions}) == 1
    with pytest.raises(E.EvaluationError, match="use --cv 5"):
        E.construction_folds(docs, store, 3)


def test_bad_options_and_sources_are_one_line_errors(corpus, tmp_path, capsys):
    with pytest.raises(SystemExit):
        C.main([str(tmp_path / "o.jsonl"), "--corpus", str(corpus), "--variants", "sideways"])
    assert "unknown sideways" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "truth": "x"}\n{"truth": 3}\n', encoding="utf-8")
    assert C.main([str(tmp_path / "o.jsonl"), "--corpus", str(bad)]) == 2
    assert "bad.jsonl:2" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()


def test_gold_list_items_appear_without_markdown_markers_as_page_text_shows_them(tmp_path):
    # WCXB's gold bodies write list items as "- item"; pages rendered from HTML never show
    # the dash, and a dash opening a short line is what a teaser card's "- Source" looks like
    rows = []
    for i in range(20):
        body = _story(i).split("\n")
        body[1:1] = ["- first item of the list", "* second item", "-\tthird item"]
        rows.append({"id": f"{i:04d}", "truth": "\n".join(body)})
    src = tmp_path / "src.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "o.jsonl.gz"
    assert C.main([str(out), "--corpus", str(src)]) == 0
    for r in read_records(out):
        lines = [p.text for p in segment(r["text"])]
        core = [t for t, lab in zip(lines, r["labels"]) if lab == "core-story"]
        assert core[1:4] == ["first item of the list", "second item", "third item"]
        assert "\n".join(core) == r["truth"]
    assert C.as_page_line("-5 degrees overnight") == "-5 degrees overnight"  # a sign, not a marker
    assert C.as_page_line("x - y") == "x - y"
    assert C.as_page_line("+ 3% growth") == "+ 3% growth"
    assert C.as_page_line("- ") == "- " and C.as_page_line("-- x") == "-- x"


def test_in_page_keeps_each_story_inside_its_own_page_chrome(tmp_path):
    rows = []
    for i in range(20):
        body = _story(i).split("\n")
        head, tail = [f"Menu {i}", f"Headline of story {i}"], [f"Footer {i}", "Share this"]
        rows.append(
            {
                "id": f"{i:04d}",
                "truth": "\n".join(body),
                "text": "\n".join(head + body + tail),
                "line_labels": ["other"] * 2 + ["core"] * len(body) + ["other"] * 2,
            }
        )
    src = tmp_path / "src.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    out = tmp_path / "o.jsonl.gz"
    assert C.main([str(out), "--corpus", str(src), "--in-page"]) == 0
    recs = read_records(out)
    assert recs and {r["variant"] for r in recs} == set(C.VARIANTS)
    for r in recs:
        lines = [p.text for p in segment(r["text"])]
        i = int(r["story"])
        assert lines[:2] == [f"Menu {i}", f"Headline of story {i}"] and lines[-2:] == [
            f"Footer {i}",
            "Share this",
        ]
        assert r["labels"][:2] == ["other", "other"] and r["labels"][-2:] == ["other", "other"]
        core = [t for t, lab in zip(lines, r["labels"]) if lab == "core-story"]
        assert "\n".join(core) == r["truth"] and core == _story(i).split("\n")[: len(core)]
    bad = tmp_path / "nolabels.jsonl"
    bad.write_text(json.dumps({"id": "1", "truth": "x", "text": "x"}) + "\n", encoding="utf-8")
    assert C.main([str(tmp_path / "p.jsonl"), "--corpus", str(bad), "--in-page"]) == 2


def test_default_corpus_is_the_wcxb_file_of_the_shared_folder_beside_the_checkout():
    """Run from a source checkout, construct finds ../shared/data without --corpus."""
    from conftest import REPO

    assert REPO.parent / "shared" / "data" / "wcxb_dev_articles.jsonl.gz" == C.DEFAULT_CORPUS
