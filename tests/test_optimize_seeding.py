"""The seeding band: fitted from the experiments, kept by the design search, opt-out."""

import numpy as np
import pandas as pd
import pytest

from core.doe import Schema
from core.optimize.problem import ProfileProblem
from core.optimize.run import optimize_profiles
from core.optimize.spec import DesignSpec
from core.profiles import ThermocycleProfile
from core.seeding import (
    PRACTICE_OFFSET_K,
    SeedingBand,
    band_for_models,
    peak_names,
    seeded_as_the_others,
    seeding_band,
)
from tests.conftest import surrogate

SCHEMA = Schema.default()


def experiments(rows: list[tuple[float, ThermocycleProfile]]) -> pd.DataFrame:
    return pd.DataFrame([{"initial_concentration": c0, "seed_loading": 0.1, **p.to_features()} for c0, p in rows])


# T1 = 10 + 0.8·C0 + offset, offsets +1, -2, +1, 0 (sum 0, uncorrelated with C0: the fitted line is this one)
RUNS = experiments(
    [
        (30.0, ThermocycleProfile((35.0, 5.0), (0.1,))),
        (40.0, ThermocycleProfile((40.0, 5.0), (0.1,))),
        (50.0, ThermocycleProfile((51.0, 30.0, 48.0, 5.0), (0.1, 0.1), (0.5,))),  # peak 2 K below the line
        (35.0, ThermocycleProfile((38.0, 20.0, 37.0, 15.0, 39.0, 5.0), (0.1, 0.1, 0.1), (0.5, 0.5))),  # 1 K above
    ]
)


def test_band_and_peak_limit_come_from_the_experiments():
    band = seeding_band(RUNS)
    assert band.slope == pytest.approx(0.8) and band.intercept == pytest.approx(10.0)
    assert (band.low, band.high) == (pytest.approx(-2.0), pytest.approx(1.0))
    assert band.peak_high == pytest.approx(1.0)  # the 2-cycle run's second heat-up: 39 - 38
    c0 = RUNS["initial_concentration"].to_numpy()
    assert (band.violation(c0, RUNS["T1"].to_numpy()) <= 1e-9).all()
    hot = band.violation(np.array([30.0]), np.array([45.0]))  # 11 K above the line, 10 K above the band
    assert hot == pytest.approx([10.0])
    assert band.clip(np.array([30.0, 30.0]), np.array([45.0, 20.0])) == pytest.approx([35.0, 32.0])
    peaks = np.array([[40.0, 30.0], [30.0, 31.0]])
    assert band.peak_violation(np.array([30.0, 30.0]), peaks) == pytest.approx([5.0, -4.0])
    assert band.ceiling(np.array([30.0, 40.0])) == pytest.approx([35.0, 43.0])
    assert str(band).endswith("heat-ups peak no higher than 1.0 K above that line")
    assert str(SeedingBand(10.0, 0.8, -1.0, 1.0, -1.8)).endswith("no higher than 1.8 K below that line")


def test_a_run_seeded_far_off_the_line_neither_tilts_the_band_nor_widens_it():
    hot = experiments([(45.0, ThermocycleProfile((61.0, 5.0), (0.1,)))])  # 15 K above the line, as a planner may try
    with_hot = pd.concat([RUNS, hot], ignore_index=True)
    band, alone = seeding_band(with_hot), seeding_band(RUNS)
    assert (band.intercept, band.slope, band.low, band.high, band.peak_high) == pytest.approx(
        (alone.intercept, alone.slope, alone.low, alone.high, alone.peak_high)
    )
    tilted = np.polyfit(with_hot["initial_concentration"], with_hot["T1"], 1)[0]
    assert abs(tilted - band.slope) > 0.1  # least squares over every run would have followed it
    c0, t1 = with_hot["initial_concentration"].to_numpy(), with_hot["T1"].to_numpy()
    assert seeded_as_the_others(c0, t1, PRACTICE_OFFSET_K).tolist() == [True] * 4 + [False]
    # within the practice offset a run is seeding practice, however tight the others' scatter
    assert seeded_as_the_others(c0, t1, 20.0).all()


