"""The Data page in a real browser: it opens, accepts an upload and keeps the project on bad input."""

import pytest

from tests.browser.conftest import screenshot, wait_idle
from tests.conftest import doe_frame, to_csv_bytes

pytestmark = pytest.mark.browser


def test_upload_valid_then_hostile_file(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    assert page.get_by_role("heading", name="DoE data").is_visible()
    good = tmp_path / "runs.csv"
    good.write_bytes(to_csv_bytes(doe_frame(2)))
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(good))
    wait_idle(page)
    page.get_by_text("Experiments: runs.csv").wait_for()
    screenshot(page, "data-page")
    evil = tmp_path / "evil.xlsx"
    evil.write_bytes(b"\x00\x01binary" * 30)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(evil))
    wait_idle(page)
    page.get_by_text("is a binary file").wait_for()
    assert page.get_by_text("Experiments: runs.csv").is_visible()
