"""AppTest of the Data page through the app's router: uploads keep what is loaded unless they are usable."""

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import app_on
from tests.conftest import doe_frame, to_csv_bytes, to_xlsx_bytes

ROOT = Path(__file__).resolve().parent.parent
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def start() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, content: bytes, mime: str = "text/csv") -> AppTest:
    at.file_uploader(key="doe_upload").set_value((name, content, mime))
    at.run()
    assert not at.exception
    return at


def test_valid_upload_replaces_the_project_data():
    at = upload(start(), "runs.csv", to_csv_bytes(doe_frame(2)))
    assert at.session_state["doe_name"] == "runs.csv"
    assert len(at.session_state["doe"]) == 12
    assert any("no problems found" in s.value for s in at.success)


def test_unreadable_upload_keeps_the_loaded_data():
    at = upload(start(), "runs.csv", to_csv_bytes(doe_frame(2)))
    upload(at, "evil.xlsx", b"\x00binary\xff" * 20, XLSX)
    assert at.session_state["doe_name"] == "runs.csv"
    assert any("binary" in e.value for e in at.error)
    assert any("keeps runs.csv" in i.value for i in at.info)


def test_upload_with_bad_rows_asks_before_using_the_rest():
    frame = doe_frame(2)
    frame["C1 (°C/min)"] = frame["C1 (°C/min)"].astype(object)
    frame.loc[0, "C1 (°C/min)"] = "quick"
    at = upload(start(), "first.csv", to_csv_bytes(doe_frame(1)))
    upload(at, "partly.csv", to_csv_bytes(frame))
    assert at.session_state["doe_name"] == "first.csv"
    table = next(d.value for d in at.dataframe if "problem" in d.value.columns)
    assert table.iloc[0]["row"] == 2 and table.iloc[0]["column"] == "C1 (°C/min)"
    sheet = next(d.value for d in at.dataframe if "C1 (°C/min)" in d.value.columns)
    assert sheet.loc[2, "C1 (°C/min)"] == "quick"
    at.button(key="use_partial").click()
    at.run()
    assert at.session_state["doe_name"] == "partly.csv"
    assert len(at.session_state["doe"]) == 11


def test_temperatures_in_kelvin_are_converted_and_the_screen_says_so():
    frame = doe_frame(2)
    kelvin = {c: c.replace("(°C)", "(K)") for c in frame.columns if c.endswith("(°C)")}
    for c in kelvin:
        frame[c] = frame[c].where(frame[c].isna(), frame[c] + 273.15)
    at = upload(start(), "kelvin.csv", to_csv_bytes(frame.rename(columns=kelvin)))
    assert at.session_state["doe_name"] == "kelvin.csv"
    shown = " ".join(w.value for w in at.warning) + " ".join(d.value.to_string() for d in at.dataframe)
    assert "values in K converted to °C" in shown
    loaded = at.session_state["doe"].frame["T1"].to_numpy()
    assert loaded.tolist() == pytest.approx(doe_frame(2)["T1 (°C)"].to_numpy(float).tolist())


def test_workbook_opens_the_first_sheet_with_the_required_columns():
    notes = pd.DataFrame({"Campaign": ["Batch cooling DoE", "operator: A. N. Other"]})
    content = to_xlsx_bytes({"Notes": notes, "DoE": doe_frame(1), "Columns": notes})
    at = upload(start(), "lab.xlsx", content, XLSX)
    assert at.selectbox(key="doe_sheet").options == ["Notes", "DoE", "Columns"]
    assert at.selectbox(key="doe_sheet").value == "DoE"
    assert any('Opened sheet "DoE"' in i.value for i in at.info)
    assert at.session_state["doe_name"] == "lab.xlsx"
    assert any('header in row 1 of sheet "DoE"' in s.value for s in at.success)
    at.selectbox(key="doe_sheet").set_value("Notes")
    at.run()
    assert any("missing" in e.value for e in at.error)
    assert at.session_state["doe_name"] == "lab.xlsx"


def test_data_tables_show_blank_cells_as_blank():
    at = upload(start(), "runs.csv", to_csv_bytes(doe_frame(1)))
    table = next(d for d in at.dataframe if "DoA" in d.value.columns)
    assert table.value["DoA"].isna().any()  # the data stay missing; only the display is blank
    assert table.proto.placeholder == ""


def test_schema_file_maps_an_unknown_header():
    frame = doe_frame(1).rename(columns={"D50 (µm)": "particle size"})
    at = upload(start(), "renamed.csv", to_csv_bytes(frame))
    assert at.session_state["doe"].cqa_counts()["D50"] == 0
    at.file_uploader(key="schema_upload").set_value(
        ("schema.json", b'{"columns": {"particle size": "D50"}}', "application/json")
    )
    at.run()
    assert not at.exception
    assert at.session_state["doe"].cqa_counts()["D50"] == len(frame)


def test_broken_schema_file_is_reported_and_ignored():
    at = start()
    at.file_uploader(key="schema_upload").set_value(("schema.json", b"{nope", "application/json"))
    at.run()
    assert any("Schema not used" in e.value for e in at.error)


def test_a_new_data_set_clears_the_models_of_the_old_one_and_says_so():
    at = app_on("pages/data.py")
    assert at.session_state["fit"] is not None
    upload(at, "runs.csv", to_csv_bytes(doe_frame(2)))
    assert at.session_state["doe_name"] == "runs.csv" and "fit" not in at.session_state
    assert any("models of the previous data were cleared" in t.value for t in at.toast)


def test_the_solubility_curve_shown_is_the_one_the_data_keep():
    at = start()
    data = at.session_state["doe"]
    curve = ((0.0, 7.5), (35.0, 22.0), (70.0, 65.0))
    at.session_state["doe"] = replace(data, schema=replace(data.schema, solubility=curve))
    at.run()
    shown = next(d.value for d in at.dataframe if "temperature (°C)" in d.value.columns)
    assert shown.to_numpy().tolist() == [list(p) for p in curve]
    at.button(key="solubility_use").click()
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["doe"].schema.solubility == curve
