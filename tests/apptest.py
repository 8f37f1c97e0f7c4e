"""Helpers for AppTest page tests: a loaded project with tiny, quickly fitted models."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.doe import DoEData
from core.models.fitting import FitResult
from tests.conftest import small_data, tiny_fit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = "pages/data.py"


def app_on(page: str, *, with_models: bool = True, project: tuple[DoEData, FitResult] | None = None) -> AppTest:
    """The app switched to `page` with a project (by default the small one) and its models in the session."""
    data, fit = project or (small_data(), tiny_fit())
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["doe"] = data
    at.session_state["doe_name"] = "small.csv"
    if with_models:
        at.session_state["fit"] = fit
    at.run()
    if page != DEFAULT_PAGE:  # AppTest drops the entrypoint's sidebar after switch_page; stay when we can
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at
