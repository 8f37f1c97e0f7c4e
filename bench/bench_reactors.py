"""Reactor-network benchmark: simulator speed and accuracy, model training, optimisers, closed loop.

    .venv/bin/python bench/bench_reactors.py            # full size (about 45 minutes on 2 cores)
    .venv/bin/python bench/bench_reactors.py --quick    # minutes, for a smoke run
    .venv/bin/python bench/bench_reactors.py --barrier  # only the training-barrier study (reuses the record)
    .venv/bin/python bench/bench_reactors.py --control --hours 200 --closed-loop-hours 6 --out runs/reactors_control
        # only the control studies: true optimum, closed loop, search size, steadiness, offset correction,
        # held setpoints' coolant reserve (headroom), the learned model's trust limit, cooling failure
        # (on a neural ODE trained for 3,000 steps unless --out holds one);
        # --studies closed_loop,steadiness picks some of them

Prints measured figures and writes them (and the trained models, in the
layout `python -m core.reactors compare` reads) under --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from the repository root
    sys.path.insert(0, str(ROOT))

from core.reactors import integrator as integrator_module  # noqa: E402
from core.reactors import plant as plant_module  # noqa: E402
from core.reactors.closed_loop import (  # noqa: E402
    CONTROLLERS,
    ClosedLoopRun,
    compare_controllers,
    decision_timing,
    run_closed_loop,
    summary_table,
)
from core.reactors.control import PIConfig, SafetyFilter  # noqa: E402
from core.reactors.dataset import load_operating_data, save_operating_data, split_chronological  # noqa: E402
from core.reactors.dynamics_models import MODEL_KINDS  # noqa: E402
from core.reactors.learning import OPTIMIZERS, DynamicsLearner  # noqa: E402
from core.reactors.metrics import performance  # noqa: E402
from core.reactors.model_evaluation import model_caveats, model_report, rollout_errors  # noqa: E402
from core.reactors.network import NetworkConfig, series_parallel, single_reactor  # noqa: E402
from core.reactors.optimum import SteadyStateProgram, SteadyStateTracker, scenario_optimum  # noqa: E402
from core.reactors.planning import (  # noqa: E402
    EconomicOptimizer,
    LearnedModelPredictor,
    PlannerSettings,
    ShootingPlanner,
    TrueModelPredictor,
)
from core.reactors.plant import Plant  # noqa: E402
from core.reactors.scenarios import (  # noqa: E402
    evaluation_scenarios,
    generate_operating_data,
    random_schedule,
    rule_based_setpoints,
)
from core.reactors.steady_state import best_steady_state, single_reactor_steady_states  # noqa: E402
from core.reactors.tuning import tune_pi  # noqa: E402


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def simulator(config, pi, hours: float, out: Path) -> dict:
    section("Simulator")
    states = single_reactor_steady_states(single_reactor(), 300.0)
    print(
        "single reactor at Tc = 300 K:",
        ", ".join(f"{s.temperature_K:.1f} K ({'stable' if s.stable else 'unstable'})" for s in states),
    )
    tic = time.perf_counter()
    frame, metadata = generate_operating_data(config, hours, random_state=0, pi=pi)
    seconds = time.perf_counter() - tic
    path = save_operating_data(frame, metadata, out / "operating_data.parquet")
    temps = frame[[f"true_T_{i + 1}" for i in range(config.n_reactors)]].to_numpy()
    print(
        f"{hours:g} h of plant time ({len(frame)} samples) in {seconds:.1f} s "
        f"= {hours * 3600 / seconds:,.0f} x real time; per 1,000 h: {seconds / hours * 1000:.1f} s -> {path}"
    )
    print(
        f"reactor-minutes above {config.max_temperature_K:.0f} K in the record: "
        f"{(temps > config.max_temperature_K).sum()}"
    )
    # accuracy of the default tolerances against a tight run of the same few hours
    reference_hours = min(5.0, hours)
    loose, _ = generate_operating_data(config, reference_hours, random_state=1, pi=pi)
    original = plant_module.StiffIntegrator
    plant_module.StiffIntegrator = lambda model: integrator_module.StiffIntegrator(
        model, rtol=1e-6, atol_concentration=1e-7, atol_temperature=1e-5
    )
    try:
        tight, _ = generate_operating_data(config, reference_hours, random_state=1, pi=pi)
    finally:
        plant_module.StiffIntegrator = original
    columns = [f"true_T_{i + 1}" for i in range(config.n_reactors)]
    error = np.abs(loose[columns].to_numpy() - tight[columns].to_numpy())
    print(
        f"default vs tight tolerances over {reference_hours:g} h: mean {error.mean():.3f} K, "
        f"99th percentile {np.percentile(error, 99):.2f} K, max {error.max():.1f} K"
    )
    return {
        "hours": hours,
        "seconds": seconds,
        "seconds_per_1000_h": seconds / hours * 1000,
        "tolerance_error_mean_K": float(error.mean()),
        "tolerance_error_p99_K": float(np.percentile(error, 99)),
        "frame": frame,
    }


def save_plant(models: Path, config, pi) -> None:
    """The plant and PI tuning beside the models, so that `python -m core.reactors compare` runs on the directory."""
    models.mkdir(parents=True, exist_ok=True)
    (models / "plant.json").write_text(json.dumps({"config": config.to_dict(), "pi": pi.to_dict()}, indent=1))


def train_models(frame, config, budget_s: float, out: Path, pi) -> dict:
    section(f"Dynamics models (Adam, {budget_s:.0f} s budget each, 8 free-running steps in the loss)")
    parts = split_chronological(frame)
    models = out / "models"
    save_plant(models, config, pi)
    reports = {}
    for kind in MODEL_KINDS:
        learner = DynamicsLearner(kind=kind, max_steps=100_000, rollout_steps=8, max_time_s=budget_s, patience=10)
        learner.fit(parts["train"], parts["validation"], config)
        learner.save(models)
        report = model_report(learner, parts["test"])
        (models / f"{kind}_report.json").write_text(json.dumps(report, indent=1))
        best = min(learner.history_, key=lambda p: p.val_loss)
        print(
            f"{kind:<11} steps {learner.history_[-1].step:>5}, best validation loss {learner.best_val_loss_:.4f} "
            f"at {best.time_s:.0f} s (training stopped at {learner.train_time_s_:.0f} s)"
        )
        reports[kind] = report
        if kind == "lstm":
            variables, lags = learner.attention(parts["test"])
            top = variables.sort_values(ascending=False).head(8)
            print("  LSTM attention, top variables:", ", ".join(f"{k} {v:.3f}" for k, v in top.items()))
            print(
                f"  (uniform would be {1 / len(variables):.3f}); time weights oldest->newest:",
                " ".join(f"{w:.2f}" for w in lags),
            )
    print(
        f"\n{'model':<12}{'1-step T K':>11}{'1 h T K':>9}{'10 h T K':>10}{'1 h C mol/L':>13}{'10 h C mol/L':>14}"
        f"{'1 h scaled':>12}{'10 h scaled':>13}"
    )
    rows = [(k, r["model"]) for k, r in reports.items()] + [
        ("persistence", next(iter(reports.values()))["persistence"])
    ]
    for name, r in rows:
        cells = [r.get("one_step", {}).get("temperature_K", np.nan)]
        for key in ("temperature_K", "concentration_mol_L", "scaled"):
            cells += [r.get(horizon, {}).get(key, np.nan) for horizon in ("rollout_1h", "rollout_10h")]
        print(
            f"{name:<12}{cells[0]:>11.3f}{cells[1]:>9.3f}{cells[2]:>10.3f}{cells[3]:>13.4f}{cells[4]:>14.4f}"
            f"{cells[5]:>12.3f}{cells[6]:>13.3f}"
        )
    return reports


def optimizers(frame, config, kind: str, budget_s: float) -> dict:
    section(f"Training optimisers on the {kind} model ({budget_s:.0f} s each)")
    parts = split_chronological(frame)
    runs = {}
    for name in OPTIMIZERS:
        learner = DynamicsLearner(
            kind=kind,
            optimizer=name,
            max_steps=100_000,
            rollout_steps=8,
            max_time_s=budget_s,
            patience=1000,
            eval_every=50,
        )
        learner.fit(parts["train"], parts["validation"], config)
        runs[name] = learner.history_
    target = 1.01 * min(p.val_loss for p in runs["adam"])
    print(f"target: within 1 % of Adam's best validation loss, {target:.4f}")
    print(
        f"{'optimiser':<17}{'best loss':>10}{'time to target s':>18}{'steps to target':>17}"
        f"{'final lr':>10}{'final momentum':>16}"
    )
    summary = {}
    for name, history in runs.items():
        hit = next((p for p in history if p.val_loss <= target), None)
        best = min(p.val_loss for p in history)
        when = f"{hit.time_s:>18.1f}{hit.step:>17}" if hit else f"{'not reached':>18}{'-':>17}"
        print(f"{name:<17}{best:>10.4f}{when}{history[-1].lr:>10.2e}{history[-1].momentum:>16.3f}")
        summary[name] = {
            "best_val_loss": best,
            "time_to_target_s": hit.time_s if hit else None,
            "steps_to_target": hit.step if hit else None,
            "final_lr": history[-1].lr,
            "final_momentum": history[-1].momentum,
        }
    for name in OPTIMIZERS[1:]:
        best = summary[name]["best_val_loss"]
        adam_hit = (
            next(p for p in runs["adam"] if p.val_loss <= best)
            if best >= min(p.val_loss for p in runs["adam"])
            else None
        )
        if adam_hit:
            print(f"Adam reached {name}'s best ({best:.4f}) after {adam_hit.time_s:.1f} s")
    return {"target": target, **summary}


ROW = f"{'':<14}{'kg/h':>8}{'% opt':>7}{'util %':>8}{'sd K':>7}{'viol':>6}{'max T':>8}{'ms/dec':>8}"


def metric_row(name: str, m: dict) -> str:
    return (
        f"{name:<14}{m['throughput_kg_h']:>8.0f}{100 * m['share_of_optimum']:>7.1f}{m['utilization_pct']:>8.1f}"
        f"{m['stability_sd']:>7.2f}{m['violations']:>6}{m['max_temperature_K']:>8.1f}{m['decision_time_ms']:>8.0f}"
    )


def true_optimum(config, hours: float) -> dict:
    """The steady-state NLP: solve time, multi-start agreement, the scenario bounds, and SLSQP's old answer."""
    section("True optimum: steady-state NLP on the network's equations (CasADi + IPOPT, 8 starts)")
    program = SteadyStateProgram(config)
    program.solve()  # builds the solver
    rows = {}
    for label, t_cap, c_floor in (
        ("hard limits", config.max_temperature_K, config.coolant_bounds_K[0]),
        ("5 K / 8 K back-offs", config.max_temperature_K - 5.0, config.coolant_bounds_K[0] + 8.0),
    ):
        tic = time.perf_counter()
        optimum = program.solve(max_temperature_K=t_cap, min_coolant_K=c_floor)
        seconds = time.perf_counter() - tic
        local = best_steady_state(config, t_cap, c_floor)
        print(
            f"{label} (T <= {t_cap:.0f} K, Tc >= {c_floor:.0f} K): NLP {optimum.production_kg_h:.0f} kg/h in "
            f"{seconds:.2f} s ({optimum.starts_converged}/8 starts feasible), feeds {optimum.feeds_L_min.round(1)}, "
            f"T {optimum.temperatures_K.round(1)}; SLSQP within T_max - 40 K: {local.production_kg_h:.0f} kg/h"
        )
        rows[label] = {"nlp_kg_h": optimum.production_kg_h, "seconds": seconds, "slsqp_kg_h": local.production_kg_h}
    minutes = round(hours * 60)
    for name, schedule in evaluation_scenarios(config, hours).items():
        tic = time.perf_counter()
        bound = scenario_optimum(program, schedule, minutes)
        print(f"bound of scenario {name!r}: {bound:.0f} kg/h ({time.perf_counter() - tic:.1f} s)")
        rows[name] = bound
    return rows


