"""Reactor-network benchmark: simulator speed and accuracy, model training, optimisers, closed loop.

    .venv/bin/python bench/bench_reactors.py            # full size (about half an hour on 2 cores)
    .venv/bin/python bench/bench_reactors.py --quick    # minutes, for a smoke run

Prints measured figures and writes them (and the trained models, in the
layout `python -m core.reactors compare` reads) under --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from core.reactors import integrator as integrator_module
from core.reactors import plant as plant_module
from core.reactors.closed_loop import CONTROLLERS, compare_controllers, run_closed_loop, summary_table
from core.reactors.control import SafetyFilter
from core.reactors.dataset import save_operating_data, split_chronological
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.learning import OPTIMIZERS, DynamicsLearner
from core.reactors.metrics import performance
from core.reactors.model_evaluation import model_report
from core.reactors.network import series_parallel, single_reactor
from core.reactors.planning import PlannerSettings
from core.reactors.plant import Plant
from core.reactors.scenarios import evaluation_scenarios, generate_operating_data, rule_based_setpoints
from core.reactors.steady_state import best_steady_state, single_reactor_steady_states
from core.reactors.tuning import tune_pi


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


def train_models(frame, config, budget_s: float, out: Path, pi) -> dict:
    section(f"Dynamics models (Adam, {budget_s:.0f} s budget each, 8 free-running steps in the loss)")
    parts = split_chronological(frame)
    models = out / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "plant.json").write_text(json.dumps({"config": config.to_dict(), "pi": pi.to_dict()}, indent=1))
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


def closed_loop(config, pi, learner, hours: float, settings: PlannerSettings) -> dict:
    section(f"Closed loop on the true plant: 3 scenarios x {hours:g} h, learned model = {learner.kind}")
    runs = compare_controllers(config, pi, learner, hours=hours, settings=settings)
    table = summary_table(runs)
    header = f"{'':<9}{'kg/h':>8}{'util %':>8}{'cap %':>7}{'sd K':>7}{'viol':>6}{'max T':>8}{'ms/step':>9}"
    for scenario in dict.fromkeys(r.scenario for r in runs):
        print(f"\n{scenario}\n{header}")
        for run in runs:
            if run.scenario == scenario:
                m = run.metrics
                print(
                    f"{run.controller:<9}{m['throughput_kg_h']:>8.0f}{m['utilization_pct']:>8.1f}{m['capacity_pct']:>7.1f}"
                    f"{m['stability_sd']:>7.2f}{m['violations']:>6}{m['max_temperature_K']:>8.1f}{m['decision_time_ms']:>9.0f}"
                )
    print(f"\nall scenarios\n{header}")
    for name in CONTROLLERS:
        m = table[name]
        print(
            f"{name:<9}{m['throughput_kg_h']:>8.0f}{m['utilization_pct']:>8.1f}{m['capacity_pct']:>7.1f}"
            f"{m['stability_sd']:>7.2f}{m['violations']:>6}{m['max_temperature_K']:>8.1f}{m['decision_time_ms']:>9.0f}"
        )
    pid, learned, oracle = (table[c]["throughput_kg_h"] for c in CONTROLLERS)
    print(
        f"throughput learned / pid = {learned / pid:.2f} (seed claims 10); oracle / pid = {oracle / pid:.2f}; "
        f"learned / oracle = {learned / oracle:.2f}"
    )
    print(
        f"ceiling at the feed limit (full conversion): {100 / table['pid']['capacity_pct'] * pid:.0f} kg/h "
        f"= {100 / table['pid']['capacity_pct']:.2f} x pid"
    )
    limit, floor = config.max_temperature_K, config.coolant_bounds_K[0]
    margins = (limit - settings.temperature_margin_K, floor + settings.coolant_headroom_K)
    fixed = best_steady_state(config, *margins)
    static = []
    for schedule in evaluation_scenarios(config, hours).values():
        plant = Plant(config, pi, schedule=schedule)
        start = (np.array(fixed.setpoints_K), np.array(fixed.feeds_L_min))
        record, _ = run_closed_loop(plant, None, round(hours * 60), settings.replan_every_min, start)
        static.append(performance(config, record))
    print(
        f"PI at the best steady state with the planner's margins (chosen offline with the true model, then fixed): "
        f"{np.mean([m['throughput_kg_h'] for m in static]):.0f} kg/h, "
        f"{sum(m['violations'] for m in static)} violations, sd {np.mean([m['stability_sd'] for m in static]):.2f} K"
    )
    table["pid_at_best_steady_state"] = {
        "throughput_kg_h": float(np.mean([m["throughput_kg_h"] for m in static])),
        "violations": int(sum(m["violations"] for m in static)),
        "stability_sd": float(np.mean([m["stability_sd"] for m in static])),
    }
    for label, t_cap, c_floor in (
        ("at the hard limits", limit, floor),
        ("with the planner's margins", *margins),
        ("at the rule's 385 K", float(rule_based_setpoints(config)[0]), floor),
    ):
        optimum = best_steady_state(config, t_cap, c_floor)
        print(
            f"best steady state {label} (T <= {t_cap:.0f} K, Tc >= {c_floor:.0f} K, nominal disturbances): "
            f"{optimum.production_kg_h:.0f} kg/h at feeds {optimum.feeds_L_min} L/min"
        )
    print(
        f"decision time per control step: learned {table['learned']['decision_time_ms']:.0f} ms, oracle "
        f"{table['oracle']['decision_time_ms']:.0f} ms, against a {settings.replan_every_min} min decision interval"
    )
    unprotected = summary_table(
        compare_controllers(
            config, pi, learner, hours=hours, settings=settings, controllers=("learned",), safety=SafetyFilter(False)
        )
    )["learned"]
    print(
        f"learned-model optimiser without the safety filter: {unprotected['violations']} violations "
        f"(max {unprotected['max_temperature_K']:.1f} K), {unprotected['throughput_kg_h']:.0f} kg/h"
    )
    table["learned_without_filter"] = unprotected
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1000.0, help="operating data to simulate")
    parser.add_argument("--train-budget", type=float, default=240.0, help="seconds of training per model")
    parser.add_argument("--optimizer-budget", type=float, default=90.0, help="seconds per optimiser run")
    parser.add_argument("--closed-loop-hours", type=float, default=12.0, help="length of each scenario")
    parser.add_argument("--out", default="runs/reactors")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.hours, args.train_budget, args.optimizer_budget, args.closed_loop_hours = 60.0, 20.0, 10.0, 1.0
    torch.manual_seed(0)
    torch.set_num_threads(1)  # timings comparable across runs on a shared 2-core machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = series_parallel()

    section("PI tuning on the true simulator")
    tic = time.perf_counter()
    tuning = tune_pi(config, rule_based_setpoints(config))
    print(f"{len(tuning.candidates)} stable candidates simulated in {time.perf_counter() - tic:.1f} s")
    print("gain per reactor:", tuning.pi.gain, "\nintegral time (min):", tuning.pi.integral_time_min)

    sim = simulator(config, tuning.pi, args.hours, out)
    frame = sim.pop("frame")
    reports = train_models(frame, config, args.train_budget, out, tuning.pi)
    opt = optimizers(frame, config, "node", args.optimizer_budget)
    best = min(reports, key=lambda k: reports[k]["model"].get("rollout_1h", reports[k]["model"]["one_step"])["scaled"])
    learner = DynamicsLearner.load(out / "models", best)
    table = closed_loop(config, tuning.pi, learner, args.closed_loop_hours, PlannerSettings())
    summary = {"simulator": sim, "models": reports, "optimizers": opt, "closed_loop": table, "pi": tuning.pi.to_dict()}
    (out / "bench_summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nsummary written to {out / 'bench_summary.json'}")


if __name__ == "__main__":
    main()
