"""The design bounds as an editable table: one row per scalar input, one per kind of profile variable, and the
ranges where batches start and end."""

from __future__ import annotations

import pandas as pd

from core.doe.schema import Schema

START, FINAL = "start temperature", "final temperature"
GROUPS = {"T1": "T (all set points)", "C1": "C (cooling rates)", "H1": "H (heating rates)"}  # bounded by Table 2
Range = tuple[float, float]


def bounds_table(schema: Schema, start_T: Range, end_T: Range) -> pd.DataFrame:
    """Columns variable, low, high: the schema's bounds (Table 2 by default) and the given temperature ranges."""
    bounds = schema.bounds
    rows = [(GROUPS.get(n, n), *bounds[n]) for n in (*schema.scalar_inputs, *GROUPS) if n in bounds]
    rows += [(START, *start_T), (FINAL, *end_T)]
    return pd.DataFrame(rows, columns=["variable", "low", "high"])


def read_bounds_table(
    table: pd.DataFrame, schema: Schema, start_T: Range, end_T: Range
) -> tuple[dict[str, Range], Range, Range, list[str]]:
    """Bounds per decision variable, start and final temperature ranges, and a message per row not used.

    A row whose low bound exceeds its high bound is not used (the default stays), and says so.
    """
    kinds = {label: name[0] for name, label in GROUPS.items()}
    bounds: dict[str, Range] = {}
    ranges = {START: start_T, FINAL: end_T}
    problems = []
    for r in table.itertuples():
        if not r.low <= r.high:
            problems.append(f"{r.variable}: the low bound must not exceed the high bound; the default is used")
        elif r.variable in ranges:
            ranges[r.variable] = (float(r.low), float(r.high))
        else:
            kind = kinds.get(r.variable)
            targets = [n for n in schema.profile_names if n[0] == kind] if kind else [r.variable]
            bounds.update({t: (float(r.low), float(r.high)) for t in targets})
    return bounds, ranges[START], ranges[FINAL], problems
