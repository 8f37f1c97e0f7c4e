"""Economic optimiser, barrier, metrics and the closed-loop comparison on the true plant."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from core.reactors.closed_loop import ClosedLoopRun, compare_controllers, run_closed_loop, summary_table
from core.reactors.control import PIConfig
from core.reactors.dataset import split_chronological
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.learning import DynamicsLearner
from core.reactors.metrics import performance
from core.reactors.network import NetworkModel, series_parallel
from core.reactors.planning import (
    EconomicOptimizer,
    LearnedModelPredictor,
    PlannerSettings,
    ShootingPlanner,
    TrueModelPredictor,
    barrier_penalty,
    production_rate_kg_h,
)
from core.reactors.plant import Plant, SensorNoise
from core.reactors.scenarios import evaluation_scenarios, generate_operating_data, rule_based_setpoints

CONFIG = series_parallel()
N = CONFIG.n_reactors
PI = PIConfig((2.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0), (0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0))
SMALL = PlannerSettings(horizon_min=10, population=16, iterations=2, replan_every_min=5, max_setpoint_move_K=None)


def test_barrier_is_the_seed_gaussian_inside_and_grows_outside():
    margins = np.array([4.0, 2.0, 0.0, -2.0, -4.0])
    values = barrier_penalty(margins, width=2.0)
    assert values == pytest.approx([np.exp(-2.0), np.exp(-0.5), 1.0, 2.0, 5.0])


def test_production_rate_is_outlet_flow_times_b():
    model = NetworkModel(CONFIG)
    cb = np.zeros(N)
    cb[-1] = 1.0  # only the last reactor delivers product
    rate = production_rate_kg_h(model, cb, np.array([100.0, 100.0]))
    assert rate == pytest.approx(200.0 * 1.0 * 100.0 * 60.0 / 1000.0)


def test_performance_metrics_on_a_constructed_record():
    n = N
    record = pd.DataFrame({"time_min": np.arange(4.0), "CAf": 1.0, "F_1": 100.0, "F_2": 100.0})
    for i in range(n):
        record[f"true_T_{i + 1}"] = [385.0, 385.0, 402.0 if i == 0 else 385.0, 385.0]
        record[f"true_CA_{i + 1}"] = 0.1 if i < 2 else 0.0
        record[f"true_CB_{i + 1}"] = 0.9
        record[f"k0_factor_{i + 1}"] = 1.0
    metrics = performance(CONFIG, record)
    assert metrics["throughput_kg_h"] == pytest.approx(200 * 0.9 * 0.1 * 60)
    assert metrics["capacity_pct"] == pytest.approx(100 * 1080 / 2400)
    assert metrics["violations"] == 1 and metrics["max_temperature_K"] == 402.0
    # reactors 1, 2 (in each train 1 and 5 are index 0 and 4) convert A; the rest hold none
    active = np.array([[True, True] + [False] * (n - 2)] * 4)
    active[2, 0] = False  # too hot in that minute
    assert metrics["utilization_pct"] == pytest.approx(100 * active.mean())


def test_true_model_optimiser_finds_a_better_plan_than_the_rule():
    plant = Plant(CONFIG, PI, noise=SensorNoise(0.0, 0.0))
    start_sp, start_feeds = rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min)
    plant.reset(start_sp, start_feeds)
    optimizer = EconomicOptimizer(CONFIG, TrueModelPredictor(plant), SMALL)
    setpoints, feeds = optimizer.decide(start_sp, start_feeds)
    rule_value = optimizer.objective(np.concatenate([start_sp, start_feeds])[None])[0]
    assert optimizer.last_objective_ > rule_value
    assert feeds.sum() > start_feeds.sum()  # more feed is the way to more product
    assert (setpoints <= CONFIG.max_temperature_K - SMALL.setpoint_window_K[1]).all()


def test_comparison_runs_every_controller_on_the_same_scenarios():
    runs = compare_controllers(CONFIG, PI, None, hours=0.5, controllers=("pid", "oracle"), settings=SMALL)
    assert [(r.controller, r.scenario) for r in runs][:2] == [("pid", "feed upset"), ("oracle", "feed upset")]
    assert len(runs) == 6 and all(len(r.record) == 30 for r in runs)
    table = summary_table(runs)
    assert set(table) == {"pid", "oracle"}
    assert {"throughput_kg_h", "utilization_pct", "stability_sd", "violations", "decision_time_ms"} <= set(table["pid"])
    assert table["pid"]["decision_time_ms"] == 0.0 and table["oracle"]["decision_time_ms"] > 0.0
    assert table["oracle"]["mean_feed_L_min"] > table["pid"]["mean_feed_L_min"]
    with pytest.raises(ValueError, match="needs a trained dynamics model"):
        compare_controllers(CONFIG, PI, None, hours=0.5, controllers=("learned",))
    with pytest.raises(ValueError, match="Unknown controller"):
        compare_controllers(CONFIG, PI, None, hours=0.5, controllers=("mpc",))


def test_decisions_run_torch_on_one_thread_and_the_caller_keeps_its_threads():
    threads_seen = []

    def decide() -> tuple[np.ndarray, np.ndarray]:
        threads_seen.append(torch.get_num_threads())
        return rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min, dtype=float)

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        start = (rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min, dtype=float))
        run_closed_loop(Plant(CONFIG, PI), decide, minutes=4, replan_every_min=2, start=start)
        assert threads_seen == [1, 1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_steadiness_weight_lowers_temperature_spread_on_a_short_scenario():
    scenario = {"feed upset": evaluation_scenarios(CONFIG, 1.0)["feed upset"]}
    spread = {}
    for weight in (0.0, 20.0):
        settings = PlannerSettings(
            horizon_min=10,
            population=16,
            iterations=2,
            replan_every_min=5,
            steadiness_weight_kg_h_K2=weight,
            max_setpoint_move_K=None,
        )
        runs = compare_controllers(
            CONFIG, PI, None, hours=1.0, scenarios=scenario, controllers=("oracle_cem",), settings=settings
        )
        spread[weight] = runs[0].metrics["stability_sd"]
    assert spread[20.0] < 0.75 * spread[0.0]


@pytest.fixture(scope="module")
def rough_learner() -> DynamicsLearner:
    """A neural ODE trained for a few steps on 2 h of data: far off the plant, as a model is away from its data."""
    torch.manual_seed(0)
    frame, _ = generate_operating_data(CONFIG, 2.0, pi=PI, random_state=1)
    parts = split_chronological(frame)
    return DynamicsLearner(kind="node", max_steps=20, rollout_steps=2).fit(parts["train"], parts["validation"], CONFIG)


def test_shooting_planner_climbs_the_same_objective_through_the_learned_model(rough_learner):
    plant = Plant(CONFIG, PI)
    start_sp, start_feeds = rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min)
    plant.reset(start_sp, start_feeds)
    for _ in range(5):
        plant.step(start_sp, start_feeds)
    # with the offset correction on, so both paths must subtract the same offset to agree below
    predictor = LearnedModelPredictor(plant, rough_learner, offset_window_min=3)
    assert np.abs(predictor.offset()).max() > 1.0
    planner = ShootingPlanner(CONFIG, predictor, SMALL, steps=5, starts=2)
    previous = np.concatenate([start_sp, start_feeds])
    planner.plan_ = previous.copy()
    before = planner.objective(previous[None])[0]
    setpoints, feeds = planner.decide(start_sp, start_feeds)
    chosen = planner.plan_.copy()
    assert planner.last_objective_ > before
    assert np.array_equal(np.concatenate([setpoints, feeds]), chosen)
    assert (planner.lower <= chosen).all() and (chosen <= planner.upper).all()
    # the differentiable rollout scores the chosen plan as the NumPy path of the cross-entropy search does
    planner.plan_ = previous  # the move term is measured from the plan in force when deciding
    assert planner.objective(chosen[None])[0] == pytest.approx(planner.last_objective_, rel=1e-3)


def test_offset_correction_removes_the_learned_model_s_error_at_the_operating_point(rough_learner):
    # R1 has lost 40 % of its heat transfer, which no model input shows
    schedule = DisturbanceSchedule(CONFIG, [Disturbance("cooling_failure", 0.0, 120.0, 0.6, 0)])
    plant = Plant(CONFIG, PI, schedule=schedule)
    setpoints, feeds = rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min, dtype=float)
    plant.reset(setpoints, feeds)
    plain = LearnedModelPredictor(plant, rough_learner)
    corrected = LearnedModelPredictor(plant, rough_learner, offset_window_min=10)
    assert not corrected.offset().any()  # too little history: no correction yet
    for _ in range(20):
        plant.step(setpoints, feeds)
    assert not plain.offset().any()
    forecasts = {
        name: p.predict(setpoints[None], feeds[None], 10) for name, p in (("plain", plain), ("corrected", corrected))
    }
    for _ in range(11):
        plant.step(setpoints, feeds)
    what_happened = plant.record().iloc[21:31]
    true_t = what_happened[[f"true_T_{i + 1}" for i in range(N)]].to_numpy()
    coolant = what_happened[[f"Tc_{i + 1}" for i in range(N)]].to_numpy()
    error = {
        name: (np.sqrt(((t[0] - true_t) ** 2).mean()), np.sqrt(((c[0] - coolant) ** 2).mean()))
        for name, (t, _, c) in forecasts.items()
    }
    assert error["corrected"][0] < 0.5 * error["plain"][0]  # reactor temperatures
    assert error["corrected"][1] < 0.5 * error["plain"][1]  # coolant commands
    with pytest.raises(ValueError, match="offset window"):
        LearnedModelPredictor(plant, rough_learner, offset_window_min=-1)


def test_move_limits_hold_the_setpoints_and_bound_the_feed_moves():
    plant = Plant(CONFIG, PI)
    start_sp, start_feeds = rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min, dtype=float)
    plant.reset(start_sp, start_feeds)
    settings = PlannerSettings(
        horizon_min=10, population=16, iterations=2, max_setpoint_move_K=0.0, max_feed_move_L_min=7.0
    )
    planner = EconomicOptimizer(CONFIG, TrueModelPredictor(plant), settings)
    for _ in range(3):
        setpoints, feeds = planner.decide(plant.setpoints_, plant.feed_requests_)
        assert np.array_equal(setpoints, start_sp)
        assert np.abs(feeds - plant.feed_requests_).max() <= 7.0 + 1e-9
        for _ in range(5):
            plant.step(setpoints, feeds)
    assert plant.feed_requests_.sum() > start_feeds.sum()  # it still raises the feeds, step by step
    free = EconomicOptimizer(CONFIG, TrueModelPredictor(plant), replace(settings, max_setpoint_move_K=None))
    lower, upper = free.move_bounds(plant.setpoints_, plant.feed_requests_)
    assert np.array_equal(lower[:N], free.lower[:N]) and np.array_equal(upper[:N], free.upper[:N])


class MissedCoolant(TrueModelPredictor):
    """The true model, with the offset of a learned model that misses R1's coolant command by 30 K."""

    def offset(self) -> np.ndarray:
        offset = np.zeros(4 * N)
        offset[3 * N] = 30.0
        return offset


