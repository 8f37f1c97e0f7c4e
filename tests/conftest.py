"""Shared fixtures: small valid DoE sheets built from the template's example profiles."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.doe import Schema
from core.doe.template import EXAMPLES, template_header


def doe_frame(n_repeats: int = 2) -> pd.DataFrame:
    """A valid DoE in template headers: every example profile, with CQAs that vary by row."""
    schema = Schema.default()
    header = template_header(schema)
    rows = []
    for rep in range(n_repeats):
        for k, (_, conc, seed, profile) in enumerate(EXAMPLES):
            features = profile.to_features()
            row = [f"run-{rep}-{k}", conc + rep, seed]
            row += [features[n] or None for n in schema.input_names[2:]]
            row += [20.0 + 3 * k + rep, 80.0 - 5 * k if k % 2 == 0 else None, 60.0 + 4 * k if rep == 0 else None]
            row.append("")
            rows.append(row)
    return pd.DataFrame(rows, columns=header)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def to_xlsx_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


@pytest.fixture
def valid_frame() -> pd.DataFrame:
    return doe_frame()
