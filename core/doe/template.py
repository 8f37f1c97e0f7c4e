"""The Excel template engineers fill in: one example row per profile type and a sheet explaining each column."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.styles import Font, PatternFill

from core.doe.schema import Schema
from core.profiles import ThermocycleProfile

# One illustrative experiment per profile type of Table 1 (Barhate et al., 2025), inside the Table 2 bounds.
EXAMPLES: list[tuple[str, float, float, ThermocycleProfile]] = [
    ("linear cooling", 40.0, 0.10, ThermocycleProfile((60, 10), (0.1,))),
    ("linear cool + heat", 40.0, 0.10, ThermocycleProfile((60, 20, 35), (0.1,), (0.5,))),
    ("1 cycle", 35.0, 0.10, ThermocycleProfile((60, 25, 45, 10), (0.2, 0.1), (0.7,))),
    ("2 cycles", 35.0, 0.12, ThermocycleProfile((60, 30, 48, 20, 38, 10), (0.2, 0.15, 0.1), (0.7, 0.7))),
    (
        "3 cycles",
        45.0,
        0.10,
        ThermocycleProfile((65, 35, 52, 25, 42, 18, 30, 5), (0.2, 0.15, 0.1, 0.1), (0.8, 0.8, 0.6)),
    ),
    (
        "4 cycles",
        45.0,
        0.15,
        ThermocycleProfile((65, 40, 55, 30, 45, 22, 35, 15, 25, 5), (0.3, 0.2, 0.15, 0.1, 0.05), (1.0, 0.8, 0.8, 0.5)),
    ),
]

HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def template_header(schema: Schema) -> list[str]:
    """Template headers: canonical names with units in brackets (matched back case- and unit-insensitively)."""
    names = ["run_id", *schema.input_names, *schema.cqa_names, "notes"]
    return [_with_unit(schema, n) for n in names]


def _with_unit(schema: Schema, name: str) -> str:
    try:
        unit = schema.variable(name).unit
    except KeyError:
        return name
    return f"{name} ({unit})" if unit else name


def build_template(schema: Schema | None = None) -> bytes:
    """XLSX bytes of the template workbook."""
    schema = schema or Schema.default()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "DoE"
    ws.append(template_header(schema))
    for k, (label, conc, seed, profile) in enumerate(EXAMPLES, start=1):
        if profile.n_cycles > schema.max_cycles:
            continue
        features = profile.to_features(schema.max_cycles)
        row: list[object] = [f"example-{k}", conc, seed]
        row += [features.get(n) or None for n in schema.input_names[2:]]
        row += [None] * len(schema.cqa_names) + [f"example {label} profile; replace with your runs"]
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    ws.freeze_panes = "B2"
    _write_guide(wb.create_sheet("Columns"), schema)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _write_guide(ws: openpyxl.worksheet.worksheet.Worksheet, schema: Schema) -> None:
    ws.append(["column", "role", "unit", "meaning", "design-space bounds"])
    ws.append(["run_id", "kept", "", "your identifier for the experiment (any text)", ""])
    for v in schema.variables:
        bounds = f"{v.bounds[0]:g} to {v.bounds[1]:g}" if v.bounds else ""
        role = "input" if v.role == "input" else "CQA (leave blank when not measured)"
        ws.append([v.name, role, v.unit, v.description, bounds])
    ws.append(["notes", "kept", "", "free text; any other column is kept too but not modelled", ""])
    ws.append([])
    for line in (
        "Profile: T1 is the start temperature. Ramps alternate: T1 cools to T2 at C1, T2 heats to T3 at H1,",
        "T3 cools to T4 at C2, and so on. N thermocycles use T1..T(2N+2), C1..C(N+1) and H1..HN.",
        "Cooling set points must not rise (Eq. 3), heating set points must not fall (Eq. 2).",
        "An unused set point or rate is blank (or 0), and so is everything after it (Eq. 4).",
        "Headers are matched ignoring case and the unit in brackets, so 'D50 (µm)' and 'd50' are the same column.",
        "Another unit in brackets is converted to the one above: 'T1 (K)', 'C1 (°C/h)', 'seed_loading (wt%)'.",
    ):
        ws.append([line])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["D"].width = 60