def closed_loop(config, pi, learner, hours: float, settings: PlannerSettings, unprotected: bool = True) -> dict:
    section(f"Closed loop on the true plant: 3 scenarios x {hours:g} h, learned model = {learner.kind}")
    controllers = CONTROLLERS
    runs = compare_controllers(config, pi, learner, hours=hours, settings=settings, controllers=controllers)
    table = summary_table(runs)
    by_scenario = {}
    for scenario in dict.fromkeys(r.scenario for r in runs):
        mine = {r.controller: r.metrics for r in runs if r.scenario == scenario}
        by_scenario[scenario] = mine
        print(f"\n{scenario}: optimum {mine['pid']['optimum_kg_h']:.0f} kg/h\n{ROW}")
        for name in controllers:
            print(metric_row(name, mine[name]))
        print_oracle_choice(next(r for r in runs if r.scenario == scenario and r.controller == "oracle"))
    print(f"\nall scenarios: optimum {table['pid']['optimum_kg_h']:.0f} kg/h\n{ROW}")
    for name in controllers:
        print(metric_row(name, table[name]))
    baseline, learned, oracle = (table[c] for c in CONTROLLERS)
    beaten = [
        f"{name} on {scenario}"
        for scenario, mine in by_scenario.items()
        for name in controllers
        if mine[name]["throughput_kg_h"] > mine["oracle"]["throughput_kg_h"]
    ]
    print("\ntargets:")
    verdict = "yes" if not beaten else "no, beaten by " + ", ".join(beaten)
    print(f"  oracle >= every controller in every scenario: {verdict}")
    unsafe = [
        f"{name} on {scenario} ({mine[name]['violations']} violations against {mine['oracle']['violations']})"
        for scenario, mine in by_scenario.items()
        for name in controllers
        if f"{name} on {scenario}" in beaten and mine[name]["violations"] > mine["oracle"]["violations"]
    ]
    if unsafe:
        print("  of those, with more violations than the oracle: " + ", ".join(unsafe))
    print(f"  learned / oracle = {learned['throughput_kg_h'] / oracle['throughput_kg_h']:.3f} (target >= 0.95)")
    print(
        f"  learned / PI = {learned['throughput_kg_h'] / baseline['throughput_kg_h']:.2f}; T sd learned / PI = "
        f"{learned['stability_sd'] / baseline['stability_sd']:.1f} (target <= 2 at >= 1.3 x PI)"
    )
    print(f"  violations: learned {learned['violations']}, oracle {oracle['violations']}, PI {baseline['violations']}")
    print(
        f"  time per decision (mean / max): learned {learned['decision_time_ms']:.0f} / "
        f"{learned['max_decision_time_ms']:.0f} ms, oracle {oracle['decision_time_ms']:.0f} / "
        f"{oracle['max_decision_time_ms']:.0f} ms (target <= 1000 ms); the oracle's selection over the whole "
        f"scenario took {oracle['selection_time_s']:.0f} s per scenario"
    )
    result = {**table, "by_scenario": by_scenario, "held_out": held_out(config, pi, learner, hours, settings)}
    if unprotected:
        off = summary_table(
            compare_controllers(
                config,
                pi,
                learner,
                hours=hours,
                settings=settings,
                controllers=("learned",),
                safety=SafetyFilter(False),
            )
        )["learned"]
        print(
            f"learned-model optimiser without the safety filter: {off['violations']} violations "
            f"(max {off['max_temperature_K']:.1f} K), {off['throughput_kg_h']:.0f} kg/h"
        )
        result["learned_without_filter"] = off
    return result


