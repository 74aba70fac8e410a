"""Fold schemes shared by training and evaluation: which documents a model is trained
without, and the held-out probabilities of the models fitted that way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ..dataset import (
    DEFAULT_AUGMENT_COPIES,
    DEFAULT_AUGMENT_RATE,
    Augmented,
    StoreFeatures,
    TrainingData,
    featurize,
    fit_classifier,
    label_set_hash,
)
from .corpus import CorpusDoc, EvaluationError


def _by_page_id(store_docs: Sequence) -> dict[str, list[int]]:
    """Store positions by page id: the last part of the store's doc_id (``wcxb-dev/<id>``)."""
    by_id: dict[str, list[int]] = {}
    for i, d in enumerate(store_docs):
        by_id.setdefault(d.doc_id.rsplit("/", 1)[-1], []).append(i)
    return by_id


def match_store(docs: Sequence[CorpusDoc], store_docs: Sequence) -> list[int | None]:
    """For each corpus document, the index of the same document among ``store_docs``
    (label-store ``Document``s): same text (sha256), or same page id (the store's doc_id
    ends in ``/<id>``, e.g. ``wcxb-dev/<id>``) with the same URL."""
    by_sha: dict[str, int] = {}
    for i, d in enumerate(store_docs):
        by_sha.setdefault(d.sha256, i)
    by_id = _by_page_id(store_docs)
    out: list[int | None] = []
    for doc in docs:
        hit = by_sha.get(doc.sha256)
        if hit is None and doc.doc_id is not None:
            for i in by_id.get(doc.doc_id, ()):
                if doc.url is not None and store_docs[i].url == doc.url:
                    hit = i
                    break
        for source in doc.derived_from or ():  # a constructed page holds text of its sources
            if hit is None and by_id.get(source):
                hit = by_id[source][0]
        out.append(hit)
    return out


def store_overlap(docs: Sequence[CorpusDoc], labels_dir: str | Path) -> dict:
    """How many corpus documents are in the label store (and so were likely trained on)."""
    from ..labelling.store import LabelStore, LabelStoreError

    store = LabelStore(labels_dir)
    if not store.root.is_dir():
        return {"label_store": str(labels_dir), "checked": False, "documents_in_store": None}
    try:
        store_docs = list(store.documents().values())
    except LabelStoreError as exc:
        return {
            "label_store": str(labels_dir),
            "checked": False,
            "documents_in_store": None,
            "error": str(exc),
        }
    hits = match_store(docs, store_docs)
    ids = [store_docs[h].doc_id for h in hits if h is not None]
    return {
        "label_store": str(labels_dir),
        "checked": True,
        "documents_in_store": len(ids),
        "examples": list(dict.fromkeys(ids))[:5],
    }


# -- which documents a model is trained without -------------------------------------------
def fit_without(
    held_out: Sequence[int],
    X: list[np.ndarray],
    labels: list,
    W: list[np.ndarray],
    augmented: Augmented,
    seed: int,
):
    """The classifier ``segmenter.train`` fits, on every document but ``held_out`` (and
    on the perturbed copies of those it keeps): one fold's model, in training and in
    evaluation alike."""
    held = set(held_out)
    train = [i for i in range(len(X)) if i not in held]
    return fit_classifier(*augmented.training_set(train, X, labels, W), seed)


def held_out_folds(data: TrainingData, seed: int, k: int = 5) -> list[list[int]]:
    """Test folds: each finely labelled document alone (grouped k-fold once there are more
    than 20), and the coarse corpora in k groups of documents."""
    rng = np.random.default_rng(seed)
    folds: list[list[int]] = []
    fine = data.fine
    if len(fine) <= 20:
        folds += [[i] for i in fine]
    else:
        order = rng.permutation(fine)
        folds += [sorted(order[j::k].tolist()) for j in range(k)]
    coarse = data.coarse
    if len(coarse) >= k:
        order = rng.permutation(coarse)
        folds += [sorted(order[j::k].tolist()) for j in range(k)]
    return folds


def cross_validate(
    data: TrainingData,
    X: list[np.ndarray],
    W: list[np.ndarray],
    seed: int,
    jobs: int = 1,
    folds: list[list[int]] | None = None,
    augmented: Augmented | None = None,
) -> list[np.ndarray | None]:
    """Held-out probabilities per document (None for documents never held out)."""
    from joblib import Parallel, delayed

    folds = held_out_folds(data, seed) if folds is None else folds
    augmented = Augmented({}) if augmented is None else augmented

    def run(test: list[int]):
        return test, fit_without(test, X, data.labels, W, augmented, seed).predict_proba([X[i] for i in test])

    out: list[np.ndarray | None] = [None] * len(X)
    results = Parallel(n_jobs=jobs)(delayed(run)(f) for f in folds)
    for test, probas in results:
        for i, p in zip(test, probas):
            out[i] = p
    return out


# -- cross-validation over the label store -----------------------------------------------
def site_of(url: str | None) -> str | None:
    """The site a page comes from: its URL's host without a leading ``www.``; None without one."""
    if not url:
        return None
    host = urlsplit(url).hostname
    if not host:
        return None
    return host[4:] if host.startswith("www.") else host


