"""The planner proposes k distinct feasible runs of the chosen types, reproducibly, with predictions and scores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from botorch.acquisition.multi_objective import logei

from core.doe import load_doe
from core.models.datasets import ModelData
from core.models.features import FeatureMap
from core.optimize.spec import Constraint, data_temperature_ranges
from core.plan.gp import PlanningModels
from core.plan.propose import (
    ABOVE_SEEDING_LINE,
    STRATEGIES,
    PlanSpec,
    build_acquisition,
    hypervolume,
    measured_runs,
    plan_experiments,
)
from core.plan.space import ProfileSpace
from core.profiles import TABLE2_BOUNDS, ThermocycleProfile, check_features
from core.seeding import seeding_band

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "doe.csv"
TYPES = (2, 4, 6)


@pytest.fixture(scope="module")
def sample():
    data = load_doe(SAMPLE).data
    start_T, end_T = data_temperature_ranges(data.profiles())
    return data, ModelData.from_doe(data), start_T, end_T


def small_spec(strategy: str, start_T, end_T, **kw) -> PlanSpec:
    """A cheap budget: the tests check behaviour, not the quality of the optimum."""
    base = PlanSpec(
        batch_size=3,
        strategy=strategy,
        constraints=(Constraint("crystallinity", ">=", 80.0),),
        n_temperatures=TYPES,
        start_T=start_T,
        end_T=end_T,
        random_state=3,
        mc_samples=16,
        num_restarts=2,
        raw_samples=16,
        maxiter=5,
        front_pop=12,
        front_gen=4,
    )
    return replace(base, **kw)


@pytest.fixture(scope="module")
def plans(sample):
    data, md, start_T, end_T = sample
    return {
        s: plan_experiments(
            md.inputs, md.cqas, data.schema, small_spec(s, start_T, end_T), domain=lambda X: np.full(len(X), 0.5)
        )
        for s in STRATEGIES
    }


def test_strategy_names_and_unknown_strategy():
    assert STRATEGIES == ("ehvi", "explore", "random", "exploit")
    with pytest.raises(ValueError, match="unknown strategy"):
        PlanSpec(strategy="greedy")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_proposed_run_is_a_feasible_profile_of_a_chosen_type(plans, sample, strategy):
    data, _, start_T, _ = sample
    runs = plans[strategy].runs
    assert len(runs) == 3
    for row in runs[data.schema.input_names].to_dict("records"):
        assert check_features(row) == []
        profile = ThermocycleProfile.from_features(row)
        assert profile.is_feasible(TABLE2_BOUNDS), profile.violations()
        assert len(profile.temperatures) in TYPES
        assert start_T[0] <= profile.temperatures[0] <= start_T[1]
        for name, (lo, hi) in (("initial_concentration", (24.8, 55.2)), ("seed_loading", (0.05, 0.15))):
            assert lo <= row[name] <= hi
    assert set(runs["n_temperatures"]) <= set(TYPES)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_batch_has_k_distinct_runs_with_predictions_and_scores(plans, sample, strategy):
    data, _, _, _ = sample
    runs = plans[strategy].runs
    assert runs["id"].is_unique
    assert not runs[data.schema.input_names].round(6).duplicated().any()
    for cqa in ("D50", "DoA", "crystallinity"):
        assert (runs[f"{cqa}_std"] > 0).all()
        assert runs[f"{cqa}_mean"].notna().all()
    assert (runs["expected_improvement"] >= 0).all()
    assert (runs["domain_score"] == 0.5).all()
    assert (runs["strategy"] == strategy).all()


def test_planning_never_compiles_botorchs_optional_kernel(plans):
    """A first planning call must not stall for a C++ build: the pure-torch qLogNEHVI is used."""
    assert logei._load_attempted and logei._C is None


def test_ehvi_prefers_improvement_over_random(plans):
    """The acquisition's own batch is worth more (summed single-run EHVI) than space-filling picks."""
    assert plans["ehvi"].runs["expected_improvement"].sum() > plans["random"].runs["expected_improvement"].sum()


def test_same_seed_same_batch_other_seed_other_batch(plans, sample):
    data, md, start_T, end_T = sample
    again = plan_experiments(md.inputs, md.cqas, data.schema, small_spec("ehvi", start_T, end_T))
    cols = ["id", *data.schema.input_names, "D50_mean", "expected_improvement"]
    pd.testing.assert_frame_equal(again.runs[cols], plans["ehvi"].runs[cols])
    other = plan_experiments(md.inputs, md.cqas, data.schema, small_spec("random", start_T, end_T, random_state=4))
    assert set(other.runs["id"]) != set(plans["random"].runs["id"])
    # without a scorer, the applicability domain of the data's runs scores each run
    assert np.isfinite(other.runs["domain_score"]).all() and (other.runs["domain_score"] > 0).all()


