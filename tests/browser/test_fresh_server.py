"""A screen's address opened first on a freshly started server: what a browser does when it reconnects after a
restart of `make run`. Streamlit then runs the screen on its own (its legacy mode for a `pages/` folder), without
app.py: no sample data, no project panel, and every module of pages/ listed as a screen."""

import pytest

from tests.browser.conftest import streamlit_server, wait_idle

pytestmark = pytest.mark.browser


def test_screen_opened_first_goes_through_the_app(browser, tmp_path):
    with streamlit_server(tmp_path / "server.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{url}/models")
        wait_idle(page)
        page.get_by_role("button", name="Train models").wait_for()
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        assert "Synthetic data & α" in nav
        assert "state" not in nav.split("\n")
        assert page.get_by_text("data: sample data").is_visible()
        assert page.url.endswith("/models")
        context.close()
