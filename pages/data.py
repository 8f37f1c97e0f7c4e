"""Data: upload a DoE spreadsheet, map its columns, read the validation report, look at the experiments."""

from __future__ import annotations

import streamlit as st

from core.doe import DoEData, DoEReadError, list_sheets
from core.doe.template import build_template
from core.plots.doe import experiment_profiles_figure, profile_mix_figure
from pages import state
from pages.components.data_upload import column_roles, highlighted_cells, pick_sheet, schema_spec, show_report
from pages.components.solubility import solubility_section

state.route_through_app(__file__)

st.title("DoE data")
st.caption(
    "End-of-batch experiments: initial concentration, seed loading and the thermocycle profile "
    "(T1…, C1…, H1…) against the measured CQAs. Blank CQA cells are fine."
)


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
    use_partial = bool(result.report.errors) and st.button(f"Use the {len(result.data)} usable rows", key="use_partial")
    if use_partial or (not result.report.errors and state.workspace().data_source != identity):
        cleared = state.workspace().load_data(result.data, upload.name, result.report, identity)
        note = f"; the {', '.join(cleared)} of the previous data were cleared" if cleared else ""
        st.toast(f"Loaded {len(result.data)} experiments from {upload.name}{note}")


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
    solubility_section(data)


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
