"""`python -m core optimize` and `python -m core export`: Pareto designs and recipes from a model run."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from core.augment.persistence import load_predictor
from core.doe.schema import Schema
from core.exit_codes import EXIT_FAILED, EXIT_OK
from core.export import recipe_from_point, recipes_to_csv, recipes_to_json, recipes_to_xlsx
from core.models.fitting import FitResult
from core.models.persistence import RunFormatError, load_run
from core.optimize import response_range
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.run import optimize_profiles
from core.optimize.spec import (
    DEFAULT_DOMAIN_LIMIT,
    DOMAIN_MODES,
    Constraint,
    DesignSpec,
    Objective,
    cycles_within_data,
    data_temperature_ranges,
    default_budget,
    n_temperatures_for_cycles,
)
from core.profiles import ThermocycleProfile
from core.progress import ConsoleProgress
from core.seeding import band_for_models, seeding_band

WRITERS = {".csv": recipes_to_csv, ".json": recipes_to_json, ".xlsx": recipes_to_xlsx}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("optimize", help="Pareto-optimal thermocycle profiles per number of cycles")
    p.add_argument("run", help="run directory written by `fit`")
    p.add_argument(
        "--cycles",
        type=int,
        nargs="+",
        default=None,
        help="numbers of cycles (0 = linear; default: 0 up to the most heat-ups of an experiment)",
    )
    p.add_argument("--objectives", nargs="+", default=["D50:max", "DoA:min"], help="CQA:max or CQA:min ...")
    p.add_argument("--constraint", action="append", default=[], help='e.g. "crystallinity>=80" (repeatable)')
    p.add_argument("--risk", type=float, default=0.0, metavar="KAPPA", help="optimise mean ∓ KAPPA·std")
    p.add_argument(
        "--pop", type=int, help="population size (default: 100; 32 when a model simulates every row it predicts)"
    )
    p.add_argument("--gen", type=int, help="generations (default: 200; 25 when a model simulates every row)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--domain",
        choices=DOMAIN_MODES,
        default="strict",
        help="strict: keep designs no farther from the data than --domain-limit (default); off: only report "
        "their domain score",
    )
    p.add_argument(
        "--domain-limit",
        type=float,
        default=DEFAULT_DOMAIN_LIMIT,
        metavar="SCORE",
        help="with --domain strict, the largest domain score a design may have "
        f"(default {DEFAULT_DOMAIN_LIMIT:g}; 1 is the domain's edge)",
    )
    p.add_argument(
        "--seeding",
        choices=("data", "off"),
        default="data",
        help="data: seed as the experiments do, T1 tied to the initial concentration and heat-ups no higher "
        "above that line than theirs unless every model the design uses simulates the batch (default); off: free",
    )
    p.add_argument("--out", required=True, help="CSV of the Pareto points")
    p.set_defaults(func=run_optimize)

    e = subparsers.add_parser("export", help="write chosen Pareto points as recipes")
    e.add_argument("run", help="run directory written by `fit`")
    e.add_argument("--pareto", required=True, help="CSV written by `optimize`")
    e.add_argument("--ids", nargs="+", required=True, help="ids of the points to export")
    e.add_argument("--resolution", type=float, default=1.0, help="setpoint spacing in minutes (default: 1)")
    e.add_argument("--out", required=True, help="recipe file: .xlsx, .csv or .json")
    e.set_defaults(func=run_export)


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_FAILED


def schema_for(result: FitResult) -> Schema:
    """The schema the run saved (its data's), else the template's with as many cycles as the model's inputs hold."""
    if result.schema is not None:
        return result.schema
    input_names = result.input_names
    n_heating = sum(1 for n in input_names if n[:1] == "H" and n[1:].isdigit())
    schema = Schema.default(max_cycles=n_heating)
    extra = [n for n in input_names if n not in schema.input_names]
    if extra:
        raise ValueError(f"inputs {', '.join(extra)} have no design bounds; optimise them from the app")
    return schema


def _cycles(asked: list[int] | None, profiles: list[ThermocycleProfile], schema: Schema) -> tuple[int, ...]:
    """The cycle counts asked for, or those within the data, saying which the data leave out."""
    if asked is not None:
        return tuple(asked)
    cycles = cycles_within_data(profiles)
    most = cycles[-1]
    if most < schema.max_cycles:
        what = f"0 to {most} cycles" if most else "linear cooling only"
        often = {0: "at all", 1: "more than once"}.get(most, f"more than {most} times")
        print(
            f"designing {what}: no experiment heats up {often} "
            "(`--cycles` asks for more; their designs would lie beyond the data)",
            file=sys.stderr,
        )
    return cycles


def run_optimize(args: argparse.Namespace) -> int:
    progress = ConsoleProgress()
    try:
        spec = DesignSpec(
            objectives=tuple(Objective.parse(o) for o in args.objectives),
            constraints=tuple(Constraint.parse(c) for c in args.constraint),
            risk_kappa=args.risk,
            random_state=args.seed,
            domain=args.domain,
            domain_limit=args.domain_limit,
        )
        result, predictor = load_predictor(args.run)
        schema = schema_for(result)
        profiles = [
            ThermocycleProfile.from_features(r, schema.max_cycles) for r in result.data.inputs.to_dict("records")
        ]
        start_T, end_T = data_temperature_ranges(profiles)
        band = seeding_band(result.data.inputs) if args.seeding == "data" else None
        seeding = band_for_models(band, predictor.simulates_all(spec.quantities))
        cycles = _cycles(args.cycles, profiles, schema)
        pop, gen = default_budget(predictor.simulates)
        if predictor.simulates and args.pop is None and args.gen is None:
            print(f"a model simulates every design it predicts: population {pop}, {gen} generations", file=sys.stderr)
        spec = replace(
            spec,
            pop_size=args.pop or pop,
            n_gen=args.gen or gen,
            n_temperatures=tuple(n_temperatures_for_cycles(c) for c in cycles),
            start_T=start_T,
            end_T=end_T,
            seeding=seeding,
        )
        if seeding is not None:
            print(f"seeding as the experiments: {seeding}", file=sys.stderr)
        for caution in result.mean_cautions(sorted(spec.quantities)):
            print(f"caution: {caution}", file=sys.stderr)
        design = optimize_profiles(
            predict_fn(predictor, cqa_limits(schema)),
            schema,
            spec,
            progress=progress,
            experiments=result.data.inputs,
            measured=result.data.cqas,
        )
    except (ValueError, RunFormatError) as exc:
        return _fail(f"cannot optimise: {exc}")
    finally:
        progress.close()
    columns = ["id", "n_cycles", "profile_type", *schema.input_names]
    columns += [c for cqa in predictor.cqa_names for c in (f"{cqa}_mean", f"{cqa}_std")]
    columns += ["batch_time_min", "feasible", *[c for c in ("domain_score", "in_domain") if c in design.points]]
    design.points[[*columns, response_range.BEYOND_MEASURED]].to_csv(args.out, index=False)
    note = response_range.summary(
        design.points[design.points["feasible"]], response_range.measured_ranges(result.data.cqas)
    )
    if note:
        print(f"caution: {note}", file=sys.stderr)
    for n, front in design.points.groupby("n_cycles"):
        print(f"{n} cycles: {len(front)} Pareto points", file=sys.stderr)
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    writer = WRITERS.get(out.suffix.lower())
    if writer is None:
        return _fail(f"{out.name}: recipes are written as .xlsx, .csv or .json")
    try:
        result = load_run(args.run)
        schema = schema_for(result)
        points = pd.read_csv(args.pareto, float_precision="round_trip")
    except (ValueError, RunFormatError, OSError, pd.errors.ParserError) as exc:
        return _fail(f"cannot export: {exc}")
    if "id" not in points:
        return _fail(f"{args.pareto} has no id column; write it with `python -m core optimize`")
    missing = [i for i in args.ids if i not in set(points["id"])]
    if missing:
        return _fail(f"no Pareto point with id {', '.join(missing)} in {args.pareto}")
    chosen = points.set_index("id").loc[args.ids].reset_index()
    recipes = [recipe_from_point(row, schema) for row in chosen.to_dict("records")]
    content = writer(recipes, args.resolution) if writer is not recipes_to_csv else writer(recipes)
    out.write_bytes(content)
    print(f"wrote {len(recipes)} recipes to {out}", file=sys.stderr)
    return EXIT_OK
