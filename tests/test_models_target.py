"""CQAs modelled on their limits' scale (logit between two, log above a floor): transform, search, ensemble, fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_models_data import make_doe_frame

from core.models import EnsembleRegressor, fit_cqa_models
from core.models.datasets import ModelData
from core.models.persistence import load_run, save_run
from core.models.search import cv_folds, search_family, split_errors
from core.models.target import FLOOR_MARGIN, MARGIN, TARGET_PARAM, LogitScale, LogScale, scale_limits, split_target
from core.models.zoo import build_pipeline

LIMITS = [0.0, 100.0]


def test_logit_scale_round_trips_and_keeps_limit_values_finite():
    scale = LogitScale(0.0, 100.0)
    y = np.array([3.0, 25.0, 50.0, 97.0])
    assert np.allclose(scale.inverse(scale.forward(y)), y)
    z = scale.forward(np.array([0.0, 100.0]))
    assert np.all(np.isfinite(z)) and np.allclose(scale.inverse(z), [100 * MARGIN, 100 * (1 - MARGIN)])
    z0, h = np.array([-2.0, 0.0, 1.5]), 1e-6
    assert np.allclose(scale.slope(z0), (scale.inverse(z0 + h) - scale.inverse(z0 - h)) / (2 * h), rtol=1e-5)
    assert np.all(scale.inverse(np.array([-50.0, 50.0])) > 0) and np.all(scale.inverse(np.array([50.0])) <= 100)
    with pytest.raises(ValueError, match="finite limits"):
        LogitScale(0.0, np.inf)


def test_log_scale_round_trips_keeps_the_floor_finite_and_scales_sigma_with_the_level():
    scale = LogScale(0.0)
    y = np.array([0.5, 30.0, 260.0])
    assert np.allclose(scale.inverse(scale.forward(y)), y)
    z = scale.forward(np.array([0.0, -3.0]))
    assert np.all(np.isfinite(z)) and np.allclose(scale.inverse(z), FLOOR_MARGIN)
    z0, h = np.array([1.0, 3.5, 5.5]), 1e-6
    assert np.allclose(scale.slope(z0), (scale.inverse(z0 + h) - scale.inverse(z0 - h)) / (2 * h), rtol=1e-5)
    assert np.allclose(scale.slope(scale.forward(y)), y)  # a σ on the log scale is a share of the level
    with pytest.raises(ValueError, match="finite floor"):
        LogScale(-np.inf)


def test_the_limits_choose_the_scale():
    assert scale_limits((0.0, 100.0)) == LIMITS
    assert scale_limits((0.0, np.inf)) == scale_limits((0.0, None)) == [0.0, None]
    assert scale_limits((-np.inf, np.inf)) is None and scale_limits(None) is None
    params, scale = split_target({"C": 1.0, TARGET_PARAM: LIMITS})
    assert params == {"C": 1.0} and scale == LogitScale(0.0, 100.0)
    assert split_target({TARGET_PARAM: [0.0, None]})[1] == LogScale(0.0)
    assert split_target({"C": 1.0}) == ({"C": 1.0}, None)
    # the pipeline never sees the target scale: its caller fits it on the modelling scale
    assert build_pipeline("svr", {"C": 2.0, TARGET_PARAM: LIMITS})[-1].C == 2.0


def _trend(n: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A share that rises with x towards 100 %: a model of it as measured runs past the limit beyond the data."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 2))
    return X, 100 / (1 + np.exp(-(6 * X[:, 0] - 2))) + rng.normal(0, 1, n)


@pytest.mark.parametrize("name", ["svr", "gp"])
def test_ensemble_on_the_logit_scale_stays_within_the_limits(name):
    X, y = _trend()
    params = {"kernel": "linear", "C": 10.0} if name == "svr" else {}
    far = np.array([[4.0, 0.5], [-4.0, 0.5]])
    plain = EnsembleRegressor(family=name, params=params, n_members=8).fit(X, y)
    assert plain.predict(far)[0] > 100  # as measured, the trend leaves the range
    bounded = EnsembleRegressor(family=name, params={**params, TARGET_PARAM: LIMITS}, n_members=8).fit(X, y)
    mean, std = bounded.predict(far, return_std=True)
    assert np.all((mean > 0) & (mean < 100)) and np.all(np.isfinite(std) & (std >= 0))
    inside, inside_std = bounded.predict(X, return_std=True)
    assert np.mean((inside - y) ** 2) < 4 * np.var(y) / 10 and np.all(inside_std > 0)
    assert bounded.oos_prediction_[~np.isnan(bounded.oos_prediction_)].max() < 100
    if name == "svr":
        members = bounded.member_predictions(far)
        assert members.shape == (8, 2) and np.all((members > 0) & (members < 100))
    low, high = bounded.predict_interval(X[:3], 0.9)
    assert np.all(low < inside[:3]) and np.all(inside[:3] < high)


def test_on_the_log_scale_sigma_grows_with_the_predicted_level():
    rng = np.random.default_rng(2)
    X = rng.uniform(0, 1, (30, 2))
    y = 10 * np.exp(2 * X[:, 0]) * (1 + rng.normal(0, 0.05, 30))  # a size whose scatter is a share of it
    ends = np.array([[0.05, 0.5], [0.95, 0.5], [-3.0, 0.5]])
    ratio = {}
    for name, params in (("identity", {}), ("log", {TARGET_PARAM: [0.0, None]})):
        mean, std = EnsembleRegressor(family="gp", params=params, n_members=8).fit(X, y).predict(ends, return_std=True)
        ratio[name] = std[1] / std[0]
        if name == "log":
            assert mean[2] > 0  # far below the data the prediction stays above the floor
    assert ratio["log"] > 2 * ratio["identity"]


def test_split_errors_and_both_searches_score_as_measured():
    X, y = _trend(24, seed=1)
    params = {"kernel": "rbf", "C": 10.0, TARGET_PARAM: LIMITS}
    train, test = np.arange(16), np.arange(16, 24)
    scale = LogitScale(0.0, 100.0)
    pipe = build_pipeline("svr", params).fit(X[train], scale.forward(y[train]))
    expected = (y[test] - scale.inverse(pipe.predict(X[test]))) ** 2
    assert np.allclose(split_errors("svr", params, X, y, train, test, 0), expected)
    folds = cv_folds(len(y), 3, 0)
    grid = {"kernel": ["rbf", "linear"], "C": [1.0, 10.0]}
    fast = search_family("svr", X, y, folds, mode="fast", grid=grid, target_limits=LIMITS)
    exhaustive = search_family("svr", X, y, folds, mode="exhaustive", grid=grid, target_limits=LIMITS)
    assert fast.best_params == exhaustive.best_params and fast.best_params[TARGET_PARAM] == LIMITS
    assert np.isclose(fast.cv_mse, exhaustive.cv_mse)
    by_hand = np.mean([split_errors("svr", fast.best_params, X, y, tr, te, 0).mean() for tr, te in folds])
    assert np.isclose(fast.cv_mse, by_hand)


def test_fit_models_every_cqa_on_its_limits_scale_when_asked():
    frame = make_doe_frame(n=24, seed=3)
    small = {"families": ("svr",), "grids": {"svr": {"kernel": ["rbf"], "C": [10.0]}}, "n_members": 4, "n_jobs": 1}
    result = fit_cqa_models(frame, ["D50", "DoA"], target_scale="limits", **small)
    # the default schema's limits: D50 above 0, the percentages between 0 and 100
    assert result.settings.limits == {"D50": [0.0, None], "DoA": LIMITS, "crystallinity": LIMITS}
    assert result.metrics["DoA"].models["svr"].params[TARGET_PARAM] == LIMITS
    assert result.metrics["D50"].models["svr"].params[TARGET_PARAM] == [0.0, None]
    assert result.metrics["D50"].target_scale == "log"
    data = ModelData.from_frame(frame)
    far = data.inputs.iloc[:3].copy()
    far["initial_concentration"] = [500.0, -500.0, 900.0]
    mean = result.fits["DoA"].predict(far)
    assert np.all((mean > 0) & (mean < 100))
    plain = fit_cqa_models(frame, ["DoA"], target_scale="identity", **small)
    assert TARGET_PARAM not in plain.metrics["DoA"].models["svr"].params
    assert not np.allclose(plain.fits["DoA"].predict(data.inputs), result.fits["DoA"].predict(data.inputs))
    with pytest.raises(ValueError, match="unknown target scale 'log'"):
        fit_cqa_models(frame, ["DoA"], target_scale="log", **small)


def _bounded_frame(shape: str) -> pd.DataFrame:
    """DoA as a clean function of the concentration: piled near its 100 % limit (a logistic trend) or mid-range
    and linear."""
    frame = make_doe_frame(n=30, seed=3, noise=0.0)
    s = (frame["initial_concentration"] - 40.0) / 9.0
    frame["DoA"] = 100 / (1 + np.exp(-(3.0 + 2.5 * s))) if shape == "piled" else 50 + 8 * s
    return frame


@pytest.mark.parametrize(("shape", "expected"), [("piled", "logit"), ("linear", "identity")])
def test_auto_target_scale_follows_the_selection_score(shape, expected):
    frame = _bounded_frame(shape)
    small = {"families": ("svr",), "grids": {"svr": {"kernel": ["linear"], "C": [10.0]}}, "n_members": 4}
    small |= {"features": "raw", "n_jobs": 1}
    auto = fit_cqa_models(frame, ["DoA"], **small).metrics["DoA"]
    forced = {
        name: fit_cqa_models(frame, ["DoA"], target_scale=setting, **small).metrics["DoA"]
        for name, setting in (("identity", "identity"), ("logit", "limits"))
    }
    scores = {s: m.selection_score for s, m in forced.items()}
    assert min(scores, key=scores.get) == expected and forced["logit"].target_scale == "logit"
    assert auto.target_scale == auto.models["svr"].target_scale == expected
    assert np.isclose(auto.selection_score, scores[expected])
    assert (TARGET_PARAM in auto.models["svr"].params) == (expected == "logit")


def test_chosen_target_scale_is_saved_and_reloaded(tmp_path):
    frame = _bounded_frame("piled")
    small = {"families": ("svr",), "grids": {"svr": {"kernel": ["linear"], "C": [10.0]}}, "n_members": 4}
    result = fit_cqa_models(frame, ["D50", "DoA"], features="raw", n_jobs=1, **small)
    save_run(result, tmp_path)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["DoA"]["target_scale"] == "logit" and saved["D50"]["target_scale"] == "identity"
    loaded = load_run(tmp_path)
    assert loaded.settings.target_scale == "auto" and loaded.metrics["DoA"].target_scale == "logit"
    X = ModelData.from_frame(frame).inputs
    assert np.allclose(loaded.fits["DoA"].predict(X), result.fits["DoA"].predict(X))
