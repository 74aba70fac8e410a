"""Multinomial logistic regression fitted on soft targets.

EM over the coarse ``not-core`` label gives each such row a share of several classes.
scikit-learn's ``LogisticRegression`` takes one class per row, so each row would be
repeated once per class, weighted by its share: the same objective over up to four copies
of every not-core row, and the fit is bound by reading those rows. Here each row is read
once with its shares as targets. The objective is scikit-learn's, term for term (weighted
mean cross-entropy plus ``||W||² / (2 C Σw)``, intercepts unpenalised, L-BFGS-B with its
options), so the optimum is the one ``LogisticRegression`` reaches on the repeated rows,
to the solver's tolerance; the fitted model is an ordinary ``LogisticRegression``.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression


def fit_soft_logistic(
    X: np.ndarray,
    targets: np.ndarray,
    classes: np.ndarray,
    sample_weight: np.ndarray,
    *,
    C: float = 1.0,
    tol: float = 1e-4,
    max_iter: int = 1000,
    coef: np.ndarray | None = None,
    intercept: np.ndarray | None = None,
) -> LogisticRegression:
    """Fit a multinomial ``LogisticRegression`` (three or more ``classes``) where row i belongs
    to class j with share ``targets[i, j]`` (each row's shares sum to 1; a row of weight 0 may
    have none); ``coef``/``intercept`` are where the solver starts (zeros if None), as
    ``warm_start`` would. Like scikit-learn, the model keeps float32 rows' dtype."""
    X = np.ascontiguousarray(X)
    n, d = X.shape
    k = len(classes)
    targets = np.asarray(targets, dtype=np.float64)
    if k < 3 or targets.shape != (n, k):
        raise ValueError("fit_soft_logistic needs three or more classes and one share per class and row")
    w = np.asarray(sample_weight, dtype=np.float64)
    sums = targets.sum(axis=1)
    if (targets < 0).any() or not np.all((np.abs(sums - 1) < 1e-6) | ((sums == 0) & (w == 0))):
        raise ValueError("each row's shares must be non-negative and sum to 1 (or be all 0 at weight 0)")
    dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    X = X.astype(dtype, copy=False)
    # classes x rows throughout: reductions over a row's few classes run along memory
    Qt = np.ascontiguousarray(targets.T.astype(dtype))
    total = float(w.sum())
    l2 = 1.0 / (C * total)
    row_scale = (w / total).astype(dtype)

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        both = theta.reshape(k, d + 1)
        W, b = both[:, :d], both[:, d]
        z = W.astype(dtype) @ X.T
        z += b.astype(dtype)[:, None]
        z -= z.max(axis=0)
        e = np.exp(z)
        s = e.sum(axis=0)
        # cross-entropy of row i: log sum_j exp z_ji - sum_j q_ji z_ji (shares sum to 1,
        # so the shift by the row's largest score cancels)
        ce = (np.log(s) - (Qt * z).sum(axis=0)).astype(np.float64)
        loss = float(ce @ w) / total + 0.5 * l2 * float((W * W).sum())
        e /= s
        e -= Qt
        e *= row_scale
        grad = np.empty((k, d + 1))
        grad[:, :d] = e @ X + l2 * W
        grad[:, d] = e.sum(axis=1, dtype=np.float64)
        return loss, grad.ravel()

    theta = np.zeros((k, d + 1))
    if coef is not None:
        theta[:, :d] = coef
    if intercept is not None:
        theta[:, d] = intercept
    res = minimize(
        loss_grad,
        theta.ravel(),
        method="L-BFGS-B",
        jac=True,
        options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
    )
    if not res.success:
        warnings.warn(
            f"soft-target logistic regression did not converge: {res.message}",
            ConvergenceWarning,
            stacklevel=2,
        )
    both = res.x.reshape(k, d + 1)
    lr = LogisticRegression(C=C, tol=tol, max_iter=max_iter, warm_start=True)
    lr.classes_ = np.asarray(classes)
    lr.coef_ = np.ascontiguousarray(both[:, :d], dtype=dtype)
    lr.intercept_ = both[:, d].astype(dtype)
    lr.n_features_in_ = d
    lr.n_iter_ = np.array([res.nit], dtype=np.int32)
    return lr
