"""Command line of the reactor-network workflow.

    python -m core.reactors simulate --hours 1000 --out data.csv
    python -m core.reactors train data.csv --model lstm --out models/ [--barrier-weight 1]
    python -m core.reactors models models/ [--json]
    python -m core.reactors compare models/ [--json] [--steadiness 20] [--free-setpoints | --setpoint-move 2]
        [--offset-correction 10] [--trust-limit 10] [--cem-oracle]

`register` adds the same commands under ``python -m core reactors``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from core.progress import ConsoleProgress
from core.reactors.closed_loop import CONTROLLERS, OPTIONAL_CONTROLLERS, compare_controllers, summary_table
from core.reactors.control import PIConfig
from core.reactors.dataset import ReactorDataError, load_operating_data, save_operating_data, split_chronological
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.learning import OPTIMIZERS, DynamicsLearner
from core.reactors.model_evaluation import model_caveats, model_report
from core.reactors.network import NetworkConfig, series_parallel
from core.reactors.planning import PlannerSettings
from core.reactors.scenarios import default_pi, generate_operating_data

PLANT_FILE = "plant.json"
DEFAULT_TRAIN_SECONDS = 120.0  # `train` finishes in minutes on a laptop unless asked for more (--max-time)
TABLE_COLUMNS = (
    ("throughput_kg_h", "throughput kg/h", "{:.0f}"),
    ("utilization_pct", "utilisation %", "{:.1f}"),
    ("capacity_pct", "capacity %", "{:.1f}"),
    ("stability_sd", "stability sd K", "{:.2f}"),
    ("violations", "violations", "{:d}"),
    ("max_temperature_K", "max T K", "{:.1f}"),
    ("decision_time_ms", "ms/decision", "{:.0f}"),
    ("share_of_optimum", "% of optimum", "{:.1%}"),
    ("held_decisions", "feed held back", "{:d}"),  # decisions in which the trust limit held a feed; planners only
)


def _simulate(args: argparse.Namespace) -> int:
    config = series_parallel()
    progress = None if args.quiet else ConsoleProgress()
    frame, metadata = generate_operating_data(config, args.hours, random_state=args.seed, progress=progress)
    if progress is not None:
        progress.close()
    path = save_operating_data(frame, metadata, args.out)
    print(f"wrote {len(frame)} samples ({args.hours:g} h) to {path}")
    return 0


def _train(args: argparse.Namespace) -> int:
    data = load_operating_data(args.data)
    parts = split_chronological(data.frame)
    learner = DynamicsLearner(
        kind=args.model,
        max_steps=args.max_steps,
        optimizer=args.optimizer,
        rollout_steps=args.rollout_steps,
        barrier_weight=args.barrier_weight,
        max_time_s=args.max_time,
        random_state=args.seed,
    )
    progress = None if args.quiet else ConsoleProgress()
    learner.fit(parts["train"], parts["validation"], data.config, progress=progress)
    if progress is not None:
        progress.close()
        if _stopped_while_improving(learner):
            print(
                f"stopped at its {args.max_time:g} s budget while the validation loss was still falling; "
                "`--max-time` gives it longer",
                file=sys.stderr,
            )
    out = Path(args.out)
    learner.save(out)
    pi = data.metadata.get("pi") or default_pi(data.config).to_dict()
    (out / PLANT_FILE).write_text(json.dumps({"config": data.config.to_dict(), "pi": pi}, indent=1))
    report = model_report(learner, parts["test"])
    (out / f"{args.model}_report.json").write_text(json.dumps(report, indent=1))
    print(_model_table({args.model: report}))
    return 0


def _stopped_while_improving(learner: DynamicsLearner) -> bool:
    history = learner.history_
    out_of_time = learner.max_time_s is not None and learner.train_time_s_ >= learner.max_time_s
    return out_of_time and history[-1].val_loss <= min(p.val_loss for p in history)


def _load_reports(directory: Path) -> dict[str, dict]:
    reports = {}
    for kind in MODEL_KINDS:
        path = directory / f"{kind}_report.json"
        if path.exists():
            reports[kind] = json.loads(path.read_text())
    if not reports:
        raise ReactorDataError(f"No trained models in {directory}; run `python -m core.reactors train` first.")
    return reports


def _model_table(reports: dict[str, dict]) -> str:
    lines = [f"{'model':<12}{'one-step T K':>14}{'1 h T K':>10}{'10 h T K':>10}{'1 h scaled':>12}{'10 h scaled':>13}"]
    rows = [(kind, r["model"]) for kind, r in reports.items()]
    rows.append(("persistence", next(iter(reports.values()))["persistence"]))
    for name, r in rows:
        cells = [r.get("one_step", {}).get("temperature_K")]
        cells += [r.get(k, {}).get("temperature_K") for k in ("rollout_1h", "rollout_10h")]
        cells += [r.get(k, {}).get("scaled") for k in ("rollout_1h", "rollout_10h")]
        text = ["-" if c is None else f"{c:.3f}" for c in cells]
        lines.append(f"{name:<12}{text[0]:>14}{text[1]:>10}{text[2]:>10}{text[3]:>12}{text[4]:>13}")
    return "\n".join(lines)


def _models(args: argparse.Namespace) -> int:
    reports = _load_reports(Path(args.directory))
    print(json.dumps(reports, indent=1) if args.json else _model_table(reports))
    return 0


def _best_model(reports: dict[str, dict]) -> str:
    def score(kind: str) -> float:
        rollout = reports[kind]["model"].get("rollout_1h") or reports[kind]["model"]["one_step"]
        return rollout["scaled"]

    return min(reports, key=score)


def planner_settings(args: argparse.Namespace) -> PlannerSettings:
    """The learned optimiser's settings from `compare`'s options: its defaults wherever no option is given."""
    settings = PlannerSettings(
        replan_every_min=args.replan, steadiness_weight_kg_h_K2=args.steadiness, random_state=args.seed
    )
    if args.free_setpoints:
        settings = replace(settings, max_setpoint_move_K=None)
    given = {
        "max_setpoint_move_K": args.setpoint_move,
        "offset_window_min": args.offset_correction,
        "coolant_headroom_K": args.coolant_headroom,
    }
    settings = replace(settings, **{k: v for k, v in given.items() if v is not None})
    if args.trust_limit is not None:
        settings = replace(settings, trust_limit_K=args.trust_limit or None)
    return settings


def _compare(args: argparse.Namespace) -> int:
    if args.free_setpoints and args.setpoint_move is not None:
        raise ValueError("Give either --free-setpoints or --setpoint-move, not both.")
    directory = Path(args.directory)
    reports = _load_reports(directory)
    kind = args.model or _best_model(reports)
    if kind not in reports:
        raise ReactorDataError(f"No trained {kind} model in {directory}.")
    learner = DynamicsLearner.load(directory, kind)
    caveats = model_caveats(reports[kind])
    if not args.json:
        for caveat in caveats:
            print(f"caution: {caveat}", file=sys.stderr)
    plant_path = directory / PLANT_FILE
    if plant_path.exists():
        plant = json.loads(plant_path.read_text())
        config, pi = NetworkConfig.from_dict(plant["config"]), PIConfig.from_dict(plant["pi"])
    else:
        config = learner.config_
        pi = default_pi(config)
    settings = planner_settings(args)
    progress = None if args.quiet or args.json else ConsoleProgress()
    runs = compare_controllers(
        config,
        pi,
        learner,
        hours=args.hours,
        controllers=CONTROLLERS + (OPTIONAL_CONTROLLERS if args.cem_oracle else ()),
        settings=settings,
        random_state=args.seed,
        progress=progress,
    )
    if progress is not None:
        progress.close()
    table = summary_table(runs)
    optimum = table["pid"]["optimum_kg_h"]
    if args.json:
        print(json.dumps({"model": kind, "caveats": caveats, "optimum_kg_h": optimum, **table}, indent=1))
        return 0
    print(f"learned model: {kind}; {len({r.scenario for r in runs})} scenarios x {args.hours:g} h")
    print(f"steady-state optimum at the hard limits (true model, mean over scenarios): {optimum:.0f} kg/h")
    print(_metrics_table(table))
    return 0


def _metrics_table(table: dict[str, dict]) -> str:
    header = f"{'':<10}" + "".join(f"{label:>17}" for _, label, _ in TABLE_COLUMNS)
    lines = [header]
    for controller in CONTROLLERS + OPTIONAL_CONTROLLERS:
        if controller in table:
            row = table[controller]
            cells = [
                fmt.format(int(row[key]) if fmt == "{:d}" else row[key]) if key in row else "–"
                for key, _, fmt in TABLE_COLUMNS
            ]
            lines.append(f"{controller:<10}" + "".join(f"{c:>17}" for c in cells))
    return "\n".join(lines)


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be zero or positive, got {text}")
    return value


def _minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of minutes, got {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be zero or positive, got {text}")
    return value


def add_commands(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="reactor_command", required=True)
    simulate = sub.add_parser("simulate", help="simulate operating data of the 10-CSTR network")
    simulate.add_argument("--hours", type=_positive(float), default=1000.0)
    simulate.add_argument("--out", required=True, help="output file, .csv or .parquet")
    simulate.add_argument("--seed", type=int, default=0)
    simulate.add_argument("--quiet", action="store_true")
    simulate.set_defaults(handler=_simulate)

    train = sub.add_parser("train", help="train a dynamics model on operating data")
    train.add_argument("data")
    train.add_argument("--model", choices=MODEL_KINDS, default="lstm")
    train.add_argument("--out", required=True, help="directory for the trained model")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument("--max-steps", type=_positive(int), default=3000)
    train.add_argument(
        "--max-time",
        type=_positive(float),
        default=DEFAULT_TRAIN_SECONDS,
        help=f"wall-clock budget in seconds (default {DEFAULT_TRAIN_SECONDS:g}); training stops early on its own",
    )
    train.add_argument("--rollout-steps", type=_positive(int), default=8)
    train.add_argument(
        "--barrier-weight",
        type=_non_negative,
        default=0.0,
        help="weight of the temperature-limit barrier on the free-running steps of the loss (0 = none)",
    )
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--quiet", action="store_true")
    train.set_defaults(handler=_train)

    models = sub.add_parser("models", help="print the accuracy of the trained models")
    models.add_argument("directory")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=_models)

    compare = sub.add_parser("compare", help="PI vs learned-model optimiser vs true-model optimiser")
    compare.add_argument("directory")
    compare.add_argument("--model", choices=MODEL_KINDS, default=None, help="default: best 1 h rollout")
    compare.add_argument("--hours", type=_positive(float), default=12.0, help="length of each scenario")
    compare.add_argument("--replan", type=_positive(int), default=10, help="minutes between optimiser decisions")
    compare.add_argument(
        "--steadiness",
        type=_non_negative,
        default=0.0,
        help="planner weight (kg/h per K^2) on predicted temperature variance and setpoint changes",
    )
    compare.add_argument(
        "--free-setpoints",
        action="store_true",
        help="let the learned optimiser move the temperature setpoints (default: it moves the feeds, PI holds T)",
    )
    compare.add_argument(
        "--setpoint-move",
        type=_non_negative,
        default=None,
        metavar="K",
        help="largest setpoint move per decision (default 0: the setpoints are held)",
    )
    compare.add_argument(
        "--offset-correction",
        type=_minutes,
        default=None,
        metavar="MIN",
        help="correct the learned model's forecasts by its mean error over the last MIN minutes "
        f"(default {PlannerSettings.offset_window_min}; 0: off)",
    )
    compare.add_argument(
        "--coolant-headroom",
        type=_non_negative,
        default=None,
        metavar="K",
        help=f"coolant reserve above its floor the planner keeps (default {PlannerSettings.coolant_headroom_K:g} K)",
    )
    compare.add_argument(
        "--trust-limit",
        type=_non_negative,
        default=None,
        metavar="K",
        help="hold a feed while the learned model misses the coolant command of a reactor it reaches by more than K "
        f"(default {PlannerSettings.trust_limit_K:g} K; 0: off)",
    )
    compare.add_argument(
        "--cem-oracle", action="store_true", help="also run the search on the true model and the shooting MPC"
    )
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--json", action="store_true")
    compare.add_argument("--quiet", action="store_true")
    compare.set_defaults(handler=_compare)


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except (ReactorDataError, ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def register(subparsers) -> None:
    """Add ``reactors`` to ``python -m core``."""
    parser = subparsers.add_parser("reactors", help="reactor-network workflow")
    add_commands(parser)
    parser.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.reactors", description="Reactor-network workflow")
    add_commands(parser)
    args = parser.parse_args(argv)
    return _run(args)


__all__ = ["main", "planner_settings", "register"]
