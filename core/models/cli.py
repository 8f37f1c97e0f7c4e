"""`python -m core fit` and `python -m core predict`: surrogate models from the command line."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from core.augment.persistence import load_predictor
from core.doe import DoEData, DoEReadError, load_doe, read_rows
from core.doe.cli import load_schema
from core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS
from core.models.datasets import ModelData
from core.models.features import FEATURE_SETS
from core.models.fitting import FitResult, fit_cqa_models
from core.models.persistence import RunFormatError, save_run
from core.models.scaleout import DASK_ENV, compute_backend, scheduler_address
from core.models.search import SEARCH_MODES
from core.models.target import TARGET_SCALES
from core.models.uncertainty import CALIBRATIONS, UQ_METHODS
from core.models.zoo import DEFAULT_FAMILIES, FAMILIES, SEARCHED_FAMILIES

# per CQA: the mean, the std of a new run, and its two parts (what the model does not know, the run's own scatter)
PREDICTED = ("mean", "std", "std_of_mean", "noise_std")


def register(subparsers: argparse._SubParsersAction) -> None:
    fit = subparsers.add_parser("fit", help="fit a surrogate model with uncertainty for every CQA")
    fit.add_argument("file", help="DoE file (CSV or XLSX)")
    fit.add_argument("--schema", help="JSON schema file mapping columns to roles")
    fit.add_argument("--holdout", help="separate hold-out DoE file (default: a stratified split of FILE)")
    fit.add_argument("--out", required=True, help="run directory to write (metrics.json, settings, data)")
    fit.add_argument("--search", choices=SEARCH_MODES, default="fast", help="hyper-parameter search (default: fast)")
    fit.add_argument("--folds", type=int, default=3, help="K of the K-fold cross-validation (default: 3)")
    fit.add_argument("--uq", choices=UQ_METHODS, default="mccv", help="uncertainty ensemble (default: mccv)")
    fit.add_argument("--members", type=int, default=25, help="ensemble members (default: 25)")
    fit.add_argument(
        "--calibration", choices=CALIBRATIONS, default="conformal", help="interval calibration (default: conformal)"
    )
    fit.add_argument(
        "--features",
        choices=("auto", *FEATURE_SETS),
        default="auto",
        help="model inputs: raw columns, shared profile descriptors, both, or auto (chosen by validation; default)",
    )
    fit.add_argument(
        "--target-scale",
        choices=TARGET_SCALES,
        default="auto",
        help="auto: a CQA with a finite limit is modelled as measured or on its limits' scale (logit for a "
        "percentage, log for a size), whichever validation prefers (default); identity: every CQA as measured; "
        "limits: every CQA with a finite limit on its limits' scale",
    )
    fit.add_argument(
        "--no-average",
        dest="average",
        action="store_false",
        help="do not score or use the average of the best families (see README, Models)",
    )
    fit.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fit.add_argument("--cqa", action="append", help="fit only this CQA (repeatable)")
    fit.add_argument(
        "--families",
        default=",".join(DEFAULT_FAMILIES),
        help=f"comma-separated model families of {','.join(SEARCHED_FAMILIES)} (default: {','.join(DEFAULT_FAMILIES)})",
    )
    fit.add_argument(
        "--model", action="append", default=[], metavar="CQA=FAMILY", help=f"use FAMILY ({', '.join(FAMILIES)}) for CQA"
    )
    fit.add_argument("--dask", metavar="ADDRESS", help=f"Dask scheduler address (default: ${DASK_ENV}, else local)")
    fit.add_argument("--n-jobs", type=int, default=-1, help="local parallel processes (default: all cores)")
    fit.set_defaults(func=run_fit)

    predict = subparsers.add_parser(
        "predict",
        help="predict every CQA (mean, std of a new run, std of the mean response, noise std) for the rows of a "
        "file, with each row's applicability-domain score",
    )
    predict.add_argument("run", help="run directory written by `fit`")
    predict.add_argument("file", help="CSV or XLSX with the input columns")
    predict.add_argument("--schema", help="JSON schema file mapping columns to roles")
    predict.add_argument("--json", action="store_true", help="print JSON instead of CSV")
    predict.set_defaults(func=run_predict)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _load(path: str, schema_path: str | None, what: str) -> DoEData | None:
    result = load_doe(path, schema=load_schema(schema_path))
    report = result.report
    if result.data is None:
        _err(f"{what} {path} cannot be used:\n{report.to_text()}")
        return None
    if report.errors:
        _err(f"{what} {path}: {len(report.errors)} problems; rows with errors are left out:\n{report.to_text()}")
    return result.data


def _parse_choice(items: list[str]) -> dict[str, str]:
    choice = {}
    for item in items:
        cqa, sep, name = item.partition("=")
        if not sep or not cqa or not name:
            raise ValueError(f"--model takes CQA=FAMILY, got {item!r}")
        choice[cqa.strip()] = name.strip()
    return choice


def run_fit(args: argparse.Namespace) -> int:
    data = _load(args.file, args.schema, "DoE file")
    holdout = _load(args.holdout, args.schema, "hold-out file") if args.holdout else None
    if data is None or (args.holdout and holdout is None):
        return EXIT_ROW_ERRORS
    try:
        choice = _parse_choice(args.model)
        with compute_backend(scheduler_address(args.dask), n_jobs=args.n_jobs) as where:
            _err(f"fitting on {where}")
            result = fit_cqa_models(
                data,
                args.cqa,
                holdout=holdout,
                search=args.search,
                folds=args.folds,
                uq=args.uq,
                n_members=args.members,
                calibration=args.calibration,
                families=[f.strip() for f in args.families.split(",") if f.strip()],
                choice=choice,
                features=args.features,
                target_scale=args.target_scale,
                average=args.average,
                random_state=args.seed,
                progress=lambda fraction, message: _err(f"[{fraction:4.0%}] {message}"),
            )
    except ValueError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED
    out = save_run(result, args.out)
    print(_summary(result))
    print(f"run written to {out}")
    return EXIT_OK


def _summary(result: FitResult) -> str:
    lines = [
        f"{'CQA':<14} {'model':<9} {'CV MSE':>12} {'test MSE':>9} {'vs mean':>8} {'test R²':>8} "
        f"{'±1σ':>5} {'±2σ':>5} {'train':>5} {'test':>4}"
    ]

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    for cqa, m in result.metrics.items():
        lines.append(
            f"{cqa:<14} {m.best_model:<9} {m.cv_mse:>12.4g} {fmt(m.test_mse, '.4g'):>9} "
            f"{fmt(m.test_gain_over_mean, '+.0%'):>8} {fmt(m.test_r2, '.3f'):>8} "
            f"{fmt(m.coverage_1sd, '.0%'):>5} {fmt(m.coverage_2sd, '.0%'):>5} {m.n_train:>5} {m.n_test:>4}"
        )
    lines += [f"{cqa:<14} skipped: {why}" for cqa, why in result.skipped.items()]
    lines += result.mean_cautions()
    if any(m.test_gain_over_mean is not None for m in result.metrics.values()):
        lines.append("vs mean: change of the hold-out MSE against the training rows' mean (negative: better)")
    return "\n".join(lines)


def run_predict(args: argparse.Namespace) -> int:
    try:
        result, predictor = load_predictor(args.run)
    except RunFormatError as exc:
        _err(f"run {args.run}: {exc}")
        return EXIT_FAILED
    try:
        rows = read_rows(Path(args.file), schema=load_schema(args.schema))
        inputs = ModelData.from_frame(rows.reset_index(), result.input_names, []).inputs
    except (DoEReadError, ValueError) as exc:
        _err(f"{args.file}: {exc}")
        return EXIT_ROW_ERRORS
    table = predictor.predict_frame(inputs, split=True)
    table["domain_score"], table["in_domain"] = predictor.domain_scores(inputs)
    if args.json:
        records = [
            {
                "row": _plain(row),
                **{c: {key: _number(r[f"{c}_{key}"]) for key in PREDICTED} for c in result.fits},
                "domain_score": _number(r["domain_score"]),
                "in_domain": bool(r["in_domain"]),
            }
            for row, r in table.iterrows()
        ]
        print(json.dumps(records, indent=2))
    else:
        print(table.to_csv(index_label="row"), end="")
    return EXIT_OK


def _number(value: float) -> float | None:
    """JSON has no NaN or infinity: a row the model cannot score (not a valid profile) gives null."""
    return float(value) if math.isfinite(value) else None


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value
