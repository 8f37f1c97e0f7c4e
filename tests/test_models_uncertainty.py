"""Ensemble uncertainty: shapes, methods, coverage arithmetic, conformal calibration, seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from test_models_data import make_doe_frame

from core.models.datasets import ModelData
from core.models.gaussian_process import GaussianProcessModel
from core.models.metrics import coverage, regression_scores
from core.models.uncertainty import (
    MIN_SIDE_SCORES,
    ONE_SIGMA,
    EnsembleRegressor,
    conformal_quantile,
    in_sample_factor,
    side_factors,
)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """40 training rows and 200 fresh rows from the same process."""
    frame = make_doe_frame(n=240, seed=4, noise=0.08, mix={2: 100, 4: 40, 6: 50, 8: 50})
    md = ModelData.from_frame(frame)
    X, y = md.inputs.to_numpy(float), md.cqas["D50"].to_numpy(float)
    return X[:40], y[:40], X[40:], y[40:]


def test_coverage_and_scores_arithmetic():
    y, mean, std = np.array([0.0, 1.0, 2.0, 3.5]), np.zeros(4), np.ones(4)
    assert coverage(y, mean, std, 1.0) == 0.5  # |0|, |1| inside; 2 and 3.5 outside
    assert coverage(y, mean, std, 2.0) == 0.75
    assert coverage(np.empty(0), np.empty(0), np.empty(0), 1.0) is None
    s = regression_scores(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert s["mse"] == pytest.approx(1 / 3) and s["mae"] == pytest.approx(1 / 3) and s["r2"] == pytest.approx(0.5)
    assert regression_scores(np.array([2.0]), np.array([1.0]))["r2"] is None


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)  # 9 scores
    assert conformal_quantile(scores, 0.5) == 5.0  # ceil(10 * 0.5) = 5th smallest
    assert conformal_quantile(scores, 0.9) == 9.0
    assert math.isinf(conformal_quantile(scores, 0.95))  # ceil(9.5) = 10 > 9 scores


def test_finite_sample_rank_covers_new_scores_where_the_plain_quantile_falls_short():
    """Exchangeable heavy-tailed scores: calibrated on 25, the (n+1) rank's factor holds at least 68.3 % of fresh
    scores on average over many draws (18/26 = 69.2 % in expectation); the plain 68.3 % quantile holds less."""
    rng = np.random.default_rng(0)
    scores, fresh = np.abs(rng.standard_t(3, size=(4000, 25))), np.abs(rng.standard_t(3, size=(4000, 100)))
    ranked = np.array([conformal_quantile(s, ONE_SIGMA) for s in scores])
    plain = np.quantile(scores, ONE_SIGMA, axis=1)
    assert np.mean(fresh <= ranked[:, None]) >= ONE_SIGMA
    assert np.mean(fresh <= plain[:, None]) < ONE_SIGMA


def test_each_side_of_the_domain_has_its_own_factor_unless_it_has_too_few_scores():
    inside, outside = np.arange(1.0, 21.0), 10.0 * np.arange(1.0, 13.0)  # 20 and 12 scores
    scores, far = np.concatenate([inside, outside]), np.r_[np.zeros(20, bool), np.ones(12, bool)]
    assert side_factors(scores, far, ONE_SIGMA) == (conformal_quantile(inside, ONE_SIGMA), 90.0)  # 9th of 12
    few = np.r_[np.zeros(20 + 12 - MIN_SIDE_SCORES + 1, bool), np.ones(MIN_SIDE_SCORES - 1, bool)]
    assert side_factors(scores, few, ONE_SIGMA)[1] == conformal_quantile(scores, ONE_SIGMA)  # pooled
    # outside scores smaller than inside ones never narrow the interval outside
    assert side_factors(scores, ~far, ONE_SIGMA)[1] == side_factors(scores, ~far, ONE_SIGMA)[0]
    # too few scores on one side for the level: the pooled scores back it
    assert side_factors(scores, far, 0.95)[1] == conformal_quantile(scores, 0.95)


def test_rows_far_from_the_training_runs_get_the_outside_factor(data):
    X, y, X_new, _ = data
    ens = EnsembleRegressor("svr", {"kernel": "linear"}, method="mccv", n_members=6).fit(X, y)
    far = X_new[:3].copy()
    far[:, 0] += 10 * X[:, 0].std()  # initial concentration far beyond the runs
    assert not ens.outside_domain(X[:5]).any() and ens.outside_domain(far).all()
    np.testing.assert_array_equal(ens.calibration_factors(far), ens.scale_outside_)
    spread = ens.member_predictions(far).std(axis=0, ddof=1)
    np.testing.assert_allclose(ens.predict(far, return_std=True)[1], ens.scale_outside_ * spread)
    assert ens.scale_outside_ >= ens.scale_


def test_in_sample_factor_compares_left_out_members_with_all():
    members = np.array([[0.0, 0.0], [2.0, 4.0], [0.0, 0.0], [2.0, 4.0]])
    out_all = np.ones_like(members, bool)
    assert in_sample_factor(members, out_all) == pytest.approx(1.0)
    out = np.array([[True, True], [True, True], [False, False], [False, False]])  # rows 0 and 1 left out by 2
    # left-out variances 2 and 8 against all members' 4/3 and 16/3: sqrt(10 / (20/3))
    assert in_sample_factor(members, out) == pytest.approx(math.sqrt(1.5))
    assert in_sample_factor(members, np.eye(4, 2, dtype=bool)) == 1.0  # no row left out by two members


def test_a_forest_corrects_its_training_row_spreads_by_its_out_of_bag_trees(data):
    """Trees that saw a training row pull towards it: the factor compares the out-of-bag trees' spread with all."""
    X, y, _, _ = data
    ens = EnsembleRegressor("rf", {"n_estimators": 40}, method="oob", random_state=0).fit(X, y)
    members = ens.member_predictions(X)
    left_out = np.ones(members.shape, bool)
    for k, idx in enumerate(ens.model_[-1].estimators_samples_):
        left_out[k, idx] = False
    assert ens.in_sample_factor_ == pytest.approx(in_sample_factor(members, left_out))
    assert ens.in_sample_factor_ != 1.0