def print_oracle_choice(run: ClosedLoopRun) -> None:
    tried = ", ".join(
        f"{k} {v['throughput_kg_h']:.0f} kg/h ({v['violations']} viol)" for k, v in run.candidates.items()
    )
    print(f"  oracle ran {run.policy!r}; policies tried on the whole scenario: {tried}")


def decision_points(config, pi) -> list[Plant]:
    """One plant per scenario, an hour into a 4 h run under the rule, so its disturbances are in force."""
    points = []
    for schedule in evaluation_scenarios(config, 4.0).values():
        plant = Plant(config, pi, schedule=schedule)
        start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
        run_closed_loop(plant, None, 61, 10, start)
        points.append(plant)
    return points


def shooting_vs_search(config, pi, learner, settings: PlannerSettings, steps: tuple[int, ...]) -> dict:
    """Objective on the learned model and time per decision: gradient shooting against the cross-entropy search."""
    section(f"Gradient-based shooting MPC on the learned model ({learner.kind}) against the cross-entropy search")
    print(f"{'planner':<34}{'objective':>11}{'s/decision':>12}")
    results = {}
    planners = {
        "cross-entropy 48 x 4": lambda p: EconomicOptimizer(config, LearnedModelPredictor(p, learner), settings)
    }
    for n_steps in steps:
        planners[f"shooting, 4 starts x {n_steps} steps"] = lambda p, k=n_steps: ShootingPlanner(
            config, LearnedModelPredictor(p, learner), settings, steps=k
        )
    for label, make in planners.items():
        values, seconds = [], []
        for plant in decision_points(config, pi):
            planner = make(plant)
            tic = time.perf_counter()
            planner.decide(plant.setpoints_, plant.feed_requests_)
            seconds.append(time.perf_counter() - tic)
            values.append(planner.last_objective_)
        results[label] = {"objective": float(np.mean(values)), "seconds": float(np.mean(seconds))}
        print(f"{label:<34}{results[label]['objective']:>11.1f}{results[label]['seconds']:>12.2f}")
    return results


def held_out(config, pi, learner, hours: float, settings: PlannerSettings, seeds=(101,)) -> dict:
    """The comparison on random disturbance schedules the oracle's back-off was not chosen on."""
    scenarios = {f"random schedule {seed}": random_schedule(config, hours, seed) for seed in seeds}
    controllers = CONTROLLERS
    runs = compare_controllers(
        config, pi, learner, hours=hours, settings=settings, controllers=controllers, scenarios=scenarios
    )
    result = {}
    for scenario in scenarios:
        mine = {r.controller: r.metrics for r in runs if r.scenario == scenario}
        events = ", ".join(f"{e.kind} {e.start_min:.0f}-{e.end_min:.0f} min" for e in scenarios[scenario].events)
        print(f"\n{scenario} ({events}): optimum {mine['pid']['optimum_kg_h']:.0f} kg/h\n{ROW}")
        for name in controllers:
            print(metric_row(name, mine[name]))
        print_oracle_choice(next(r for r in runs if r.scenario == scenario and r.controller == "oracle"))
        result[scenario] = mine
    return result


def cem_candidates(config, pi, populations: tuple[int, ...], seeds: int, settings: PlannerSettings) -> dict:
    """Objective the cross-entropy search reaches on the true model against its number of candidates.

    Decision points: every scenario after a quarter of a 4 h run under the
    rule, so the disturbances are in force; each search starts from the rule.
    """
    section(f"Cross-entropy search on the true model: candidates per decision ({seeds} seeds x 3 decision points)")
    points = decision_points(config, pi)
    print(f"{'population x iterations':<26}{'candidates':>11}{'objective':>11}{'s/decision':>12}")
    results = {}
    for population in populations:
        values, seconds = [], []
        for plant in points:
            for seed in range(seeds):
                planner = EconomicOptimizer(
                    config, TrueModelPredictor(plant), replace(settings, population=population, random_state=seed)
                )
                tic = time.perf_counter()
                planner.decide(plant.setpoints_, plant.feed_requests_)
                seconds.append(time.perf_counter() - tic)
                values.append(planner.last_objective_)
        row = {
            "candidates": population * settings.iterations,
            "objective": float(np.mean(values)),
            "seconds": float(np.mean(seconds)),
        }
        results[population] = row
        print(
            f"{population:>10} x {settings.iterations:<13}{row['candidates']:>11}{row['objective']:>11.1f}"
            f"{row['seconds']:>12.2f}"
        )
    best = max(row["objective"] for row in results.values())
    enough = next(p for p, row in results.items() if row["objective"] >= best - 0.01 * abs(best))
    print(f"the objective stops improving (within 1 % of the best) at {enough * settings.iterations} candidates")
    return {"by_population": results, "stops_improving_at_candidates": enough * settings.iterations}


UNCORRECTED = {"offset_window_min": 0, "coolant_headroom_K": 4.0}  # the planner before the offset correction
LEARNED_CURVE = (  # (label, planner settings): from free setpoints to setpoints held by the PI loops
    ("free setpoints, weight 0", UNCORRECTED | {"max_setpoint_move_K": None}),
    ("free setpoints, weight 20", UNCORRECTED | {"max_setpoint_move_K": None, "steadiness_weight_kg_h_K2": 20.0}),
    ("setpoint moves <= 1 K, weight 20", UNCORRECTED | {"max_setpoint_move_K": 1.0, "steadiness_weight_kg_h_K2": 20.0}),
    ("setpoints held, headroom 8 K", UNCORRECTED | {"coolant_headroom_K": 8.0}),
    ("setpoints held, headroom 6 K", UNCORRECTED | {"coolant_headroom_K": 6.0}),
    ("setpoints held, headroom 4 K", UNCORRECTED),
    ("setpoints held, offset correction, headroom 0.5 K (default)", {}),
)


