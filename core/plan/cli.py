"""`python -m core plan`: the next batch of experiments as a DoE workbook to fill in the lab."""

from __future__ import annotations

import argparse
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.doe import load_doe
from core.doe.schema import Schema
from core.exit_codes import EXIT_FAILED, EXIT_OK
from core.models.datasets import ModelData
from core.models.features import FEATURE_SETS
from core.models.persistence import SCHEMA_FILE
from core.optimize.spec import Constraint, Objective, data_temperature_ranges, n_temperatures_for_cycles
from core.plan.lab_prior import PRIORS
from core.plan.propose import STRATEGIES, PlanSpec, default_prior, plan_experiments
from core.plan.workbook import plan_workbook
from core.profiles import ThermocycleProfile
from core.progress import ConsoleProgress


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plan",
        help="propose the next batch of experiments (batch Bayesian optimisation of the Pareto front)",
        description="Fit GPs to the data of a run (or a DoE file) and write the next k runs as a DoE workbook "
        "with blank CQA columns, a plan sheet and a recipe sheet per run.",
    )
    p.add_argument("run", help="run directory written by `fit`, or a DoE file (CSV or XLSX)")
    p.add_argument("--batch", type=int, default=4, help="number of runs to propose (default: 4)")
    p.add_argument("--cycles", type=int, nargs="+", default=[0, 1, 2, 3, 4], help="numbers of cycles (0 = linear)")
    p.add_argument("--objectives", nargs="+", default=["D50:max", "DoA:min"], help="CQA:max or CQA:min ...")
    p.add_argument("--constraint", action="append", default=[], help='e.g. "crystallinity>=80" (repeatable)')
    p.add_argument("--strategy", choices=STRATEGIES, default="ehvi", help="how to choose the runs (default: ehvi)")
    p.add_argument(
        "--features",
        choices=FEATURE_SETS,
        default=PlanSpec.features,
        help="the GPs' inputs: raw columns (default), profile descriptors shared by every type, or both",
    )
    p.add_argument(
        "--prior",
        choices=PRIORS,
        help="virtual_lab: the GPs also learn from simulated runs (the data's and a design over the planning space, "
        "calibrated on the data), so that they follow the simulator's trends where no run went; none: the data "
        "alone (default: virtual_lab when the data's inputs and CQAs are the simulator's, else none)",
    )
    p.add_argument(
        "--simulator-runs",
        type=int,
        default=PlanSpec.simulator_runs,
        help="ehvi with the virtual lab as prior: how many runs of the batch are the fitted simulator's own best "
        f"designs (default: {PlanSpec.simulator_runs})",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="workbook to write (.xlsx)")
    p.set_defaults(func=run_plan)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_FAILED


def load_data(source: str) -> tuple[ModelData, Schema]:
    """The rows to plan from: a fit run's data.csv, or a DoE file validated like `python -m core validate`."""
    path = Path(source)
    if path.is_dir():
        settings, data = path / "settings.json", path / "data.csv"
        if not (settings.exists() and data.exists()):
            raise ValueError(f"{path} is not a run directory written by `python -m core fit`")
        input_names = [str(c) for c in json.loads(settings.read_text(encoding="utf-8"))["input_names"]]
        frame = pd.read_csv(io.StringIO(data.read_text(encoding="utf-8")), float_precision="round_trip")
        max_cycles = sum(1 for n in input_names if n[:1] == "H" and n[1:].isdigit())
        saved = path / SCHEMA_FILE
        schema = Schema.from_json(saved) if saved.exists() else Schema.default(max_cycles)
        if input_names != schema.input_names:
            raise ValueError(
                "the run has inputs beyond the template's and saved no schema with their bounds; plan from the app"
            )
        return ModelData.from_frame(frame, input_names, None, max_cycles), schema
    result = load_doe(path)
    if result.data is None:
        raise ValueError(f"{path} cannot be used:\n{result.report.to_text()}")
    return ModelData.from_doe(result.data), result.data.schema


def run_plan(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        return _fail(f"{out.name}: the plan is written as an .xlsx workbook")
    try:
        data, schema = load_data(args.run)
        profiles = [ThermocycleProfile.from_features(r, schema.max_cycles) for r in data.inputs.to_dict("records")]
        start_T, end_T = data_temperature_ranges(profiles)
        spec = PlanSpec(
            batch_size=args.batch,
            strategy=args.strategy,
            objectives=tuple(Objective.parse(o) for o in args.objectives),
            constraints=tuple(Constraint.parse(c) for c in args.constraint),
            n_temperatures=tuple(n_temperatures_for_cycles(c) for c in args.cycles),
            start_T=start_T,
            end_T=end_T,
            random_state=args.seed,
            features=args.features,
            simulator_runs=args.simulator_runs,
            n_jobs=-1,
        )
        prior, reason = (args.prior, None) if args.prior else default_prior(data.inputs, data.cqas, spec)
        if reason:
            print(f"planning from the data alone: {reason}", file=sys.stderr)
        spec = replace(spec, prior=prior)
        progress = ConsoleProgress()
        try:
            plan = plan_experiments(data.inputs, data.cqas, schema, spec, progress=progress)
        finally:
            progress.close()
    except (ValueError, OSError, KeyError, json.JSONDecodeError, pd.errors.ParserError) as exc:
        return _fail(f"cannot plan: {exc}")
    try:
        out.write_bytes(plan_workbook(plan.runs, schema))
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}")
    cols = [
        "id",
        "profile_type",
        *(f"{c}_{s}" for c in data.cqa_names for s in ("mean", "std")),
        "expected_improvement",
    ]
    print(plan.runs[[c for c in cols if c in plan.runs]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print("; ".join(plan.notes), file=sys.stderr)
    print(f"wrote {len(plan.runs)} runs ({spec.strategy}, {plan.seconds:.1f} s) to {out}", file=sys.stderr)
    return EXIT_OK
