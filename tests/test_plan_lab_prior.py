"""The virtual lab as the planner's prior: simulated runs as a second GP task, calibrated on the data alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import qmc

from core.doe import load_doe
from core.models.datasets import ModelData
from core.optimize.spec import Constraint, Objective, data_temperature_ranges
from core.plan import lab_prior
from core.plan.gp import PlanningModels
from core.plan.lab_prior import PriorRows, designed_runs, minimisation_form, prior_rows
from core.plan.propose import PlanSpec, default_prior, plan_experiments, reference_point, simulator_designs
from core.plan.space import spaces_for
from core.profiles import TABLE2_BOUNDS, ThermocycleProfile
from core.virtual_lab import ModelParameters
from core.virtual_lab.parameters import RATE_CONSTANTS
from core.virtual_lab.rate_fit import RateFit
from core.virtual_lab.transfer import SimulationCache, corresponding_states
from tests.test_plan_propose import small_spec

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "doe.csv"
OBJECTIVES = (Objective("D50", "max"), Objective("DoA", "min"))


@pytest.fixture(scope="module")
def sample():
    data = load_doe(SAMPLE).data
    start_T, end_T = data_temperature_ranges(data.profiles())
    md = ModelData.from_doe(data)
    return data, md.inputs.reset_index(drop=True), md.cqas.reset_index(drop=True), start_T, end_T


@pytest.fixture()
def default_rates(monkeypatch):
    """The simulator's own rate constants, unfitted: a test of the calibration line alone."""
    unfitted = RateFit(ModelParameters(), dict.fromkeys(RATE_CONSTANTS, 0.0), 0.0, 0.0, 0)
    monkeypatch.setattr(lab_prior, "fit_rate_constants", lambda *args: unfitted)


def test_minimisation_form_negates_maxima_and_signs_constraints():
    values = {"D50": np.array([40.0, 60.0]), "DoA": np.array([10.0, 30.0]), "crystallinity": np.array([90.0, 70.0])}
    F, G = minimisation_form(values, OBJECTIVES, (Constraint("crystallinity", ">=", 80.0),))
    np.testing.assert_array_equal(F, [[-40.0, 10.0], [-60.0, 30.0]])
    np.testing.assert_array_equal(G[:, 0], [-10.0, 10.0])  # feasible where <= 0


def test_designed_runs_are_feasible_and_do_not_depend_on_the_data(sample, cheap_lab_prior):
    data, *_, start_T, end_T = sample
    spaces = spaces_for(data.schema, (2, 6), start_T, end_T)
    cache = SimulationCache()
    runs = designed_runs(spaces, OBJECTIVES, (), cache, 1)
    assert len(runs) == 2 * (4 + 4)
    for row in runs[data.schema.input_names].to_dict("records"):
        profile = ThermocycleProfile.from_features(row)
        assert profile.is_feasible(TABLE2_BOUNDS), profile.violations()
    simulated = len(cache)
    again = designed_runs(spaces, OBJECTIVES, (), cache, 1)
    pd.testing.assert_frame_equal(runs, again)
    assert len(cache) == simulated  # a later round simulates nothing new


def test_the_calibration_sees_the_data_given_and_nothing_else(sample, cheap_lab_prior, default_rates):
    data, inputs, cqas, start_T, end_T = sample
    spaces = spaces_for(data.schema, (2,), start_T, end_T)
    cache = SimulationCache()
    rows = prior_rows(inputs[data.schema.input_names], cqas, ["D50"], spaces, OBJECTIVES, (), cache)
    assert len(rows.inputs) == len(inputs) + 8  # the data's runs, then the designed ones
    pd.testing.assert_frame_equal(rows.inputs.iloc[: len(inputs)], inputs[data.schema.input_names])
    shifted = prior_rows(
        inputs[data.schema.input_names], cqas.assign(D50=cqas["D50"] + 10.0), ["D50"], spaces, OBJECTIVES, (), cache
    )
    a, b = rows.calibration["D50"]
    assert shifted.calibration["D50"] == pytest.approx((a + 10.0, b))
    np.testing.assert_allclose(shifted.values["D50"], rows.values["D50"] + 10.0)


def test_planned_runs_that_find_less_than_the_simulator_promised_pull_its_line_down(
    sample, cheap_lab_prior, default_rates
):
    """Three runs where the simulator promises its largest D50, measured at the DoE's smallest, pull the prior's
    line down: a robust line hardly moves for three runs off the trend of 31, and the prior would keep its promise
    there round after round."""
    data, inputs, cqas, start_T, end_T = sample
    names = data.schema.input_names
    space = spaces_for(data.schema, (10,), start_T, end_T)[0]
    cache = SimulationCache()
    candidates = space.decode(qmc.Sobol(space.dim, seed=0).random(32))[names]
    promised = cache.simulate(corresponding_states(inputs[names]).simulated_inputs(candidates))["D50"]
    planned = candidates.loc[promised.nlargest(3).index]
    found = pd.DataFrame({"D50": np.full(3, cqas["D50"].min())})
    line = {}
    for label, (x, y) in {
        "DoE": (inputs, cqas),
        "DoE + planned": (pd.concat([inputs, planned]), pd.concat([cqas, found])),
    }.items():
        rows = prior_rows(
            x[names].reset_index(drop=True), y.reset_index(drop=True), ["D50"], [space], OBJECTIVES, (), cache
        )
        line[label] = rows.calibration["D50"]
    assert line["DoE + planned"][1] < 0.8 * line["DoE"][1]