@pytest.mark.parametrize(
    ("family", "params", "method", "n_members"),
    [
        ("svr", {"kernel": "linear", "C": 10.0}, "mccv", 6),
        ("gbt", {"n_estimators": 20}, "bootstrap", 6),
        ("rf", {"n_estimators": 30}, "oob", 30),  # the forest's own trees
        ("svr", {"kernel": "linear", "C": 10.0}, "oob", 6),  # bagged members
    ],
)
def test_methods_give_shapes_and_positive_spread(data, family, params, method, n_members):
    X, y, X_new, _ = data
    ens = EnsembleRegressor(family, params, method=method, n_members=6, random_state=0).fit(X, y)
    mean, std = ens.predict(X_new, return_std=True)
    assert mean.shape == std.shape == (len(X_new),)
    assert (std > 0).all()
    assert ens.member_predictions(X_new).shape == (n_members, len(X_new))
    assert np.array_equal(ens.predict(X_new), mean)
    assert np.isfinite(ens.calibration_scores_).all()
    lo, hi = ens.predict_interval(X_new, 0.8)
    assert (lo < mean).all() and (mean < hi).all()


def test_mccv_members_see_a_share_and_leave_rows_out(data):
    X, y, _, _ = data
    ens = EnsembleRegressor("svr", {"kernel": "linear"}, method="mccv", n_members=6, train_fraction=0.75).fit(X, y)
    draws = ens._draws(len(y), np.random.default_rng(0))
    assert all(len(np.unique(d)) == 30 for d in draws)
    assert np.isnan(ens.oos_prediction_).sum() < len(y) // 2


