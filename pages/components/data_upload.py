"""The Data screen's upload helpers: the schema file, the column roles, the sheet and the validation report."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.doe import RawTable, Schema, SchemaError, ValidationReport
from core.doe.schema import spec_with_roles
from pages import state

NOT_MODELLED = "(not modelled)"
HIGHLIGHT = {"error": "background-color: #f8d0d0", "warning": "background-color: #fbeec2"}


def schema_spec() -> dict[str, Any]:
    """The uploaded schema file as a dict ({} for the template), or {} with an error shown."""
    with st.expander("Schema file (optional)"):
        st.markdown(
            "Headers are matched ignoring case and units in brackets. For other names, extra CQAs or inputs, "
            "other bounds or more cycles, upload a JSON schema file (see README)."
        )
        upload = st.file_uploader("Schema file", type=["json"], key="schema_upload")
        if upload is None:
            return {}
        try:
            spec = json.loads(upload.getvalue().decode("utf-8"))
            Schema.from_json(spec)
        except (UnicodeDecodeError, json.JSONDecodeError, SchemaError) as exc:
            st.error(f"Schema not used: {exc}")
            return {}
        st.success(f"Using schema {upload.name}")
        return spec


def column_roles(table: RawTable, spec: dict[str, Any]) -> dict[str, Any]:
    """Let the user correct which header holds which variable; returns the spec with those choices."""
    schema = Schema.from_json(spec)
    detected = pd.DataFrame({"header": table.header, "role": [schema.match(h) or NOT_MODELLED for h in table.header]})
    with st.expander("Column roles", expanded=False):
        st.caption("Detected automatically; change a role when a header was not recognised.")
        edited = st.data_editor(
            detected,
            column_config={
                "header": st.column_config.TextColumn(disabled=True),
                "role": st.column_config.SelectboxColumn(
                    options=[NOT_MODELLED, *schema.input_names, *schema.cqa_names], required=True
                ),
            },
            hide_index=True,
            key="column_roles",
        )
    roles = [None if r == NOT_MODELLED else r for r in edited["role"]]
    return spec_with_roles(spec, list(edited["header"]), roles)


def show_report(report: ValidationReport) -> None:
    for p in report.errors:
        if p.row is None:
            st.error(p.message)
    if not report.readable:
        return
    where = f"header in row {report.header_row}" + (f' of sheet "{report.sheet}"' if report.sheet else "")
    where += f", {report.encoding} text" if report.encoding else ""
    summary = f"{report.n_rows} rows read ({where}), {report.n_usable} usable"
    if report.errors:
        st.error(f"{summary}: {len(report.errors)} errors (those rows cannot be used), {len(report.warnings)} warnings")
    elif report.warnings:
        st.warning(f"{summary}: {len(report.warnings)} warnings")
    else:
        st.success(f"{summary}: no problems found")
    if report.problems:
        problems = pd.DataFrame(
            [{"severity": p.severity, "row": p.row, "column": p.column, "problem": p.message} for p in report.problems]
        )
        st.dataframe(problems, hide_index=True, width="stretch", placeholder="", key="report_table")


def highlighted_cells(table: RawTable, report: ValidationReport) -> None:
    cells = report.cells()
    if not cells:
        return
    headers = [h or f"(column {i + 1})" for i, h in enumerate(table.header)]
    raw = pd.DataFrame(table.rows, columns=headers, index=pd.Index(table.row_numbers, name="row")).astype(str)
    raw = raw.replace("None", "")

    def style(frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            [[HIGHLIGHT.get(cells.get((r, c)), "") for c in frame.columns] for r in frame.index],
            index=frame.index,
            columns=frame.columns,
        )

    st.caption("The uploaded sheet, offending cells highlighted (red: error, yellow: warning)")
    st.dataframe(raw.style.apply(style, axis=None), width="stretch", key="highlighted_sheet")


def pick_sheet(content: bytes, name: str, sheets: list[str], schema_json: str) -> str | None:
    """Open the first sheet that names the required columns (a notes sheet often comes first) and say so."""
    if len(sheets) <= 1:
        return None
    chosen = state.cached_doe_sheet(content, name, schema_json)
    index = sheets.index(chosen) if chosen in sheets else 0
    sheet = st.selectbox("Sheet", sheets, index=index, key="doe_sheet")
    if chosen is None:
        st.warning("No sheet of this workbook names the required columns; the first one is shown.")
    elif chosen != sheets[0] and sheet == chosen:
        st.info(f'Opened sheet "{chosen}": the first sheet with the required columns.')
    return sheet
