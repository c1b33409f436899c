"""scikit-learn's estimator checks on every predictor, with the checks that cannot apply marked as expected failures.

The graph predictors (the GENNAPE estimator, its bagged ensemble, the gradient-boosted trees, the zero-cost proxies)
take computation graphs, or objects ``nape.to_graph`` converts, not numeric arrays: every check that fits or predicts
on the numeric ``X`` scikit-learn generates cannot give them data, so it is marked with that reason; the API checks
(cloning, parameters, tags, repr, mixin order, not-fitted errors) and the sparse-input checks (refused, saying so)
run. The behaviours the data checks look for are tested with graphs instead (``tests/gennape/test_sklearn_api.py``,
``nape_plugin.testing.check_predictor``). The learning-curve predictor reads numeric curves, so with
``use_arch=False`` nearly every check runs on it. ``xfail_strict`` keeps the lists true: a check listed here that
starts to pass fails the test.
"""
from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nape_plugin.gennape.bagging import BaggedEstimator
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.predictors.gbdt import GBDTPredictor
from nape_plugin.predictors.learning_curves import LearningCurvePredictor
from nape_plugin.predictors.zero_cost import ZeroCostProxy

TINY = dict(width=8, layers=1, embed_dim=8, num_heads=2, contrastive_epochs=0, epochs=1, progress=False)

#: Checks that fit or predict on scikit-learn's numeric X (or y derived from it).
NUMERIC_X = (
    "check_complex_data", "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_empty_data_messages", "check_estimators_fit_returns_self",
    "check_estimators_nan_inf", "check_estimators_overwrite_params", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit1d", "check_fit2d_1feature", "check_fit2d_1sample",
    "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_n_features_in",
    "check_n_features_in_after_fitting", "check_pipeline_consistency", "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input", "check_regressor_data_not_an_array", "check_regressors_int",
    "check_regressors_no_decision_function", "check_regressors_train", "check_requires_y_none",
    "check_supervised_y_2d", "check_supervised_y_no_nan",
)
#: Checks that fit on a sparse matrix and want an error that says so: the graph predictors give one; the
#: learning-curve predictor does not.
SPARSE_X = ("check_estimator_sparse_array", "check_estimator_sparse_matrix", "check_estimator_sparse_tag")
GRAPHS_ONLY = "takes computation graphs (or objects nape.to_graph converts), not scikit-learn's numeric X"
ARCHITECTURES = "takes architectures of its space (or modules), not scikit-learn's numeric X"
#: Checks of bad input the proxies of a space pass: a number is no encoding of it (EncodingError), NaN labels are
#: refused (LabelError), as scikit-learn asks.
REFUSED_BY_A_SPACE = ("check_fit1d", "check_supervised_y_no_nan")

#: The learning-curve predictor's deliberate differences from scikit-learn's array conventions.
CURVES = {
    "check_estimators_empty_data_messages": "the error names the expected (n_runs, k_epochs) shape in its own words",
    "check_fit1d": "a 1-d array is read as curves of one epoch each, by design",
    "check_fit2d_1sample": "the error says how many runs the cross-validated search needs, in its own words",
    "check_fit2d_predict1d": "a 1-d array is read as curves of one epoch; the error names the curve lengths",
    "check_n_features_in_after_fitting": "a curve of another length is refused naming the epochs, in its own words",
    "check_requires_y_none": "the error names the missing labels in its own words",
    "check_supervised_y_2d": "labels must be 1-d: a column vector is refused (LabelError), not raveled with a warning",
    **{name: "curves are dense arrays; sparse input is refused without saying so" for name in SPARSE_X},
}


def expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, LearningCurvePredictor):
        return CURVES
    if isinstance(estimator, ZeroCostProxy):
        return {name: ARCHITECTURES for name in NUMERIC_X if name not in REFUSED_BY_A_SPACE}
    return {name: GRAPHS_ONLY for name in NUMERIC_X}


ESTIMATORS = [
    GennapeEstimator(**TINY),
    BaggedEstimator(pretrained="gennape-nb101"),
    GBDTPredictor(n_estimators=10, n_ensemble=2),
    LearningCurvePredictor(use_arch=False, n_hypers=3, n_ensemble=2),
    ZeroCostProxy("synflow", space="nb201", batch_size=4),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check):
    if getattr(check, "func", check).__name__ not in expected_failures(estimator):
        check(estimator)
        return
    try:
        check(estimator)
    except Exception as e:      # an expected failure, in one line: a traceback through every frame costs seconds
        raise AssertionError(f"{type(e).__name__}: {e}") from None


def test_the_expected_failures_name_real_checks():
    from sklearn.utils.estimator_checks import estimator_checks_generator

    for estimator in ESTIMATORS:
        names = {getattr(c, "func", c).__name__ for _, c in estimator_checks_generator(estimator, mark=None)}
        assert set(expected_failures(estimator)) <= names, type(estimator).__name__


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_regressors_in_scikit_learns_eyes(estimator):
    from sklearn.base import is_regressor
    assert is_regressor(estimator)
