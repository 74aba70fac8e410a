"""python -m segmenter.evaluate: the standard metric, its bootstrap, the baselines, the
held-out checks and the command line."""

import gzip
import json
import math
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from segmenter import evaluate as E
from segmenter.evaluation import cli
from segmenter.evaluation import folds as F
from segmenter.evaluation import metrics as M
from segmenter.labelling.store import Document, LabelRecord, LabelStore, paragraph_hash, sha256_text
from segmenter.segment import segment

LONG = "This is a long line of story text with well over ten words in it, for sure."
STORY2 = "The council voted on Tuesday to close the old bridge to traffic for a year of repairs."


def _doc(text, truth=None, labels=None, **extra):
    obj = {"text": text, **extra}
    if truth is not None:
        obj["truth"] = truth
    if labels is not None:
        obj["labels"] = labels
    return obj


def _write(path, objs, gz=False):
    data = "".join(json.dumps(o) + "\n" for o in objs).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# -- the standard metric ----------------------------------------------------------------
def test_perfect_prediction_scores_one():
    s = M.evaluate_texts(["one two three four five"], ["one two three four five"])
    assert (s["precision"], s["recall"], s["f1"]) == (1.0, 1.0, 1.0)


def test_shingles_are_word_4grams_and_short_texts_make_one_shorter_shingle():
    assert M.shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert M.shingles("Hello, world!") == {("Hello", "world"): 1}
    assert M.shingles("") == {} and M.shingles("-- !") == {}
    # punctuation is not a token, case counts (as in the reference implementation)
    assert M.shingle_match("Hello world", "Hello, world!") == (1.0, 0.0, 0.0)
    assert M.shingle_match("Hello world", "hello world") == (0.0, 0.5, 0.5)
    assert M.shingle_match("Hello world", "Hello") == (0.0, 0.5, 0.5)


def test_empty_prediction_counts_for_recall_only():
    assert M.shingle_match("a b c d e", "") == (0.0, 0.0, 1.0)
    s = M.evaluate_texts(["a b c d e"], [""])
    assert math.isnan(s["precision"]) and s["recall"] == 0.0 and math.isnan(s["f1"])
    # with a perfect document beside it: P over 1 document, R over 2
    s = M.evaluate_texts(["a b c d e", "a b c d e"], ["a b c d e", ""])
    assert s["precision"] == 1.0 and s["recall"] == 0.5
    assert s["f1"] == pytest.approx(2 / 3)
    assert (s["documents_with_prediction"], s["documents_with_gold"]) == (1, 2)


def test_empty_gold_counts_for_precision_only():
    assert M.shingle_match("", "w x y z") == (0.0, 1.0, 0.0)
    s = M.evaluate_texts(["", "a b c d"], ["w x y z", "a b c d"])
    assert s["precision"] == 0.5 and s["recall"] == 1.0
    assert s["f1"] == pytest.approx(2 / 3)
    assert M.shingle_match("", "") == (0.0, 0.0, 0.0)


def test_partial_overlap_exact_numbers():
    gold = "one two three four five six"  # 3 shingles
    a = "one two three four five seven"  # 2 shared, 1 extra, 1 missed
    b = "one two three four five six seven eight"  # 3 shared, 2 extra
    assert M.shingle_match(gold, a) == (0.5, 0.25, 0.25)
    assert M.shingle_match(gold, b) == pytest.approx((0.6, 0.4, 0.0))
    s = M.evaluate_texts([gold, gold], [a, b])
    p, r = (2 / 3 + 3 / 5) / 2, (2 / 3 + 1) / 2
    assert s["precision"] == pytest.approx(p) and s["recall"] == pytest.approx(r)
    assert s["f1"] == pytest.approx(2 * p * r / (p + r))


def test_shingles_are_a_multiset():
    # gold holds "a b c d" twice; a prediction holding it once recalls 1 of 5 shingles
    tp, fp, fn = M.shingle_match("a b c d a b c d", "a b c d")
    assert (tp, fp, fn) == (0.2, 0.0, 0.8)


def test_bootstrap_is_deterministic_and_zero_for_identical_documents():
    rng = np.random.default_rng(1)
    m = rng.dirichlet([1, 1, 1], size=50)
    a, b = M.bootstrap_std(m, 300, seed=7), M.bootstrap_std(m, 300, seed=7)
    assert a == b
    assert M.bootstrap_std(m, 300, seed=8) != a
    same = np.tile([0.6, 0.2, 0.2], (40, 1))
    std = M.bootstrap_std(same, 300, seed=0)
    assert std["precision"] == pytest.approx(0, abs=1e-12)
    assert std["recall"] == pytest.approx(0, abs=1e-12) and std["f1"] == pytest.approx(0, abs=1e-12)


