"""Batched pipeline predictions: equal to `pipeline.predict` for every family, kernel and scaler
setting (exactly for trees), fall back for anything else, and power the ensemble's predictions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler
from sklearn.svm import SVR

from core.models import fast_predict
from core.models.fast_predict import forest_tree_predictions, predict_pipelines
from core.models.uncertainty import EnsembleRegressor, side_factors
from core.models.zoo import build_pipeline

N_FEATURES = 5


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """40 training rows on very different column scales and 300 new rows, some outside the training range."""
    rng = np.random.default_rng(7)
    scales = np.array([1.0, 50.0, 0.01, 10.0, 3.0])
    X = rng.normal(size=(40, N_FEATURES)) * scales + 20.0
    y = np.sin(X[:, 0]) + X[:, 1] / 40 + 30 * X[:, 2] ** 2 + rng.normal(0, 0.1, 40)
    X_new = rng.normal(size=(300, N_FEATURES)) * 1.5 * scales + 20.0
    return X, y, X_new


def _slow(pipelines: list[Pipeline], X: np.ndarray) -> np.ndarray:
    return np.array([p.predict(X) for p in pipelines])


def _refuse_pipeline_predict(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, a recognised pipeline that reached `Pipeline.predict` fails the test."""

    def refuse(self: Pipeline, X: np.ndarray, **params: object) -> np.ndarray:
        raise AssertionError("the batched path fell back to Pipeline.predict")

    monkeypatch.setattr(Pipeline, "predict", refuse)


def _assert_same(fast: np.ndarray, slow: np.ndarray, exact: bool) -> None:
    assert fast.shape == slow.shape and fast.dtype == slow.dtype
    if exact:
        assert np.array_equal(fast, slow)
    else:
        assert np.allclose(fast, slow, rtol=1e-9, atol=1e-9)


FAMILY_CASES = [
    ("rf", {"n_estimators": 15}, True),
    ("rf", {"n_estimators": 10, "max_depth": 3, "bootstrap": False}, True),
    ("gbt", {"n_estimators": 20}, True),
    ("gbt", {"n_estimators": 20, "subsample": 0.5, "max_depth": 5}, True),
    ("gbt", {"n_estimators": 15, "loss": "huber", "alpha": 0.5}, True),
    ("gbt", {"n_estimators": 15, "loss": "absolute_error"}, True),
    ("gbt", {"n_estimators": 15, "loss": "quantile", "alpha": 0.3}, True),
    ("gbt", {"n_estimators": 15, "init": "zero"}, True),
    ("svr", {"kernel": "linear", "C": 10.0}, False),
    ("svr", {"kernel": "poly", "C": 5.0}, False),
    ("svr", {"kernel": "poly", "degree": 2, "coef0": 1.0, "gamma": "auto"}, False),
    ("svr", {"kernel": "rbf", "C": 20.0}, False),
    ("svr", {"kernel": "rbf", "gamma": 0.3}, False),
    ("svr", {"kernel": "sigmoid", "C": 0.1}, False),
    ("svr", {"kernel": "sigmoid", "coef0": -0.5, "gamma": 0.05}, False),
    ("xgb", {"n_estimators": 20, "max_depth": 3}, True),
    ("xgb", {"n_estimators": 10, "subsample": 0.5, "colsample_bytree": 0.7}, True),
]


@pytest.mark.parametrize(("family", "params", "exact"), FAMILY_CASES)
def test_every_family_and_kernel_matches_pipeline_predict(data, family, params, exact, monkeypatch):
    """Differently seeded members fitted on different rows, predicted in one call without `Pipeline.predict`."""
    X, y, X_new = data
    rng = np.random.default_rng(1)
    pipelines = []
    for seed in range(4):
        rows = np.sort(rng.choice(len(y), size=32, replace=False))
        pipelines.append(build_pipeline(family, params, seed).fit(X[rows], y[rows]))
    slow = _slow(pipelines, X_new)
    _refuse_pipeline_predict(monkeypatch)
    _assert_same(predict_pipelines(pipelines, X_new), slow, exact)


