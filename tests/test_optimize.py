"""Design runs on an analytic surrogate whose optimum is known in direction."""

import numpy as np
import pandas as pd
import pytest

from core.doe import Schema
from core.optimize.problem import ProfileProblem, decision_names
from core.optimize.response_range import BEYOND_MEASURED, beyond_measured, measured_ranges
from core.optimize.run import non_dominated, objective_values, optimize_profiles, point_id
from core.optimize.spec import Constraint, DesignSpec, Objective, cycles_within_data, named_quantities
from core.profiles import ThermocycleProfile, check_features
from tests.conftest import surrogate

SCHEMA = Schema.default()
SMALL = {"pop_size": 24, "n_gen": 15}


def random_feasible(n: int, n_temperatures: int, seed: int) -> pd.DataFrame:
    problem = ProfileProblem(SCHEMA, DesignSpec(), n_temperatures, surrogate)
    rng = np.random.default_rng(seed)
    x = rng.uniform(problem.xl, problem.xu, size=(n * 20, problem.n_var))
    features = problem.decode(x)
    _, G = problem.objectives_and_constraints(features, surrogate(features))
    return features[(G <= 0).all(axis=1)].head(n)


def test_decision_variables_per_profile_type():
    assert decision_names(SCHEMA, 2) == ["initial_concentration", "seed_loading", "T1", "T2", "C1"]
    assert decision_names(SCHEMA, 10)[-4:] == ["H1", "H2", "H3", "H4"]
    assert len(decision_names(SCHEMA, 6)) == 2 + 6 + 3 + 2


def test_every_returned_point_is_a_feasible_profile_within_bounds():
    result = optimize_profiles(surrogate, SCHEMA, DesignSpec(**SMALL))
    assert set(result.points["n_temperatures"]) == {2, 4, 6, 8, 10}
    assert result.points["feasible"].all()
    bounds = SCHEMA.bounds
    for row in result.points.to_dict("records"):
        assert check_features(row) == []
        profile = ThermocycleProfile.from_features(row)
        assert profile.is_feasible(SCHEMA.profile_bounds), profile.violations()
        assert len(profile.temperatures) == row["n_temperatures"]
        for name in ("initial_concentration", "seed_loading"):
            assert bounds[name][0] <= row[name] <= bounds[name][1]
        assert row["batch_time_min"] == pytest.approx(profile.batch_time_min)


def test_front_beats_random_feasible_profiles():
    result = optimize_profiles(surrogate, SCHEMA, DesignSpec(n_temperatures=(10,), **SMALL))
    rand = random_feasible(200, 10, seed=3)
    d50, _ = surrogate(rand)["D50"]
    assert result.points["D50_mean"].max() > np.quantile(d50, 0.95)
    doa, _ = surrogate(rand)["DoA"]
    assert result.points["DoA_mean"].min() < np.quantile(doa, 0.05)


def test_more_cycles_give_better_fronts_on_this_surrogate():
    result = optimize_profiles(surrogate, SCHEMA, DesignSpec(n_temperatures=(2, 10), **SMALL))
    assert result.front(10)["D50_mean"].max() > result.front(2)["D50_mean"].max()
    merged = result.merged()
    assert set(merged["n_temperatures"]) == {10}


def test_same_seed_same_front_other_seed_differs():
    spec = DesignSpec(n_temperatures=(4,), **SMALL)
    a = optimize_profiles(surrogate, SCHEMA, spec).points
    b = optimize_profiles(surrogate, SCHEMA, spec).points
    pd.testing.assert_frame_equal(a, b)
    c = optimize_profiles(surrogate, SCHEMA, DesignSpec(n_temperatures=(4,), random_state=5, **SMALL)).points
    assert not a["id"].equals(c["id"])


def test_risk_aversion_moves_points_towards_lower_std():
    base = DesignSpec(n_temperatures=(6,), pop_size=30, n_gen=25)
    plain = optimize_profiles(surrogate, SCHEMA, base).points
    careful = optimize_profiles(surrogate, SCHEMA, DesignSpec(**{**base.__dict__, "risk_kappa": 3.0})).points
    assert careful["D50_std"].median() < plain["D50_std"].median()


def test_user_constraints_hold_on_every_point():
    spec = DesignSpec(
        n_temperatures=(8,),
        constraints=(Constraint.parse("crystallinity>=80"), Constraint.parse("batch_time_min<=900")),
        **SMALL,
    )
    points = optimize_profiles(surrogate, SCHEMA, spec).points
    feasible = points[points["feasible"]]
    assert not feasible.empty
    assert (feasible["crystallinity_mean"] >= 80 - 1e-9).all()
    assert (feasible["batch_time_min"] <= 900 + 1e-9).all()


def test_batch_time_as_a_third_objective_and_progress_and_cancel():
    calls = []
    spec = DesignSpec(
        objectives=(Objective.parse("D50:max"), Objective.parse("DoA:min"), Objective.parse("batch_time_min:min")),
        n_temperatures=(4,),
        **SMALL,
    )
    result = optimize_profiles(
        surrogate, SCHEMA, spec, progress=lambda f, m: calls.append(f), should_stop=lambda: len(calls) >= 5
    )
    assert result.cancelled and result.generations == 5 and calls == [k / 15 for k in range(1, 6)]
    assert objective_values(result.points, spec).shape == (len(result.points), 3)
    assert len(non_dominated(result.points, spec)) <= len(result.points)


def test_ids_are_stable_and_typed():
    x = np.array([40.0, 0.1, 60.0, 10.0, 0.1])
    assert point_id(2, x) == point_id(2, x.copy()) and point_id(2, x).startswith("L-")
    assert point_id(10, np.r_[x, 1.0]).startswith("4C-")


