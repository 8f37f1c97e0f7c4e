"""`python -m core validate FILE`: print the validation report of a DoE file."""

from __future__ import annotations

import argparse
import json
import sys

from core.doe.schema import Schema, SchemaError
from core.doe.validation import load_doe
from core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_ROW_ERRORS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check a DoE spreadsheet and report every problem")
    p.add_argument("file", help="CSV or XLSX file")
    p.add_argument("--schema", help="JSON schema file mapping columns to roles")
    p.add_argument("--sheet", help="worksheet name (XLSX); default: the first sheet")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--planned", action="store_true", help="a plan of runs still to be done: blank CQAs are expected")
    p.set_defaults(func=run)


def load_schema(path: str | None) -> Schema:
    """The schema from --schema, or the default template; exits 2 with a message when unusable."""
    if path is None:
        return Schema.default()
    try:
        return Schema.from_json(path)
    except SchemaError as exc:
        print(f"schema {path}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_FAILED) from exc


def run(args: argparse.Namespace) -> int:
    result = load_doe(args.file, sheet=args.sheet, schema=load_schema(args.schema), planned=args.planned)
    report = result.report
    print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) if args.json else report.to_text())
    if not report.readable:
        return EXIT_FAILED
    return EXIT_OK if report.ok else EXIT_ROW_ERRORS