def test_a_schema_the_virtual_lab_cannot_run_is_refused_plainly(sample):
    data, inputs, cqas, start_T, end_T = sample
    spaces = spaces_for(data.schema, (2,), start_T, end_T)
    with pytest.raises(ValueError, match="cannot be the planner's prior"):
        prior_rows(inputs.assign(stirring=1.0), cqas, ["D50"], spaces, OBJECTIVES, ())
    with pytest.raises(ValueError, match="unknown prior"):
        PlanSpec(prior="handbook")


def test_plans_take_the_virtual_lab_as_prior_by_default_only_where_it_can_run(sample):
    _, inputs, cqas, _, _ = sample
    spec = PlanSpec()
    assert default_prior(inputs, cqas, spec) == ("virtual_lab", None)
    prior, reason = default_prior(inputs.assign(stirring=1.0), cqas, spec)
    assert prior == "none" and "needs exactly the inputs" in reason
    prior, reason = default_prior(inputs, cqas.assign(yield_percent=90.0), spec)  # a CQA it does not simulate
    assert prior == "none" and "yield_percent" in reason


def test_where_the_data_are_silent_the_gp_follows_the_prior(sample):
    data, inputs, cqas, start_T, end_T = sample
    space = spaces_for(data.schema, (10,), start_T, end_T)[0]
    far = space.decode(np.full((12, space.dim), 0.9)).assign(seed_loading=np.linspace(0.05, 0.15, 12))
    # the simulator agrees with the data's runs and puts D50 at 200 µm where no run went
    both = pd.concat([inputs[data.schema.input_names], far], ignore_index=True)
    prior = PriorRows(both, {"D50": np.r_[cqas["D50"].to_numpy(float), np.full(12, 200.0)]}, {"D50": (0.0, 1.0)})
    plain = PlanningModels(data.schema, ["D50"]).fit(inputs, cqas)
    guided = PlanningModels(data.schema, ["D50"]).fit(inputs, cqas, prior=prior)
    at = far.iloc[[3]]
    assert plain.predict(at)["D50"][0][0] < 60.0  # the data span 30-48 µm
    assert guided.predict(at)["D50"][0][0] > 120.0
    measured = inputs.iloc[:5]  # the data's runs still follow the data
    np.testing.assert_allclose(guided.predict(measured)["D50"][0], plain.predict(measured)["D50"][0], atol=6.0)


def test_a_plan_with_the_prior_is_feasible_distinct_reproducible_and_says_so(sample, cheap_lab_prior):
    data, inputs, cqas, start_T, end_T = sample
    spec = small_spec("ehvi", start_T, end_T, batch_size=2, n_temperatures=(2, 6), prior="virtual_lab")
    heard: list[tuple[float, str]] = []
    plans = [plan_experiments(inputs, cqas, data.schema, spec, progress=lambda f, m: heard.append((f, m)))]
    plans += [plan_experiments(inputs, cqas, data.schema, s) for s in (spec, replace(spec, random_state=5))]
    fractions, messages = zip(*heard, strict=True)
    assert list(fractions) == sorted(fractions) and fractions[0] >= 0.0 and fractions[-1] <= 1.0
    assert messages[0] == "fitting the virtual lab's rate constants to the data"
    assert "simulating the virtual lab's runs: generation 1 of 2" in messages
    assert "choosing run 2 of 2" in messages
    runs = plans[0].runs[data.schema.input_names]
    assert len(runs.drop_duplicates()) == 2
    for row in runs.to_dict("records"):
        assert ThermocycleProfile.from_features(row).is_feasible(TABLE2_BOUNDS)
    pd.testing.assert_frame_equal(plans[0].runs, plans[1].runs)
    assert not plans[0].runs[data.schema.input_names].equals(plans[2].runs[data.schema.input_names])
    assert any("simulated runs as a second task" in n for n in plans[0].notes)
    assert any(n.startswith("virtual lab: rate constants fitted to the data") for n in plans[0].notes)
    assert f"{plans[0].runs['id'][0]}: the fitted simulator's own best designs" in plans[0].notes
    alone = plan_experiments(inputs, cqas, data.schema, replace(spec, batch_size=1))  # the simulator's run only
    assert len(alone.runs) == 1
    names = data.schema.input_names
    pd.testing.assert_series_equal(alone.runs.iloc[0][names], plans[0].runs.iloc[0][names], check_names=False)


def test_the_simulators_designs_are_taken_by_the_hypervolume_they_add_to_the_runs_made(sample):
    data, inputs, cqas, start_T, end_T = sample
    names = data.schema.input_names
    space = spaces_for(data.schema, (10,), start_T, end_T)[0]
    designs = space.decode(qmc.Sobol(space.dim, seed=1).random(8)[:6])[names]
    designs.iloc[1] = inputs[names].iloc[0]  # a run already made
    designs.loc[5, "initial_concentration"] = 99.0  # beyond the schema's bounds
    top = cqas["D50"].max()
    designs = designs.assign(
        D50=top + np.array([50.0, 100.0, 60.0, 30.0, 20.0, 55.0]),
        DoA=[5.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        crystallinity=[95.0, 95.0, 70.0, 95.0, 95.0, 95.0],  # the third breaks the constraint
    )
    prior = PriorRows(inputs[names], {}, {}, designs=designs)
    spec = PlanSpec(constraints=(Constraint("crystallinity", ">=", 80.0),), simulator_runs=3)
    reference = reference_point(cqas, spec.objectives)
    picked = simulator_designs(prior, inputs, cqas, spec, reference, data.schema)
    # the largest D50 first, then the run without agglomerates; the last adds nothing they do not hold
    pd.testing.assert_frame_equal(picked, designs.loc[[0, 3], names])
    one = simulator_designs(prior, inputs, cqas, replace(spec, simulator_runs=1), reference, data.schema)
    assert list(one.index) == [0]
    assert simulator_designs(prior, inputs, cqas, replace(spec, simulator_runs=0), reference, data.schema).empty
