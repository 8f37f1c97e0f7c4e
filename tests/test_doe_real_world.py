"""Spreadsheets as engineers really save them: other encodings, titles above the header, units rows, hidden rows,
lab shorthand in cells, thousands separators, dates, transposed sheets, and files with nothing to learn from."""

import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.doe import first_doe_sheet, load_doe, read_rows
from tests.conftest import doe_frame, to_xlsx_bytes


def csv_text(frame: pd.DataFrame, sep: str = ",") -> str:
    return frame.to_csv(index=False, sep=sep)


@pytest.mark.parametrize(
    ("encoding", "prefix", "detected"),
    [
        ("utf-8-sig", b"", "UTF-8 with BOM"),
        ("utf-8", b"", "UTF-8"),
        ("utf-16", b"", "UTF-16 LE"),
        ("utf-16-be", b"\xfe\xff", "UTF-16 BE"),
        ("cp1252", b"", "Windows-1252"),
    ],
)
def test_csv_encodings_load_with_the_degree_and_micro_signs(encoding, prefix, detected):
    frame = doe_frame(2)
    # Excel's "Unicode text" is UTF-16 LE with a BOM and tabs; Python's utf-16 writes exactly that BOM.
    sep = "\t" if encoding.startswith("utf-16") else ","
    content = prefix + csv_text(frame, sep).encode(encoding)
    result = load_doe(content, filename="runs.csv")
    assert result.report.ok, result.report.to_text()
    assert len(result.data) == len(frame)
    assert result.data.source_columns["D50"] == "D50 (µm)" and result.data.source_columns["T1"] == "T1 (°C)"
    assert result.report.encoding == detected and f"({detected} text)" in result.report.to_text()


def test_title_rows_above_the_header_of_a_workbook_are_skipped_and_named():
    frame = doe_frame(2)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "DoE"
    sheet["A1"] = "Crystallization DoE, campaign 7"
    sheet.merge_cells("A1:H1")  # merged title cells
    sheet["A2"] = "Operator: R. Lab"
    for j, name in enumerate(frame.columns, start=1):
        sheet.cell(4, j, name)
    for i, row in enumerate(frame.itertuples(index=False), start=5):
        for j, value in enumerate(row, start=1):
            sheet.cell(i, j, None if pd.isna(value) or value == "" else value)
    result = load_doe(xlsx_bytes(workbook), filename="lab.xlsx")
    assert result.report.ok, result.report.to_text()
    assert len(result.data) == len(frame) and result.report.header_row == 4
    assert [p.message for p in result.report.warnings] == [
        "row 4 is taken as the header; rows 1-2 above it (titles, notes) are not read"
    ]
    assert result.data.frame.index[0] == 5  # sheet row numbers stay those the user sees
    assert "header: row 4" in result.report.to_text()


def test_csv_with_notes_above_a_semicolon_header_and_decimal_commas():
    frame = doe_frame(1)
    body = csv_text(frame, ";").replace("0.1;", "0,1;")
    content = ("DoE export 2026-03-02;;\nsolvent: ethanol\n\n" + body).encode("utf-8")
    result = load_doe(content, filename="runs.csv")
    assert result.data is not None and len(result.data) == len(frame)
    assert result.report.header_row == 4
    assert not result.report.errors


def test_a_units_row_under_the_header_is_skipped():
    frame = doe_frame(2)
    units = ["", "mg/g", "-", *(["°C"] * 10), *(["°C/min"] * 9), "µm", "%", "%", ""]
    with_units = pd.concat([pd.DataFrame([units], columns=frame.columns), frame], ignore_index=True)
    result = load_doe(csv_text(with_units).encode(), filename="runs.csv")
    assert result.report.ok, result.report.to_text()
    assert len(result.data) == len(frame) and result.report.n_rows == len(frame)
    assert any("row 2 is read as a row of units" in p.message for p in result.report.warnings)


def test_lab_shorthand_in_cqa_cells_reads_as_not_measured():
    frame = doe_frame(2)
    frame["DoA (%)"] = frame["DoA (%)"].astype(object)
    frame.loc[0, "DoA (%)"] = "n/a"
    frame.loc[1, "DoA (%)"] = "-"
    frame.loc[2, "DoA (%)"] = "<LOD"
    frame.loc[3, "DoA (%)"] = "< 0.5"
    result = load_doe(csv_text(frame).encode(), filename="runs.csv")
    assert not result.report.errors and len(result.data) == len(frame)
    assert result.data.frame["DoA"].iloc[:4].isna().all()
    below = [p for p in result.report.warnings if "detection limit" in p.message]
    assert [p.row for p in below] == [4, 5]