def test_models_that_simulate_the_batch_free_the_heat_ups_but_keep_the_start_tied():
    band = seeding_band(RUNS)
    free = band_for_models(band, simulated=True)
    assert free.peak_high is None and (free.intercept, free.slope, free.low, free.high) == (
        band.intercept,
        band.slope,
        band.low,
        band.high,
    )
    assert np.isinf(free.ceiling(np.array([30.0]))).all() and "heat-ups" not in str(free)
    assert band_for_models(band, simulated=False) == band
    assert band_for_models(None, simulated=True) is None


def test_linear_runs_leave_heat_ups_unbounded_and_too_little_data_gives_no_band():
    linear = RUNS.iloc[:2]
    unbounded = seeding_band(pd.concat([linear, linear.assign(initial_concentration=45.0)]))
    assert unbounded.peak_high is None and np.isinf(unbounded.ceiling(np.array([30.0]))).all()
    assert seeding_band(linear) is None  # two runs
    assert seeding_band(pd.concat([linear] * 2).assign(initial_concentration=40.0)) is None  # one concentration
    assert seeding_band(RUNS.drop(columns="initial_concentration")) is None
    assert peak_names(2) == [] and peak_names(10) == ["T3", "T5", "T7", "T9"]


def hot_start_surrogate(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The conftest surrogate, rewarding a hot start and a hot re-heat at a low concentration: what a model
    extrapolates to where no run was seeded."""
    out = surrogate(features)
    bonus = features["T1"].to_numpy() + features["T3"].to_numpy() - features["initial_concentration"].to_numpy()
    d50, std = out["D50"]
    out["D50"] = (d50 + bonus, std)
    return out


@pytest.mark.parametrize("seeded", [True, False])
def test_the_search_keeps_designs_on_the_band_unless_it_is_off(seeded):
    band = seeding_band(RUNS)
    spec = DesignSpec(n_temperatures=(4,), pop_size=24, n_gen=15, seeding=band if seeded else None)
    points = optimize_profiles(hot_start_surrogate, SCHEMA, spec).points
    feasible = points[points["feasible"]]
    assert len(feasible) > 0
    c0 = feasible["initial_concentration"].to_numpy()
    worst = np.maximum(
        band.violation(c0, feasible["T1"].to_numpy()), band.peak_violation(c0, feasible[["T3"]].to_numpy())
    ).max()
    if seeded:
        assert worst <= 1e-6
    else:  # free, the search runs to the hot corner the surrogate rewards
        assert worst > 5.0


def test_samples_and_repairs_obey_the_band_and_a_hot_start_violates_its_constraint():
    band = seeding_band(RUNS)
    problem = ProfileProblem(SCHEMA, DesignSpec(seeding=band), 6, surrogate)
    free = ProfileProblem(SCHEMA, DesignSpec(), 6, surrogate)
    assert problem.n_ieq_constr == free.n_ieq_constr + 1
    rng = np.random.default_rng(0)
    for X in (problem.sample(50, rng), problem.repair(rng.uniform(problem.xl, problem.xu, (50, problem.n_var)))):
        features = problem.decode(X)
        _, G = problem.objectives_and_constraints(features, surrogate(features))
        # wherever the profile's order holds, so does the band: T1 moved onto it, the heat-ups drawn below it
        ordered = (G[:, :5] <= 1e-9).all(axis=1)
        assert ordered.any() and (G[ordered, -1] <= 1e-9).all()
    hot = problem.decode(problem.sample(1, rng))
    hot["T1"] = hot["T1"] + 20.0
    _, G = problem.objectives_and_constraints(hot, surrogate(hot))
    assert G[0, -1] > 15.0


def test_spec_with_a_band_round_trips_through_json_dict():
    spec = DesignSpec(seeding=SeedingBand(10.0, 0.8, -1.0, 1.0, None))
    assert DesignSpec.from_dict(spec.to_dict()) == spec
    assert DesignSpec.from_dict({**spec.to_dict(), "seeding": None}).seeding is None
