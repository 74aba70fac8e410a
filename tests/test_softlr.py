"""The soft-target logistic regression reaches scikit-learn's optimum on repeated rows."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from segmenter.solver import fit_soft_logistic


def _problem(seed=0, n=400, d=6, k=4):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    true = rng.normal(size=(k, d))
    shares = np.exp(X @ true.T)
    shares /= shares.sum(axis=1, keepdims=True)
    # half the rows labelled outright, half split over two or three classes
    targets = np.zeros_like(shares)
    hard = rng.random(n) < 0.5
    targets[hard, shares[hard].argmax(axis=1)] = 1.0
    soft = shares[~hard] * (rng.random(shares[~hard].shape) < 0.7)
    soft[soft.sum(axis=1) == 0, 0] = 1.0
    targets[~hard] = soft / soft.sum(axis=1, keepdims=True)
    weights = rng.uniform(0.25, 1.25, size=n)
    return X, targets, weights


def _repeated(X, targets, weights):
    rows, cols = np.nonzero(targets)
    return X[rows], cols, weights[rows] * targets[rows, cols]


@pytest.mark.parametrize("C", [0.1, 1.0])
def test_soft_targets_reach_the_optimum_of_logistic_regression_on_repeated_rows(C):
    X, targets, weights = _problem()
    soft = fit_soft_logistic(X, targets, np.arange(4), weights, C=C, tol=1e-10)
    Xr, yr, wr = _repeated(X, targets, weights)
    ref = LogisticRegression(C=C, tol=1e-10, max_iter=10_000).fit(Xr, yr, sample_weight=wr)
    np.testing.assert_allclose(soft.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(soft.intercept_, ref.intercept_, atol=1e-5)
    np.testing.assert_allclose(soft.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_float32_rows_give_the_float64_model_to_the_solvers_tolerance():
    X, targets, weights = _problem(seed=1)
    a = fit_soft_logistic(X, targets, np.arange(4), weights)
    b = fit_soft_logistic(X.astype(np.float32), targets, np.arange(4), weights)
    assert np.abs(a.predict_proba(X) - b.predict_proba(X)).max() < 1e-3


def test_a_start_at_the_optimum_stops_at_once():
    X, targets, weights = _problem(seed=2)
    first = fit_soft_logistic(X, targets, np.arange(4), weights)
    again = fit_soft_logistic(X, targets, np.arange(4), weights, coef=first.coef_, intercept=first.intercept_)
    assert again.n_iter_[0] <= 1 < first.n_iter_[0]


def test_rows_of_weight_zero_change_nothing():
    X, targets, weights = _problem(seed=3)
    w = weights.copy()
    w[:50] = 0.0
    with_rows = fit_soft_logistic(X, targets, np.arange(4), w, tol=1e-10)
    without = fit_soft_logistic(X[50:], targets[50:], np.arange(4), weights[50:], tol=1e-10)
    np.testing.assert_allclose(with_rows.coef_, without.coef_, atol=1e-6)


def test_an_unfinished_fit_warns_as_scikit_learn_does():
    X, targets, weights = _problem(seed=4)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit_soft_logistic(X, targets, np.arange(4), weights, max_iter=2)
    assert any(issubclass(c.category, ConvergenceWarning) for c in caught)


def test_fewer_than_three_classes_are_refused():
    X, targets, weights = _problem()
    with pytest.raises(ValueError, match="three or more classes"):
        fit_soft_logistic(X, targets[:, :2], np.arange(2), weights)


def test_at_the_default_tolerance_it_stops_where_scikit_learn_does():
    # same objective, same L-BFGS options: in float64 the same iterations to the same point
    X, targets, weights = _problem(seed=5)
    soft = fit_soft_logistic(X, targets, np.arange(4), weights)
    Xr, yr, wr = _repeated(X, targets, weights)
    ref = LogisticRegression().fit(Xr, yr, sample_weight=wr)
    assert soft.n_iter_[0] == ref.n_iter_[0]
    np.testing.assert_allclose(soft.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_float32_rows_give_a_float32_model_as_scikit_learn_does():
    X, targets, weights = _problem(seed=6)
    model = fit_soft_logistic(X.astype(np.float32), targets, np.arange(4), weights)
    ref = LogisticRegression().fit(*_repeated(X.astype(np.float32), targets, weights)[:2])
    assert model.coef_.dtype == model.intercept_.dtype == ref.coef_.dtype == np.float32


@pytest.mark.parametrize("bad", ["half", "negative", "empty-but-weighted"])
def test_shares_that_do_not_sum_to_one_are_refused(bad):
    X, targets, weights = _problem(seed=7)
    targets = targets.copy()
    if bad == "half":
        targets[3] *= 0.5
    elif bad == "negative":
        targets[3] = [1.5, -0.5, 0, 0]
    else:
        targets[3] = 0
    with pytest.raises(ValueError, match="sum to 1"):
        fit_soft_logistic(X, targets, np.arange(4), weights)


def test_a_row_without_shares_is_accepted_at_weight_zero():
    X, targets, weights = _problem(seed=8)
    targets, weights = targets.copy(), weights.copy()
    targets[3], weights[3] = 0, 0
    fit_soft_logistic(X, targets, np.arange(4), weights)