def test_bootstrap_std_matches_the_standard_error():
    # per-document precision alternating 0 and 1: the mean's standard error is 0.5 / sqrt(n)
    m = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] * 200)
    std = M.bootstrap_std(m, 1000, seed=0, max_cells=50_000)  # several blocks
    assert std["precision"] == pytest.approx(0.5 / math.sqrt(400), rel=0.15)


def test_calibration_error_is_zero_when_probabilities_match_frequencies_and_large_when_not():
    # 0.25: one line in four is the story; 0.75: three in four
    p = [0.25] * 4 + [0.75] * 4
    y = [True, False, False, False, True, True, True, False]
    cal = M.calibration(p, y)
    assert cal["ece"] == pytest.approx(0.0) and cal["brier"] == pytest.approx(0.1875)
    assert [(b["lines"], b["observed"]) for b in cal["bins"]] == [(4, 0.25), (4, 0.75)]
    overconfident = M.calibration([0.95] * 4, [True, False, True, False])
    assert overconfident["ece"] == pytest.approx(0.45)
    # bins weigh by their lines: nine right, one line 0.9 off (0.18, not the bins' mean 0.5)
    assert M.calibration([0.1] * 9 + [0.9], [False] * 10)["ece"] == pytest.approx(0.18)
    assert M.calibration([1.0], [True])["bins"][0]["to"] == 1.0  # p = 1 falls in the last bin
    with pytest.raises(ValueError, match="2 probabilities but 1 outcomes"):
        M.calibration([0.1, 0.2], [True])


# -- corpus and baselines -----------------------------------------------------------------
def test_baselines_on_a_tiny_corpus(tmp_path):
    text = f"Menu\nShort line here\n{LONG}\n{STORY2}\nComments"
    labels = ["other", "other", "core-story", "core-story", "other"]
    path = _write(tmp_path / "c.jsonl", [_doc(text, labels=labels)])
    [doc] = E.read_corpus(path)
    assert doc.gold == f"{LONG}\n{STORY2}"  # from the labels when there is no truth
    assert E.keep_everything(doc).text == "\n".join(doc.lines)
    long = E.long_lines(doc)
    assert long.text == f"{LONG}\n{STORY2}" and long.kept.tolist() == [False, False, True, True, False]
    preds = {"keep-everything": [E.keep_everything(doc)], "lines-10-words": [long]}
    std = E.standard_figures([doc], preds, resamples=10, seed=0)["all"]["systems"]
    assert std["lines-10-words"]["f1"] == 1.0
    assert std["keep-everything"]["recall"] == 1.0 and std["keep-everything"]["precision"] < 1.0
    lines = E.line_figures([doc], preds)
    core = lines["classes"]["core-story"]
    assert core["keep-everything"]["per_line"]["precision"] == pytest.approx(2 / 5)
    assert core["lines-10-words"]["per_line"]["f1"] == 1.0


def test_related_article_lines_kept_are_counted(tmp_path):
    text = f"{LONG}\nOther story: a teaser card of another article\nNav"
    path = _write(
        tmp_path / "c.jsonl", [_doc(text, truth=LONG, labels=["core-story", "related-article", "other"])]
    )
    docs = E.read_corpus(path)
    proba = np.zeros((3, 5))
    proba[0, 0] = proba[1, 0] = 1.0  # story and teaser kept as core-story
    proba[2, 3] = 1.0  # nav
    model = [E.line_predictions(docs[0].lines, proba, None)]
    lf = E.line_figures(docs, {"segmenter": model, "keep-everything": [E.keep_everything(docs[0])]})
    assert lf["related_article_kept_as_core"]["segmenter"]["lines"] == 1
    assert lf["classes"]["related-article"]["segmenter"]["per_line"]["recall"] == 0.0
    assert "keep-everything" not in lf["classes"]["related-article"]  # it predicts no classes


def test_spillover_only_and_limit(tmp_path):
    objs = [_doc(f"{LONG} {i}", truth=LONG, spillover=i % 2 == 0, spillover_heavy=False) for i in range(6)]
    path = _write(tmp_path / "c.jsonl.gz", objs, gz=True)
    assert len(E.read_corpus(path, limit=4)) == 4
    docs = E.read_corpus(path, limit=2, spillover_only=True)
    assert [d.text for d in docs] == [f"{LONG} 0", f"{LONG} 2"]