def test_a_feed_may_not_rise_while_the_model_misses_the_coolant_of_a_reactor_it_reaches():
    plant = Plant(CONFIG, PI)
    start_sp, start_feeds = rule_based_setpoints(CONFIG), np.asarray(CONFIG.nominal_feed_L_min, dtype=float)
    plant.reset(start_sp, start_feeds)
    settings = PlannerSettings(horizon_min=10, population=16, iterations=2, max_setpoint_move_K=0.0)
    feeds, held = {}, {}
    for limit in (None, 40.0, 10.0):
        planner = EconomicOptimizer(CONFIG, MissedCoolant(plant), replace(settings, trust_limit_K=limit))
        feeds[limit] = planner.decide(plant.setpoints_, plant.feed_requests_)[1]
        held[limit] = planner.held_decisions_
    assert held == {None: 0, 40.0: 0, 10.0: 1}  # counted for the report
    assert (feeds[None] > start_feeds).all() and (feeds[40.0] > start_feeds).all()  # the true model raises both
    assert feeds[10.0][0] <= start_feeds[0] and feeds[10.0][1] > start_feeds[1]  # R1 is on the first train only
    true_model = EconomicOptimizer(CONFIG, TrueModelPredictor(plant), replace(settings, trust_limit_K=0.0))
    assert not true_model.frozen_feeds().any()  # a model without an offset is never frozen