def test_conformal_scale_matches_one_sigma_on_training_residuals(data):
    X, y, _, _ = data
    ens = EnsembleRegressor("gbt", {"n_estimators": 30}, method="mccv", n_members=10, random_state=1).fit(X, y)
    inside = np.sort(ens.calibration_scores_[~ens.calibration_outside_])  # training rows: nearly all inside
    assert len(inside) >= MIN_SIDE_SCORES
    assert np.mean(inside <= ens.scale_) >= ONE_SIGMA
    assert ens.scale_ == inside[math.ceil((len(inside) + 1) * ONE_SIGMA) - 1]
    raw = EnsembleRegressor(
        "gbt", {"n_estimators": 30}, method="mccv", n_members=10, random_state=1, calibration="none"
    )
    assert raw.fit(X, y).scale_ == 1.0


def test_conformal_intervals_cover_fresh_rows_near_nominal(data):
    """Raw ensemble spread under-covers new rows; the calibrated ±1σ and 90 % intervals come close."""
    X, y, X_new, y_new = data
    kw = {"family": "svr", "params": {"kernel": "linear", "C": 10.0}, "method": "mccv", "n_members": 15}
    raw = EnsembleRegressor(**kw, calibration="none").fit(X, y)
    cal = EnsembleRegressor(**kw, calibration="conformal").fit(X, y)
    mean, raw_std = raw.predict(X_new, return_std=True)
    _, cal_std = cal.predict(X_new, return_std=True)
    raw_cov, cal_cov = coverage(y_new, mean, raw_std, 1.0), coverage(y_new, mean, cal_std, 1.0)
    assert raw_cov < 0.5
    assert abs(cal_cov - ONE_SIGMA) < 0.15
    lo, hi = cal.predict_interval(X_new, 0.9)
    assert 0.8 <= np.mean((y_new >= lo) & (y_new <= hi)) <= 1.0


def test_same_seed_same_ensemble_other_seed_other_ensemble(data):
    X, y, X_new, _ = data
    kw = {"family": "gbt", "params": {"n_estimators": 10, "subsample": 0.7}, "method": "bootstrap", "n_members": 4}
    a = EnsembleRegressor(**kw, random_state=3).fit(X, y).predict(X_new, return_std=True)
    b = EnsembleRegressor(**kw, random_state=3).fit(X, y).predict(X_new, return_std=True)
    c = EnsembleRegressor(**kw, random_state=4).fit(X, y).predict(X_new, return_std=True)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.allclose(a[1], c[1])


def test_sample_weights_reach_every_member(data):
    X, y, X_new, _ = data
    w = np.where(np.arange(len(y)) < 20, 4.0, 0.25)
    kw = {"family": "svr", "params": {"kernel": "linear", "C": 1.0}, "n_members": 4}
    plain = EnsembleRegressor(**kw).fit(X, y)
    weighted = EnsembleRegressor(**kw).fit(X, y, sample_weight=w)
    assert not np.allclose(plain.member_predictions(X_new), weighted.member_predictions(X_new))


def test_bad_settings_are_plain_errors(data):
    X, y, _, _ = data
    with pytest.raises(ValueError, match="unknown uncertainty method 'jackknife'"):
        EnsembleRegressor("svr", method="jackknife").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleRegressor("svr", n_members=1).fit(X, y)


def test_an_infinite_calibration_factor_gives_infinite_not_nan_spreads(data, monkeypatch):
    X, y, X_new, _ = data
    ens = EnsembleRegressor("svr", {"kernel": "linear"}, method="mccv", n_members=6).fit(X, y)
    agreeing = np.zeros((6, len(X_new)))  # members that agree exactly: a spread of 0
    monkeypatch.setattr(ens, "member_predictions", lambda rows: agreeing)
    ens.scale_ = ens.scale_outside_ = math.inf  # what conformal calibration gives when too few rows back the level
    with np.errstate(invalid="raise"):
        _, std = ens.predict(X_new, return_std=True)
        lower, upper = ens.predict_interval(X_new, level=0.999)  # more than 40 rows could back
    assert np.all(std == np.inf)
    assert np.all(lower == -np.inf) and np.all(upper == np.inf)