def test_justext_wrapping():
    assert (
        E.justext_html(["a < b", 'x & "y"'])
        == "<html><body><p>a &lt; b</p><p>x &amp; &quot;y&quot;</p></body></html>"
    )
    pytest.importorskip("justext")
    body = (
        "The council said on Tuesday that it would close the old bridge for a year, "
        "because the engineers who inspected it in the spring found that the steel was "
        "weaker than they had thought and that the repairs could not wait any longer."
    )
    pred = E.justext_lines(["Home", "News", "Sport", body, "Contact us"])
    assert pred.text == body
    assert pred.kept.tolist() == [False, False, False, True, False]


# -- held-out checks ----------------------------------------------------------------------
def test_store_documents_are_matched_by_text_or_by_id_and_url():
    store = [
        Document("wcxb-dev/0001", "other text", sha256_text("other text"), url="http://a/1"),
        Document("seeds/x.txt", "page text", sha256_text("page text")),
    ]
    docs = [
        E.CorpusDoc("c:1", "0001", "http://a/1", "changed", ["changed"], "", None),
        E.CorpusDoc("c:2", None, None, "page text", ["page text"], "", None),
        E.CorpusDoc("c:3", "0001", "http://elsewhere", "new", ["new"], "", None),
    ]
    assert E.match_store(docs, store) == [0, 1, None]


def _synthetic_store(root, n=6):
    """A store of ``n`` small labelled pages (story lines core-story, the rest nav)."""
    docs, records = [], []
    for d in range(n):
        text = (
            f"Menu {d}\nHome\n"
            + "\n".join(
                f"Story {d} sentence {j} tells what happened in town {d} on day {j}, said the mayor."
                for j in range(4)
            )
            + f"\nShare this\nFooter {d}\n"
        )
        doc = Document(f"syn/{d}", text, sha256_text(text))
        docs.append(doc)
        for p in segment(text):
            lab = "core-story" if p.text.startswith("Story") else "nav"
            records.append(
                LabelRecord(
                    doc.doc_id,
                    doc.sha256,
                    p.index,
                    p.start,
                    p.end,
                    paragraph_hash(p.text),
                    lab,
                    "t",
                    "2026-01-01T00:00:00+00:00",
                )
            )
    LabelStore(root).write_shard("syn", docs, records)
    return docs


def test_cv_never_scores_a_document_with_a_model_that_saw_it(tmp_path, monkeypatch):
    import segmenter.train as T

    store_docs = _synthetic_store(tmp_path / "labels")
    corpus = [_doc(d.text, truth="x") for d in store_docs[:4]] + [_doc(f"Unseen\n{LONG}\n", truth=LONG)]
    path = _write(tmp_path / "c.jsonl", corpus)
    fits = []

    class Spy:
        def __init__(self, xs):
            self.xs = xs

        def predict_proba(self, X):
            for x in X:
                assert not any(x.shape == t.shape and np.array_equal(x, t) for t in self.xs), "leak"
            return [np.tile([1.0, 0, 0, 0, 0], (len(x), 1)) for x in X]

    def fake_fit(xs, *rest):
        fits.append(len(xs))
        return Spy(list(xs))

    monkeypatch.setattr(F, "fit_classifier", fake_fit)
    docs = E.read_corpus(path)
    probas, info = E.cv_probabilities(docs, tmp_path / "labels", k=3, seed=0, log=lambda s: None)
    assert all(p is not None and len(p) == len(d.lines) for p, d in zip(probas, docs))
    assert info["corpus_documents_in_store"] == 4 and len(fits) == 3
    data = T.load_training_data(tmp_path / "labels")
    folds = E.grouped_folds(data, 3, 0)
    assert sorted(i for f in folds for i in f) == list(range(len(store_docs)))


