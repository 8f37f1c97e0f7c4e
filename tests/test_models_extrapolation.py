"""Feature sets, the Gaussian process, leave-one-type-out validation and their way through a run directory."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_models_data import make_doe_frame

from core.doe import Schema, load_doe
from core.doe.schema import SchemaError
from core.models import EnsembleRegressor, ModelData, fit_cqa_models, gaussian_process, load_run, save_run
from core.models.blend import members_scale
from core.models.features import FeatureMap
from core.models.fitting import selection_score
from core.models.gaussian_process import GaussianProcessModel
from core.models.search import cv_folds, group_folds, split_mse, split_predictions
from core.models.target import TARGET_PARAM
from core.profiles import descriptor_names

QUICK = {"svr": {"kernel": ["linear", "rbf"], "C": [1.0, 10.0]}, "gbt": {"n_estimators": [10, 30]}}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_doe_frame(n=31, seed=5)


def test_group_folds_never_put_a_type_on_both_sides():
    types = np.array(["a", "a", "b", "c", "c", "c", "a", "b", "d"])
    folds = group_folds(types)
    assert [g for g, _, _ in folds] == ["a", "b", "c"]  # d is seen once: it never gets a fold of its own
    for g, train, test in folds:
        assert set(types[test]) == {g}
        assert g not in set(types[train])
        assert sorted([*train, *test]) == list(range(len(types)))


def test_feature_maps_give_the_documented_columns(frame):
    data = ModelData.from_frame(frame)
    X = data.inputs.to_numpy(float)
    names = data.input_names
    desc = FeatureMap(names, "descriptors")
    assert desc.names == ["initial_concentration", "seed_loading", *descriptor_names(4)]
    both = FeatureMap(names, "both")
    assert both.names == [*names, *descriptor_names(4)]
    Z = both.transform(X)
    np.testing.assert_array_equal(Z[:, : len(names)], X)
    np.testing.assert_array_equal(Z[:, len(names) :], desc.transform(X)[:, 2:])
    np.testing.assert_array_equal(FeatureMap(names, "raw").transform(X), X)
    with pytest.raises(ValueError, match="needs the profile columns"):
        FeatureMap(["initial_concentration", "seed_loading"], "descriptors")


def test_gaussian_process_sigma_grows_away_from_the_data_and_loo_is_exact():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (25, 2))
    y = np.sin(4 * X[:, 0]) + 0.05 * rng.normal(size=25)
    gp = GaussianProcessModel(random_state=0).fit(X, y)
    _, near = gp.predict(X[:3], return_std=True)
    _, far = gp.predict(np.array([[3.0, 3.0], [5.0, -4.0]]), return_std=True)
    assert far.min() > 3 * near.max()
    mean, std = gp.loo()
    for i in (0, 7):
        rest = np.arange(25) != i
        m, s = gp.conditioned_predict(X[rest], y[rest], X[i : i + 1])
        assert mean[i] == pytest.approx(m[0], rel=1e-5)
        assert std[i] == pytest.approx(s[0], rel=1e-5)


def test_gp_fits_that_differ_only_in_row_weights_learn_the_kernel_once_with_the_same_predictions():
    rng = np.random.default_rng(1)
    X, y = rng.uniform(0, 1, (30, 3)), rng.normal(size=30)
    weights = [np.r_[np.full(20, w), np.full(10, 1 - w)] for w in (0.3, 0.6, 0.9)]
    gaussian_process.learnt_fits.clear()
    reused = [GaussianProcessModel(random_state=0, max_iter=10).fit(X, y, sample_weight=w) for w in weights]
    assert len(gaussian_process.learnt_fits) == 1
    assert reused[0].gp_.kernel is reused[2].gp_.kernel
    for w, model in zip(weights, reused, strict=True):
        gaussian_process.learnt_fits.clear()
        fresh = GaussianProcessModel(random_state=0, max_iter=10).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    GaussianProcessModel(random_state=1, max_iter=10).fit(X, y)  # other settings: a fit of their own
    assert len(gaussian_process.learnt_fits) == 2
    for k in range(gaussian_process.LEARNT_KEPT + 2):
        GaussianProcessModel(random_state=0, max_iter=5).fit(X + k, y)
    assert len(gaussian_process.learnt_fits) == gaussian_process.LEARNT_KEPT


def test_gp_uses_its_native_sigma_calibrated_by_held_out_types(frame):
    data = ModelData.from_frame(frame)
    X, y = data.inputs.to_numpy(float), data.cqas["D50"].to_numpy(float)
    types = data.profile_types.to_numpy()
    ens = EnsembleRegressor("gp", features="descriptors", input_names=data.input_names).fit(X, y, groups=types)
    assert ens.members_ == [] and ens.scale_ > 0
    n_grouped = sum(len(test) for _, _, test in group_folds(types))
    assert len(ens.grouped_scores_) == n_grouped
    assert len(ens.calibration_scores_) == len(ens.calibration_outside_) == len(y) + n_grouped
    assert ens.calibration_outside_[len(y) :].any()  # some left-out type lies beyond the others' domain
    _, std = ens.predict(X, return_std=True)
    _, raw_std = ens.model_.predict(ens.feature_map_.transform(X), return_std=True)
    np.testing.assert_allclose(std, ens.calibration_factors(X) * raw_std)
    with pytest.raises(ValueError, match="no ensemble members"):
        ens.member_predictions(X)


def test_selection_score_weighs_kfold_and_left_out_types():
    assert selection_score(4.0, {}) == 4.0
    assert selection_score(4.0, {"a": 16.0}) == pytest.approx(8.0)
    assert selection_score(4.0, {"a": 1.0, "b": 256.0}) == pytest.approx(8.0)  # geometric: one bad type is damped


@pytest.mark.parametrize("features", ["raw", "descriptors", "both"])
def test_feature_set_round_trips_through_the_run_directory(frame, features, tmp_path):
    result = fit_cqa_models(frame, ["D50"], families=("svr",), grids=QUICK, n_members=4, features=features, n_jobs=1)
    fit = result.fits["D50"]
    assert fit.ensemble.features == features == fit.metrics.features
    save_run(result, tmp_path)
    spec = json.loads((tmp_path / "settings.json").read_text())
    assert spec["cqas"]["D50"]["features"] == features
    metrics = json.loads((tmp_path / "metrics.json").read_text())["D50"]
    assert set(metrics["cv_mse_by_type"]) == {t for t, n in fit.dataset.types_train.value_counts().items() if n >= 2}
    assert metrics["cv_mse"] > 0 and metrics["selection_score"] > 0
    loaded = load_run(tmp_path)
    X = frame[result.input_names].fillna(0.0)
    np.testing.assert_allclose(
        loaded.predictor().predict(X, return_std=True)[1], result.predictor().predict(X, return_std=True)[1]
    )
    np.testing.assert_allclose(loaded.predictor().predict(X), result.predictor().predict(X))


def test_auto_picks_each_familys_feature_set_by_its_selection_score(frame):
    result = fit_cqa_models(frame, ["D50"], families=("svr", "gbt"), grids=QUICK, n_members=4, n_jobs=1, average=False)
    metrics = result.fits["D50"].metrics
    scores = {name: m.selection_score for name, m in metrics.models.items()}
    assert metrics.best_model == min(scores, key=scores.get)
    assert metrics.features == metrics.models[metrics.best_model].features
    assert all(m.features in ("raw", "descriptors", "both") for m in metrics.models.values())
    with pytest.raises(ValueError, match="unknown feature set"):
        fit_cqa_models(frame, ["D50"], families=("svr",), features="pca")


def test_a_schema_solubility_curve_adds_supersaturation_descriptors_and_survives_the_run(frame, tmp_path):
    schema = Schema.from_json({"solubility": [[10, 20], [40, 40], [70, 80]]})
    assert schema.solubility == ((10.0, 20.0), (40.0, 40.0), (70.0, 80.0))
    assert Schema.from_json(schema.to_spec()).solubility == schema.solubility
    with pytest.raises(SchemaError, match="solubility"):
        Schema.from_json({"solubility": [[10, 20]]})
    data = load_doe(frame.to_csv(index=False).encode(), filename="doe.csv", schema=schema).data
    result = fit_cqa_models(data, ["D50"], families=("svr",), grids=QUICK, n_members=4, features="both", n_jobs=1)
    fit = result.fits["D50"]
    assert fit.ensemble.feature_map_.names[-3:] == [
        "supersaturation_initial",
        "time_above_saturation_min",
        "redissolved_mass",
    ]
    save_run(result, tmp_path)
    loaded = load_run(tmp_path)
    assert loaded.settings.solubility == schema.solubility
    X = data.inputs
    np.testing.assert_allclose(loaded.predictor().predict(X), result.predictor().predict(X))


def test_gp_linear_term_carries_a_trend_beyond_the_data_where_a_stationary_kernel_reverts():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (20, 1))
    y = 2.0 * X[:, 0] + 0.01 * rng.normal(size=20)
    far = np.array([[8.0]])
    assert GaussianProcessModel(random_state=0).fit(X, y).predict(far)[0] == pytest.approx(16.0, abs=1.0)
    assert GaussianProcessModel(linear=False, random_state=0).fit(X, y).predict(far)[0] < 8.0


def test_both_feature_set_names_its_raw_and_descriptor_columns(frame):
    data = ModelData.from_frame(frame)
    X, names = data.inputs.to_numpy(float), data.input_names
    raw, desc = FeatureMap(names, "both").column_roles()
    Z = FeatureMap(names, "both").transform(X)
    np.testing.assert_array_equal(Z[:, list(raw)], X)
    np.testing.assert_array_equal(Z[:, list(desc)], FeatureMap(names, "descriptors").transform(X))
    with pytest.raises(ValueError, match="only the 'both'"):
        FeatureMap(names, "raw").column_roles()


def test_committee_averages_forest_ridge_and_gp_and_survives_the_run_directory(frame, tmp_path):
    result = fit_cqa_models(frame, ["D50"], families=("committee",), n_members=3, n_jobs=1)
    fit = result.fits["D50"]
    assert fit.chosen == "committee" and fit.metrics.features == "both"
    feature_map = fit.ensemble.feature_map_
    raw, desc = feature_map.column_roles()
    params = fit.metrics.models["committee"].params
    assert params["raw_columns"] == raw and params["descriptor_columns"] == desc
    X = frame[result.input_names].fillna(0.0)
    committee = fit.ensemble.model_[-1]
    Z = fit.ensemble.model_[0].transform(feature_map.transform(X.to_numpy(float)))
    members = committee.member_predictions(Z)
    assert members.shape == (3, len(X)) and not np.allclose(members[0], members[1])
    np.testing.assert_allclose(fit.predict(X), members.mean(axis=0))
    save_run(result, tmp_path)
    loaded = load_run(tmp_path)
    np.testing.assert_allclose(loaded.predictor().predict(X)[0], result.predictor().predict(X)[0])


def test_families_are_compared_on_folds_their_search_never_saw(frame):
    kwargs = {"families": ("svr",), "grids": QUICK, "n_members": 3, "n_jobs": 1}
    types = fit_cqa_models(frame, ["D50"], **kwargs).fits["D50"]
    kfold = fit_cqa_models(frame, ["D50"], validation="kfold", features="both", **kwargs).fits["D50"]
    assert kfold.metrics.cv_mse == pytest.approx(kfold.searches["svr"].cv_mse)
    chosen = types.metrics.models["svr"]
    ds = types.dataset
    Z = FeatureMap(list(ds.X_train.columns), chosen.features).transform(ds.X_train.to_numpy(float))
    y = ds.y_train.to_numpy(float)
    fresh = [split_mse("svr", chosen.params, Z, y, tr, te, 0) for tr, te in cv_folds(len(y), 3, 1)]
    assert chosen.cv_mse == pytest.approx(np.mean(fresh))


def test_paired_validation_errors_cover_the_sparser_left_out_types(frame):
    fit = fit_cqa_models(frame, ["D50"], families=("svr",), grids=QUICK, n_members=3, n_jobs=1).fits["D50"]
    folds = group_folds(fit.dataset.types_train.to_numpy())
    sizes = sorted(len(test) for _, _, test in folds)
    assert len(folds) >= 2
    assert len(fit.metrics.models["svr"].validation_errors) == sum(sizes[:-1])  # the best-covered type is not paired


def test_average_of_families_is_scored_from_its_members_validation_predictions(frame, tmp_path):
    result = fit_cqa_models(frame, ["D50"], families=("svr", "gbt", "gp"), grids=QUICK, n_members=3, n_jobs=1)
    fit = result.fits["D50"]
    models = fit.metrics.models
    average = models["average"]
    members = [m[0] for m in average.params["members"]]
    ranked = sorted(("svr", "gbt", "gp"), key=lambda n: models[n].selection_score)
    assert members == ranked[: len(members)] and len(members) >= 2
    ds = fit.dataset
    y = ds.y_train.to_numpy(float)
    X = ds.X_train.to_numpy(float)

    def predictions(name: str, train: np.ndarray, test: np.ndarray) -> np.ndarray:
        Z = FeatureMap(list(ds.X_train.columns), models[name].features).transform(X)
        return split_predictions(name, models[name].params, Z, y, train, test, 0)

    for g, train, test in group_folds(ds.types_train.to_numpy()):
        mean = np.mean([predictions(n, train, test) for n in members], axis=0)
        assert average.cv_mse_by_type[g] == pytest.approx(np.mean((y[test] - mean) ** 2))
    # the fitted average predicts the mean of its members, each on its own columns and target scale
    rows = frame[result.input_names].fillna(0.0)
    averaged = fit.pipelines["average"]
    Z = averaged[0].transform(FeatureMap(result.input_names, average.features).transform(rows.to_numpy(float)))
    parts = averaged[-1].member_predictions(Z)
    assert parts.shape == (len(members), len(rows)) and not np.allclose(parts[0], parts[1])
    np.testing.assert_allclose(averaged[-1].predict(Z), parts.mean(axis=0))
    switched = result.with_choice("D50", "average", n_jobs=1)
    save_run(switched, tmp_path)
    np.testing.assert_allclose(load_run(tmp_path).predictor().predict(rows)[0], switched.predictor().predict(rows)[0])


def test_average_is_only_built_from_searched_families_and_can_be_turned_off(frame):
    off = fit_cqa_models(frame, ["D50"], families=("svr", "gbt"), grids=QUICK, n_members=3, n_jobs=1, average=False)
    assert "average" not in off.fits["D50"].metrics.models
    kfold = fit_cqa_models(frame, ["D50"], families=("svr", "gbt"), grids=QUICK, n_members=3, validation="kfold")
    assert "average" not in kfold.fits["D50"].metrics.models  # no fresh folds to score it on
    with pytest.raises(ValueError, match="not searched itself"):
        fit_cqa_models(frame, ["D50"], families=("svr", "average"))


def test_an_average_reports_its_members_scale_or_mixed():
    logit = {"C": 1.0, TARGET_PARAM: [0.0, 100.0]}
    assert members_scale([["svr", {"C": 1.0}, None], ["gbt", {}, None]]) == "identity"
    assert members_scale([["svr", logit, None], ["gbt", logit, None]]) == "logit"
    assert members_scale([["svr", logit, None], ["gbt", {}, None]]) == "mixed"