def test_unit_box_decodes_to_feasible_profiles_only():
    schema = load_doe(SAMPLE).data.schema
    rng = np.random.default_rng(0)
    for n_temps in (2, 3, 4, 7, 10):
        space = ProfileSpace(schema, n_temps, start_T=(40.0, 60.0), end_T=(5.0, 15.0))
        U = rng.random((300, space.dim))
        U[:20] = rng.integers(0, 2, (20, space.dim))  # the corners too
        for row in space.decode(U).to_dict("records"):
            profile = ThermocycleProfile.from_features(row)
            assert check_features(row) == [] and profile.is_feasible(), profile.violations()
            assert len(profile.temperatures) == n_temps
            assert 40.0 <= profile.temperatures[0] <= 60.0


def test_bad_requests_give_plain_messages(sample):
    data, md, start_T, end_T = sample
    with pytest.raises(ValueError, match="at least two objectives"):
        PlanSpec(objectives=PlanSpec().objectives[:1])
    with pytest.raises(ValueError, match="not a CQA"):
        plan_experiments(
            md.inputs,
            md.cqas,
            data.schema,
            small_spec("random", start_T, end_T, constraints=(Constraint("yield", ">=", 1),)),
        )
    with pytest.raises(ValueError, match="a 5-cycle profile does not fit the schema"):
        plan_experiments(md.inputs, md.cqas, data.schema, small_spec("random", start_T, end_T, n_temperatures=(12,)))


def test_hypervolume_of_hand_made_points():
    ref = np.array([0.0, -100.0])
    assert hypervolume(np.array([[10.0, -50.0]]), ref) == pytest.approx(500.0)
    assert hypervolume(np.array([[10.0, -50.0], [5.0, -20.0]]), ref) == pytest.approx(500.0 + 5 * 30)
    assert hypervolume(np.array([[-1.0, -50.0]]), ref) == 0.0


def test_the_planning_gps_see_the_chosen_feature_set(sample):
    data, md, _, _ = sample
    names = data.schema.input_names
    fitted = {f: PlanningModels(data.schema, ["D50"], f).fit(md.inputs, md.cqas) for f in ("raw", "descriptors")}
    assert fitted["raw"].X_baseline_.shape == (len(md.inputs), len(names))
    assert fitted["descriptors"].X_baseline_.shape == (len(md.inputs), len(FeatureMap(names, "descriptors").names))
    four_cycles = md.inputs[names].iloc[[-1]].assign(T10=0.0, C5=0.0, H4=0.0, T9=10.0)  # an unseen corner of raw
    means = {f: m.predict(four_cycles)["D50"][0][0] for f, m in fitted.items()}
    assert means["raw"] != pytest.approx(means["descriptors"])
    with pytest.raises(ValueError, match="unknown feature set"):
        PlanSpec(features="pixels")


def test_the_gps_fitted_in_two_processes_are_those_fitted_in_one(sample):
    data, md, _, _ = sample
    one, two = (PlanningModels(data.schema, ["D50", "DoA"]).fit(md.inputs, md.cqas, 3, n_jobs=n) for n in (1, 2))
    for a, b in zip(one.model_.models, two.model_.models, strict=True):
        for name, value in a.state_dict().items():
            torch.testing.assert_close(b.state_dict()[name], value, rtol=0, atol=0)