def steadiness_curve(config, pi, learner, hours: float, settings: PlannerSettings, headrooms) -> dict:
    """Throughput against temperature sd: learned planner from free to held setpoints, oracle back-offs, PI."""
    section(f"Throughput vs temperature sd (3 scenarios x {hours:g} h)")
    print(f"{'controller':<44}{'kg/h':>8}{'sd K':>7}{'viol':>6}{'ms/dec':>8}")
    curve = []

    def add(label, controller, table):
        m = table[controller]
        curve.append({"label": label, **m})
        print(
            f"{label:<44}{m['throughput_kg_h']:>8.0f}{m['stability_sd']:>7.2f}{m['violations']:>6}"
            f"{m['decision_time_ms']:>8.0f}"
        )

    reference = summary_table(
        compare_controllers(config, pi, None, hours=hours, settings=settings, controllers=("pid", "oracle"))
    )
    add("PI", "pid", reference)
    add("oracle (best true-model policy in hindsight)", "oracle", reference)
    for label, changes in LEARNED_CURVE:
        tuned = replace(settings, **changes)
        runs = compare_controllers(config, pi, learner, hours=hours, settings=tuned, controllers=("learned",))
        add(f"learned, {label}", "learned", summary_table(runs))
    for label in ("free setpoints, weight 0", "setpoints held, headroom 4 K"):
        tuned = replace(settings, **dict(LEARNED_CURVE)[label])
        runs = compare_controllers(config, pi, learner, hours=hours, settings=tuned, controllers=("learned_shooting",))
        add(f"learned shooting MPC, {label}", "learned_shooting", summary_table(runs))
    for headroom in headrooms:
        add(
            f"steady-state tracker, coolant headroom {headroom:g} K",
            "oracle",
            tracker_table(config, pi, hours, coolant_headroom_K=headroom),
        )
    return {"curve": curve}


OFFSET_WINDOW_MIN = PlannerSettings.offset_window_min  # the learned model's error since the previous decision


def offset_on_validation(learner, validation: pd.DataFrame, window: int, horizon: int = 30) -> dict:
    """RMS error of 30 min rollouts on the validation split, plain and corrected by the model's error over the
    ``window`` minutes before each start (what `LearnedModelPredictor` subtracts)."""
    n, w = learner.config_.n_reactors, learner.window_
    states = validation[learner.state_names_].to_numpy(dtype=float)
    inputs = validation[learner.input_names_].to_numpy(dtype=float)
    starts = np.arange(w - 1 + window, len(validation) - horizon - 1, 3)
    forecast = learner.rollout(
        np.stack([states[s - w + 1 : s + 1] for s in starts]),
        np.stack([inputs[s - w + 1 : s + horizon] for s in starts]),
        horizon,
    )
    actual = np.stack([states[s + 1 : s + horizon + 1] for s in starts])
    back = starts - window
    hindcast = learner.rollout(
        np.stack([states[s - w + 1 : s + 1] for s in back]),
        np.stack([inputs[s - w + 1 : s + window] for s in back]),
        window,
    )
    offset = (hindcast - np.stack([states[s + 1 : s + window + 1] for s in back])).mean(axis=1)
    result = {}
    for label, block in (("temperature_K", slice(2 * n, 3 * n)), ("coolant_K", slice(3 * n, 4 * n))):
        plain = forecast[..., block] - actual[..., block]
        corrected = plain - offset[:, None, block]
        result[label] = {"plain": float(np.sqrt((plain**2).mean())), "corrected": float(np.sqrt((corrected**2).mean()))}
    return result


def logged_run(plant: Plant, planner, minutes: int) -> tuple[pd.DataFrame, list[float], list[dict]]:
    """A closed-loop run that also keeps, per decision, the plan and the predicted path of the chosen plan."""
    log = []
    horizon = planner.settings.horizon_min

    def decide():
        setpoints, feeds = planner.decide(plant.setpoints_, plant.feed_requests_)
        temps, _, coolant = planner.predictor.predict(setpoints[None], feeds[None], horizon)
        log.append(
            {
                "t_min": plant.t_min,
                "setpoints_before": plant.setpoints_.copy(),
                "setpoints": setpoints.copy(),
                "feeds": feeds.copy(),
                "temps": temps[0],
                "coolant": coolant[0],
                "offset": planner.predictor.offset().copy(),
            }
        )
        return setpoints, feeds

    start = (rule_based_setpoints(plant.config), np.asarray(plant.config.nominal_feed_L_min, dtype=float))
    record, times = run_closed_loop(plant, decide, minutes, planner.settings.replan_every_min, start)
    return record, times, log


def explain_violations(config, scenario: str, record: pd.DataFrame, log: list[dict]) -> list[dict]:
    """Every violating reactor-minute with what the planner commanded and what the model predicted for it."""
    n, found = config.n_reactors, []
    temps = record[[f"true_T_{i + 1}" for i in range(n)]].to_numpy()
    for row, reactor in np.argwhere(temps > config.max_temperature_K):
        minute = float(record["time_min"].iloc[row])
        decision = max((d for d in log if d["t_min"] < minute), key=lambda d: d["t_min"])
        k = int(minute - decision["t_min"]) - 1  # the predicted path starts one minute after the decision
        before = max(row - 1, 0)
        at = record.iloc[row]
        item = {
            "scenario": scenario,
            "minute": minute,
            "reactor": f"R{reactor + 1}",
            "T_K": float(temps[row, reactor]),
            "setpoint_K": float(at[f"Tsp_{reactor + 1}"]),
            "setpoint_decided_K": (float(decision["setpoints_before"][reactor]), float(decision["setpoints"][reactor])),
            "feeds_requested": [float(at[f"F_request_{f + 1}"]) for f in range(config.n_feeds)],
            "feeds_delivered": [float(at[name]) for name in config.feed_names()],
            "coolant_K": float(at[f"Tc_{reactor + 1}"]),
            "coolant_before_K": float(record[f"Tc_{reactor + 1}"].iloc[before]),
            "predicted_coolant_before_K": float(decision["coolant"][max(k - 1, 0), reactor]),
            "T_before_K": float(temps[before, reactor]),
            "predicted_T_before_K": float(decision["temps"][max(k - 1, 0), reactor]),
            "coolant_offset_K": float(decision["offset"][3 * n + reactor]),
            "ua_factor": float(at[f"ua_factor_{reactor + 1}"]),
        }
        found.append(item)
        print(
            f"  {scenario}, minute {minute:.0f}, {item['reactor']}: T {item['T_K']:.1f} K at setpoint "
            f"{item['setpoint_K']:.1f} (decided at minute {decision['t_min']:.0f}: "
            f"{item['setpoint_decided_K'][0]:.1f} -> {item['setpoint_decided_K'][1]:.1f}), feeds requested "
            f"{np.round(item['feeds_requested']).astype(int).tolist()} delivered "
            f"{np.round(item['feeds_delivered']).astype(int).tolist()}; a minute before: T {item['T_before_K']:.1f} "
            f"(predicted {item['predicted_T_before_K']:.1f}), coolant {item['coolant_before_K']:.1f} K (predicted "
            f"{item['predicted_coolant_before_K']:.1f}; offset subtracted {item['coolant_offset_K']:+.1f}); "
            f"coolant now {item['coolant_K']:.1f} K; UA x {item['ua_factor']:.2f}"
        )
    return found


