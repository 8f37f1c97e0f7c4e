"""Session-state keys and helpers shared by the pages (one project per browser session)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.doe import DoEData, LoadResult, Schema, ValidationReport, load_doe

SAMPLE_DOE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.xlsx"

DOE = "doe"  # DoEData of the project
DOE_NAME = "doe_name"  # where the data came from
DOE_REPORT = "doe_report"  # ValidationReport of the loaded data


@st.cache_data(show_spinner=False, max_entries=32)
def cached_load(content: bytes, filename: str, sheet: str | None, schema_json: str | None) -> LoadResult:
    """Validate uploaded bytes once per content; the cache key is the bytes themselves."""
    schema = Schema.from_json(schema_json) if schema_json else None
    return load_doe(content, filename=filename, sheet=sheet, schema=schema)


def set_doe(data: DoEData, name: str, report: ValidationReport) -> None:
    st.session_state[DOE] = data
    st.session_state[DOE_NAME] = name
    st.session_state[DOE_REPORT] = report


def ensure_sample_loaded() -> None:
    """A new session starts with the shipped sample DoE, so there is a working project at once."""
    if DOE in st.session_state or not SAMPLE_DOE.exists():
        return
    result = load_doe(SAMPLE_DOE)
    if result.data is not None:
        set_doe(result.data, f"sample data ({SAMPLE_DOE.name})", result.report)
