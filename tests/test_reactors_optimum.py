"""The true-model steady-state optimum (CasADi + IPOPT), its scenario bound and the closed-loop oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.reactors.closed_loop import ORACLE_POLICIES, compare_controllers
from core.reactors.control import PIConfig
from core.reactors.dataset import split_chronological
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.learning import DynamicsLearner
from core.reactors.network import series_parallel
from core.reactors.optimum import SteadyStateProgram, SteadyStateTracker, condition_segments, scenario_optimum
from core.reactors.planning import PlannerSettings
from core.reactors.plant import Plant
from core.reactors.scenarios import evaluation_scenarios, generate_operating_data, rule_based_setpoints

TWO = series_parallel(n_trains=1, train_length=2, tail_length=0, nominal_total_feed_L_min=100.0)
CONFIG = series_parallel()
PI = PIConfig((2.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0), (0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0))


def two_reactor_grid(t_cap: float, coolant_floor: float) -> tuple[float, np.ndarray]:
    """Brute force: production of every (T1, T2, F) on a grid whose coolant needs lie in range (closed form)."""
    t1, t2, feed = np.meshgrid(
        np.linspace(300.0, t_cap, 201), np.linspace(300.0, t_cap, 201), np.linspace(50.0, 200.0, 121), indexing="ij"
    )
    volume, gamma, rise = 100.0, 5.0e4 / (100.0 * 239.0), 5.0e4 / 239.0
    k1, k2 = 7.2e10 * np.exp(-8750.0 / t1), 7.2e10 * np.exp(-8750.0 / t2)
    ca1 = feed / (feed + volume * k1)
    ca2 = feed * ca1 / (feed + volume * k2)
    tc1 = t1 - (feed / volume * (350.0 - t1) + rise * k1 * ca1) / gamma
    tc2 = t2 - (feed / volume * (t1 - t2) + rise * k2 * ca2) / gamma
    production = feed * (1.0 - ca2) * 100.0 * 60.0 / 1000.0
    feasible = (np.minimum(tc1, tc2) >= coolant_floor) & (np.maximum(tc1, tc2) <= 400.0)
    return float(production[feasible].max()), production


@pytest.mark.parametrize(("t_cap", "coolant_floor"), [(400.0, 280.0), (390.0, 300.0)])
def test_nlp_optimum_matches_a_brute_force_grid_on_two_reactors(t_cap, coolant_floor):
    grid_best, _ = two_reactor_grid(t_cap, coolant_floor)
    optimum = SteadyStateProgram(TWO).solve(max_temperature_K=t_cap, min_coolant_K=coolant_floor)
    # never below the best grid point, and no further above it than the grid's resolution allows
    assert optimum.production_kg_h >= grid_best - 1e-6
    assert optimum.production_kg_h <= 1.01 * grid_best
    assert optimum.temperatures_K.max() <= t_cap + 1e-6
    assert coolant_floor - 1e-6 <= optimum.coolant_K.min() and optimum.coolant_K.max() <= 400.0 + 1e-6
    assert optimum.starts_converged >= 1


def test_optimum_follows_the_disturbances_and_refuses_impossible_limits():
    program = SteadyStateProgram(CONFIG)
    schedule = DisturbanceSchedule(CONFIG, [Disturbance("feed_supply", 10.0, 20.0, 0.5)])
    nominal = program.solve(schedule.at(0.0), max_temperature_K=392.0, min_coolant_K=295.0)
    starved = program.solve(schedule.at(15.0), max_temperature_K=392.0, min_coolant_K=295.0)
    assert starved.production_kg_h < nominal.production_kg_h
    segments = condition_segments(schedule, 30, every_min=20)
    assert segments == [(0.0, 10.0), (10.0, 10.0), (20.0, 10.0)]
    average = scenario_optimum(program, schedule, 30)
    full = program.solve(schedule.at(0.0)).production_kg_h
    half = program.solve(schedule.at(15.0)).production_kg_h
    assert average == pytest.approx((2 * full + half) / 3, rel=1e-6)
    with pytest.raises(ValueError, match="coolant floor"):
        program.solve(min_coolant_K=400.0)


def test_nothing_beats_the_optimum_and_no_supervisor_as_safe_beats_the_oracle_in_a_seeded_comparison():
    torch.manual_seed(0)
    frame, _ = generate_operating_data(CONFIG, 2.0, pi=PI, random_state=1)
    parts = split_chronological(frame)
    learner = DynamicsLearner(kind="node", max_steps=20, rollout_steps=2).fit(
        parts["train"], parts["validation"], CONFIG
    )
    settings = PlannerSettings(horizon_min=10, population=16, iterations=2, replan_every_min=10, random_state=3)
    scenarios = evaluation_scenarios(CONFIG, 1.0)
    controllers = ("pid", "learned", "oracle", "oracle_cem")
    runs = compare_controllers(
        CONFIG, PI, learner, hours=1.0, controllers=controllers, settings=settings, random_state=3
    )
    for scenario in scenarios:
        mine = {run.controller: run for run in runs if run.scenario == scenario}
        bound = mine["pid"].metrics["optimum_kg_h"]
        for controller, run in mine.items():
            assert run.metrics["throughput_kg_h"] <= bound, (scenario, controller)
            assert run.metrics["share_of_optimum"] == pytest.approx(run.metrics["throughput_kg_h"] / bound)
        oracle = mine["oracle"]
        # a bound under hard limits: no supervisor that keeps the limit as well as the oracle makes more
        for controller, run in mine.items():
            if run.metrics["violations"] <= oracle.metrics["violations"]:
                assert oracle.metrics["throughput_kg_h"] >= run.metrics["throughput_kg_h"], (scenario, controller)
        assert oracle.metrics["violations"] <= mine["pid"].metrics["violations"], scenario
        # the oracle runs the policy it chose: fewest violations first, then the most throughput
        assert set(oracle.candidates) == set(ORACLE_POLICIES)
        chosen = oracle.candidates[oracle.policy]
        assert chosen["throughput_kg_h"] == pytest.approx(oracle.metrics["throughput_kg_h"])
        assert chosen["violations"] == oracle.metrics["violations"]
        for other in oracle.candidates.values():
            assert (other["violations"], -other["throughput_kg_h"]) >= (
                chosen["violations"],
                -chosen["throughput_kg_h"],
            )
        assert oracle.metrics["selection_time_s"] > 0.0


def test_tracker_relaxes_and_finally_holds_at_least_feed_when_no_steady_state_survives():
    schedule = DisturbanceSchedule(CONFIG, [Disturbance("cooling_failure", 0.0, 60.0, 0.3, 0)])
    plant = Plant(CONFIG, PI, schedule=DisturbanceSchedule(CONFIG))
    plant.reset(rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min))
    tracker = SteadyStateTracker(plant)
    setpoints, feeds = tracker.decide()
    # nominal: within the trust region around the rule's point, and below the back-off
    assert np.abs(setpoints - plant.setpoints_).max() <= tracker.max_move_K + 1e-6
    assert setpoints.max() <= CONFIG.max_temperature_K - tracker.temperature_margin_K + 1e-6
    plant.schedule = schedule  # R1 keeps 30 % of its heat transfer: no operation holds it below the limit
    setpoints, feeds = tracker.decide()
    assert np.array_equal(setpoints, plant.setpoints_)
    assert np.array_equal(feeds, np.full(CONFIG.n_feeds, CONFIG.feed_bounds_L_min[0]))
