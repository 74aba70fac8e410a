"""What training fits on: the label store's documents as feature rows, weights and
perturbed copies, and the classifier fitted on them (the same for the shipped model and
for every held-out fold model)."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .decision import DEFAULT_THRESHOLD
from .labelling.store import Document, LabelStore, LabelStoreError, labelled_documents
from .labels import NOT_CORE
from .segment import segment

#: Weight of a finely labelled document's paragraphs against an imported one's.
DEFAULT_FINE_DOC_WEIGHT = 20.0
#: Each page's training weight is its paragraphs' total to this power (see ``weights_for``).
DEFAULT_PAGE_POWER = 1.0
#: Word-perturbed copies of each finely labelled document (segmenter.augment), and the
#: share of its words replaced in each copy.
DEFAULT_AUGMENT_COPIES = 2
DEFAULT_AUGMENT_RATE = 0.3


class TrainingError(ValueError):
    """The labels cannot train a model; the message says how to fix it."""


@dataclass
class TrainingData:
    """Labelled documents as the model sees them: paragraph texts and labels per document."""

    docs: list[Document]
    texts: list[list[str]]
    labels: list[list[str | None]]
    problems: list = field(default_factory=list)

    @property
    def fine(self) -> list[int]:
        """Documents labelled with the five classes only (no coarse ``not-core``)."""
        return [i for i, labs in enumerate(self.labels) if NOT_CORE not in labs]

    @property
    def coarse(self) -> list[int]:
        return [i for i, labs in enumerate(self.labels) if NOT_CORE in labs]

    def label_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(l for labs in self.labels for l in labs if l is not None).items()))


def load_training_data(labels_dir: str | Path) -> TrainingData:
    """Read and check the store; refuse (TrainingError) when it cannot train a model."""
    store = LabelStore(labels_dir)
    if not store.root.is_dir():
        what = "is not a folder" if store.root.exists() else "does not exist"
        raise TrainingError(f"label folder {store.root} {what}; pass --labels DIR")
    try:
        docs, labels, problems = labelled_documents(store)
    except LabelStoreError as exc:
        raise TrainingError(f"malformed label store: {exc}") from None
    data = TrainingData(docs, [[p.text for p in segment(d.text)] for d in docs], labels, problems)
    counts = data.label_counts()
    if not counts and problems:
        raise TrainingError(
            f"no usable labels in {store.root}: all {len(problems)} label records were skipped "
            f"(first: {problems[0]}); register the documents they label in a *.documents.jsonl "
            "file (the app and `python -m segmenter.importer` do), or relabel the current text"
        )
    if not counts:
        raise TrainingError(
            f"no usable labels in {store.root}: label documents with `streamlit run annotate_app.py` "
            "or import a corpus with `python -m segmenter.importer`"
        )
    if len(counts) < 2:
        raise TrainingError(
            f"all {sum(counts.values())} labels in {store.root} are {next(iter(counts))!r}: a classifier "
            "needs at least two classes; label some paragraphs of another class"
        )
    return data


def label_set_hash(data: TrainingData) -> str:
    """sha256 over (document hash, paragraph index, label): names exactly what was trained on."""
    h = hashlib.sha256()
    for doc, labs in sorted(zip(data.docs, data.labels), key=lambda t: t[0].doc_id):
        for i, lab in enumerate(labs):
            if lab is not None:
                h.update(f"{doc.sha256}\t{i}\t{lab}\n".encode())
    return h.hexdigest()


def featurize(texts: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
    from .features import ParagraphFeatures

    feats = ParagraphFeatures().fit(None)
    items = texts
    if progress:
        from tqdm import tqdm

        items = tqdm(texts, desc="features", unit=" docs", file=sys.stderr)
    return [feats.document_features(t) for t in items]


def weights_for(
    data: TrainingData, fine_doc_weight: float, page_power: float = DEFAULT_PAGE_POWER
) -> list[np.ndarray]:
    """Training weights per paragraph: ``paragraph_weights`` (by words), each page's scaled by
    its total to the power ``-page_power`` (1: every page weighs alike, as the metric
    averages over pages; 0: a page weighs by its paragraphs' words) and rescaled so their
    sum is unchanged (the penalty's strength against the data stays the same); then times
    ``fine_doc_weight`` on finely labelled pages (five classes only, no ``not-core``): they
    alone teach the difference between related-article, promo, nav and duplicate."""
    from .model import paragraph_weights

    if not page_power >= 0:
        raise ValueError(f"page_power must be 0 or more, got {page_power!r}")
    W = [paragraph_weights(t) for t in data.texts]
    if page_power:
        totals = np.array([w.sum() for w in W])
        scale = np.where(totals > 0, np.maximum(totals, 1e-12) ** -page_power, 0.0)
        scale *= totals.sum() / max(float((totals * scale).sum()), 1e-12)
        W = [w * f for w, f in zip(W, scale)]
    fine = set(data.fine)
    return [w * fine_doc_weight if i in fine else w for i, w in enumerate(W)]


@dataclass
class Augmented:
    """Word-perturbed copies of the finely labelled documents (see :mod:`segmenter.augment`),
    featurized once; a copy trains only where its original does, never in a fold that holds
    the original out."""

    X: dict[int, list[np.ndarray]]

    @classmethod
    def build(cls, data: TrainingData, copies: int, rate: float, seed: int) -> Augmented:
        from .augment import perturb_document

        xs: dict[int, list[np.ndarray]] = {}
        for i in data.fine:
            texts = [
                perturb_document(data.texts[i], seed=seed * 1000 + c + 1, rate=rate) for c in range(copies)
            ]
            xs[i] = featurize(texts)
        return cls(xs)

    def training_set(
        self, docs: Iterable[int], X: list[np.ndarray], labels: list, W: list[np.ndarray]
    ) -> tuple[list[np.ndarray], list, list[np.ndarray], list[int]]:
        """Features, labels, weights and groups (original document index) of ``docs``
        followed by their perturbed copies, which take their original's labels and weights."""
        docs = list(docs)
        xs = [X[i] for i in docs]
        ys = [labels[i] for i in docs]
        ws = [W[i] for i in docs]
        groups = list(docs)
        for i in docs:
            for x in self.X.get(i, ()):
                xs.append(x)
                ys.append(labels[i])
                ws.append(W[i])
                groups.append(i)
        return xs, ys, ws, groups


@dataclass
class StoreFeatures:
    """The label store read and featurized once: documents, labels, feature rows, weights."""

    data: TrainingData
    X: list[np.ndarray]
    W: list[np.ndarray]

    @classmethod
    def read(
        cls, labels_dir: str | Path, fine_doc_weight: float = DEFAULT_FINE_DOC_WEIGHT, progress: bool = False
    ) -> StoreFeatures:
        data = load_training_data(labels_dir)
        return cls(data, featurize(data.texts, progress=progress), weights_for(data, fine_doc_weight))


def fit_pipeline(
    store: StoreFeatures,
    augmented: Augmented,
    seed: int,
    threshold: float | None = DEFAULT_THRESHOLD,
    jobs: int = 1,
):
    """The artifact ``segmenter.train`` writes: features and the classifier fitted on every
    document of the store (and the perturbed copies)."""
    from sklearn.pipeline import Pipeline

    from .features import ParagraphFeatures

    rows = augmented.training_set(range(len(store.X)), store.X, store.data.labels, store.W)
    classifier = fit_classifier(*rows, seed, threshold, jobs=jobs)
    return Pipeline([("features", ParagraphFeatures().fit(None)), ("classifier", classifier)])


def fit_classifier(X, y, w, groups, seed: int, threshold: float | None = DEFAULT_THRESHOLD, jobs: int = 1):
    from .model import ContextClassifier

    return ContextClassifier(random_state=seed, core_threshold=threshold, n_jobs=jobs).fit(
        X, y, w, groups=groups
    )
