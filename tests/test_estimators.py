"""The estimators are scikit-learn estimators: their parameters are declared and checked on
fit the scikit-learn way, they clone, and the shipped model's parameters pass the checks."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks
from sklearn.utils._param_validation import InvalidParameterError

from segmenter.features import ParagraphFeatures
from segmenter.labels import CLASSES
from segmenter.model import ContextClassifier, PartialLabelLogisticRegression, encode_labels

ESTIMATORS = [ParagraphFeatures, PartialLabelLogisticRegression, ContextClassifier]


def _fit_data(cls):
    """Arguments a fit of ``cls`` accepts, so a refusal can only come from a parameter."""
    rng = np.random.default_rng(0)
    if cls is ParagraphFeatures:
        return (["A headline", "A sentence of prose that is long enough to count."],)
    labels = list(CLASSES) * 4 + ["not-core"] * 4
    if cls is PartialLabelLogisticRegression:
        return rng.normal(size=(len(labels), 3)), encode_labels(labels)
    width = len(ParagraphFeatures().get_feature_names_out())
    docs = [labels[i::4] for i in range(4)]
    return [rng.normal(size=(len(d), width)).astype(np.float32) for d in docs], docs


BAD = [
    (ParagraphFeatures, {"prose_min_words": 0}),
    (ParagraphFeatures, {"prose_min_words": 8.5}),
    (ParagraphFeatures, {"lead_size": 0}),
    (ParagraphFeatures, {"function_words": -1}),
    (PartialLabelLogisticRegression, {"C": -1}),
    (PartialLabelLogisticRegression, {"C": 0}),
    (PartialLabelLogisticRegression, {"em_iterations": 0}),
    (PartialLabelLogisticRegression, {"min_share": 1.0}),
    (PartialLabelLogisticRegression, {"min_share": -0.1}),
    (PartialLabelLogisticRegression, {"max_iter": 0}),
    (PartialLabelLogisticRegression, {"tol": -1e-4}),
    (PartialLabelLogisticRegression, {"coarse_classes": "nav"}),
    (PartialLabelLogisticRegression, {"coarse_classes": ()}),
    (PartialLabelLogisticRegression, {"coarse_classes": ("core-story", "nav")}),
    (PartialLabelLogisticRegression, {"coarse_classes": ("nav", "nav")}),
    (PartialLabelLogisticRegression, {"coarse_classes": ("navigation",)}),
    (ContextClassifier, {"C": -1}),
    (ContextClassifier, {"context_C": 0}),
    (ContextClassifier, {"windows": ()}),
    (ContextClassifier, {"windows": 4}),
    (ContextClassifier, {"windows": (1, 0)}),
    (ContextClassifier, {"windows": (1, 2.5)}),
    (ContextClassifier, {"windows": (True,)}),
    (ContextClassifier, {"inner_folds": 1}),
    (ContextClassifier, {"em_iterations": 0}),
    (ContextClassifier, {"random_state": -1}),
    (ContextClassifier, {"random_state": np.random.RandomState(0)}),
    (ContextClassifier, {"n_jobs": "2"}),
    (ContextClassifier, {"core_threshold": 1.5}),
]


@pytest.mark.parametrize("cls, params", BAD, ids=[f"{c.__name__}-{p}" for c, p in BAD])
def test_fit_refuses_a_parameter_outside_its_constraints(cls, params):
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of {cls.__name__} must be"):
        cls(**params).fit(*_fit_data(cls))


GOOD = [
    (ParagraphFeatures, {"prose_min_words": 1, "lead_size": 1, "function_words": 0}),
    (PartialLabelLogisticRegression, {"C": np.inf, "min_share": 0.0, "coarse_classes": ["nav", "promo"]}),
    (ContextClassifier, {"windows": [3], "inner_folds": 2, "random_state": None, "core_threshold": 1}),
]


@pytest.mark.parametrize("cls, params", GOOD, ids=[c.__name__ for c, _ in GOOD])
def test_fit_accepts_the_edges_of_the_constraints(cls, params):
    assert cls(**params).fit(*_fit_data(cls)) is not None


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_parameter_has_constraints(cls):
    assert set(cls._parameter_constraints) == set(cls().get_params())


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_scikit_learns_own_parameter_checks_pass(cls):
    # scikit-learn's generated invalid values for every constraint; get_params / set_params
    estimator_checks.check_param_validation(cls.__name__, cls())
    estimator_checks.check_get_params_invariance(cls.__name__, cls())
    estimator_checks.check_set_params(cls.__name__, cls())
    estimator_checks.check_parameters_default_constructible(cls.__name__, cls())
    estimator_checks.check_no_attributes_set_in_init(cls.__name__, cls())


@pytest.mark.parametrize("cls, params", GOOD, ids=[c.__name__ for c, _ in GOOD])
def test_get_params_and_clone_round_trip(cls, params):
    est = cls(**params)
    again = clone(est)
    assert again is not est and type(again) is cls
    assert again.get_params() == est.get_params() == {**cls().get_params(), **params}
    assert cls(**est.get_params()).get_params() == est.get_params()
    # a clone is unfitted and fits like the original
    fitted = clone(est).fit(*_fit_data(cls))
    assert clone(fitted).get_params() == est.get_params()


def test_the_shipped_models_parameters_validate(shipped_model):
    features, classifier = shipped_model.named_steps["features"], shipped_model.named_steps["classifier"]
    for est in (features, classifier, classifier.first_, classifier.second_):
        est._validate_params()  # raises InvalidParameterError if one is out of its constraints
        assert clone(est).get_params() == est.get_params()
    assert clone(shipped_model).get_params(deep=False).keys() == shipped_model.get_params(deep=False).keys()