def test_a_size_is_planned_on_the_log_scale_and_seen_as_measured(sample):
    data, md, start_T, end_T = sample
    models = PlanningModels(data.schema, ["D50", "DoA"]).fit(md.inputs, md.cqas)
    assert models.logged.tolist() == [True, False]  # D50 has a floor and no ceiling, DoA two limits
    X = torch.tensor(md.inputs[data.schema.input_names].to_numpy(float), dtype=torch.double)
    with torch.no_grad():
        posterior = models.model_.posterior(models.transform(X))
    mu, var = posterior.mean, posterior.variance
    mean, std = models.predict_tensor(X)
    torch.testing.assert_close(mean[:, 0], (mu[:, 0] + var[:, 0] / 2).exp())  # the log-normal's mean and std
    torch.testing.assert_close(std[:, 0], (var[:, 0].expm1() * (2 * mu[:, 0] + var[:, 0]).exp()).sqrt())
    torch.testing.assert_close(mean[:, 1], mu[:, 1])
    measured = md.cqas["D50"].to_numpy(float)
    assert np.median(np.abs(mean[:, 0].numpy() / measured - 1)) < 0.1  # fitted on log D50, it follows the runs
    # the acquisition scores samples as measured: its objective exponentiates the log-scale outcome
    acq = build_acquisition(models, small_spec("ehvi", start_T, end_T, constraints=()), np.array([0.0, -100.0]), 0)
    Z = torch.tensor([[np.log(40.0), 12.0]], dtype=torch.double)
    torch.testing.assert_close(acq.objective(Z), torch.tensor([[40.0, -12.0]], dtype=torch.double))


def test_a_descriptor_planner_proposes_feasible_distinct_runs(sample):
    """Descriptors are computed in numpy: the search must work without gradients and still obey Eqs. 2-4."""
    data, md, start_T, end_T = sample
    plan = plan_experiments(md.inputs, md.cqas, data.schema, small_spec("ehvi", start_T, end_T))
    desc = plan_experiments(md.inputs, md.cqas, data.schema, small_spec("ehvi", start_T, end_T, features="descriptors"))
    assert set(desc.runs["id"]) != set(plan.runs["id"])
    for runs in (plan.runs, desc.runs):
        assert runs["id"].is_unique and (runs["expected_improvement"] >= 0).all()
        assert all(
            ThermocycleProfile.from_features(r).is_feasible() for r in runs[data.schema.input_names].to_dict("records")
        )


def test_every_run_says_how_far_above_the_experiments_seeding_line_it_starts(plans, sample):
    data, md, _, _ = sample
    band = seeding_band(md.inputs)
    runs = plans["random"].runs
    expected = runs["T1"] - (band.intercept + band.slope * runs["initial_concentration"])
    np.testing.assert_allclose(runs[ABOVE_SEEDING_LINE], expected)
    shown = plans["random"].runs_table(data.schema.cqa_names)["T1 above the seeding line (K)"]
    np.testing.assert_allclose(shown, runs[ABOVE_SEEDING_LINE].round(1))


def test_the_plan_carries_every_measured_run_as_measured_with_the_gps_sigma(plans, sample):
    data, md, _, _ = sample
    measured = plans["ehvi"].measured
    assert measured["id"].tolist() == [f"row {i}" for i in md.inputs.index]
    assert measured["profile_type"].tolist() == data.profile_types().tolist()
    for c in ("D50", "DoA", "crystallinity"):
        assert (measured[f"{c}_std"] > 0).all()
        seen = md.cqas[c].notna().to_numpy()
        assert np.allclose(measured[f"{c}_mean"][seen], md.cqas[c][seen])
    unmeasured = ~md.cqas["crystallinity"].notna().to_numpy()
    assert unmeasured.any() and measured["crystallinity_mean"][unmeasured].between(0, 100).all()  # the posterior's


def test_runs_of_the_same_profile_count_at_their_mean(sample):
    data, md, start_T, end_T = sample
    spec = small_spec("ehvi", start_T, end_T)
    models = PlanningModels(data.schema, ["D50", "DoA", "crystallinity"]).fit(md.inputs, md.cqas)
    inputs = pd.concat([md.inputs, md.inputs.iloc[[0]]], ignore_index=True)
    cqas = pd.concat([md.cqas, md.cqas.iloc[[0]] + 10.0], ignore_index=True)
    table = measured_runs(inputs, cqas, models, spec)
    assert table["D50_mean"].iloc[0] == table["D50_mean"].iloc[-1] == md.cqas["D50"].iloc[0] + 5.0
    assert table["D50_mean"].iloc[1] == md.cqas["D50"].iloc[1]


def test_runs_are_planned_as_far_as_the_experiments_went_beyond_the_template_bounds(sample):
    data, md, start_T, end_T = sample
    inputs = md.inputs.assign(initial_concentration=md.inputs["initial_concentration"] * 1.6)
    spec = small_spec("random", start_T, end_T, batch_size=8)
    c0 = plan_experiments(inputs, md.cqas, data.schema, spec).runs["initial_concentration"]
    assert c0.max() > data.schema.bounds["initial_concentration"][1]
    assert c0.max() <= inputs["initial_concentration"].max()
