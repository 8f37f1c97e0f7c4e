"""The session's workspace (one project per browser session), cached loaders and the checks every screen makes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import streamlit as st

from core.doe import (
    LoadResult,
    RawTable,
    Schema,
    first_doe_sheet,
    header_test,
    load_doe,
    read_table,
)
from core.workspace import Workspace

SAMPLE_DOE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.xlsx"
ROUTED = "routed_by_app"  # set by app.py on every run of a session it routes
WANTED_SCREEN = "screen_before_routing"  # the screen a run outside app.py asked for


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


def upload_identity(content: bytes, sheet: str | None, schema_json: str) -> str:
    return hashlib.sha256(content + f"|{sheet}|{schema_json}".encode()).hexdigest()


def route_through_app(screen_file: str) -> None:
    """Send a screen that runs outside app.py through it; app.py then opens the screen (`open_wanted_screen`).

    When the first request a fresh server gets names a screen (a browser reconnecting after a restart does
    that), Streamlit runs the screen on its own, in its legacy mode for a `pages/` folder: no sample data, no
    project panel, and every module of the folder listed as a screen. app.py's navigation ends that mode.
    """
    if not st.session_state.get(ROUTED):
        st.session_state[WANTED_SCREEN] = f"pages/{Path(screen_file).name}"
        st.switch_page("app.py")


def open_wanted_screen() -> None:
    """Marks the session as routed by app.py and opens the screen a run outside it asked for, if any."""
    st.session_state[ROUTED] = True
    wanted = st.session_state.pop(WANTED_SCREEN, None)
    if wanted:
        st.switch_page(wanted)


def ensure_sample_loaded() -> None:
    """A new session starts with the shipped sample DoE, so there is a working project at once."""
    if workspace().data is not None or not SAMPLE_DOE.exists():
        return
    result = load_doe(SAMPLE_DOE)
    if result.data is not None:
        workspace().load_data(result.data, f"sample data ({SAMPLE_DOE.name})", result.report)


def workspace() -> Workspace:
    """The session's workspace; its state lives in the session state, so every rerun sees the same one."""
    return Workspace(st.session_state)


REACTOR_DATA = "reactor_data"  # (network, data settings) of the operating data generated on the reactor screen
REACTOR_TRAINED = "reactor_trained"  # the training settings of each dynamics model trained there
REACTOR_OPTIMIZERS = "reactor_optimizers"  # the model whose optimisers were compared
REACTOR_CLOSED_LOOP = "reactor_cl"  # (model, hours, scenario) of the closed-loop run shown


def schema() -> Schema:
    data = workspace().data
    return data.schema if data is not None else Schema.default()


def require_models() -> bool:
    """Say what is missing and where to get it; True when models are trained."""
    ws = workspace()
    if ws.data is None:
        st.info("Load a DoE first.")
        st.page_link("pages/data.py", label="Go to Data", icon=":material/table:")
        return False
    if ws.fit is None:
        st.info("Train the surrogate models first.")
        st.page_link("pages/models.py", label="Go to Models", icon=":material/model_training:")
        return False
    if ws.models_are_stale():
        st.warning("The models were trained on other data than the data loaded now; retrain them.")
        st.page_link("pages/models.py", label="Retrain on Models", icon=":material/model_training:")
    return True