def test_summary_adds_up_violations_and_held_decisions_over_scenarios():
    record = pd.DataFrame({"time_min": [0.0]})
    metrics = {"throughput_kg_h": 100.0, "violations": 1, "max_temperature_K": 401.0, "max_decision_time_ms": 5.0}
    runs = [
        ClosedLoopRun("learned", name, record, [], metrics | {"held_decisions": held, "optimum_kg_h": 200.0})
        for name, held in (("a", 2), ("b", 3))
    ]
    row = summary_table(runs)["learned"]
    assert row["held_decisions"] == 5 and row["violations"] == 2 and row["share_of_optimum"] == 0.5


def test_holding_the_setpoints_steadies_the_temperatures_and_still_raises_throughput():
    scenario = {"deactivation and supply": evaluation_scenarios(CONFIG, 0.5)["deactivation and supply"]}
    sd, throughput = {}, {}
    for label, move in (("free", None), ("held", 0.0)):
        settings = replace(SMALL, max_setpoint_move_K=move)
        runs = compare_controllers(
            CONFIG, PI, None, hours=0.5, scenarios=scenario, controllers=("pid", "oracle_cem"), settings=settings
        )
        metrics = {run.controller: run.metrics for run in runs}
        sd[label], throughput[label] = metrics["oracle_cem"]["stability_sd"], metrics["oracle_cem"]["throughput_kg_h"]
        throughput["pid"] = metrics["pid"]["throughput_kg_h"]
    assert sd["held"] < 0.5 * sd["free"]
    assert throughput["held"] > throughput["pid"]  # the feeds still rise
