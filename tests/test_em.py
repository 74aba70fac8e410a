"""EM over coarse not-core labels: each refit is the fit scikit-learn would make on rows
repeated once per class the row may be, weighted by its share."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from segmenter.model import _COARSE, CLASSES, COARSE_CLASSES, PartialLabelLogisticRegression

CORE, RELATED, PROMO, NAV, DUP = (
    CLASSES.index(c) for c in ("core-story", "related-article", "promo", "nav", "duplicate")
)


def _pages(seed=0, n=600, d=5):
    """Rows of five classes; a third of the non-core rows keep only the coarse label."""
    rng = np.random.default_rng(seed)
    y = rng.choice([CORE, RELATED, PROMO, NAV, DUP], size=n, p=[0.4, 0.2, 0.15, 0.15, 0.1])
    centres = rng.normal(scale=2.0, size=(len(CLASSES), d))
    X = centres[y] + rng.normal(size=(n, d))
    codes = y.copy()
    codes[(y != CORE) & (rng.random(n) < 0.33)] = _COARSE
    return X, codes, rng.uniform(0.25, 1.25, size=n)


def _reference(X, codes, w, em_iterations, min_share, tol):
    """The M-steps as repeated rows through scikit-learn (the implementation before soft targets)."""
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    fine, coarse = codes >= 0, codes == _COARSE
    others = np.array([CLASSES.index(c) for c in COARSE_CLASSES])

    def share(lr):
        p = np.zeros((coarse.sum(), len(CLASSES)))
        p[:, lr.classes_] = lr.predict_proba(Z[coarse])
        p = p[:, others]
        return p / p.sum(axis=1, keepdims=True)

    lr = LogisticRegression(tol=tol, max_iter=10_000).fit(Z[fine], codes[fine], sample_weight=w[fine])
    q = share(lr)
    for _ in range(em_iterations):
        rows, cols = np.nonzero(q >= min_share)
        split = q[rows, cols] / q[rows].sum(axis=1, where=q[rows] >= min_share)
        lr = LogisticRegression(tol=tol, max_iter=10_000).fit(
            np.vstack([Z[fine], Z[coarse][rows]]),
            np.concatenate([codes[fine], others[cols]]),
            sample_weight=np.concatenate([w[fine], w[coarse][rows] * split]),
        )
        q = share(lr)
    return lr, Z


@pytest.mark.parametrize("min_share", [0.05, 0.3])
def test_em_fits_what_repeated_rows_would(min_share):
    X, codes, w = _pages()
    model = PartialLabelLogisticRegression(em_iterations=2, min_share=min_share, tol=1e-10, max_iter=10_000)
    model.fit(X, codes, sample_weight=w)
    ref, Z = _reference(X, codes, w, em_iterations=2, min_share=min_share, tol=1e-10)
    np.testing.assert_array_equal(model.lr_.classes_, ref.classes_)
    np.testing.assert_allclose(model.lr_.predict_proba(Z), ref.predict_proba(Z), atol=1e-5)


def test_unlabelled_rows_are_refused_rather_than_learnt():
    X, codes, w = _pages()
    codes[::7] = -2
    with pytest.raises(ValueError, match="unlabelled"):
        PartialLabelLogisticRegression().fit(X, codes, sample_weight=w)