CORRECTED = {"offset_window_min": OFFSET_WINDOW_MIN, "coolant_headroom_K": 4.0}
OFFSET_VARIANTS = (  # (label, planner, settings changed); steadiness weight 0, coolant reserve 4 K
    ("cem, free", EconomicOptimizer, UNCORRECTED | {"max_setpoint_move_K": None}),
    ("cem, free, offset", EconomicOptimizer, CORRECTED | {"max_setpoint_move_K": None}),
    ("shooting, free", ShootingPlanner, UNCORRECTED | {"max_setpoint_move_K": None}),
    ("shooting, free, offset", ShootingPlanner, CORRECTED | {"max_setpoint_move_K": None}),
    ("shooting, <= 2 K, offset", ShootingPlanner, CORRECTED | {"max_setpoint_move_K": 2.0}),
)
HEADROOMS_K = (4.0, 2.0, 1.0, 0.5, 0.0)
HEADROOM_VARIANTS = (  # setpoints held (PI keeps T steady): the offset correction off at 4 K, then on
    ("held, 4 K", EconomicOptimizer, UNCORRECTED | {"max_setpoint_move_K": 0.0}),
    *(
        (f"held, offset, {h:g} K", EconomicOptimizer, CORRECTED | {"max_setpoint_move_K": 0.0, "coolant_headroom_K": h})
        for h in HEADROOMS_K
    ),
)


def offset_study(config, pi, learner, hours: float, settings: PlannerSettings, validation, seeds=(101, 202)) -> dict:
    """Why the free-setpoint planners cross the limit more often than PI, and the learned model's offset correction.

    Steadiness weight 0, cross-entropy search and shooting MPC with free
    setpoints and the offset correction off and on, and the shooting MPC with
    setpoint moves of at most 2 K per decision (the correction holds near the
    operating point it was measured at), on the three scenarios and on held-out
    random schedules; the oracle and PI on the same schedules. Every violating
    reactor-minute is printed with what the planner commanded and predicted.
    """
    section(f"Offset correction of the learned model ({OFFSET_WINDOW_MIN} min), 3 scenarios + 2 random x {hours:g} h")
    result = {}
    if validation is not None:
        errors = offset_on_validation(learner, validation, OFFSET_WINDOW_MIN)
        result["validation_rms"] = errors
        print(
            f"30 min rollouts on the validation split, RMS error plain -> corrected by the model's error over the "
            f"{OFFSET_WINDOW_MIN} min before: "
            + ", ".join(f"{k} {v['plain']:.2f} -> {v['corrected']:.2f}" for k, v in errors.items())
        )
    return result | variant_table(config, pi, learner, hours, settings, OFFSET_VARIANTS, seeds)


def headroom_study(config, pi, learner, hours: float, settings: PlannerSettings, seeds=(101, 202)) -> dict:
    """Setpoints held, the offset correction on, and the coolant reserve the planner keeps above the floor.

    The 4 K reserve made up for the learned model's coolant forecasts, 2-6 K too warm near the floor; with the
    correction the forecasts are unbiased, and the reserve only trades throughput against safety margin. Held
    setpoints keep PI's steadiness; the held-out random schedules check that a smaller reserve adds no violation.
    """
    section(f"Held setpoints, offset correction and coolant reserve, 3 scenarios + 2 random x {hours:g} h")
    return variant_table(config, pi, learner, hours, settings, HEADROOM_VARIANTS, seeds)


TRUST_LIMITS_K = (None, 20.0, 10.0)


def trust_study(config, pi, learner, hours: float, settings: PlannerSettings, seeds=(101, 202)) -> dict:
    """Setpoints held, the offset correction on: feeds frozen where the model's coolant forecast is far off."""
    section(f"Held setpoints, offset correction and the trust limit, 3 scenarios + 2 random x {hours:g} h")
    variants = tuple(
        (f"held, offset, trust {'off' if t is None else f'{t:g} K'}", EconomicOptimizer, {"trust_limit_K": t})
        for t in TRUST_LIMITS_K
    )
    return variant_table(config, pi, learner, hours, settings, variants, seeds)


def variant_table(config, pi, learner, hours: float, settings: PlannerSettings, variants, seeds) -> dict:
    """Each planner variant, PI and the oracle on the three scenarios and the random schedules `seeds`: the
    3-scenario means (share of the oracle, T sd against PI's), each schedule's throughput and violations, and
    every violating reactor-minute with what the planner commanded and predicted."""
    scenarios = evaluation_scenarios(config, hours)
    scenarios |= {f"random schedule {seed}": random_schedule(config, hours, seed) for seed in seeds}
    reference = compare_controllers(
        config, pi, None, hours=hours, settings=settings, controllers=("pid", "oracle"), scenarios=scenarios
    )
    per = {(r.controller, r.scenario): r.metrics for r in reference}
    minutes, violations, result = round(hours * 60), {}, {}
    for label, make, changes in variants:
        tuned = replace(settings, **changes)
        violations[label] = []
        for name, schedule in scenarios.items():
            plant = Plant(config, pi, schedule=schedule)
            predictor = LearnedModelPredictor(plant, learner, tuned.offset_window_min)
            record, times, log = logged_run(plant, make(config, predictor, tuned), minutes)
            per[(label, name)] = {**performance(config, record), **decision_timing(times)}
            violations[label] += explain_violations(config, f"{label} / {name}", record, log)
    names = list(scenarios)
    main = names[:3]
    labels = ["pid", "oracle", *violations]
    print(
        f"\n{'3 scenarios':<24}{'kg/h':>7}{'% oracle':>10}{'x PI':>6}{'sd K':>7}{'x PI':>6}{'viol':>6}"
        f"{'ms/dec':>8}{'max ms':>8}"
    )
    means = {label: _scenario_means([per[(label, s)] for s in main]) for label in labels}
    for label in labels:
        mean = means[label]
        mean["share_of_oracle"] = mean["throughput_kg_h"] / means["oracle"]["throughput_kg_h"]
        result.setdefault("three_scenarios", {})[label] = mean
        print(
            f"{label:<24}{mean['throughput_kg_h']:>7.0f}{100 * mean['share_of_oracle']:>10.1f}"
            f"{mean['throughput_kg_h'] / means['pid']['throughput_kg_h']:>6.2f}{mean['stability_sd']:>7.2f}"
            f"{mean['stability_sd'] / means['pid']['stability_sd']:>6.1f}{mean['violations']:>6}"
            f"{mean['decision_time_ms']:>8.0f}{mean['max_decision_time_ms']:>8.0f}"
        )
    print("\nper schedule, kg/h (violations)")
    print(f"{'':<24}" + "".join(f"{s[:22]:>24}" for s in names))
    for label in labels:
        cells = [per[(label, s)] for s in names]
        texts = [f"{m['throughput_kg_h']:.0f} ({m['violations']})" for m in cells]
        print(f"{label:<24}" + "".join(f"{t:>24}" for t in texts))
        result.setdefault("by_schedule", {})[label] = {
            s: {"throughput_kg_h": m["throughput_kg_h"], "violations": m["violations"]}
            for s, m in zip(names, cells, strict=True)
        }
    result["violations"] = violations
    return result


