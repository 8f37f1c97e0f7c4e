"""`python -m core simulate FILE`: run the virtual lab on every profile row of a DoE file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.doe import DoEReadError, read_rows
from core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS
from core.virtual_lab.simulator import CQA_NAMES, simulate_rows


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="run the virtual lab on every profile row of a DoE file",
        description="Simulate each row (CQA columns are ignored) and print D50, DoA and crystallinity in row order. "
        "Rows that are not a feasible profile get an error entry instead.",
    )
    p.add_argument("file", help="CSV or XLSX file with the DoE columns")
    p.add_argument("--sheet", help="worksheet name (XLSX); default: the first sheet")
    p.add_argument("--noise", action="store_true", help="add batch-to-batch kinetic scatter and measurement noise")
    p.add_argument("--seed", type=int, default=0, help="random seed of the noise (default 0)")
    p.add_argument("--jobs", type=_positive_int, default=1, help="parallel worker processes (default 1)")
    p.add_argument("--json", action="store_true", help="print a JSON list, one entry per row")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        frame = read_rows(args.file, sheet=args.sheet)
    except DoEReadError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if frame.empty:
        print(f"{args.file}: the file has a header but no data rows", file=sys.stderr)
        return EXIT_FAILED
    results = simulate_rows(frame, noise=args.noise, random_state=args.seed, n_jobs=args.jobs)
    entries = [_entry(int(row), result) for row, result in zip(frame.index, results.to_dict("records"), strict=True)]
    print(json.dumps(entries, indent=2, ensure_ascii=False) if args.json else _as_text(entries))
    return EXIT_ROW_ERRORS if any("error" in e for e in entries) else EXIT_OK


def _entry(row: int, result: dict[str, Any]) -> dict[str, Any]:
    if isinstance(result["error"], str):
        return {"row": row, "error": result["error"]}
    return {"row": row, **{name: float(result[name]) for name in CQA_NAMES}}


def _as_text(entries: list[dict[str, Any]]) -> str:
    lines = [f"{'row':>5}  {'D50 (µm)':>9}  {'DoA (%)':>8}  {'crystallinity (%)':>17}"]
    for e in entries:
        if "error" in e:
            lines.append(f"{e['row']:>5}  error: {e['error']}")
        else:
            d50, doa, cryst = (e[name] for name in CQA_NAMES)
            lines.append(f"{e['row']:>5}  {d50:9.1f}  {doa:8.1f}  {cryst:17.1f}")
    n_errors = sum("error" in e for e in entries)
    if n_errors:
        lines.append(f"{n_errors} of {len(entries)} rows could not be simulated")
    return "\n".join(lines)
