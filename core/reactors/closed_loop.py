"""Closed-loop runs on the true simulator and the three-way comparison.

The same plant (tuned PI loops, safety filter, sensor noise with the same
seed) faces the same disturbance scenarios under three supervisors:

- ``pid``: the PI loops at the operators' rule-based setpoints and the
  nominal feeds;
- ``learned``: the economic optimiser predicting with a learned model from
  measured data only;
- ``oracle``: knows the whole scenario in advance and runs it under each of
  a few true-model supervisors (`oracle_policies`: the verified steady-state
  tracker, `core.reactors.optimum.VerifiedTracker`, with 15 min foresight;
  the economic planner on the true closed loop with foresight, as configured
  and with free setpoints and small back-offs; the rule),
  keeping the one with the fewest violations and then the most throughput
  (`hindsight_oracle`);
- on request, ``oracle_cem``: the learned model's optimiser predicting with
  the true simulator, its true state and the disturbances in force; and
  ``learned_shooting``: gradient-based shooting MPC on the learned model.

Every run also carries the scenario's throughput bound, ``optimum_kg_h``: the
steady-state optimum at the hard limits averaged over the scenario's
disturbance states, and ``share_of_optimum`` = throughput / that bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from core.progress import Progress
from core.reactors.control import PIConfig, SafetyFilter
from core.reactors.disturbances import DisturbanceSchedule
from core.reactors.learning import DynamicsLearner
from core.reactors.metrics import performance
from core.reactors.network import NetworkConfig
from core.reactors.optimum import SteadyStateProgram, VerifiedTracker, scenario_optimum
from core.reactors.planning import (
    EconomicOptimizer,
    LearnedModelPredictor,
    PlannerSettings,
    ShootingPlanner,
    TrueModelPredictor,
)
from core.reactors.plant import Plant, SensorNoise
from core.reactors.scenarios import evaluation_scenarios, rule_based_setpoints
from core.torch_threads import one_torch_thread

CONTROLLERS = ("pid", "learned", "oracle")
OPTIONAL_CONTROLLERS = ("oracle_cem", "learned_shooting")
ORACLE_POLICIES = ("tracker", "planner", "planner_free", "rule")
ORACLE_BACKOFF_K = 2.0
ORACLE_FORESIGHT_MIN = 15  # the oracle sees the disturbances of the next decision interval and a half


@dataclass
class ClosedLoopRun:
    controller: str
    scenario: str
    record: pd.DataFrame
    decision_times_s: list[float]
    metrics: dict = field(default_factory=dict)
    policy: str = ""  # the oracle's chosen true-model policy
    candidates: dict[str, dict] = field(default_factory=dict)  # the oracle's policies: throughput and violations


def run_closed_loop(
    plant: Plant,
    decide: Callable[[], tuple[np.ndarray, np.ndarray]] | None,
    minutes: int,
    replan_every_min: int,
    start: tuple[np.ndarray, np.ndarray],
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, list[float]]:
    """Step the plant for ``minutes``; ``decide`` (None = keep ``start``) sets setpoints and feeds.

    Decisions run torch on one thread (`core.torch_threads`), wherever the loop is started from."""
    setpoints, feeds = (np.asarray(v, dtype=float) for v in start)
    plant.reset(setpoints, feeds)
    times = []
    with one_torch_thread():
        for minute in range(minutes):
            if decide is not None and minute % replan_every_min == 0:
                tic = time.perf_counter()
                setpoints, feeds = decide()
                times.append(time.perf_counter() - tic)
            plant.step(setpoints, feeds)
            if progress and minute % 30 == 0:
                progress(minute / minutes, f"{minute / 60:.1f} of {minutes / 60:.1f} h")
    return plant.record(), times


def compare_controllers(
    config: NetworkConfig,
    pi: PIConfig,
    learner: DynamicsLearner | None,
    hours: float = 12.0,
    scenarios: dict[str, DisturbanceSchedule] | None = None,
    controllers: tuple[str, ...] = CONTROLLERS,
    settings: PlannerSettings | None = None,
    safety: SafetyFilter | None = None,
    noise: SensorNoise | None = None,
    random_state: int = 0,
    progress: Progress | None = None,
) -> list[ClosedLoopRun]:
    """Every controller on every scenario; runs share the plant, noise seed and starting point."""
    known = CONTROLLERS + OPTIONAL_CONTROLLERS
    unknown = set(controllers) - set(known)
    if unknown:
        raise ValueError(f"Unknown controller(s) {', '.join(sorted(unknown))}; choose from {', '.join(known)}.")
    if {"learned", "learned_shooting"} & set(controllers) and learner is None:
        raise ValueError("The learned-model optimiser needs a trained dynamics model.")
    if hours <= 0:
        raise ValueError("The closed-loop horizon must be positive.")
    settings = settings or PlannerSettings(random_state=random_state)
    scenarios = scenarios or evaluation_scenarios(config, hours)
    minutes = round(hours * 60)
    start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
    program = SteadyStateProgram(config)
    optimum = {name: scenario_optimum(program, schedule, minutes) for name, schedule in scenarios.items()}
    runs = []
    jobs = [(c, s) for s in scenarios for c in controllers]
    for index, (controller, scenario) in enumerate(jobs):

        def report(fraction, message, index=index, controller=controller, scenario=scenario):
            if progress:
                progress((index + fraction) / len(jobs), f"{controller} on {scenario}: {message}")

        def plant_factory(scenario=scenario) -> Plant:
            return Plant(config, pi, safety, scenarios[scenario], noise, random_state=random_state)

        if controller == "oracle":
            run = hindsight_oracle(plant_factory, minutes, start, settings, program, report)
            run.scenario = scenario
        else:
            plant = plant_factory()
            planner = _supervisor(controller, plant, learner, settings)
            decide = None if planner is None else partial(_decide, planner, plant)
            record, times = run_closed_loop(plant, decide, minutes, settings.replan_every_min, start, report)
            run = ClosedLoopRun(controller, scenario, record, times)
            if planner is not None:
                run.metrics["held_decisions"] = planner.held_decisions_
        run.metrics = {**performance(config, run.record), **decision_timing(run.decision_times_s), **run.metrics}
        run.metrics["optimum_kg_h"] = optimum[scenario]
        run.metrics["share_of_optimum"] = run.metrics["throughput_kg_h"] / optimum[scenario]
        runs.append(run)
    return runs


def decision_timing(times: list[float]) -> dict:
    """Mean and largest time per decision, in ms (0 without decisions)."""
    return {
        "decision_time_ms": 1e3 * float(np.mean(times)) if times else 0.0,
        "max_decision_time_ms": 1e3 * float(np.max(times)) if times else 0.0,
    }


def oracle_policies(
    plant: Plant, settings: PlannerSettings, program: SteadyStateProgram
) -> dict[str, Callable[[], tuple[np.ndarray, np.ndarray]] | None]:
    """The true-model supervisors the oracle chooses among, each bound to ``plant``.

    - ``tracker``: the verified steady-state tracker with 15 min foresight;
    - ``planner``: the comparison's economic planner (same settings as the
      learned one) predicting with the true closed loop, its true state and
      the disturbances of its whole horizon: what the learned optimiser would
      do with a perfect model;
    - ``planner_free``: the same planner with free setpoints and back-offs of
      only ``ORACLE_BACKOFF_K`` from the temperature limit and the coolant
      floor: knowing the future, the oracle needs little margin, and the
      whole-scenario check rejects it if the limit is crossed;
    - ``rule``: the operators' rule (the PI baseline), so the oracle is never
      below it.
    """
    free = replace(
        settings,
        max_setpoint_move_K=None,
        max_feed_move_L_min=None,
        temperature_margin_K=ORACLE_BACKOFF_K,
        coolant_headroom_K=ORACLE_BACKOFF_K,
    )
    planners = {
        name: EconomicOptimizer(plant.config, TrueModelPredictor(plant, foresight=True), chosen)
        for name, chosen in (("planner", settings), ("planner_free", free))
    }
    policies = {"tracker": VerifiedTracker(plant, program, foresight_min=ORACLE_FORESIGHT_MIN).decide}
    for name, planner in planners.items():
        policies[name] = lambda planner=planner: planner.decide(plant.setpoints_, plant.feed_requests_)
    return policies | {"rule": None}


def hindsight_oracle(
    plant_factory: Callable[[], Plant],
    minutes: int,
    start: tuple[np.ndarray, np.ndarray],
    settings: PlannerSettings,
    program: SteadyStateProgram,
    progress: Progress | None = None,
) -> ClosedLoopRun:
    """The oracle: every policy of `oracle_policies` run on the whole scenario, the best one kept.

    The oracle knows the scenario in advance (disturbances and sensor noise:
    the plant is deterministic for its seed), so it can try each true-model
    supervisor on all of it and operate with the one that, first, has the
    fewest reactor-minutes above the limit and, second, the highest
    throughput. Its metrics carry the time the whole selection took
    (``selection_time_s``); its decision times are those of the chosen policy.
    """
    tic = time.perf_counter()
    candidates = []
    names = ORACLE_POLICIES
    for k, name in enumerate(names):
        plant = plant_factory()
        decide = oracle_policies(plant, settings, program)[name]

        def report(fraction, message, k=k, name=name):
            if progress:
                progress((k + fraction) / len(names), f"trying {name}: {message}")

        record, times = run_closed_loop(plant, decide, minutes, settings.replan_every_min, start, report)
        metrics = performance(plant.config, record)
        candidates.append((metrics["violations"], -metrics["throughput_kg_h"], k, record, times))
    _, _, k, record, times = min(candidates, key=lambda c: c[:3])
    tried = {names[c[2]]: {"throughput_kg_h": -c[1], "violations": c[0]} for c in candidates}
    run = ClosedLoopRun("oracle", "", record, times, policy=names[k], candidates=tried)
    run.metrics = {"selection_time_s": time.perf_counter() - tic}
    return run


def _decide(planner: EconomicOptimizer, plant: Plant) -> tuple[np.ndarray, np.ndarray]:
    return planner.decide(plant.setpoints_, plant.feed_requests_)


def _supervisor(
    controller: str, plant: Plant, learner: DynamicsLearner | None, settings: PlannerSettings
) -> EconomicOptimizer | None:
    """The planner of one supervisor on one plant (None: keep the rule's setpoints)."""
    if controller == "pid":
        return None
    if controller == "oracle_cem":
        predictor = TrueModelPredictor(plant)
    else:
        predictor = LearnedModelPredictor(plant, learner, settings.offset_window_min)
    planner = ShootingPlanner if controller == "learned_shooting" else EconomicOptimizer
    return planner(plant.config, predictor, settings)


def summary_table(runs: list[ClosedLoopRun]) -> dict[str, dict]:
    """Metrics per controller: means over scenarios, violations summed, share of the mean optimum."""
    table = {}
    for controller in dict.fromkeys(run.controller for run in runs):
        mine = [run.metrics for run in runs if run.controller == controller]
        row = {key: float(np.mean([m[key] for m in mine])) for key in mine[0]}
        for key in ("violations", "held_decisions"):  # counts add up over scenarios
            if key in row:
                row[key] = int(sum(m[key] for m in mine))
        row["max_temperature_K"] = float(max(m["max_temperature_K"] for m in mine))
        row["max_decision_time_ms"] = float(max(m["max_decision_time_ms"] for m in mine))
        row["share_of_optimum"] = row["throughput_kg_h"] / row["optimum_kg_h"]
        table[controller] = row
    return table
