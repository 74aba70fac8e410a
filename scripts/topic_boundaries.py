"""How often does one semantic resource's best single split find the true story edge?

Issue 23, part 1: before any feature is built on a semantic resource, measure on constructed
``bare`` pages (the story, then another story's paragraphs, no furniture) and ``before`` pages
(the tail of a previous article, then the story) whether the best single split of the page's
paragraph sequence, with that resource's paragraph vectors, lands on the true edge.

    python -m segmenter.construct --variants bare,before \\
        --corpus ../shared/data/wcxb_dev_articles.jsonl.gz /tmp/topic_constructed.jsonl.gz
    python scripts/topic_boundaries.py /tmp/topic_constructed.jsonl.gz

Resources (--resources, comma-separated; default all):

* ``page-tfidf``: TF-IDF fitted on the page's own paragraphs (the old baseline);
* ``lsa-gold``: TF-IDF (20 000 words) + TruncatedSVD fitted on WCXB's gold paragraphs of
  5+ words (the old 72 % figure), inside folds;
* ``lsa-store``: the same fitted on every distinct line of every page of the label store
  (WCXB, Andy, seeds), inside folds; ``lsa-store-prose``: only its lines of 5+ words;
* ``wordllama`` / ``wordllama-centred``: the mean of wordllama's static 256-d token vectors
  over the paragraph (l2_supercat), loaded offline from the installed package; *centred*
  subtracts the page's mean paragraph vector first (the common direction all averages share);
* ``wordfreq``: the page's words weighted by rarity from wordfreq (English, 8 - Zipf) in place
  of the page's IDF;
* ``wordtable-{N}k-{f16,i8}[-idf][-andy|-folds]``: a table derived from wordllama, so a model
  could ship it with no runtime dependency: for the N thousand most frequent lower-cased ``\\w+``
  words (``segmenter.features._WORD``) over every line of the label store (``-andy``: of its
  ``andy-news/`` documents only; ``-folds``: inside folds), wordllama's vector of the word alone (the mean of its token
  vectors, as ``wl.embed([word], norm=False)``), stored as float16 or as int8 with a per-row
  scale. A paragraph's vector is the mean of its known words' rows (unknown words skipped);
  ``-idf`` weighs each word by its IDF over the page's paragraphs. Only which words get a row
  depends on the pages (the vectors are wordllama's); by default that is drawn from the whole
  store, test pages included;
* ``wordtable-file:PATH[:DIMS][c]``: a table read from an ``.npz`` with ``words`` (unicode) and
  ``vectors`` (float32, one row a word), as ``scripts/distil_word_table.py`` writes it (a word
  table distilled from a sentence-embedding model, or wordllama's for reference), stored int8
  with a per-row float32 scale as the ``-i8`` tables and used as they are (mean of the known
  words' rows). ``:DIMS`` first reduces it to DIMS dimensions by an SVD fitted on the table's
  rows, *uncentred* (the rows projected on their top right singular vectors, the common
  direction kept); ``c`` (``:128c``, or ``:c`` for all dimensions) centres the rows on their
  mean first, so ``:128c`` is a PCA, as model2vec's post-processing. Not in the default list.

"Inside folds": constructed pages carry ``fold`` and ``derived_from`` (the WCXB page ids of the
story and of the other story); fold j's pages are split with a space fitted on no document
whose page id any of fold j's pages derives from. The best split of paragraphs p_1..p_n is the
k maximising ||sum of unit vectors of p_1..p_k|| + ||... of p_k+1..p_n|| (each paragraph's
cosine to its own segment's centroid, summed: within-segment similarity; ``within``), or the k
minimising the mean cosine between the two sides (``cross``). A split is exact when k is the
first paragraph of the second story, within one when it is off by at most one paragraph.
``chance`` is a uniformly random split. Load is the time to make the resource ready (for the
fitted spaces: the mean fit per fold; and loading the fitted space from a joblib file), ms/page
the vectors and both splits of one page, disk the resource's files. Deterministic for the
figures; the timings are of the run (run it niced, alone).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = (
    "page-tfidf",
    "lsa-gold",
    "lsa-store",
    "lsa-store-prose",
    "wordllama",
    "wordllama-centred",
    "wordfreq",
    "wordtable-20k-f16",
    "wordtable-20k-i8",
    "wordtable-50k-f16",
    "wordtable-50k-i8",
    "wordtable-50k-f16-idf",
    "wordtable-50k-f16-andy",
    "wordtable-20k-f16-folds",
)
WORDTABLE = re.compile(r"wordtable-(\d+)k-(f16|i8)(-idf)?(?:-(andy|folds))?")
WORDFILE = re.compile(r"wordtable-file:(.+?)(?::(\d*)(c?))?")
KINDS = ("bare", "before")
CRITERIA = ("within", "cross")


@dataclass
class Page:
    id: str
    kind: str
    fold: int
    paragraphs: list[str]
    edge: int  # index of the first paragraph after the label change
    derived_from: list[str]


@dataclass
class Tally:
    exact: dict[tuple[str, str], int] = field(default_factory=dict)  # (kind, criterion) -> hits
    near: dict[tuple[str, str], int] = field(default_factory=dict)
    seconds: float = 0.0  # vectors and splits, over all pages
    load: float = 0.0
    fit: float | None = None  # fitted spaces: mean fit time per fold
    disk: float = 0.0  # MB
    note: str = ""


def read_pages(path: str | Path, limit: int | None) -> list[Page]:
    pages = []
    with gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("variant") not in KINDS:
                continue
            labels = r["labels"]
            edges = [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]]
            if len(edges) != 1:
                raise SystemExit(f"{path}: page {r['id']} has {len(edges)} label changes, expected 1")
            paragraphs = r["text"].split("\n")
            if len(paragraphs) != len(labels):
                raise SystemExit(f"{path}: page {r['id']}: {len(paragraphs)} lines, {len(labels)} labels")
            pages.append(Page(r["id"], r["variant"], int(r["fold"]), paragraphs, edges[0], r["derived_from"]))
    pages.sort(key=lambda p: p.id)
    if limit:  # an even sample over the file, both kinds
        pages = pages[:: max(1, len(pages) // limit)][:limit]
    return pages


def unit_rows(X) -> np.ndarray:
    X = np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


def best_splits(V: np.ndarray) -> dict[str, int]:
    """For unit rows V (n paragraphs), the first paragraph of the second segment (1..n-1) of
    the best single split by each criterion; ties go to the earliest split."""
    n = len(V)
    prefix = np.cumsum(V, axis=0)[:-1]  # S_A for k = 1..n-1
    suffix = prefix[-1] + V[-1] - prefix  # S_B
    k = np.arange(1, n)
    within = np.linalg.norm(prefix, axis=1) + np.linalg.norm(suffix, axis=1)
    cross = np.einsum("ij,ij->i", prefix, suffix) / (k * (n - k))
    return {"within": int(np.argmax(within)) + 1, "cross": int(np.argmin(cross)) + 1}


def page_id(doc_id: str) -> str:
    """A label-store document's page id (``wcxb-dev/0001`` -> ``0001``), as the evaluation's
    folds match ``derived_from``."""
    return doc_id.rsplit("/", 1)[-1]


def fit_lsa(texts: Sequence[str], dims: int, seed: int):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(sublinear_tf=True, max_features=20000, min_df=2, dtype=np.float32)
    X = vec.fit_transform(texts)
    vec.stop_words_ = None  # the pruned words: not needed to transform, and large to store
    svd = TruncatedSVD(dims, algorithm="randomized", n_iter=5, random_state=seed).fit(X)
    return vec, svd


def lsa_disk_and_load(space) -> tuple[float, float]:
    """Size (MB) of the fitted space as a joblib file, and the time to load it."""
    import joblib

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "space.joblib"
        joblib.dump(space, path)
        t = time.perf_counter()
        joblib.load(path)
        return path.stat().st_size / 1e6, time.perf_counter() - t


def package_mb(module, names: Sequence[str] | None = None) -> float:
    root = Path(module.__file__).parent
    files = [root / n for n in names] if names else [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 1e6


def load_wordllama():
    """wordllama's l2_supercat 256-d weights and tokenizer from the installed package's own
    folders, downloads disabled: works with no network."""
    import wordllama
    from wordllama import WordLlama

    logging.getLogger().handlers.clear()  # importing wordllama calls logging.basicConfig(INFO)
    here = Path(wordllama.__file__).parent
    wl = WordLlama.load("l2_supercat", dim=256, cache_dir=here, disable_download=True)
    size = package_mb(
        wordllama, ["weights/l2_supercat_256.safetensors", "tokenizers/l2_supercat_tokenizer_config.json"]
    )
    return wl, size


def rarity_table() -> tuple[Callable[[str], float], float]:
    import wordfreq

    cache: dict[str, float] = {}

    def weight(word: str) -> float:
        w = cache.get(word)
        if w is None:
            w = cache[word] = max(0.0, 8.0 - wordfreq.zipf_frequency(word, "en"))
        return w

    weight("the")  # loads the English table
    return weight, package_mb(wordfreq, ["data/large_en.msgpack.gz"])


_COUNTS: dict[str, dict[str, int]] = {}


def word_counts(store, source: str, held: set[str]) -> dict[str, int]:
    """Frequencies of the lower-cased ``\\w+`` words over every line of the label store
    (``andy``: of its ``andy-news/`` documents; ``folds``: of no document whose page id is in
    ``held``)."""
    from collections import Counter

    from segmenter.features import _WORD

    if source in _COUNTS:
        return _COUNTS[source]
    counts: Counter[str] = Counter()
    for doc, lines in zip(store.docs, store.texts):
        if source == "andy" and not doc.doc_id.startswith("andy-news/"):
            continue
        if source == "folds" and page_id(doc.doc_id) in held:
            continue
        for line in lines:
            counts.update(_WORD.findall(line.lower()))
    if source != "folds":
        _COUNTS[source] = counts
    return counts


def word_table(counts, words: int, dtype: str):
    """The ``words`` most frequent words (ties by word) and wordllama's vector of each alone,
    as float16 rows or as int8 rows with a float32 scale per row."""
    wl, _ = load_wordllama()
    vocab = [w for w, _ in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:words]]
    # padding is masked out of the pooled mean: batched, each row is embed([word]) exactly
    E = wl.embed(vocab, norm=False, batch_size=512)
    if dtype == "f16":
        return {"words": vocab, "rows": E.astype(np.float16)}
    return int8_table(vocab, E)


def int8_table(vocab: list[str], E: np.ndarray) -> dict:
    """A table's rows as int8 with a float32 scale per row (each row's largest magnitude
    maps to 127)."""
    scale = np.abs(E).max(axis=1) / 127
    scale[scale == 0] = 1
    return {
        "words": vocab,
        "rows": np.round(E / scale[:, None]).astype(np.int8),
        "scale": scale.astype(np.float32),
    }


def file_table(path: str, dims: int | None, centred: bool):
    """The table of an ``.npz`` (``words``, ``vectors``), optionally centred on its mean row
    and reduced to ``dims`` dimensions by an SVD of its rows, as int8 rows with a float32 scale
    per row (as ``word_table``'s ``i8``)."""
    with np.load(path) as z:
        vocab = [str(w) for w in z["words"]]
        E = z["vectors"].astype(np.float64)
    if len(vocab) != len(E) or len(set(vocab)) != len(vocab):
        raise SystemExit(f"{path}: {len(vocab)} words ({len(set(vocab))} distinct) for {len(E)} rows")
    if centred:
        E = E - E.mean(axis=0)
    if dims and dims < E.shape[1]:
        _, _, Vt = np.linalg.svd(E, full_matrices=False)
        Vt = Vt[:dims]
        Vt *= np.sign(Vt[np.arange(dims), np.abs(Vt).argmax(axis=1)])[:, None]  # a fixed sign each
        E = E @ Vt.T
    E = E.astype(np.float32)
    return int8_table(vocab, E)


def table_files(table) -> tuple[dict[str, float], float, dict]:
    """Sizes (MB) of the table as a compressed joblib file and a compressed npz, the time to
    load the npz, and the loaded table."""
    import joblib

    with tempfile.TemporaryDirectory() as tmp:
        sizes = {}
        path = Path(tmp) / "table.joblib"
        joblib.dump(table, path, compress=3)
        sizes["joblib"] = path.stat().st_size / 1e6
        path = Path(tmp) / "table.npz"
        arrays = {k: v for k, v in table.items() if k != "words"}
        np.savez_compressed(path, words=np.frombuffer("\n".join(table["words"]).encode(), np.uint8), **arrays)
        sizes["npz"] = path.stat().st_size / 1e6
        t = time.perf_counter()
        with np.load(path) as z:
            loaded = {k: z[k] for k in z.files}
        loaded["words"] = loaded["words"].tobytes().decode().split("\n")
        return sizes, time.perf_counter() - t, loaded


def table_vectorizer(table, idf: bool) -> Callable[[list[str]], np.ndarray]:
    from segmenter.features import _WORD

    index = {w: i for i, w in enumerate(table["words"])}
    rows = table["rows"].astype(np.float32)
    if "scale" in table:
        rows *= table["scale"][:, None]
    rows = np.vstack([rows, np.zeros((1, rows.shape[1]), np.float32)])  # a zero row to pad with

    def vectorize(ps: list[str]) -> np.ndarray:
        ids = [[index[w] for w in _WORD.findall(p.lower()) if w in index] for p in ps]
        sizes = np.array([len(i) for i in ids])
        flat = np.fromiter((i for para in ids for i in para), np.int64, int(sizes.sum()))
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        R = rows[np.append(flat, len(rows) - 1)]
        if idf:
            para = np.repeat(np.arange(len(ps)), sizes)
            uniq = np.unique(para * len(rows) + flat) % len(rows)
            df = np.bincount(uniq, minlength=len(rows))
            R[:-1] *= (np.log((1 + len(ps)) / (1 + df[flat])) + 1)[:, None].astype(np.float32)
        V = np.add.reduceat(R, starts, axis=0)
        V[sizes == 0] = 0
        return unit_rows(V)

    return vectorize


def chance(pages: Sequence[Page]) -> Tally:
    t = Tally(note="uniform random split")
    for kind in KINDS:
        ps = [p for p in pages if p.kind == kind]
        exact = sum(1 / (len(p.paragraphs) - 1) for p in ps)
        near = sum(
            sum(1 for k in (p.edge - 1, p.edge, p.edge + 1) if 1 <= k < len(p.paragraphs))
            / (len(p.paragraphs) - 1)
            for p in ps
        )
        for c in CRITERIA:
            t.exact[kind, c], t.near[kind, c] = exact, near
    return t


def measure(name: str, pages: Sequence[Page], args, corpus_paragraphs, store) -> Tally:
    """Split every page with one resource; fitted resources are fitted once per fold."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    tally = Tally()
    folds = sorted({p.fold for p in pages})
    vectorize: Callable[[list[str]], np.ndarray]
    fits: list[float] = []
    for fold in folds:
        in_fold = [p for p in pages if p.fold == fold]
        held = {i for p in in_fold for i in p.derived_from}
        if name == "page-tfidf":

            def vectorize(ps: list[str]) -> np.ndarray:
                return unit_rows(TfidfVectorizer(sublinear_tf=True).fit_transform(ps))

        elif name.startswith("lsa-"):
            t = time.perf_counter()
            if name == "lsa-gold":
                texts = [p for sid, paras in corpus_paragraphs if sid not in held for p in paras]
            else:
                texts = sorted(
                    {
                        line
                        for doc, lines in zip(store.docs, store.texts)
                        if page_id(doc.doc_id) not in held
                        for line in lines
                        if name == "lsa-store" or len(line.split()) >= 5
                    }
                )
            vec, svd = fit_lsa(texts, args.dims, args.seed)
            fits.append(time.perf_counter() - t)
            if fold == folds[0]:
                tally.disk, tally.load = lsa_disk_and_load((vec, svd))
                tally.note = f"{len(texts)} texts in fold {fold}'s fit"

            def vectorize(ps: list[str], vec=vec, svd=svd) -> np.ndarray:
                return unit_rows(svd.transform(vec.transform(ps)))

        elif name in ("wordllama", "wordllama-centred"):
            if fold == folds[0]:
                t = time.perf_counter()
                wl, tally.disk = load_wordllama()
                tally.load = time.perf_counter() - t
                import wordllama

                tally.note = f"l2_supercat 256-d, offline; package {package_mb(wordllama):.0f} MB installed"

            centred = name.endswith("centred")

            def vectorize(ps: list[str], wl=wl, centred=centred) -> np.ndarray:
                E = np.asarray(wl.embed(ps, norm=False), dtype=np.float64)
                return unit_rows(E - E.mean(axis=0) if centred else E)

        elif name == "wordfreq":
            if fold == folds[0]:
                t = time.perf_counter()
                weight, tally.disk = rarity_table()
                tally.load = time.perf_counter() - t
                import wordfreq

                tally.note = f"English table, 8 - Zipf; package {package_mb(wordfreq):.0f} MB installed"

            def vectorize(ps: list[str], weight=weight) -> np.ndarray:
                cv = CountVectorizer()
                X = cv.fit_transform(ps).astype(np.float64)
                X.data = 1 + np.log(X.data)
                w = np.array([weight(word) for word in cv.get_feature_names_out()])
                return unit_rows(X.multiply(w[None, :]).tocsr())

        elif m := WORDTABLE.fullmatch(name):
            words, dtype, idf, source = int(m[1]) * 1000, m[2], bool(m[3]), m[4] or "store"
            if fold == folds[0] or source == "folds":
                t = time.perf_counter()
                counts = word_counts(store, source, held)
                table = word_table(counts, words, dtype)
                fits.append(time.perf_counter() - t)
                sizes, tally.load, table = table_files(table)
                tally.disk = sizes["npz"]
                what = {"store": "whole store", "andy": "andy-news", "folds": f"fold {fold}'s"}[source]
                tally.note = (
                    f"{len(table['words'])} of {len(counts)} words ({what}), {dtype}{', page IDF' if idf else ''};"
                    f" joblib {sizes['joblib']:.1f} MB, npz {sizes['npz']:.1f} MB (compressed)"
                )
                vectorize = table_vectorizer(table, idf)

        elif m := WORDFILE.fullmatch(name):
            if fold == folds[0]:
                path, dims, centred = m[1], int(m[2]) if m[2] else None, bool(m[3])
                t = time.perf_counter()
                table = file_table(path, dims, centred)
                fits.append(time.perf_counter() - t)
                sizes, tally.load, table = table_files(table)
                tally.disk = sizes["npz"]
                how = ", ".join(h for h in ("centred" * centred, f"SVD to {dims}" * bool(dims)) if h)
                tally.note = (
                    f"{len(table['words'])} words x {table['rows'].shape[1]} from {Path(path).name}"
                    f" ({how or 'as read'}), i8; npz {sizes['npz']:.1f} MB (compressed)"
                )
                vectorize = table_vectorizer(table, False)

        else:
            raise SystemExit(
                f"unknown resource {name!r}; choose from {', '.join(RESOURCES)}, wordtable-file:PATH[:DIMS][c]"
            )
        for p in in_fold:
            t = time.perf_counter()
            splits = best_splits(vectorize(p.paragraphs))
            tally.seconds += time.perf_counter() - t
            for c, k in splits.items():
                tally.exact[p.kind, c] = tally.exact.get((p.kind, c), 0) + (k == p.edge)
                tally.near[p.kind, c] = tally.near.get((p.kind, c), 0) + (abs(k - p.edge) <= 1)
    if fits:
        tally.fit = sum(fits) / len(fits)
    return tally


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", help="constructed pages (python -m segmenter.construct), bare and before used")
    ap.add_argument(
        "--labels", default=str(ROOT / "labels"), help="label store for lsa-store (default labels/)"
    )
    ap.add_argument(
        "--corpus",
        default=str(ROOT.parent / "shared" / "data" / "wcxb_dev_articles.jsonl.gz"),
        help="WCXB dev corpus, whose gold paragraphs lsa-gold is fitted on (default ../shared/data/...)",
    )
    ap.add_argument("--resources", default=",".join(RESOURCES), help="comma-separated (default all)")
    ap.add_argument("--dims", type=int, default=256, help="LSA dimensions (default 256)")
    ap.add_argument("--seed", type=int, default=0, help="TruncatedSVD random state (default 0)")
    ap.add_argument("--limit", type=int, default=None, help="only N pages, evenly sampled (quick checks)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # wordllama's tokenizer: one thread
    with threadpool_limits(1):  # one core: the machine is shared
        return run(args)


def run(args) -> int:
    names = [n for n in args.resources.split(",") if n]

    pages = read_pages(args.pages, args.limit)
    count = {k: sum(p.kind == k for p in pages) for k in KINDS}
    corpus_paragraphs = store = None
    if "lsa-gold" in names:
        from segmenter.evaluation.construct import read_stories

        corpus_paragraphs = [
            (s.id, [p for p in s.paragraphs if len(p.split()) >= 5]) for s in read_stories(args.corpus, 5)
        ]
    if any(n in ("lsa-store", "lsa-store-prose") or WORDTABLE.fullmatch(n) for n in names):
        from segmenter.dataset import load_training_data

        store = load_training_data(args.labels)

    rows = [("chance", chance(pages))]
    for name in names:
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        rows.append((name, measure(name, pages, args, corpus_paragraphs, store)))

    print(f"{len(pages)} pages ({', '.join(f'{k} {v}' for k, v in count.items())}) from {args.pages}")
    print("rate of pages whose best single split is the true edge: exact / within one paragraph")
    head = ["resource", "split"] + [f"{k} {t}" for k in KINDS for t in ("exact", "±1")]
    head += ["load s", "ms/page", "disk MB", "note"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for name, t in rows:
        for c in CRITERIA:
            cells = [name, c]
            for k in KINDS:
                cells += [
                    f"{t.exact.get((k, c), 0) / count[k]:.1%}",
                    f"{t.near.get((k, c), 0) / count[k]:.1%}",
                ]
            if name == "chance":
                cells += ["—", "—", "—"]
            else:
                load = f"{t.load:.2f}" + (f" (fit {t.fit:.0f})" if t.fit is not None else "")
                cells += [load, f"{1000 * t.seconds / len(pages):.2f}", f"{t.disk:.1f}" if t.disk else "0"]
            cells.append(t.note)
            print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