@pytest.fixture(scope="module")
def noisy_line() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """260 rows of a smooth response with noise (sd 0.5) several times the model's error: inputs, truth, measured."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, size=(260, 2))
    truth = 3 * X[:, 0] + np.sin(3 * X[:, 1])
    return X, truth, truth + rng.normal(0, 0.5, len(truth))


def test_gp_splits_the_std_of_a_new_run_into_the_mean_response_and_the_noise(noisy_line):
    X, truth, y = noisy_line
    ens = EnsembleRegressor("gp", random_state=0).fit(X[:60], y[:60])
    mean, std = ens.predict(X[60:], return_std=True)
    of_mean, noise = ens.std_of_mean(X[60:]), ens.noise_std(X[60:])
    np.testing.assert_allclose(std**2, of_mean**2 + noise**2)
    learnt = noise / ens.calibration_factors(X[60:])  # the noise the kernel learnt, before calibration
    assert np.allclose(learnt, learnt[0]) and 0.35 < learnt[0] < 0.7
    assert np.median(of_mean) < 0.5 * np.median(std)
    err = np.abs(truth[60:] - mean)
    # ±2σ of a new run holds every noise-free response here; ±2σ of the mean response is a real interval
    assert np.mean(err <= 2 * std) == 1.0
    assert 0.9 <= np.mean(err <= 2 * of_mean) < 1.0


def test_the_split_needs_a_noise_the_likelihood_tells_from_the_signal(noisy_line):
    """Noise-free rows: the learnt noise sits at its lower bound, so no part of σ is called noise."""
    X, truth, y = noisy_line
    interpolating = GaussianProcessModel(random_state=0).fit(X[:40], truth[:40])
    assert math.isnan(interpolating.noise_variance())
    assert 0.1 < GaussianProcessModel(random_state=0).fit(X[:60], y[:60]).noise_variance() < 0.5
    # a Matérn term at its shortest length scale is uncorrelated between the runs: noise by another name
    noisy = GaussianProcessModel(random_state=0).fit(X[:60], y[:60])
    rough = noisy.gp_.kernel_.clone_with_theta(noisy.gp_.kernel_.theta)
    rough.set_params(k1__k1__k2__length_scale=0.1, k1__k1__k1__constant_value=0.3, k2__noise_level=0.05)
    noisy.gp_ = GaussianProcessRegressor(rough, normalize_y=True, optimizer=None).fit(X[:60], y[:60])
    assert noisy.noise_variance() == pytest.approx((0.3 + 0.05) * noisy.gp_._y_train_std**2)
    ens = EnsembleRegressor("gp", random_state=0).fit(X[:40], truth[:40])
    _, std = ens.predict(X[60:], return_std=True)
    np.testing.assert_array_equal(ens.std_of_mean(X[60:]), std)
    assert np.isnan(ens.noise_std(X[60:])).all()


def test_an_ensemble_does_not_split_its_std(noisy_line):
    X, _, y = noisy_line
    ens = EnsembleRegressor("svr", {"kernel": "rbf", "C": 10.0}, n_members=6, random_state=0).fit(X[:60], y[:60])
    _, std = ens.predict(X[60:], return_std=True)
    np.testing.assert_array_equal(ens.std_of_mean(X[60:]), std)
    assert np.isnan(ens.noise_std(X[60:])).all()


def test_the_parts_are_nan_for_rows_that_are_not_profiles(data):
    X, y, X_new, _ = data
    ens = EnsembleRegressor(
        "gp", features="descriptors", input_names=ModelData.from_frame(make_doe_frame(n=5)).input_names
    ).fit(X, y)
    bad = X_new[:3].copy()
    bad[1, :] = np.nan
    assert np.isnan(ens.std_of_mean(bad)[1]) and np.isnan(ens.noise_std(bad)[1])
    assert np.isfinite(ens.std_of_mean(bad)[[0, 2]]).all()
