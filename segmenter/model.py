"""The classifier: two linear passes over document-relative features, and the shipped pipeline.

Pass one is a logistic regression on each paragraph's own features. Pass two is another
logistic regression that also reads pass one's probabilities for the paragraph's
neighbours, averaged over several window sizes before and after it (jusText's context
pass, learnt instead of hand-set), and where the paragraph sits against the story run, the
stretch of paragraphs pass one most believes is the story. Pass two is trained on
out-of-fold pass-one probabilities (grouped by document), so it learns how far to trust
pass one on pages pass one never saw.

Coarse ``not-core`` labels (imported corpora) say "related-article, promo or nav" without
saying which: each pass fits them by expectation-maximisation, spreading such a row over
those classes in proportion to what the model currently believes, then refitting. The
refit reads each such row once, its shares as soft targets (:mod:`segmenter.softlr`).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval, InvalidParameterError
from sklearn.utils.extmath import softmax
from threadpoolctl import threadpool_limits

from .features import ParagraphFeatures
from .labels import CLASSES, NOT_CORE
from .solver import fit_soft_logistic

_CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}
#: The feature column the story run reads word counts from (as log1p).
_LOG_WORDS = list(ParagraphFeatures().get_feature_names_out()).index("log_words")
_COARSE = -1  # code of a not-core row
#: What a ``not-core`` row can be. Not ``duplicate``: that label is mechanical (docs/labels.md), so
#: importers set it exactly and a row they left ``not-core`` is not a duplicate.
COARSE_CLASSES: tuple[str, ...] = ("related-article", "promo", "nav")
_UNLABELLED = -2
#: A paragraph's weight, in training and in the story run: this much for any paragraph...
_WORD_WEIGHT_FLOOR = 0.25
#: ...plus its words over this cap, up to 1 (no more for longer paragraphs).
_WORD_WEIGHT_CAP = 40


def encode_labels(labels: Sequence[str | None]) -> np.ndarray:
    """Label names to codes: class index, -1 for ``not-core``, -2 for unlabelled (None)."""
    out = np.empty(len(labels), dtype=np.int64)
    for i, lab in enumerate(labels):
        if lab is None:
            out[i] = _UNLABELLED
        elif lab == NOT_CORE:
            out[i] = _COARSE
        elif lab in _CLASS_INDEX:
            out[i] = _CLASS_INDEX[lab]
        else:
            raise ValueError(f"unknown label {lab!r}; allowed: {', '.join(CLASSES + (NOT_CORE,))}")
    return out


def _invalid(estimator: BaseEstimator, name: str, must_be: str) -> InvalidParameterError:
    """The error scikit-learn raises for a parameter outside its constraints, worded as its own."""
    value = getattr(estimator, name)
    return InvalidParameterError(
        f"The {name!r} parameter of {type(estimator).__name__} must be {must_be}. Got {value!r} instead."
    )


def _one_hot(codes: np.ndarray) -> np.ndarray:
    """Class codes (from :func:`encode_labels`, no ``not-core``) as rows of shares over ``CLASSES``."""
    out = np.zeros((len(codes), len(CLASSES)))
    out[np.arange(len(codes)), codes] = 1.0
    return out


class PartialLabelLogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression (standardised inputs) that also learns from rows
    labelled only ``not-core``, by EM over the classes such a row can be (``coarse_classes``).

    ``y`` holds codes from :func:`encode_labels` (unlabelled rows must be removed first).

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of the L2 penalty, as in ``LogisticRegression`` (intercepts are not
        penalised).
    em_iterations : int, default=2
        EM rounds: each spreads the not-core rows over ``coarse_classes`` by what the model
        currently believes, then refits on those shares.
    min_share : float, default=0.05
        In each round, a not-core row's shares under this are dropped and the rest scaled
        back up to 1; a row left with none sits the round out.
    max_iter : int, default=1000
        The solver's iteration limit for each fit.
    tol : float, default=1e-4
        The solver's stopping tolerance on the gradient (as ``LogisticRegression``'s).
    coarse_classes : tuple of str, default=COARSE_CLASSES
        What a not-core row can be: distinct names from ``CLASSES``, other than core-story.

    Attributes
    ----------
    classes_ : ndarray of str
        ``CLASSES``, the order of ``predict_proba``'s columns.
    scaler_ : StandardScaler
        The standardisation of the inputs.
    lr_ : LogisticRegression
        The fitted model, on standardised inputs, over the classes the labels hold.
    coarse_share_ : ndarray of shape (n_not_core_rows, len(coarse_classes))
        The last E-step's split of the not-core rows over ``coarse_classes``.
    n_features_in_ : int
        The number of input columns.
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "em_iterations": [Interval(Integral, 1, None, closed="left")],
        "min_share": [Interval(Real, 0, 1, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "coarse_classes": [tuple, list],
    }

    def __init__(
        self,
        C: float = 1.0,
        em_iterations: int = 2,
        min_share: float = 0.05,
        max_iter: int = 1000,
        tol: float = 1e-4,
        coarse_classes: tuple[str, ...] = COARSE_CLASSES,
    ):
        self.C = C
        self.coarse_classes = coarse_classes
        self.em_iterations = em_iterations
        self.min_share = min_share
        self.max_iter = max_iter
        self.tol = tol

    def _validate_params(self) -> None:
        """scikit-learn's checks of ``_parameter_constraints``, and that ``coarse_classes``
        names classes a not-core row can be."""
        super()._validate_params()
        allowed = [c for c in CLASSES if c != "core-story"]
        names = list(self.coarse_classes)
        if (
            not names
            or not all(isinstance(c, str) and c in allowed for c in names)
            or len(set(names)) < len(names)
        ):
            raise _invalid(self, "coarse_classes", f"a non-empty tuple of distinct names among {allowed}")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        coarse_share: np.ndarray | None = None,
        start: PartialLabelLogisticRegression | None = None,
    ):
        """Fit; ``coarse_share`` (n_coarse x 4) may seed EM with an earlier model's split of
        the not-core rows over ``coarse_classes``; ``start``, a model fitted on the leading
        columns of ``X``, is where the solver starts (the optimum is the same, found sooner)."""
        self._start = start
        try:
            return self._fit(X, y, sample_weight, coarse_share)
        finally:
            del self._start  # a starting point, not part of the fitted model

    def _fit(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None, coarse_share: np.ndarray | None
    ) -> PartialLabelLogisticRegression:
        y = np.asarray(y)
        if (y < _COARSE).any():
            raise ValueError("unlabelled rows must be removed before fitting (see _fit_rows)")
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self.classes_ = np.asarray(CLASSES, dtype=object)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        fine = y >= 0
        coarse = y == _COARSE
        self.lr_: LogisticRegression | None = None
        if not coarse.any():
            self._fit_lr(Z[fine], _one_hot(y[fine]), w[fine])
            self.coarse_share_ = np.zeros((0, len(self.coarse_classes)))
            self.n_features_in_ = X.shape[1]
            return self
        Zc = Z[coarse]
        if coarse_share is None and len(np.unique(y[fine])) >= 2:
            # EM round 0: the fine labels alone say what each non-core class looks like
            self._fit_lr(Z[fine], _one_hot(y[fine]), w[fine])
            coarse_share = self._share(Zc)
        elif coarse_share is None:
            coarse_share = np.full((len(Zc), len(self.coarse_classes)), 1 / len(self.coarse_classes))
        q = coarse_share
        coarse_rows = np.flatnonzero(coarse)
        coarse_cells = np.ix_(coarse_rows, self._coarse_index())
        targets = np.zeros((len(y), len(CLASSES)))
        targets[fine] = _one_hot(y[fine])
        for _ in range(self.em_iterations):
            # M-step: a not-core row counts for each class it can be by its share (shares under
            # min_share dropped, the rest scaled back up to 1; a row left with none sits out)
            kept = np.where(q >= self.min_share, q, 0.0)
            total = kept.sum(axis=1, keepdims=True)
            targets[coarse_cells] = np.divide(kept, total, out=np.zeros_like(kept), where=total > 0)
            w_round = w.copy()
            w_round[coarse_rows[total[:, 0] == 0]] = 0.0
            self._fit_lr(Z, targets, w_round)
            q = self._share(Zc)
        self.coarse_share_ = q
        self.n_features_in_ = X.shape[1]
        return self

    def _fit_lr(self, Z: np.ndarray, targets: np.ndarray, w: np.ndarray) -> None:
        """Fit the logistic regression on ``targets`` (one share per row and class of
        ``CLASSES``), starting from the previous EM round's optimum when it tells the same
        classes apart, else (three or more classes) from ``start``'s."""
        present = np.flatnonzero(targets.sum(axis=0) > 0)
        same = self.lr_ is not None and np.array_equal(self.lr_.classes_, present)
        before = self.lr_ if same else None
        start = getattr(getattr(self, "_start", None), "lr_", None)
        if (
            before is None
            and len(present) >= 3
            and start is not None
            and np.array_equal(start.classes_, present)
        ):
            before = start
        coef = intercept = None
        if before is not None:  # its columns first, zeros for any the start did not have
            coef = np.zeros((before.coef_.shape[0], Z.shape[1]), dtype=before.coef_.dtype)
            coef[:, : before.coef_.shape[1]] = before.coef_
            intercept = before.intercept_.copy()
        # One BLAS thread: these matrices are narrow, and threads only contend (3x slower
        # here); parallelism belongs to the folds (train --jobs).
        with threadpool_limits(1):
            if len(present) >= 3:
                self.lr_ = fit_soft_logistic(
                    Z,
                    targets[:, present],
                    present,
                    w,
                    C=self.C,
                    tol=self.tol,
                    max_iter=self.max_iter,
                    coef=coef,
                    intercept=intercept,
                )
            else:  # two classes: scikit-learn's binary model, a row repeated for each class it may be
                rows, cols = np.nonzero(targets[:, present])
                lr = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol, warm_start=True)
                if coef is not None:
                    lr.coef_, lr.intercept_ = coef, intercept
                self.lr_ = lr.fit(
                    Z[rows], present[cols], sample_weight=w[rows] * targets[rows, present[cols]]
                )

    def _share(self, Zc: np.ndarray) -> np.ndarray:
        """E-step: each not-core row's split over the classes it can be (``coarse_classes``)."""
        p = self._proba_z(Zc)[:, self._coarse_index()]
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)

    def _coarse_index(self) -> np.ndarray:
        return np.array([_CLASS_INDEX[c] for c in self.coarse_classes])

    def _proba_z(self, Z: np.ndarray) -> np.ndarray:
        out = np.zeros((len(Z), len(CLASSES)))
        lr = self.lr_
        assert lr is not None, "fitted"
        out[:, lr.classes_.astype(int)] = lr.predict_proba(Z)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in ``CLASSES`` order. For a float matrix of the right
        width this does scikit-learn's arithmetic (scale, linear scores, softmax; results
        are bit-identical) without its per-call input checks, which cost more than the
        arithmetic on one page's rows; anything else goes through the checked path."""
        lr, scaler = self.lr_, self.scaler_
        assert lr is not None, "fitted"
        if (
            len(lr.classes_) < 3
            or not isinstance(X, np.ndarray)
            or X.dtype not in (np.float32, np.float64)
            or X.ndim != 2
            or X.shape[1] != self.n_features_in_
            or not scaler.with_mean
            or not scaler.with_std
            or not np.isfinite(X).all()
        ):
            return self._proba_z(self.scaler_.transform(X))
        Z = X.copy()
        Z -= scaler.mean_.astype(Z.dtype)
        Z /= scaler.scale_.astype(Z.dtype)
        scores = Z @ lr.coef_.T + lr.intercept_
        out = np.zeros((len(Z), len(CLASSES)))
        out[:, lr.classes_.astype(int)] = softmax(scores, copy=False)
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def context_features(
    P: np.ndarray, windows: Sequence[int], starts: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Pass-one probabilities of a paragraph and their means over each window of paragraphs
    before and after it, plus the document's mean: what pass two reads.

    A window reaching past the document's edge counts its missing rows as the document's
    mean, so "nothing follows" reads as "the page as a whole follows", not as zeros: text
    that ends with its story (another extractor's output) is not read as "only furniture
    follows".

    ``P`` may stack several documents' rows, ``starts`` giving each one's first row in
    increasing order (default: one document); no window crosses into another document.
    Window sums are built by adding one shifted copy of ``P`` at a time, masked at document
    edges, so each row's figures come from its own document alone, in the same order,
    whatever else is in the batch."""
    n, k = P.shape
    first_rows = np.zeros(1, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    sizes = np.diff(np.append(first_rows, n))
    first_rows, sizes = first_rows[sizes > 0], sizes[sizes > 0]
    first = np.repeat(first_rows, sizes)  # each row's document's first row
    end = first + np.repeat(sizes, sizes)
    idx = np.arange(n)
    out = np.empty((n, k * (2 + 2 * len(windows))))
    out[:, :k] = P
    before, after = np.zeros((n, k)), np.zeros((n, k))
    page_mean = np.repeat(np.add.reduceat(P, first_rows, axis=0) / sizes[:, None], sizes, axis=0) if n else P
    reach = 0
    for w, j in sorted(zip(windows, range(len(windows)))):  # widest last: sums grow
        for d in range(reach + 1, w + 1):  # widen both windows to d rows
            if d >= n:
                break
            before[d:] += np.where((idx[d:] - d >= first[d:])[:, None], P[:-d], 0.0)
            after[:-d] += np.where((idx[:-d] + d < end[:-d])[:, None], P[d:], 0.0)
        reach = max(reach, w)
        n_before = np.minimum(idx - first, w)
        n_after = np.minimum(end - 1 - idx, w)
        out[:, k * (1 + 2 * j) : k * (2 + 2 * j)] = (before + (w - n_before)[:, None] * page_mean) / w
        out[:, k * (2 + 2 * j) : k * (3 + 2 * j)] = (after + (w - n_after)[:, None] * page_mean) / w
    out[:, -k:] = page_mean
    return out


class ContextClassifier(ClassifierMixin, BaseEstimator):
    """Two linear passes over per-document feature matrices (see the module docstring).

    ``fit(X, y, sample_weight)`` takes one feature matrix, one label sequence (names or
    None) and optionally one weight vector per document; ``predict_proba(X)`` returns one
    probability matrix per document, columns in ``classes_`` order.

    Parameters
    ----------
    C : float, default=1.0
        Inverse strength of pass one's L2 penalty.
    context_C : float, default=1.0
        Inverse strength of pass two's L2 penalty.
    windows : tuple of int, default=(1, 2, 4, 8)
        The window sizes, in paragraphs before and after each one, over which pass two
        reads the means of pass one's probabilities (positive, at least one).
    inner_folds : int, default=3
        How many folds of documents give pass two its out-of-fold pass-one probabilities.
    em_iterations : int, default=2
        Pass one's EM rounds over the not-core rows (pass two runs one, from pass one's split).
    random_state : int or None, default=0
        Seeds the split of the documents into inner folds.
    n_jobs : int or None, default=None
        Threads for the inner folds' fits (joblib's convention: None is one, -1 is all).
    core_threshold : float or None, default=None
        ``predict`` labels a paragraph core-story where p(core-story) is at least this; None:
        where core-story is the most probable class.

    Attributes
    ----------
    classes_ : ndarray of str
        ``CLASSES``, the order of ``predict_proba``'s columns.
    first_ : PartialLabelLogisticRegression
        Pass one, fitted on every document.
    second_ : PartialLabelLogisticRegression
        Pass two, fitted on the features, the context of pass one's out-of-fold
        probabilities and the story run.
    n_features_in_ : int
        The number of feature columns of each document's matrix.
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="right")],
        "context_C": [Interval(Real, 0, None, closed="right")],
        "windows": [tuple, list],
        "inner_folds": [Interval(Integral, 2, None, closed="left")],
        "em_iterations": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
        "n_jobs": [Integral, None],
        "core_threshold": [Interval(Real, 0, 1, closed="both"), None],
    }

    # defaults for artifacts pickled before these parameters existed
    n_jobs = None
    core_threshold = None

    def __init__(
        self,
        C: float = 1.0,
        context_C: float = 1.0,
        windows: tuple[int, ...] = (1, 2, 4, 8),
        inner_folds: int = 3,
        em_iterations: int = 2,
        random_state: int = 0,
        n_jobs: int | None = None,
        core_threshold: float | None = None,
    ):
        self.C = C
        self.context_C = context_C
        self.windows = windows
        self.inner_folds = inner_folds
        self.em_iterations = em_iterations
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.core_threshold = core_threshold

    def _validate_params(self) -> None:
        """scikit-learn's checks of ``_parameter_constraints``, and that ``windows`` holds
        positive integers."""
        super()._validate_params()
        sizes = list(self.windows)
        if not sizes or not all(
            isinstance(w, Integral) and not isinstance(w, bool) and w >= 1 for w in sizes
        ):
            raise _invalid(self, "windows", "a non-empty tuple of positive integers")

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(
        self,
        X: Sequence[np.ndarray],
        y: Sequence[Sequence[str | None]],
        sample_weight: Sequence[np.ndarray] | None = None,
        groups: Sequence[object] | None = None,
    ) -> ContextClassifier:
        """Fit both passes. ``groups`` (one per document) keeps documents of one group (e.g.
        a page and its perturbed copies) in the same inner fold."""
        X = list(X)
        codes = [encode_labels(labels) for labels in y]
        if len(codes) != len(X) or any(len(c) != len(x) for c, x in zip(codes, X)):
            raise ValueError("X and y must hold one label per paragraph of each document")
        weights = (
            [np.ones(len(x)) for x in X]
            if sample_weight is None
            else [np.asarray(w, dtype=np.float64) for w in sample_weight]
        )
        self.classes_ = np.asarray(CLASSES, dtype=object)
        first = PartialLabelLogisticRegression(C=self.C, em_iterations=self.em_iterations)
        # out-of-fold pass-one probabilities for every document
        rng = np.random.default_rng(self.random_state)
        names = [str(g) for g in (range(len(X)) if groups is None else groups)]
        _, group_ids = np.unique(np.asarray(names, dtype=str), return_inverse=True)
        n_groups = int(group_ids.max()) + 1 if len(X) else 0
        fold_of_group = (
            rng.permutation(n_groups) % max(2, self.inner_folds) if n_groups > 1 else np.zeros(n_groups, int)
        )
        fold_of = fold_of_group[group_ids] if len(X) else np.zeros(0, int)
        oof: list[np.ndarray | None] = [None] * len(X)
        folds = [[i for i in range(len(X)) if fold_of[i] != k] for k in np.unique(fold_of)]
        trains = [train for train in folds if train]

        def fit_first(rows: Sequence[int], start: PartialLabelLogisticRegression | None = None):
            return _fit_rows(
                clone(first),
                [X[i] for i in rows],
                [codes[i] for i in rows],
                [weights[i] for i in rows],
                start=start,
            )

        # The inner folds are independent fits: run them side by side (threads: the solver's
        # work is in numpy and Cython that release the GIL). The final first pass, on every
        # document, first_rows from the first fold's optimum (it reaches the same optimum, to
        # the solver's tolerance, in fewer iterations), beside the last fold.
        with threadpool_limits(1):
            run = Parallel(n_jobs=self.n_jobs, prefer="threads")
            fitted = run(delayed(fit_first)(rows) for rows in trains[:-1])
            start = fitted[0] if fitted else None
            tail = run(
                [delayed(fit_first)(range(len(X)), start)]
                + [delayed(fit_first)(rows) for rows in trains[-1:]]
            )
        self.first_ = tail[0]
        fitted += tail[1:]
        if self.first_ is None:
            raise ValueError("the labelled paragraphs hold fewer than two classes")
        for fold, model in zip([f for f, train in zip(np.unique(fold_of), folds) if train], fitted):
            if model is None:
                continue
            for i in np.flatnonzero(fold_of == fold):
                oof[i] = model.predict_proba(X[i])
        # a fold that could not be fitted (tiny data) falls back to in-sample probabilities
        first = self.first_
        held = [first.predict_proba(x) if p is None else p for x, p in zip(X, oof)]
        second_X = [_second_input(x, p, self.windows) for x, p in zip(X, held)]
        self.second_ = _fit_rows(
            PartialLabelLogisticRegression(C=self.context_C, em_iterations=1),
            second_X,
            codes,
            weights,
            coarse_share=self.first_.coarse_share_,
            start=self.first_,
        )
        self.n_features_in_ = X[0].shape[1] if X else 0
        return self

    def predict_proba(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        X = list(X)
        if not X:
            return []
        sizes = [len(x) for x in X]
        allx = np.vstack(X) if sum(sizes) else np.zeros((0, self.n_features_in_))
        if not len(allx):
            return [np.zeros((0, len(CLASSES))) for _ in X]
        p1 = self.first_.predict_proba(allx)
        bounds = np.cumsum([0] + sizes)
        # the whole batch at once: each row gets the figures its page alone would
        p2 = self.second_.predict_proba(_second_input(allx, p1, self.windows, bounds[:-1]))
        return [p2[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def predict(self, X: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Labels per document: core-story where p(core-story) >= ``core_threshold`` (None:
        where it is the most probable class), else the most probable other class."""
        from .decision import core_mask, paragraph_labels

        return [
            np.asarray(paragraph_labels(p, core_mask(p, self.core_threshold)), dtype=object)
            for p in self.predict_proba(X)
        ]


def _second_input(
    x: np.ndarray, p1: np.ndarray, windows: Sequence[int], starts: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """What pass two reads for one document (or a batch, ``starts`` as for
    ``context_features``): its features and the context of pass one's probabilities, in
    float32 like the features (half the solver's memory traffic)."""
    n_ctx = p1.shape[1] * (2 + 2 * len(windows))
    out = np.empty(
        (len(x), x.shape[1] + n_ctx + len(STORY_RUN_FEATURES)), dtype=np.result_type(x.dtype, np.float32)
    )
    out[:, : x.shape[1]] = x
    out[:, x.shape[1] : x.shape[1] + n_ctx] = context_features(p1, windows, starts)
    words = np.expm1(x[:, _LOG_WORDS])
    out[:, x.shape[1] + n_ctx :] = story_run_features(p1[:, _CLASS_INDEX["core-story"]], words, starts)
    return out


STORY_RUN_FEATURES = (
    "in_story_run",
    "before_story_run",
    "after_story_run",
    "valley_to_story_run",
    "story_run_share",
)


def story_run_features(
    core: np.ndarray, words: np.ndarray, starts: Sequence[int] | np.ndarray | None = None
) -> np.ndarray:
    """Each paragraph's relation to its page's story run: the contiguous run of paragraphs
    that pass one most believes is the story (the run maximising the sum of
    (p(core) - 0.5) x a weight growing with words, as a maximum-subarray search).

    Columns (``STORY_RUN_FEATURES``): inside the run; log paragraphs before its start and
    after its end; the lowest p(core) between the paragraph and the run (1 inside or
    adjacent: a trough of furniture between a paragraph and the story says it is not the
    story's); the run's share of the page's paragraph weights (``word_weight``)."""
    n = len(core)
    first_rows = np.zeros(1, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    bounds = np.append(first_rows, n)
    out = np.zeros((n, len(STORY_RUN_FEATURES)))
    weight = word_weight(words)
    for a, b in zip(bounds[:-1], bounds[1:]):
        if b <= a:
            continue
        p = core[a:b]
        score = (p - 0.5) * weight[a:b]
        lo, hi = _max_subarray(score)
        idx = np.arange(b - a)
        out[a:b, 0] = (idx >= lo) & (idx <= hi)
        out[a:b, 1] = np.log1p(np.maximum(lo - idx, 0))
        out[a:b, 2] = np.log1p(np.maximum(idx - hi, 0))
        # running minimum of p(core) walking away from the run, excluding the paragraph itself
        valley = np.ones(b - a)
        if lo > 1:
            before = np.minimum.accumulate(p[lo - 1 : 0 : -1])  # p[lo-1], min(p[lo-1], p[lo-2]), ...
            valley[lo - 2 :: -1] = before  # paragraph lo-2 sees p[lo-1]; lo-3 sees min(p[lo-1], p[lo-2])
        if hi < b - a - 2:
            after = np.minimum.accumulate(p[hi + 1 : b - a - 1])
            valley[hi + 2 :] = after
        out[a:b, 3] = valley
        w = weight[a:b]
        out[a:b, 4] = w[lo : hi + 1].sum() / max(w.sum(), 1e-12)
    return out


def _max_subarray(score: np.ndarray) -> tuple[int, int]:
    """First and last index of the contiguous run with the largest sum (of the runs ending
    at the same place, the shortest); the single best paragraph when every score is
    negative. From prefix sums: the best run ending at j starts after the lowest prefix."""
    prefix = np.concatenate([[0.0], np.cumsum(score)])
    lowest = np.minimum.accumulate(prefix[:-1])
    hi = int(np.argmax(prefix[1:] - lowest))
    head = prefix[: hi + 1]
    lo = hi - int(np.argmin(head[::-1]))  # the last lowest prefix: the shortest such run
    return lo, hi


def _fit_rows(
    model: PartialLabelLogisticRegression,
    X: Sequence[np.ndarray],
    codes: Sequence[np.ndarray],
    weights: Sequence[np.ndarray],
    coarse_share: np.ndarray | None = None,
    start: PartialLabelLogisticRegression | None = None,
):
    """Fit on the labelled rows of the given documents; None when they hold under two classes."""
    mask = [c != _UNLABELLED for c in codes]
    present = set(np.unique(np.concatenate(codes))) - {_UNLABELLED} if codes else set()
    if len(present) < 2:  # nothing to tell apart (tiny folds): the caller falls back
        return None
    rows = np.vstack([x[m] for x, m in zip(X, mask)])
    y = np.concatenate([c[m] for c, m in zip(codes, mask)])
    w = np.concatenate([wt[m] for wt, m in zip(weights, mask)])
    return model.fit(rows, y, sample_weight=w, coarse_share=coarse_share, start=start)


def build_pipeline(random_state: int = 0) -> Pipeline:
    """The untrained model: features, then the two-pass linear classifier."""
    return Pipeline(
        [
            ("features", ParagraphFeatures()),
            ("classifier", ContextClassifier(random_state=random_state)),
        ]
    )


def word_weight(words: np.ndarray, cap: int = _WORD_WEIGHT_CAP) -> np.ndarray:
    """A paragraph's weight by its count of words: ``_WORD_WEIGHT_FLOOR`` plus its words up
    to ``cap`` over ``cap`` (0.25 to 1.25 by default), so a long paragraph counts for more
    than a "Share" line, but one pasted-in story no more than a few ordinary paragraphs."""
    return _WORD_WEIGHT_FLOOR + np.minimum(np.maximum(words, 0), cap) / cap


def paragraph_weights(texts: Sequence[str], *, word_cap: int = _WORD_WEIGHT_CAP) -> np.ndarray:
    """Training weight per paragraph: ``word_weight`` of its words, so the loss follows the
    word-level metric, not the count of "Share" lines (``dataset.weights_for`` then weighs
    the pages against each other)."""
    from .features import _WORD

    words = np.array([len(_WORD.findall(t)) for t in texts], dtype=np.float64)
    return word_weight(words, word_cap)
