"""Session-state keys and helpers shared by the pages (one project per browser session)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core.doe import (
    DoEData,
    LoadResult,
    RawTable,
    Schema,
    ValidationReport,
    first_doe_sheet,
    header_test,
    load_doe,
    read_table,
)
from core.models.datasets import ModelData
from core.models.fitting import CQAPredictor

SAMPLE_DOE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.xlsx"

DOE = "doe"  # DoEData of the project
DOE_NAME = "doe_name"  # where the data came from
DOE_REPORT = "doe_report"  # ValidationReport of the loaded data
DOE_SOURCE = "doe_source"  # identity of the upload + sheet + schema the data came from


@st.cache_data(show_spinner=False, max_entries=32)
def cached_load(content: bytes, filename: str, sheet: str | None, schema_json: str) -> LoadResult:
    """Validate uploaded bytes once per content and schema; the cache key is the bytes themselves."""
    return load_doe(content, filename=filename, sheet=sheet, schema=Schema.from_json(json.loads(schema_json)))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_table(content: bytes, filename: str, sheet: str | None, schema_json: str) -> RawTable:
    """The raw cells of an upload, header found as validation finds it (raises DoEReadError when unreadable)."""
    return read_table(content, filename, sheet, header_test(Schema.from_json(json.loads(schema_json))))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_doe_sheet(content: bytes, filename: str, schema_json: str) -> str | None:
    """The first sheet of a workbook that names the required columns."""
    return first_doe_sheet(content, filename, Schema.from_json(json.loads(schema_json)))


def schema_key(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, ensure_ascii=False)


def set_doe(data: DoEData, name: str, report: ValidationReport | None, source: str = "") -> None:
    st.session_state[DOE] = data
    st.session_state[DOE_NAME] = name
    st.session_state[DOE_REPORT] = report
    st.session_state[DOE_SOURCE] = source


def upload_identity(content: bytes, sheet: str | None, schema_json: str) -> str:
    return hashlib.sha256(content + f"|{sheet}|{schema_json}".encode()).hexdigest()


def ensure_sample_loaded() -> None:
    """A new session starts with the shipped sample DoE, so there is a working project at once."""
    if DOE in st.session_state or not SAMPLE_DOE.exists():
        return
    result = load_doe(SAMPLE_DOE)
    if result.data is not None:
        set_doe(result.data, f"sample data ({SAMPLE_DOE.name})", result.report)


FIT = "fit"  # core.models.fitting.FitResult of the current data
DESIGN = "design"  # core.optimize.run.DesignResult
SELECTED_POINTS = "selected_point_ids"  # ids picked on the Pareto chart (set by a click or by tests)
BASKET = "basket"  # DataFrame of Pareto points the engineer chose to export
AUGMENT = "augment"  # {"fit": FitResult it was made for, "result": core.augment.AugmentResult} applied on Synthetic


DESIGN_MODELS = "design_models"  # (fit, applied augmentation) the current design was made with


def models_in_use() -> tuple[object, object]:
    """The fitted models and the augmentation applied to them (None when none is)."""
    fit = st.session_state.get(FIT)
    applied = st.session_state.get(AUGMENT)
    return fit, (applied["result"] if applied is not None and applied["fit"] is fit else None)


def design_is_stale() -> bool:
    """The design was made with other models than those in use now (data appended, retrained, augmented)."""
    made_with = st.session_state.get(DESIGN_MODELS)
    if st.session_state.get(DESIGN) is None or made_with is None:
        return False
    fit, augment = models_in_use()
    return made_with[0] is not fit or made_with[1] is not augment


def models_are_stale() -> bool:
    """The models were trained on other rows than the data loaded now."""
    data, fit = st.session_state.get(DOE), st.session_state.get(FIT)
    if data is None or fit is None:
        return False
    current, trained = ModelData.from_doe(data), fit.data
    if list(current.inputs.columns) != list(trained.inputs.columns):
        return True
    same_inputs = np.array_equal(current.inputs.to_numpy(float), trained.inputs.to_numpy(float), equal_nan=True)
    cqas = trained.cqas.reindex(columns=current.cqas.columns).to_numpy(float)
    return not (same_inputs and np.array_equal(current.cqas.to_numpy(float), cqas, equal_nan=True))


def schema() -> Schema:
    data = st.session_state.get(DOE)
    return data.schema if data is not None else Schema.default()


def require_models() -> bool:
    """Say what is missing and where to get it; True when models are trained."""
    if st.session_state.get(DOE) is None:
        st.info("Load a DoE first.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
        return False
    if st.session_state.get(FIT) is None:
        st.info("Train the surrogate models first.")
        st.page_link("pages/models.py", label="Go to Models", icon=":material/model_training:")
        return False
    if models_are_stale():
        st.warning("The models were trained on other data than the data loaded now; retrain them.")
        st.page_link("pages/models.py", label="Retrain on Models", icon=":material/model_training:")
    return True


def current_predictor() -> CQAPredictor:
    """The models the design and validation screens use: augmented where an augmentation of these models is applied."""
    fit = st.session_state[FIT]
    applied = st.session_state.get(AUGMENT)
    if applied is not None and applied["fit"] is fit:
        return applied["result"].predictor(fit)
    return fit.predictor()