def _scenario_means(rows: list[dict]) -> dict:
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ("throughput_kg_h", "stability_sd")}
    mean["violations"] = int(sum(r["violations"] for r in rows))
    mean["decision_time_ms"] = float(np.mean([r.get("decision_time_ms", 0.0) for r in rows]))
    mean["max_decision_time_ms"] = float(max(r.get("max_decision_time_ms", 0.0) for r in rows))
    return mean


def tracker_table(config, pi, hours: float, **tracker) -> dict:
    """The steady-state oracle with non-default settings on the three scenarios (summary_table layout)."""
    runs = []
    for name, schedule in evaluation_scenarios(config, hours).items():
        plant = Plant(config, pi, schedule=schedule)
        oracle = SteadyStateTracker(plant, **tracker)
        start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
        record, times = run_closed_loop(plant, oracle.decide, round(hours * 60), 10, start)
        run = ClosedLoopRun("oracle", name, record, times)
        run.metrics = {**performance(config, record), "decision_time_ms": 1e3 * float(np.mean(times))}
        run.metrics |= {"optimum_kg_h": np.nan, "share_of_optimum": np.nan, "max_decision_time_ms": np.nan}
        runs.append(run)
    return summary_table(runs)


class ReadyTracker(SteadyStateTracker):
    """The steady-state oracle planning as if every reactor had already lost heat transfer down to ``ua_floor``.

    What a controller that cannot see a cooling failure coming would have to
    do to ride one out.
    """

    def __init__(self, plant, ua_floor: float, **kwargs):
        super().__init__(plant, **kwargs)
        self.ua_floor = ua_floor

    def conditions(self):
        now = super().conditions()
        return replace(now, ua_factor=np.minimum(now.ua_factor, self.ua_floor))


def cooling_failure(config, pi, hours: float, foresights: tuple[int, ...]) -> dict:
    """Could any controller avoid the violation of the cooling-failure scenario? The oracle told it in advance."""
    section(f"Cooling failure: the steady-state oracle with foresight of the heat-transfer loss ({hours:g} h)")
    schedule = evaluation_scenarios(config, hours)["cooling failure"]
    results = {}
    print(f"{'foresight':<26}{'kg/h':>8}{'viol':>6}{'max T K':>9}")
    for foresight in foresights:
        plant = Plant(config, pi, schedule=schedule)
        oracle = SteadyStateTracker(plant, foresight_min=foresight)
        start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
        record, _ = run_closed_loop(plant, oracle.decide, round(hours * 60), 10, start)
        m = performance(config, record)
        temps = record[[f"true_T_{i + 1}" for i in range(config.n_reactors)]].to_numpy()
        hot = np.flatnonzero((temps > config.max_temperature_K).any(axis=1))
        results[foresight] = {**m, "violating_minutes": record["time_min"].to_numpy()[hot].tolist()}
        print(
            f"{foresight:>3} min{'':<19}{m['throughput_kg_h']:>8.0f}{m['violations']:>6}{m['max_temperature_K']:>9.1f}"
            f"  at minutes {results[foresight]['violating_minutes']}"
        )
    for ready in (0.5, 0.7):  # the scenario's two failures
        plant = Plant(config, pi, schedule=schedule)
        oracle = ReadyTracker(plant, ua_floor=ready)
        start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
        record, _ = run_closed_loop(plant, oracle.decide, round(hours * 60), 10, start)
        m = performance(config, record)
        nominal = oracle.program.solve(replace(schedule.at(0.0), ua_factor=np.full(config.n_reactors, ready)))
        results[f"ready_for_{ready:g}"] = {**m, "steady_optimum_kg_h": nominal.production_kg_h}
        print(
            f"always ready for UA x {ready:g} in any reactor: {m['throughput_kg_h']:.0f} kg/h, "
            f"{m['violations']} violations, max T {m['max_temperature_K']:.1f} K "
            f"(steady-state optimum at the hard limits with every UA x {ready:g}: {nominal.production_kg_h:.0f} kg/h)"
        )
    first = min(e.start_min for e in schedule.events)
    plant = Plant(config, pi, schedule=schedule)
    start = (rule_based_setpoints(config), np.asarray(config.nominal_feed_L_min, dtype=float))
    record, _ = run_closed_loop(plant, None, round(hours * 60), 10, start)
    temps = record[[f"true_T_{i + 1}" for i in range(config.n_reactors)]].to_numpy()
    hot = record["time_min"].to_numpy()[(temps > config.max_temperature_K).any(axis=1)].tolist()
    print(f"PI at the rule: violating minutes {hot}; the first failure starts at minute {first:.0f}")
    return {"oracle_by_foresight_min": results, "pi_violating_minutes": hot, "first_failure_min": first}


NEAR_LIMIT_K = 5.0  # "near the limit" for the barrier study's bias figure


def compare_pick(reports: dict) -> str:
    """The model `python -m core.reactors compare` uses: the smallest scaled 1 h rollout error."""
    return min(reports, key=lambda k: reports[k]["model"].get("rollout_1h", reports[k]["model"]["one_step"])["scaled"])


def rollout_temperatures(learner, test, hours: float) -> dict:
    """Rollout errors plus how the predicted temperatures sit against the limit (20 starts on the test split)."""
    states = test[learner.state_names_].to_numpy(dtype=float)
    columns = [learner.state_names_.index(f"T_{i + 1}") for i in range(learner.config_.n_reactors)]
    predicted, measured = [], []

    def recording(history, inputs, horizon):
        out = learner.rollout(history, inputs, horizon)
        for h, path in zip(history, out, strict=True):
            start = int(np.flatnonzero((states == h[-1]).all(axis=1))[0])
            predicted.append(path[:, columns])
            measured.append(states[start + 1 : start + horizon + 1, columns])
        return out

    errors = rollout_errors(learner, test, round(hours * 60 / learner.dt_), predictor=recording)
    predicted, measured = np.concatenate(predicted), np.concatenate(measured)
    limit = learner.config_.max_temperature_K
    near = measured > limit - NEAR_LIMIT_K
    return {
        "temperature_K": errors.temperature_K,
        "scaled": errors.scaled,
        "predicted_above_limit_pct": float(100 * (predicted > limit).mean()),
        "measured_above_limit_pct": float(100 * (measured > limit).mean()),
        "max_predicted_K": float(predicted.max()),
        "bias_near_limit_K": float((predicted - measured)[near].mean()) if near.any() else float("nan"),
        "near_limit_pct": float(100 * near.mean()),
    }


