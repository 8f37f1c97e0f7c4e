"""The whole crystallization workflow in a real browser, page screenshots, and session isolation."""

import io
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page

from tests.browser.conftest import screenshot, wait_idle
from tests.conftest import doe_frame, to_csv_bytes

pytestmark = pytest.mark.browser
SAMPLE_XLSX = Path(__file__).resolve().parents[2] / "sample_data" / "doe.xlsx"


def go_to(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    wait_idle(page)


def upload(page: Page, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(path))
    wait_idle(page)


def lab_workbook(path: Path) -> Path:
    """The sample DoE as labs keep it: a notes sheet first, a title and a units row around the header."""
    sample = openpyxl.load_workbook(SAMPLE_XLSX)[openpyxl.load_workbook(SAMPLE_XLSX).sheetnames[0]]
    rows = [list(r) for r in sample.iter_rows(values_only=True)]
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Crystallization campaign, cooling and thermocycles"])
    notes.append(["Operator", "R. Lab"])
    doe = wb.create_sheet("DoE")
    doe.append(["DoE results (end of batch)"])
    doe.merge_cells("A1:F1")
    doe.append([])
    doe.append(rows[0])
    doe.append([None if v is None else (str(v).split("(")[-1].rstrip(")") if "(" in str(v) else "") for v in rows[0]])
    for row in rows[1:]:
        doe.append(row)
    wb.save(path)
    return path


def click_first_point(page: Page, chart_key: str) -> None:
    """One plain click on a marker, as a user picks a single design."""
    point = page.locator(f".st-key-{chart_key} .scatterlayer .trace path.point").first
    point.wait_for()
    point.scroll_into_view_if_needed()
    box = point.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_idle(page)


def box_select_all(page: Page, chart_key: str) -> None:
    """Choose Box Select in the chart's toolbar, then drag it over the whole plotting area."""
    chart = page.locator(f".st-key-{chart_key}")
    chart.scroll_into_view_if_needed()
    chart.hover()
    chart.locator('.modebar-btn[data-val="select"]').first.click(force=True)
    area = chart.locator(".nsewdrag").first
    area.wait_for()
    box = area.bounding_box()
    page.mouse.move(box["x"] + 2, box["y"] + 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] - 2, steps=5)
    page.mouse.up()
    wait_idle(page)


def test_upload_train_design_select_export(page, app_url, tmp_path):
    page.goto(app_url)
    wait_idle(page)
    upload(page, lab_workbook(tmp_path / "lab.xlsx"))
    page.get_by_text('Opened sheet "DoE"').wait_for()  # not the notes sheet in front of it
    page.get_by_text("Experiments: lab.xlsx").wait_for()
    page.get_by_text('31 rows read (header in row 3 of sheet "DoE")').wait_for()
    screenshot(page, "1-data")

    go_to(page, "Models")
    # Two families (forest and boosted trees, and their average) and 5 members keep the browser's walk through the
    # screens short; the default fit of every family is the models tests' and bench_models.py's.
    families = page.locator(".st-key-model_families input")
    families.click()
    for _ in range(4):  # svr, xgb, gp and the grey box, the last four of the defaults
        families.press("Backspace")
    families.press("Escape")
    chosen = page.locator(".st-key-model_families").inner_text()
    assert "Gradient-boosted trees" in chosen and "Support vector" not in chosen and "Virtual lab" not in chosen
    page.get_by_label("Ensemble members").fill("5")
    page.get_by_label("Ensemble members").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train models").click()
    wait_idle(page)
    page.get_by_text("What if?").wait_for(timeout=300_000)
    screenshot(page, "2-models")

    go_to(page, "Synthetic data & α")
    page.get_by_role("heading", name="Synthetic data & α").wait_for()
    screenshot(page, "3-synthetic")

    go_to(page, "Design (Pareto)")
    page.get_by_label("Generations").fill("30")
    page.get_by_label("Generations").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Run design").click()
    wait_idle(page)
    page.locator(".st-key-pareto_chart").wait_for(timeout=300_000)
    click_first_point(page, "pareto_chart")
    page.get_by_role("button", name="Add 1 to basket").wait_for()
    box_select_all(page, "pareto_chart")
    page.get_by_text("Recipe of").wait_for()  # several points chosen: their profiles overlaid, a recipe picker
    assert not page.get_by_role("button", name="Add 1 to basket").is_visible()
    page.get_by_role("button", name="to basket").click()
    wait_idle(page)
    screenshot(page, "4-design")
    with page.expect_download() as download:
        page.get_by_role("button", name="Recipes (XLSX)").click()
    path = tmp_path / "recipes.xlsx"
    download.value.save_as(path)
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    assert wb.sheetnames[0] == "summary" and len(wb.sheetnames) >= 2
    summary = list(wb["summary"].iter_rows(values_only=True))
    assert summary[0][0] == "id" and len(summary) == len(wb.sheetnames)
    conc = summary[0].index("initial_concentration (mg/g solvent)")
    assert all(round(r[conc], 1) == r[conc] for r in summary[1:])
    assert any(r and r[0] == "segments" for r in wb[wb.sheetnames[1]].iter_rows(values_only=True))

    go_to(page, "Validate")
    page.get_by_role("button", name="Run the virtual lab").click()
    wait_idle(page)
    screenshot(page, "5-validate")
    go_to(page, "Virtual lab")
    page.get_by_text("mass balance closes").wait_for(timeout=120_000)
    screenshot(page, "6-virtual-lab")
    go_to(page, "Reactor network")
    page.get_by_role("heading", name="Reactor network").wait_for()
    screenshot(page, "7-reactor-network")


def test_two_sessions_do_not_share_data(browser, app_url, tmp_path):
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    for p in (first, second):
        p.set_default_timeout(60_000)
        p.goto(app_url)
        wait_idle(p)
    small = tmp_path / "mine.csv"
    small.write_bytes(to_csv_bytes(doe_frame(1)))
    upload(first, small)
    first.get_by_text("Experiments: mine.csv").wait_for()
    second.reload()
    wait_idle(second)
    assert second.get_by_text("Experiments: sample data (doe.xlsx)").is_visible()
    assert not second.get_by_text("mine.csv").is_visible()