def test_repeats_report_each_seeds_figures_and_the_spread_between_them(tmp_path, monkeypatch, capsys):

    store_docs = _synthetic_store(tmp_path / "labels")

    def story(d):
        return "\n".join(t for t in d.text.splitlines() if t.startswith("Story"))

    # pages 0-2 carry more furniture and are flagged heavy spillover: their figures differ
    corpus = [
        _doc(
            d.text + ("Related\nMore news from town\nSign up today\n" if i < 3 else ""),
            truth=story(d),
            spillover=i < 3,
            spillover_heavy=i < 3,
        )
        for i, d in enumerate(store_docs)
    ]
    path = _write(tmp_path / "c.jsonl", corpus)
    seeds = []

    class Model:  # p(core) 0.7 on story lines (log_words > 2.5), `other` elsewhere
        def __init__(self, other):
            self.other = other

        def predict_proba(self, X):
            return [
                np.where(x[:, :1] > 2.5, [0.7, 0, 0, 0.3, 0], [self.other, 0, 0, 1 - self.other, 0])
                for x in X
            ]

    def fake_fit(xs, labels, w, groups, seed, *rest, **kw):
        seeds.append(seed)
        # seed 5 keeps every line at --threshold 0.6; seeds 6 and 7 keep the story alone
        # (seed 7 only because the threshold is 0.6, not 0.5)
        return Model({5: 0.65, 6: 0.3, 7: 0.59}[seed])

    monkeypatch.setattr(F, "fit_classifier", fake_fit)
    out, meta = tmp_path / "out.json", tmp_path / "m.json"
    meta.write_text("{}")
    code, stdout, err = _main(
        [
            str(path),
            "--cv",
            "3",
            "--repeats",
            "3",
            "--seed",
            "5",
            "--threshold",
            "0.6",
            "--no-justext",
            "--labels",
            str(tmp_path / "labels"),
            "--resamples",
            "20",
            "--json",
            str(out),
            "--record",
            str(meta),
        ],
        capsys,
    )
    assert code == 0, err
    assert sorted(set(seeds)) == [5, 6, 7] and len(seeds) == 9  # 3 fold models per repeat
    result = json.loads(out.read_text())
    rep = result["repeats"]
    assert rep["seeds"] == [5, 6, 7]
    for subset in ("all", "spillover_heavy", "no_spillover"):
        got = rep["subsets"][subset]
        keep_all = result["standard"][subset]["systems"]["keep-everything"]["f1"]
        # the first seed is the report's own run, and keeps everything
        assert got["f1"][0] == pytest.approx(result["standard"][subset]["systems"]["segmenter"]["f1"])
        assert got["f1"] == pytest.approx([keep_all, 1.0, 1.0])
        assert got["f1_mean"] == pytest.approx((keep_all + 2.0) / 3)
        assert got["f1_sd"] == pytest.approx((1.0 - keep_all) / math.sqrt(3))
    assert rep["subsets"]["spillover_heavy"]["f1"][0] < rep["subsets"]["no_spillover"]["f1"][0]
    heavy = rep["subsets"]["spillover_heavy"]
    row = next(line for line in stdout.splitlines() if line.startswith("  pages with heavy spillover (3)"))
    assert (
        f"{heavy['f1'][0]:6.3f}  1.000  1.000" in row
        and f"{heavy['f1_mean']:6.3f} ± {heavy['f1_sd']:.3f}" in row
    )
    assert "Repeated cross-validation, 3 seeds (5, 6, 7)" in stdout
    recorded = json.loads(meta.read_text())["evaluations"]["c.jsonl"]["repeats"]
    assert recorded["seeds"] == [5, 6, 7] and recorded["subsets"]["all"]["f1_sd"] == round(
        rep["subsets"]["all"]["f1_sd"], 4
    )


def test_repeats_need_cross_validation(tmp_path, capsys):
    path = _write(tmp_path / "c.jsonl", [_doc(LONG, truth=LONG)])
    for args, message in (
        (["--repeats", "2"], "--repeats needs --cv"),
        (["--cv", "3", "--repeats", "0"], "at least 1"),
    ):
        with pytest.raises(SystemExit) as exc:
            E.main([str(path), *args])
        assert exc.value.code == 2 and message in capsys.readouterr().err
    with pytest.raises(E.EvaluationError, match="needs --cv"):
        E.evaluate(E.Options(corpus=str(path), repeats=2, justext=False))