def test_thousands_separators_are_read_when_unambiguous():
    frame = doe_frame(1)
    frame["D50 (µm)"] = ["1,020.5", "1.020,5", "1 020", "1'020.5", "2,500,000", "1,5"]
    result = load_doe(csv_text(frame, ";").encode(), filename="runs.csv")
    assert not result.report.errors, result.report.to_text()
    np.testing.assert_allclose(result.data.frame["D50"], [1020.5, 1020.5, 1020, 1020.5, 2_500_000, 1.5])
    notes = [p.message for p in result.report.warnings]
    assert sum("thousands separator" in m for m in notes) == 5 and sum("decimal comma" in m for m in notes) == 1


def test_hidden_rows_and_run_dates_are_kept_and_hidden_rows_are_named():
    frame = doe_frame(2)
    frame.insert(1, "Run date", [dt.datetime(2026, 1, 5 + i) for i in range(len(frame))])
    content = to_xlsx_bytes({"DoE": frame})
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    workbook["DoE"].row_dimensions[3].hidden = True
    result = load_doe(xlsx_bytes(workbook), filename="lab.xlsx")
    assert result.report.ok and len(result.data) == len(frame)
    assert [(p.row, p.message) for p in result.report.warnings] == [
        (3, "row 3 is hidden in the sheet; it is read like any other row")
    ]
    assert result.data.frame["Run date"].iloc[0] == dt.datetime(2026, 1, 5)


def test_a_file_without_any_measured_cqa_is_refused_as_a_whole():
    frame = doe_frame(2)
    for column in ("D50 (µm)", "DoA (%)", "crystallinity (%)"):
        frame[column] = None
    result = load_doe(csv_text(frame).encode(), filename="runs.csv")
    assert result.data is None and not result.report.ok
    assert [p.message for p in result.report.errors] == [
        "no CQA value is measured in any row (D50, DoA, crystallinity); nothing can be learned"
    ]


def test_a_transposed_sheet_is_read_when_unambiguous():
    frame = doe_frame(2)
    grid = frame.T.reset_index()  # variable names down column A, one experiment per column
    content = to_xlsx_bytes({"DoE": grid.set_axis(range(grid.shape[1]), axis=1)})
    result = load_doe(content, filename="wide.xlsx")
    assert result.data is not None and len(result.data) == len(frame), result.report.to_text()
    assert not result.report.errors
    assert any("one experiment per column" in p.message for p in result.report.warnings)
    pd.testing.assert_series_equal(
        result.data.frame["D50"].reset_index(drop=True),
        load_doe(csv_text(frame).encode(), filename="r.csv").data.frame["D50"].reset_index(drop=True),
    )


def test_a_sheet_that_looks_transposed_but_lacks_a_variable_is_explained():
    frame = doe_frame(1).drop(columns=["C1 (°C/min)"])
    grid = frame.T.reset_index()
    result = load_doe(to_xlsx_bytes({"DoE": grid.set_axis(range(grid.shape[1]), axis=1)}), filename="wide.xlsx")
    assert result.data is None
    assert any("one experiment per column" in p.message and "C1" not in p.message for p in result.report.errors)


def test_first_doe_sheet_skips_notes_sheets():
    notes = pd.DataFrame({"about": ["campaign notes"]})
    content = to_xlsx_bytes({"Notes": notes, "Raw": notes, "DoE": doe_frame(1)})
    assert first_doe_sheet(content, "lab.xlsx") == "DoE"
    assert first_doe_sheet(to_xlsx_bytes({"Notes": notes}), "lab.xlsx") is None


def test_read_rows_finds_the_header_below_a_title():
    frame = doe_frame(1)
    content = ("Lab export\n\n" + csv_text(frame)).encode("utf-8")
    rows = read_rows(content, filename="runs.csv")
    assert len(rows) == len(frame) and rows.index[0] == 4
    assert rows["D50"].iloc[0] == frame["D50 (µm)"].iloc[0]


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_header_below_titles_that_lacks_a_column_is_still_found_and_the_gap_named():
    frame = doe_frame(1).drop(columns=["C1 (°C/min)"])
    content = ("Campaign 7\nsolvent: ethanol\n" + csv_text(frame)).encode("utf-8")
    result = load_doe(content, filename="runs.csv")
    assert result.data is None and result.report.header_row == 3
    missing = [p.message for p in result.report.errors]
    assert len(missing) == 1 and missing[0].startswith('required column "C1"')
