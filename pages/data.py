"""Data: upload a DoE spreadsheet, map its columns, read the validation report, look at the experiments."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.doe import DoEData, DoEReadError, RawTable, Schema, SchemaError, ValidationReport, list_sheets
from core.doe.template import build_template
from core.plots.doe import experiment_profiles_figure, profile_mix_figure
from pages import state

NOT_MODELLED = "(not modelled)"
HIGHLIGHT = {"error": "background-color: #f8d0d0", "warning": "background-color: #fbeec2"}

st.title("DoE data")
st.caption(
    "End-of-batch experiments: initial concentration, seed loading and the thermocycle profile "
    "(T1…, C1…, H1…) against the measured CQAs. Blank CQA cells are fine."
)


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
    changed = {
        h: (None if r == NOT_MODELLED else r)
        for h, r, before in zip(edited["header"], edited["role"], detected["role"], strict=True)
        if r != before and h
    }
    if not changed:
        return spec
    return {**spec, "columns": {**spec.get("columns", {}), **changed}}


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


def upload_section() -> None:
    spec = schema_spec()
    upload = st.file_uploader(
        "Upload a DoE spreadsheet (CSV or XLSX, up to 20 MB)", type=["csv", "tsv", "txt", "xlsx"], key="doe_upload"
    )
    if upload is None:
        return
    content = upload.getvalue()
    try:
        sheets = list_sheets(content, upload.name)
    except DoEReadError:
        sheets = []
    sheet = pick_sheet(content, upload.name, sheets, state.schema_key(spec))
    try:
        table = state.cached_table(content, upload.name, sheet, state.schema_key(spec))
    except DoEReadError:
        table = None  # the validation report below says why
    if table is not None:
        spec = column_roles(table, spec)
    schema_json = state.schema_key(spec)
    result = state.cached_load(content, upload.name, sheet, schema_json)
    identity = state.upload_identity(content, sheet, schema_json)
    st.subheader(f"Validation of {upload.name}")
    show_report(result.report)
    if table is not None:
        highlighted_cells(table, result.report)
    if result.data is None:
        if state.workspace().data is not None:
            st.info(f"Nothing was loaded; the project keeps {state.workspace().data_name}.")
        return
    if result.report.errors:
        if st.button(f"Use the {len(result.data)} usable rows", key="use_partial"):
            state.workspace().load_data(result.data, upload.name, result.report, identity)
    elif state.workspace().data_source != identity:
        state.workspace().load_data(result.data, upload.name, result.report, identity)
        st.toast(f"Loaded {len(result.data)} experiments from {upload.name}")


def data_section(data: DoEData) -> None:
    st.subheader(f"Experiments: {state.workspace().data_name}")
    counts = data.cqa_counts()
    cols = st.columns(len(counts) + 1)
    cols[0].metric("experiments", len(data))
    for col, (cqa, n) in zip(cols[1:], counts.items(), strict=True):
        col.metric(f"{cqa} measured", n)
    table = data.frame.copy()
    table.insert(0, "profile type", data.profile_types())
    st.dataframe(table, width="stretch", placeholder="", key="data_table")  # blank, not "None"
    left, right = st.columns([1, 2])
    left.plotly_chart(profile_mix_figure(data), key="profile_mix")
    labels = data.frame["run_id"].astype(str) if "run_id" in data.frame else None
    right.plotly_chart(experiment_profiles_figure(data, labels), key="experiment_profiles")


upload_section()
if state.workspace().data is not None:
    data_section(state.workspace().data)
else:
    st.info("No data loaded yet: upload a DoE spreadsheet, or start from the template.")
st.download_button(
    "Download the Excel template",
    build_template(),
    file_name="processtwin_doe_template.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="template_download",
)
