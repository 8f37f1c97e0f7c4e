"""`python -m core COMMAND ...`: the headless pipeline.

Each sub-command lives next to the concept it drives and exposes
`register(subparsers)`, which adds its parser and sets `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = [
    "core.doe.cli",
    "core.models.cli",
    "core.augment.cli",
    "core.optimize.cli",
    "core.plan.cli",
    "core.reactors.cli",
    "core.virtual_lab.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="ProcessTwin command line")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