def test_repeat_summary_records_undefined_figures_as_null():
    # a subset where one seed's model kept nothing has no precision: null, not a crash
    result = {
        "corpus": "/x/c.jsonl",
        "model": {"mode": "cv"},
        "held_out": {"summary": "yes"},
        "standard": {},
        "repeats": {
            "seeds": [0, 1],
            "subsets": {
                "all": {
                    "documents": 3,
                    "f1": [0.51234, None],
                    "f1_mean": None,
                    "f1_sd": None,
                    "precision_mean": 0.7,
                    "recall_mean": float("nan"),
                }
            },
        },
    }
    rep = E.summarize(result)["repeats"]
    assert rep == {
        "seeds": [0, 1],
        "subsets": {
            "all": {
                "f1": [0.5123, None],
                "f1_mean": None,
                "f1_sd": None,
                "precision_mean": 0.7,
                "recall_mean": None,
            }
        },
    }
    json.dumps(rep, allow_nan=False)


def test_documents_in_the_label_store_get_a_not_held_out_warning(tmp_path, shipped_model):
    store_docs = _synthetic_store(tmp_path / "labels", n=2)
    path = _write(tmp_path / "c.jsonl", [_doc(store_docs[0].text, truth="x"), _doc(LONG, truth=LONG)])
    logged = []
    res = E.evaluate(
        E.Options(str(path), labels=str(tmp_path / "labels"), resamples=10, justext=False), log=logged.append
    )
    assert res["held_out"]["held_out"] is False and res["held_out"]["documents_in_store"] == 1
    assert any("NOT held-out" in w for w in res["warnings"]) and any("NOT held-out" in s for s in logged)
    assert "WARNING" in E.format_report(res)


def test_missing_justext_is_reported_and_skipped(tmp_path, monkeypatch, shipped_model):
    monkeypatch.setattr(cli, "justext_available", lambda: False)
    path = _write(tmp_path / "c.jsonl", [_doc(LONG, truth=LONG)])
    logged = []
    res = E.evaluate(E.Options(str(path), labels=str(tmp_path), resamples=10), log=logged.append)
    assert "justext" not in res["standard"]["all"]["systems"] and "justext" in res["skipped"]
    assert any("not installed" in s for s in logged)
    assert "jusText: not installed" in E.format_report(res)


# -- command line -------------------------------------------------------------------------
def _main(args, capsys):
    code = E.main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_malformed_line_is_a_one_line_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_doc(LONG, truth=LONG)) + "\n\n{not json\n", encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "segmenter.evaluate", str(path)], capture_output=True, text=True, cwd=REPO
    )
    assert res.returncode == 2
    assert f"{path}:3" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