def lookup(row: dict, key: str | tuple[str, ...]):
    """``row[key]``, or ``row[k1][k2]...`` for a tuple of keys."""
    for part in (key,) if isinstance(key, str) else key:
        row = row[part]
    return row


def barrier_study(frame, config, pi, kind: str, weight: float, steps: int, hours: float, out: Path) -> dict:
    """The same model, data and seed trained without and with the temperature barrier in the loss."""
    section(
        f"Temperature barrier in the training loss: {kind}, weight 0 vs {weight:g}, {steps} steps each, "
        f"closed loop 3 scenarios x {hours:g} h"
    )
    parts = split_chronological(frame)
    limit = config.max_temperature_K
    results = {}
    for w in (0.0, weight):
        learner = DynamicsLearner(kind=kind, max_steps=steps, rollout_steps=8, patience=10, barrier_weight=w)
        learner.fit(parts["train"], parts["validation"], config)
        learner.save(out / f"barrier_{w:g}")
        best = min(learner.history_, key=lambda p: p.val_loss)
        row = {
            "steps": learner.history_[-1].step,
            "train_time_s": learner.train_time_s_,
            "val_loss": best.val_loss,
            "val_fit": best.val_loss - best.val_barrier,
            "val_barrier": best.val_barrier,
        }
        for hours_ahead in (1, 10):
            if len(parts["test"]) > hours_ahead * 60 / learner.dt_ + learner.window_:
                row[f"rollout_{hours_ahead}h"] = rollout_temperatures(learner, parts["test"], hours_ahead)
        for label, safety in (("closed_loop", None), ("closed_loop_no_filter", SafetyFilter(False))):
            runs = compare_controllers(config, pi, learner, hours=hours, controllers=("learned",), safety=safety)
            row[label] = summary_table(runs)["learned"]
            row[label]["violations_by_scenario"] = {run.scenario: run.metrics["violations"] for run in runs}
        results[f"{w:g}"] = row
    plain, barrier = results["0"], results[f"{weight:g}"]
    lines = [
        ("optimiser steps (early stopping on validation)", "steps", "{:.0f}"),
        ("training time s", "train_time_s", "{:.0f}"),
        ("best validation objective", "val_loss", "{:.4f}"),
        ("  of which fit (MSE)", "val_fit", "{:.4f}"),
        ("  of which barrier", "val_barrier", "{:.4f}"),
    ]
    for horizon in ("1h", "10h"):
        key = f"rollout_{horizon}"
        if key not in plain:
            print(f"(the test split is too short for {horizon} rollouts)")
            continue
        lines += [
            (f"{horizon} rollout T error K", (key, "temperature_K"), "{:.3f}"),
            (f"{horizon} rollout scaled error", (key, "scaled"), "{:.3f}"),
            (f"{horizon} rollout predicted T > {limit:.0f} K, %", (key, "predicted_above_limit_pct"), "{:.4f}"),
            (f"{horizon} rollout measured T > {limit:.0f} K, %", (key, "measured_above_limit_pct"), "{:.4f}"),
            (f"{horizon} rollout highest predicted T K", (key, "max_predicted_K"), "{:.1f}"),
            (
                f"{horizon} rollout mean error where T > {limit - NEAR_LIMIT_K:.0f} K",
                (key, "bias_near_limit_K"),
                "{:+.3f}",
            ),
        ]
    for key, label in (("closed_loop", "closed loop"), ("closed_loop_no_filter", "closed loop, no safety filter")):
        lines += [
            (f"{label}: throughput kg/h", (key, "throughput_kg_h"), "{:.0f}"),
            (f"{label}: violations reactor-min", (key, "violations"), "{:.0f}"),
            *(
                (f"  in {scenario}", (key, "violations_by_scenario", scenario), "{:.0f}")
                for scenario in plain[key]["violations_by_scenario"]
            ),
            (f"{label}: max T K", (key, "max_temperature_K"), "{:.1f}"),
            (f"{label}: utilisation %", (key, "utilization_pct"), "{:.1f}"),
            (f"{label}: stability sd K", (key, "stability_sd"), "{:.2f}"),
        ]
    print(f"{'':<56}{'weight 0':>12}{f'weight {weight:g}':>12}")
    for label, key, fmt in lines:
        cells = [lookup(r, key) for r in (plain, barrier)]
        print(f"{label:<56}" + "".join(f"{'-' if np.isnan(c) else fmt.format(c):>12}" for c in cells))
    if "rollout_1h" in plain:
        near = plain["rollout_1h"]["near_limit_pct"]
        print(f"({near:.2f} % of the 1 h rollouts' measured temperatures are within {NEAR_LIMIT_K:g} K of the limit)")
    return {"model": kind, "weight": weight, "steps": steps, "closed_loop_hours": hours, **results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1000.0, help="operating data to simulate")
    parser.add_argument("--train-budget", type=float, default=240.0, help="seconds of training per model")
    parser.add_argument("--optimizer-budget", type=float, default=90.0, help="seconds per optimiser run")
    parser.add_argument("--closed-loop-hours", type=float, default=12.0, help="length of each scenario")
    parser.add_argument("--barrier-weight", type=float, default=10.0, help="training barrier weight to compare with 0")
    parser.add_argument("--barrier-steps", type=int, default=1000, help="optimiser steps per barrier-study model")
    parser.add_argument("--barrier-model", choices=MODEL_KINDS, default=None, help="default: the one compare picks")
    parser.add_argument("--barrier", action="store_true", help="only the barrier study, on the record in --out")
    parser.add_argument(
        "--control",
        action="store_true",
        help="only the control studies (optimum, closed loop, search size, steadiness, offset, headroom, cooling "
        "failure); simulates --hours and trains an LSTM for --train-budget s unless --out holds them",
    )
    parser.add_argument("--studies", default=",".join(CONTROL_STUDIES), help="control studies to run (comma-separated)")
    parser.add_argument("--control-model", choices=MODEL_KINDS, default="node", help="learned model of --control")
    parser.add_argument("--control-steps", type=int, default=3000, help="training steps of that model")
    parser.add_argument("--curve-hours", type=float, default=3.0, help="scenario length of the steadiness curve")
    parser.add_argument("--planner-seed", type=int, default=0, help="seed of the planners' searches (control studies)")
    parser.add_argument(
        "--trust-limit",
        type=float,
        default=PlannerSettings.trust_limit_K,
        help="learned planner's trust limit in K (control studies; 0: off, as before it existed)",
    )
    parser.add_argument(
        "--record-seed",
        type=int,
        default=0,
        help="seed of the operating record --control simulates (a fresh plant history)",
    )
    parser.add_argument("--cem-populations", default="12,24,48,96,192", help="search sizes to measure")
    parser.add_argument("--out", default="runs/reactors")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.hours, args.train_budget, args.optimizer_budget, args.closed_loop_hours = 60.0, 20.0, 10.0, 1.0
        args.barrier_steps = 100
        args.cem_populations, args.curve_hours = "12,24,48", 1.0
    torch.manual_seed(0)
    torch.set_num_threads(1)  # timings comparable across runs on a shared 2-core machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = series_parallel()
    if args.barrier:
        barrier_only(args, out, config)
        return
    if args.control:
        control_only(args, out, config)
        return

    section("PI tuning on the true simulator")
    tic = time.perf_counter()
    tuning = tune_pi(config, rule_based_setpoints(config))
    print(f"{len(tuning.candidates)} stable candidates simulated in {time.perf_counter() - tic:.1f} s")
    print("gain per reactor:", tuning.pi.gain, "\nintegral time (min):", tuning.pi.integral_time_min)

    sim = simulator(config, tuning.pi, args.hours, out)
    frame = sim.pop("frame")
    reports = train_models(frame, config, args.train_budget, out, tuning.pi)
    opt = optimizers(frame, config, "node", args.optimizer_budget)
    best = compare_pick(reports)
    learner = DynamicsLearner.load(out / "models", best)
    control = control_studies(args, config, tuning.pi, learner, split_chronological(frame)["validation"])
    barrier = barrier_study(
        frame,
        config,
        tuning.pi,
        args.barrier_model or best,
        args.barrier_weight,
        args.barrier_steps,
        args.closed_loop_hours,
        out,
    )
    summary = {
        "simulator": sim,
        "models": reports,
        "optimizers": opt,
        **control,
        "barrier": barrier,
        "pi": tuning.pi.to_dict(),
    }
    (out / "bench_summary.json").write_text(json.dumps(summary, indent=1, default=float))
    print(f"\nsummary written to {out / 'bench_summary.json'}")