@pytest.mark.parametrize("flags", [{"with_mean": False}, {"with_std": False}, {"with_mean": False, "with_std": False}])
@pytest.mark.parametrize(("family", "params", "exact"), [FAMILY_CASES[i] for i in (0, 2, 8, 11)])
def test_scaler_without_centring_or_scaling_matches(data, flags, family, params, exact):
    """(A cubic kernel on uncentred rows sums terms ~1e8 times its result, so both libsvm's and the
    batched sums carry ~1e-7 relative rounding there; the zoo always centres.)"""
    X, y, X_new = data
    pipelines = []
    for seed in range(2):
        pipe = build_pipeline(family, params, seed)
        pipe.steps[0] = ("scale", StandardScaler(**flags))
        pipelines.append(pipe.fit(X[seed:], y[seed:]))
    _assert_same(predict_pipelines(pipelines, X_new), _slow(pipelines, X_new), exact)


def test_xgboost_uses_the_early_stopping_iteration(data):
    X, y, X_new = data
    scaled = StandardScaler().fit_transform(X)  # what the pipeline's scaler makes of X
    unrelated = np.random.default_rng(3).permutation(y)  # validation error soon stops improving
    pipe = build_pipeline("xgb", {"n_estimators": 300, "learning_rate": 0.3, "early_stopping_rounds": 3}, 0)
    pipe.fit(X, y, model__eval_set=[(scaled, unrelated)], model__verbose=False)
    booster = pipe[-1].get_booster()
    all_rounds = booster.inplace_predict(pipe[0].transform(X_new), iteration_range=(0, booster.num_boosted_rounds()))
    assert not np.array_equal(all_rounds, pipe.predict(X_new))  # the rounds after the best one matter here
    _assert_same(predict_pipelines([pipe], X_new), _slow([pipe], X_new), exact=True)


def test_mixed_families_and_fallbacks_keep_their_places(data):
    """Grouping by family must not reorder the output; pipelines of any other shape use their own predict."""
    X, y, X_new = data
    pipelines = [
        build_pipeline("svr", {"kernel": "linear"}, 0),
        Pipeline([("scale", MinMaxScaler()), ("model", SVR(kernel="linear"))]),
        build_pipeline("gbt", {"n_estimators": 10}, 0),
        Pipeline([("scale", StandardScaler()), ("model", Ridge())]),
        build_pipeline("svr", {"kernel": "rbf"}, 0),
        Pipeline([("scale", StandardScaler()), ("tanh", FunctionTransformer(np.tanh)), ("model", SVR())]),
        build_pipeline("svr", {"kernel": "linear", "C": 0.1}, 0),
        build_pipeline("rf", {"n_estimators": 5}, 0),
    ]
    for p in pipelines:
        p.fit(X, y)
    _assert_same(predict_pipelines(pipelines, X_new), _slow(pipelines, X_new), exact=False)
    fallback = [pipelines[i] for i in (1, 3, 5)]
    _assert_same(predict_pipelines(fallback, X_new), _slow(fallback, X_new), exact=True)


def test_kernel_blocks_give_the_same_numbers_as_one_block(data, monkeypatch):
    X, y, X_new = data
    pipelines = [build_pipeline("svr", {"kernel": "rbf"}, s).fit(X[s:], y[s:]) for s in range(3)]
    whole = predict_pipelines(pipelines, X_new)
    monkeypatch.setattr(fast_predict, "KERNEL_BLOCK_ELEMENTS", 500)  # blocks of a few rows
    blocked = predict_pipelines(pipelines, X_new)
    assert np.allclose(blocked, whole, rtol=1e-12, atol=1e-12)
    _assert_same(blocked, _slow(pipelines, X_new), exact=False)


def test_row_order_and_repetition_do_not_change_any_prediction(data):
    X, y, X_new = data
    pipelines = [
        build_pipeline("gbt", {"n_estimators": 10}, 0).fit(X, y),
        build_pipeline("rf", {"n_estimators": 8}, 0).fit(X, y),
        build_pipeline("svr", {"kernel": "poly"}, 0).fit(X, y),
    ]
    perm = np.random.default_rng(5).permutation(len(X_new))
    first = predict_pipelines(pipelines, X_new)
    assert np.array_equal(predict_pipelines(pipelines, X_new), first)
    assert np.allclose(predict_pipelines(pipelines, X_new[perm]), first[:, perm], rtol=1e-12, atol=1e-12)
    trees = pipelines[:2]
    assert np.array_equal(predict_pipelines(trees, X_new[perm]), first[:2, perm])
    assert np.array_equal(predict_pipelines(trees, X_new[:1]), first[:2, :1])


