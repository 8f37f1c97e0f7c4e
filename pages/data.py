"""Data: upload a DoE spreadsheet, read its validation report, look at the experiments."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.doe import DoEData, DoEReadError, Schema, SchemaError, ValidationReport, list_sheets
from core.doe.template import build_template
from pages import state

st.title("DoE data")
st.caption(
    "End-of-batch experiments: initial concentration, seed loading and the thermocycle profile "
    "(T1…, C1…, H1…) against the measured CQAs. Blank CQA cells are fine."
)


def problems_table(report: ValidationReport) -> pd.DataFrame:
    return pd.DataFrame(
        [{"severity": p.severity, "row": p.row, "column": p.column, "problem": p.message} for p in report.problems]
    )


def show_report(report: ValidationReport) -> None:
    if not report.readable:
        st.error(report.problems[0].message)
        return
    for p in report.errors:
        if p.row is None:
            st.error(p.message)
    summary = f"{report.n_rows} rows read, {report.n_usable} usable"
    if report.errors:
        st.error(f"{summary}: {len(report.errors)} errors (those rows cannot be used), {len(report.warnings)} warnings")
    elif report.warnings:
        st.warning(f"{summary}: {len(report.warnings)} warnings")
    else:
        st.success(f"{summary}: no problems found")
    if report.problems:
        st.dataframe(problems_table(report), hide_index=True, width="stretch", key="report_table")


def read_schema() -> str | None:
    with st.expander("Column mapping (schema file)"):
        st.markdown(
            "Headers are matched ignoring case and units in brackets. For other names, extra CQAs or inputs, "
            "other bounds or more cycles, upload a JSON schema file (see README)."
        )
        upload = st.file_uploader("Schema file", type=["json"], key="schema_upload")
        if upload is None:
            return None
        text = upload.getvalue().decode("utf-8", errors="replace")
        try:
            Schema.from_json(text)
        except SchemaError as exc:
            st.error(f"Schema not used: {exc}")
            return None
        st.success(f"Using schema {upload.name}")
        return text


def upload_section() -> None:
    schema_json = read_schema()
    upload = st.file_uploader(
        "Upload a DoE spreadsheet (CSV or XLSX)", type=["csv", "tsv", "txt", "xlsx"], key="doe_upload"
    )
    if upload is None:
        return
    content = upload.getvalue()
    try:
        sheets = list_sheets(content, upload.name)
    except DoEReadError:
        sheets = []
    sheet = st.selectbox("Sheet", sheets, key="doe_sheet") if len(sheets) > 1 else None
    result = state.cached_load(content, upload.name, sheet, schema_json)
    st.subheader(f"Validation of {upload.name}")
    show_report(result.report)
    if result.data is None:
        if state.DOE in st.session_state:
            st.info(f"Nothing was loaded; the project keeps {st.session_state[state.DOE_NAME]}.")
        return
    if result.report.errors:
        if st.button(f"Use the {len(result.data)} usable rows", key="use_partial"):
            state.set_doe(result.data, upload.name, result.report)
    elif st.session_state.get(state.DOE_NAME) != upload.name or st.session_state.get(state.DOE) is None:
        state.set_doe(result.data, upload.name, result.report)
        st.toast(f"Loaded {len(result.data)} experiments from {upload.name}")


def data_section(data: DoEData) -> None:
    st.subheader(f"Experiments: {st.session_state[state.DOE_NAME]}")
    counts = data.cqa_counts()
    cols = st.columns(len(counts) + 1)
    cols[0].metric("experiments", len(data))
    for col, (cqa, n) in zip(cols[1:], counts.items(), strict=True):
        col.metric(f"{cqa} measured", n)
    table = data.frame.copy()
    table.insert(0, "profile type", data.profile_types())
    st.dataframe(table, width="stretch", key="data_table")


upload_section()
if st.session_state.get(state.DOE) is not None:
    data_section(st.session_state[state.DOE])
else:
    st.info("No data loaded yet: upload a DoE spreadsheet, or start from the template.")
st.download_button(
    "Download the Excel template",
    build_template(),
    file_name="processtwin_doe_template.xlsx",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    key="template_download",
)