@pytest.mark.parametrize("text", ["D50", "D50:up", ":max"])
def test_bad_objective_text(text):
    with pytest.raises(ValueError, match="objective"):
        Objective.parse(text)


@pytest.mark.parametrize("text", ["crystallinity > 80", "yield>=", ">=3"])
def test_bad_constraint_text(text):
    with pytest.raises(ValueError, match="constraint"):
        Constraint.parse(text)


def test_spec_round_trips_through_json_dict():
    spec = DesignSpec(
        constraints=(Constraint.parse("DoA<=60"),), risk_kappa=1.5, bounds={"T1": (40.0, 70.0)}, domain_limit=2.5
    )
    assert DesignSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="domain limit must be positive"):
        DesignSpec(domain_limit=0.0)


def test_unknown_objective_is_a_clear_error():
    with pytest.raises(ValueError, match="not a modelled CQA"):
        optimize_profiles(surrogate, SCHEMA, DesignSpec(objectives=(Objective("yield", "max"),), pop_size=8, n_gen=1))


def test_start_and_end_temperature_ranges_hold():
    spec = DesignSpec(n_temperatures=(2, 8), start_T=(55.0, 65.0), end_T=(5.0, 15.0), **SMALL)
    points = optimize_profiles(surrogate, SCHEMA, spec).points
    feasible = points[points["feasible"]]
    assert len(feasible) > 0
    for row in feasible.to_dict("records"):
        temps = ThermocycleProfile.from_features(row).temperatures
        assert 55.0 <= temps[0] <= 65.0 and 5.0 <= temps[-1] <= 15.0


def test_strict_domain_needs_a_domain_and_experiments_seed_the_first_population():
    with pytest.raises(ValueError, match="no applicability domain"):
        optimize_profiles(surrogate, SCHEMA, DesignSpec(n_temperatures=(4,), domain="strict", **SMALL))
    experiments = pd.DataFrame(
        [
            {"initial_concentration": 40.0, "seed_loading": 0.1, **p.to_features()}
            for p in (
                ThermocycleProfile((60, 30, 45, 10), (0.2, 0.1), (0.7,)),
                ThermocycleProfile((55, 25, 40, 12), (0.1, 0.1), (0.9,)),
                ThermocycleProfile((60, 10), (0.1,)),  # another type: not a seed of the 1-cycle search
            )
        ]
    )
    problem = ProfileProblem(SCHEMA, DesignSpec(), 4, surrogate, experiments)
    assert problem.starts.shape == (2, problem.n_var)
    first = problem.sample(10, np.random.default_rng(0))
    seeded = {tuple(np.round(r, 9)) for r in first[:2]}
    assert seeded == {tuple(np.round(r, 9)) for r in problem.starts}


def test_cycles_within_data_run_from_linear_cooling_to_the_most_heat_ups_of_a_run():
    linear = ThermocycleProfile((60.0, 10.0), (0.1,))
    cool_and_heat = ThermocycleProfile((60.0, 20.0, 35.0), (0.1,), (0.5,))
    two_cycles = ThermocycleProfile((60.0, 30.0, 48.0, 20.0, 38.0, 10.0), (0.2, 0.15, 0.1), (0.7, 0.7))
    assert cycles_within_data([linear]) == (0,)
    assert cycles_within_data([linear, cool_and_heat]) == (0, 1)
    assert cycles_within_data([two_cycles, linear]) == (0, 1, 2)
    assert cycles_within_data([]) == (0,)


def test_designs_may_go_as_far_as_the_experiments_beyond_the_template_bounds():
    def concentrated(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        c0, sd = features["initial_concentration"].to_numpy(), np.ones(len(features))
        return {"D50": (c0, sd), "DoA": (100.0 - c0, sd)}

    linear = ThermocycleProfile((60.0, 10.0), (0.1,)).to_features()
    runs = pd.DataFrame([{"initial_concentration": c0, "seed_loading": 0.1, **linear} for c0 in (70.0, 80.0)])
    spec = DesignSpec(n_temperatures=(2,), pop_size=12, n_gen=10)
    alone = optimize_profiles(concentrated, SCHEMA, spec).points["initial_concentration"]
    beside_runs = optimize_profiles(concentrated, SCHEMA, spec, experiments=runs).points["initial_concentration"]
    assert alone.max() <= SCHEMA.bounds["initial_concentration"][1]
    assert 79.0 < beside_runs.max() <= 80.0


def test_a_design_names_each_quantity_once_objectives_first():
    objectives = (Objective.parse("D50:max"), Objective.parse("DoA:min"))
    constraints = (Constraint.parse("crystallinity>=80"), Constraint.parse("D50<=300"))
    spec = DesignSpec(objectives=objectives, constraints=constraints)
    assert spec.quantities == named_quantities(objectives, constraints) == ["D50", "DoA", "crystallinity"]
    assert named_quantities(objectives, ()) == ["D50", "DoA"]


def test_points_say_which_cqas_they_are_predicted_beyond_the_measured_range_of():
    spec = DesignSpec(n_temperatures=(2, 10), **SMALL)
    plain = optimize_profiles(surrogate, SCHEMA, spec).points
    assert BEYOND_MEASURED not in plain
    d50 = plain["D50_mean"]
    measured = pd.DataFrame({"D50": [d50.min(), d50.median()], "DoA": [0.0, 100.0]})
    points = optimize_profiles(surrogate, SCHEMA, spec, measured=measured).points
    expected = beyond_measured(points, measured_ranges(measured))
    assert points[BEYOND_MEASURED].tolist() == expected.tolist()
    assert set(expected) == {"", "D50"}  # the best fronts pass the runs' D50; no DoA lies outside 0-100 %