def test_rows_sklearn_refuses_get_sklearn_s_message(data):
    X, y, X_new = data
    pipelines = [build_pipeline("svr", {"kernel": "linear"}, 0).fit(X, y)]
    with_nan = X_new.copy()
    with_nan[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        predict_pipelines(pipelines, with_nan)
    with pytest.raises(ValueError, match=f"expecting {N_FEATURES} features"):
        predict_pipelines(pipelines, X_new[:, :3])


def test_forest_tree_predictions_are_the_trees_own(data):
    X, y, X_new = data
    pipe = build_pipeline("rf", {"n_estimators": 12}, 0).fit(X, y)
    X32 = np.ascontiguousarray(pipe[:-1].transform(X_new), dtype=np.float32)
    expected = np.array([tree.predict(X32) for tree in pipe[-1].estimators_])
    assert np.array_equal(forest_tree_predictions(pipe, X_new), expected)


ENSEMBLE_CASES = [
    ("gbt", {"n_estimators": 15, "subsample": 0.75}, "mccv", True),
    ("svr", {"kernel": "linear", "C": 5.0}, "mccv", False),
    ("svr", {"kernel": "rbf", "C": 10.0}, "bootstrap", False),
    ("xgb", {"n_estimators": 10}, "bootstrap", True),
    ("rf", {"n_estimators": 20}, "mccv", True),
    ("rf", {"n_estimators": 30}, "oob", True),  # the forest's own trees are the ensemble
]


@pytest.mark.parametrize(("family", "params", "method", "exact"), ENSEMBLE_CASES)
def test_ensemble_predictions_equal_the_per_pipeline_path(data, family, params, method, exact, monkeypatch):
    X, y, X_new = data
    ens = EnsembleRegressor(family, params, method=method, n_members=5, random_state=2).fit(X, y)
    mean = ens.model_.predict(X_new)
    if ens.uses_forest_:
        X32 = np.ascontiguousarray(ens.model_[:-1].transform(X_new), dtype=np.float32)
        members = np.array([tree.predict(X32) for tree in ens.model_[-1].estimators_])
    else:
        members = np.array([m.predict(X_new) for m in ens.members_])
    spread = members.std(axis=0, ddof=1)
    _refuse_pipeline_predict(monkeypatch)
    _assert_same(ens.predict(X_new), mean, exact)
    fast_mean, fast_std = ens.predict(X_new, return_std=True)
    assert np.array_equal(fast_mean, ens.predict(X_new))
    _assert_same(fast_mean, mean, exact)
    outside = ens.outside_domain(X_new)
    _assert_same(fast_std, np.where(outside, ens.scale_outside_, ens.scale_) * spread, exact)
    _assert_same(ens.member_predictions(X_new), members, exact)
    lo, hi = ens.predict_interval(X_new, 0.8)
    inside_factor, outside_factor = side_factors(ens.calibration_scores_, ens.calibration_outside_, 0.8)
    half = np.where(outside, outside_factor, inside_factor) * spread
    _assert_same(lo, mean - half, exact)
    _assert_same(hi, mean + half, exact)


TREE_MEMBERS = [
    ["rf", {"n_estimators": 10}, None],
    ["gbt", {"n_estimators": 15, "target_limits": [-5.0, 60.0]}, [0, 2, 4]],  # fitted on the logit scale
    ["xgb", {"n_estimators": 10}, [1, 2, 3]],
]


@pytest.mark.parametrize(
    ("members", "exact"),
    [(TREE_MEMBERS, True), ([*TREE_MEMBERS, ["svr", {"kernel": "rbf", "C": 10.0}, [0, 1]]], False)],
)
def test_an_average_of_families_sends_every_member_down_its_batched_path(data, members, exact, monkeypatch):
    X, y, X_new = data
    average = build_pipeline("average", {"members": members}).fit(X, y)
    slow = _slow([average], X_new)
    _refuse_pipeline_predict(monkeypatch)
    _assert_same(predict_pipelines([average], X_new), slow, exact)


def test_an_average_with_a_member_of_no_batched_path_still_matches(data):
    X, y, X_new = data
    members = [["rf", {"n_estimators": 10}, None], ["gp", {}, [0, 1, 2]]]
    average = build_pipeline("average", {"members": members}).fit(X, y)
    _assert_same(predict_pipelines([average], X_new), _slow([average], X_new), exact=False)