CONTROL_STUDIES = (
    "optimum",
    "closed_loop",
    "cem_candidates",
    "shooting",
    "steadiness",
    "offset",
    "headroom",
    "trust",
    "cooling_failure",
)


def control_studies(args, config, pi, learner, validation: pd.DataFrame, unprotected: bool = True) -> dict:
    """Everything about control: optimum, comparison, search size, steadiness, offset, headroom, cooling failure."""
    hours = args.closed_loop_hours
    settings = PlannerSettings(random_state=args.planner_seed, trust_limit_K=args.trust_limit or None)
    populations = tuple(int(p) for p in args.cem_populations.split(","))
    chosen = args.studies.split(",")
    unknown = set(chosen) - set(CONTROL_STUDIES)
    if unknown:
        raise SystemExit(f"unknown studies {sorted(unknown)}; choose from {', '.join(CONTROL_STUDIES)}")
    studies = {
        "optimum": lambda: true_optimum(config, hours),
        "closed_loop": lambda: closed_loop(config, pi, learner, hours, settings, unprotected),
        "cem_candidates": lambda: cem_candidates(config, pi, populations, 2, settings),
        "shooting": lambda: shooting_vs_search(config, pi, learner, settings, (5, 15)),
        "steadiness": lambda: steadiness_curve(config, pi, learner, args.curve_hours, settings, (10.0, 15.0)),
        "offset": lambda: offset_study(config, pi, learner, hours, settings, validation),
        "headroom": lambda: headroom_study(config, pi, learner, hours, settings),
        "trust": lambda: trust_study(config, pi, learner, hours, settings),
        "cooling_failure": lambda: cooling_failure(config, pi, hours, (0, 5, 15)),
    }
    return {name: studies[name]() for name in CONTROL_STUDIES if name in chosen}


def saved_record(path: Path) -> tuple[pd.DataFrame, NetworkConfig, PIConfig] | None:
    """(frame, network, PI tuning) of an operating record a previous run left at ``path``, if any."""
    if not path.exists():
        return None
    data = load_operating_data(path)
    print(f"operating record: {path} ({len(data.frame)} samples)")
    return data.frame, data.config, PIConfig.from_dict(data.metadata["pi"])


def control_only(args, out: Path, config) -> None:
    """The control studies on the record and LSTM in ``out`` (simulated and trained if absent)."""
    path = out / "operating_data.parquet"
    saved = saved_record(path)
    if saved:
        frame, config, pi = saved
    else:
        pi = tune_pi(config, rule_based_setpoints(config)).pi
        frame, metadata = generate_operating_data(config, args.hours, random_state=args.record_seed, pi=pi)
        save_operating_data(frame, metadata, path)
        print(f"simulated {args.hours:g} h of operating data -> {path}")
    models, kind = out / "models", args.control_model
    if not (models / f"{kind}.json").exists():
        section(f"{kind}, at most {args.control_steps} steps and {args.train_budget:.0f} s")
        parts = split_chronological(frame)
        learner = DynamicsLearner(
            kind=kind, max_steps=args.control_steps, rollout_steps=8, max_time_s=args.train_budget
        )
        learner.fit(parts["train"], parts["validation"], config)
        learner.save(models)
        print(f"{learner.history_[-1].step} steps, best validation loss {learner.best_val_loss_:.4f}")
    learner = DynamicsLearner.load(models, kind)
    parts = split_chronological(frame)
    report = model_report(learner, parts["test"])
    save_plant(models, config, pi)
    (models / f"{kind}_report.json").write_text(json.dumps(report, indent=1))
    print(f"learned model {kind}: 1 h rollout temperature error {report['model']['rollout_1h']['temperature_K']:.2f} K")
    for caveat in model_caveats(report):
        print(f"caution: {caveat}")
    result = control_studies(args, config, pi, learner, parts["validation"], unprotected=False)
    (out / "control_summary.json").write_text(json.dumps(result, indent=1, default=float))
    print(f"\nsummary written to {out / 'control_summary.json'}")


def barrier_only(args, out: Path, config) -> None:
    """The barrier study alone, on the record and PI tuning a full run left in ``out`` (simulated if absent)."""
    saved = saved_record(out / "operating_data.parquet")
    if saved:
        frame, config, pi = saved
    else:
        pi = tune_pi(config, rule_based_setpoints(config)).pi
        frame = simulator(config, pi, args.hours, out)["frame"]
    kind = args.barrier_model
    if kind is None:
        reports = {
            k: json.loads(p.read_text()) for k in MODEL_KINDS if (p := out / "models" / f"{k}_report.json").exists()
        }
        kind = compare_pick(reports) if reports else "lstm"
    result = barrier_study(
        frame, config, pi, kind, args.barrier_weight, args.barrier_steps, args.closed_loop_hours, out
    )
    (out / "barrier_summary.json").write_text(json.dumps(result, indent=1))
    print(f"\nsummary written to {out / 'barrier_summary.json'}")


if __name__ == "__main__":
    main()