def grouped_folds(data, k: int, seed: int) -> list[list[int]]:
    """K test folds over the store's documents. A group is one site (the URL's host): a
    model is never scored on a page of a site whose template it learnt from another page.
    Documents without a URL group by text (one stored twice under different ids stays
    together); perturbed copies follow their original in training. Groups holding finely
    labelled documents and the others are dealt out separately, so every fold model still
    sees most of the fine labels."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[int]] = {}
    for i, d in enumerate(data.docs):
        site = site_of(d.url)
        groups.setdefault(f"site:{site}" if site else f"text:{d.sha256}", []).append(i)
    fine_docs = set(data.fine)
    members = list(groups.values())
    fine = [g for g in members if any(i in fine_docs for i in g)]
    coarse = [g for g in members if not any(i in fine_docs for i in g)]
    folds: list[list[int]] = [[] for _ in range(k)]
    for part in (fine, coarse):
        order = rng.permutation(len(part))
        for j in range(k):
            for g in order[j::k]:
                folds[j].extend(part[g])
    return [sorted(f) for f in folds]


def assign_folds(hits: Sequence[int | None], folds: Sequence[Sequence[int]]) -> list[list[int]]:
    """Corpus positions per fold: a document that is in the store goes to the fold holding
    it out; any other to fold (position mod K)."""
    fold_of_store = {i: j for j, f in enumerate(folds) for i in f}
    assigned: list[list[int]] = [[] for _ in folds]
    for pos, hit in enumerate(hits):
        assigned[fold_of_store[hit] if hit is not None else pos % len(folds)].append(pos)
    return assigned


def construction_folds(
    docs: Sequence[CorpusDoc], store_docs: Sequence, k: int
) -> tuple[list[list[int]], list[list[int]]]:
    """Folds for pages built by ``segmenter.construct``: fold j scores the pages of
    construction fold j with a model trained without every stored document any of them
    draws on (the story and the other stories, which construct takes from the same fold)."""
    if any(d.fold is None or not d.derived_from for d in docs):
        raise EvaluationError(
            "--cv on constructed pages needs 'fold' and 'derived_from' on every page "
            "(as python -m segmenter.construct writes them)"
        )
    values = sorted({d.fold for d in docs if d.fold is not None})
    if len(values) != k:
        raise EvaluationError(
            f"--cv {k}: the constructed pages come in {len(values)} folds; use --cv {len(values)}"
        )
    by_id = _by_page_id(store_docs)
    folds: list[list[int]] = [[] for _ in values]
    assigned: list[list[int]] = [[] for _ in values]
    for pos, doc in enumerate(docs):
        j = values.index(doc.fold)  # type: ignore[arg-type]  # checked above: every page has a fold
        assigned[j].append(pos)
        for source in doc.derived_from or ():
            folds[j].extend(by_id.get(source, ()))
    return [sorted(set(f)) for f in folds], assigned


def cv_probabilities(
    docs: Sequence[CorpusDoc],
    labels_dir: str | Path,
    k: int,
    seed: int = 0,
    jobs: int = 1,
    progress: bool = False,
    log: Callable[[str], None] = print,
    store: StoreFeatures | None = None,
) -> tuple[list[np.ndarray], dict]:
    """Held-out probabilities for each corpus document: K models, each trained (as
    ``segmenter.train`` trains) on the label store without one fold; a corpus document in the
    store is scored by the model of the fold that holds it out, any other by the model of
    fold (position mod K), which never saw it either. ``store``: the label store already
    read and featurized (several runs over one store read it once)."""
    from joblib import Parallel, delayed

    if k < 2:
        raise EvaluationError("--cv needs K >= 2")
    if store is None:
        store = StoreFeatures.read(labels_dir, progress=progress)
    data, X, W = store.data, store.X, store.W
    if len(data.docs) < k:
        raise EvaluationError(f"--cv {k}: the label store {labels_dir} holds only {len(data.docs)} documents")
    hits = match_store(docs, data.docs)
    log(
        f"cross-validation: {len(data.docs)} labelled documents in {labels_dir}, {k} folds; "
        f"{sum(h is not None for h in hits)} of the {len(docs)} corpus documents are among them"
    )
    if any(d.derived_from for d in docs):
        folds, assigned = construction_folds(docs, data.docs, k)
    else:
        folds = grouped_folds(data, k, seed)
        assigned = assign_folds(hits, folds)

    augmented = Augmented.build(data, DEFAULT_AUGMENT_COPIES, DEFAULT_AUGMENT_RATE, seed)
    own = [i for i, h in enumerate(hits) if h is None or data.docs[h].sha256 != docs[i].sha256]
    own_X = dict(zip(own, featurize([docs[i].lines for i in own])))
    XC = [own_X[i] if h is None or i in own_X else X[h] for i, h in enumerate(hits)]

    def run(j: int):
        model = fit_without(folds[j], X, data.labels, W, augmented, seed)
        return j, model.predict_proba([XC[i] for i in assigned[j]])

    todo = [j for j in range(k) if assigned[j]]
    log(f"training {len(todo)} fold models ...")
    out: list[np.ndarray | None] = [None] * len(docs)
    results = Parallel(n_jobs=jobs)(delayed(run)(j) for j in todo)
    for j, probas in results:
        for pos, p in zip(assigned[j], probas):
            out[pos] = p
    info = {
        "k": k,
        "seed": seed,
        "label_store": str(labels_dir),
        "store_documents": len(data.docs),
        "corpus_documents_in_store": sum(h is not None for h in hits),
        "fold_sizes": [len(f) for f in folds],
        "label_set_sha256": label_set_hash(data),
    }
    return out, info  # type: ignore[return-value]