@pytest.mark.parametrize(
    "obj, message",
    [
        ({"truth": "x"}, "'text'"),
        ({"text": "a\nb"}, "needs 'truth' or per-line labels"),
        ({"text": "a\nb", "labels": ["core-story"]}, "1 labels for 2 lines"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_bad_records_name_their_line(tmp_path, capsys, obj, message):
    path = _write(tmp_path / "c.jsonl", [_doc(LONG, truth=LONG), obj])
    code, out, err = _main([str(path)], capsys)
    assert code == 2 and "c.jsonl:2" in err and message in err and len(err.strip().splitlines()) == 1


def test_missing_and_unreadable_files(tmp_path, capsys):
    code, _, err = _main([str(tmp_path / "none.jsonl")], capsys)
    assert code == 2 and "none.jsonl: no such file" in err
    bad = tmp_path / "c.jsonl.gz"
    bad.write_bytes(b"not gzip")
    code, _, err = _main([str(bad)], capsys)
    assert code == 2 and "c.jsonl.gz:1" in err


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exc:
        E.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for opt in (
        "--model",
        "--cv",
        "--threshold",
        "--labels",
        "--limit",
        "--spillover-only",
        "--json",
        "--resamples",
        "--seed",
        "--jobs",
        "--no-justext",
        "--sweep",
    ):
        assert opt in out


def test_end_to_end_with_the_shipped_model_writes_json(tmp_path):
    corpus = [
        _doc(
            f"Home\nNews\n{LONG}\n{STORY2}\nShare this\nRelated: another story teaser line",
            truth=f"{LONG}\n{STORY2}",
            spillover=True,
            spillover_heavy=False,
            labels=["other", "other", "core-story", "core-story", "other", "related-article"],
        ),
        _doc(
            f"Menu\n{STORY2}\nFooter",
            truth=STORY2,
            spillover=False,
            spillover_heavy=False,
            labels=["other", "core-story", "other"],
        ),
        _doc("Login\nSubscribe", truth="", spillover=False, spillover_heavy=False, labels=["other", "other"]),
    ]
    path = _write(tmp_path / "c.jsonl.gz", corpus, gz=True)
    out = tmp_path / "out.json"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmenter",
            "evaluate",
            str(path),
            "--json",
            str(out),
            "--labels",
            str(tmp_path),
            "--resamples",
            "50",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert res.returncode == 0, res.stderr
    assert "segmenter" in res.stdout and "keep everything" in res.stdout and "held-out: yes" in res.stdout
    fig = json.loads(out.read_text())
    assert fig["documents"] == 3 and fig["held_out"]["held_out"] is True
    assert set(fig["standard"]) == {"all", "spillover", "spillover_heavy", "no_spillover"}
    assert fig["standard"]["spillover"]["documents"] == 1
    systems = fig["standard"]["all"]["systems"]
    assert {"segmenter", "keep-everything", "lines-10-words"} <= set(systems)
    keep = systems["keep-everything"]
    assert (
        keep["recall"] == 1.0 and keep["documents_with_gold"] == 2 and keep["documents_with_prediction"] == 3
    )
    for name in ("segmenter", "keep-everything", "lines-10-words"):
        assert 0.0 <= systems[name]["f1"] <= 1.0 and systems[name]["f1_std"] is not None
    assert systems["lines-10-words"]["f1"] == 1.0
    assert fig["lines"]["classes"]["core-story"]["segmenter"]["per_line"]["support"] == 3
    assert "related_article_kept_as_core" in fig["lines"]
    cal = fig["calibration"]  # of the probabilities the app shows, over every labelled line
    assert cal["lines"] == 11 and sum(b["lines"] for b in cal["bins"]) == 11
    assert "Calibration of p(core-story) over 11 labelled lines" in res.stdout


def test_sweep_scores_the_same_run_at_each_threshold(tmp_path, capsys):
    corpus = [
        _doc(
            f"Home\nNews\n{LONG}\n{STORY2}\nShare this",
            truth=f"{LONG}\n{STORY2}",
            labels=["other", "other", "core-story", "core-story", "other"],
        ),
        _doc(f"Menu\n{STORY2}\nFooter", truth=STORY2, labels=["other", "core-story", "other"]),
    ]
    path = _write(tmp_path / "c.jsonl", corpus)
    out = tmp_path / "out.json"
    assert (
        _main(
            [
                str(path),
                "--sweep",
                "0,1",
                "--no-justext",
                "--labels",
                str(tmp_path),
                "--resamples",
                "20",
                "--json",
                str(out),
            ],
            capsys,
        )[0]
        == 0
    )
    systems = json.loads(out.read_text())["standard"]["all"]["systems"]
    # p(core) >= 0 keeps every line; p(core) >= 1 keeps none (probabilities stay below 1)
    assert systems["segmenter@0"] == systems["keep-everything"]
    assert systems["segmenter@1"]["recall"] == 0.0
    with pytest.raises(SystemExit) as exc:
        E.main([str(path), "--sweep", "0.5,2"])
    assert exc.value.code == 2 and "must lie in [0, 1]" in capsys.readouterr().err


def test_record_merges_held_out_figures_into_model_metadata_and_refuses_seen_documents(tmp_path):
    from segmenter.evaluate import EvaluationError, record_summary

    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"sha256": "abc"}))
    result = {
        "corpus": "/x/l3s_gn1.jsonl.gz",
        "documents": 2,
        "model": {"mode": "shipped", "sha256": "abc"},
        "held_out": {"held_out": True, "summary": "yes"},
        "standard": {
            "all": {
                "systems": {
                    "segmenter": {"precision": 0.9, "recall": 0.95, "f1": 0.92, "f1_std": 0.01},
                    "justext": {"precision": 0.8, "recall": 0.8, "f1": 0.8, "f1_std": 0.02},
                }
            }
        },
        "calibration": {"lines": 40, "ece": 0.031234, "brier": 0.07, "bins": []},
    }
    record_summary(meta, result)
    rec = json.loads(meta.read_text())
    assert rec["sha256"] == "abc"
    assert rec["evaluations"]["l3s_gn1.jsonl.gz"]["standard"]["all"]["segmenter"]["f1"] == 0.92
    assert rec["evaluations"]["l3s_gn1.jsonl.gz"]["f1_over_justext"] == 0.12
    assert rec["evaluations"]["l3s_gn1.jsonl.gz"]["calibration"] == {
        "ece": 0.0312,
        "brier": 0.07,
        "lines": 40,
    }
    result["held_out"] = {"held_out": False}
    with pytest.raises(EvaluationError, match="not held-out"):
        record_summary(meta, result)
