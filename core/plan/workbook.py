"""The proposed runs as a DoE workbook to take to the lab and upload back.

Sheet ``DoE`` has the template's layout (`core.doe.template`): run id, inputs,
blank CQA columns to fill in, notes. Sheet ``plan`` lists every run's
predictions ± σ, expected improvement and domain score, and one sheet per run
holds its recipe (segment table and setpoint series, as `core.export` writes
them). `python -m core validate --planned` and `simulate` read the first sheet.
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
from openpyxl.styles import Font

from core.doe.schema import Schema
from core.doe.template import HEADER_FILL, template_header
from core.export import Recipe, recipe_from_point, recipes_to_xlsx
from core.plan.propose import ABOVE_SEEDING_LINE

DOE_SHEET, PLAN_SHEET = "DoE", "plan"


def plan_workbook(runs: pd.DataFrame, schema: Schema, resolution_min: float = 1.0) -> bytes:
    """XLSX bytes: the DoE sheet (blank CQAs), the plan summary and a recipe sheet per run."""
    wb = openpyxl.load_workbook(io.BytesIO(recipes_to_xlsx(_recipes(runs, schema), resolution_min)))
    summary = wb["summary"]
    summary.title = PLAN_SHEET
    for cell in summary[1]:
        cell.font = Font(bold=True)
    _fill_plan_extras(summary, runs)
    doe = wb.create_sheet(DOE_SHEET, 0)
    doe.append(template_header(schema))
    for row in runs.to_dict("records"):
        values: list[object] = [row["id"]]
        values += [_cell(row[n], n in schema.profile_names) for n in schema.input_names]
        values += [None] * len(schema.cqa_names)
        values.append(_note(row, schema))
        doe.append(values)
    for cell in doe[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    doe.freeze_panes = "B2"
    wb.active = 0
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _recipes(runs: pd.DataFrame, schema: Schema) -> list[Recipe]:
    return [recipe_from_point(r, schema) for r in runs.to_dict("records")]


def _cell(value: float, profile_entry: bool) -> float | None:
    """Unused profile entries are blank (Eq. 4); numbers are rounded to what a lab can set."""
    if profile_entry and value == 0:
        return None
    return round(float(value), 4)


def _note(row: dict, schema: Schema) -> str:
    predicted = ", ".join(
        f"{c} {row[f'{c}_mean']:.3g} ± {row[f'{c}_std']:.2g}" for c in schema.cqa_names if f"{c}_mean" in row
    )
    return f"planned ({row['strategy']}); predicted {predicted}"


def _fill_plan_extras(ws: openpyxl.worksheet.worksheet.Worksheet, runs: pd.DataFrame) -> None:
    extras = [c for c in ("strategy", "expected_improvement", "domain_score", ABOVE_SEEDING_LINE) if c in runs]
    start = ws.max_column + 1
    for j, name in enumerate(extras):
        ws.cell(1, start + j, name).font = Font(bold=True)
        for i, value in enumerate(runs[name], start=2):
            ws.cell(i, start + j, value if isinstance(value, str) else float(value))
