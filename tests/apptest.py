"""Helpers for AppTest page tests: a loaded project with tiny, quickly fitted models."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.doe import DoEData, load_doe
from core.models.fitting import FitResult, fit_cqa_models
from tests.conftest import doe_frame, to_csv_bytes

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = "pages/data.py"
TINY_RF = {"n_estimators": [10], "max_depth": [None], "min_samples_split": [2], "min_samples_leaf": [1]}


@cache
def small_data() -> DoEData:
    return load_doe(to_csv_bytes(doe_frame(4)), filename="small.csv").data


@cache
def tiny_fit() -> FitResult:
    return fit_cqa_models(small_data(), families=("rf",), grids={"rf": TINY_RF}, n_members=3, random_state=0)


def app_on(page: str, *, with_models: bool = True) -> AppTest:
    """The app switched to `page` with the small project (and its models) in the session."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["doe"] = small_data()
    at.session_state["doe_name"] = "small.csv"
    if with_models:
        at.session_state["fit"] = tiny_fit()
    at.run()
    if page != DEFAULT_PAGE:  # AppTest drops the entrypoint's sidebar after switch_page; stay when we can
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at
