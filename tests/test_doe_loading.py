"""Reading DoE files: formats, sources, sheets, header aliases and schema files."""

import io
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest

from core.doe import DoEReadError, Schema, SchemaError, list_sheets, load_doe, load_frame, read_rows
from core.doe.template import build_template
from tests.conftest import doe_frame, to_csv_bytes, to_xlsx_bytes


def test_csv_from_path_and_bytes_agree(tmp_path, valid_frame):
    path = tmp_path / "doe.csv"
    valid_frame.to_csv(path, index=False)
    from_path = load_doe(path)
    from_bytes = load_doe(path.read_bytes(), filename="doe.csv")
    assert from_path.report.ok, from_path.report.to_text()
    pd.testing.assert_frame_equal(from_path.data.frame, from_bytes.data.frame)
    assert len(from_path.data) == len(valid_frame)


def test_xlsx_sheet_choice(valid_frame):
    other = valid_frame.head(3)
    content = to_xlsx_bytes({"notes": pd.DataFrame({"x": ["not a DoE"]}), "runs": valid_frame, "few": other})
    assert list_sheets(content, "doe.xlsx") == ["notes", "runs", "few"]
    assert len(load_doe(content, filename="doe.xlsx", sheet="runs").data) == len(valid_frame)
    assert len(load_doe(content, filename="doe.xlsx", sheet="few").data) == 3
    first = load_doe(content, filename="doe.xlsx")
    assert first.data is None and any("missing" in p.message for p in first.report.errors)
    missing = load_doe(content, filename="doe.xlsx", sheet="nope")
    assert not missing.report.readable and "runs" in missing.report.errors[0].message


def test_csv_and_xlsx_give_the_same_data(valid_frame):
    a = load_doe(to_csv_bytes(valid_frame), filename="a.csv").data.frame
    b = load_doe(to_xlsx_bytes({"DoE": valid_frame}), filename="a.xlsx").data.frame
    pd.testing.assert_frame_equal(a.drop(columns=["notes"]), b.drop(columns=["notes"]), check_dtype=False)


def test_semicolon_csv_and_decimal_commas(valid_frame):
    text = valid_frame.to_csv(index=False, sep=";").replace("0.1;", "0,1;", 1)
    result = load_doe(text.encode(), filename="doe.csv")
    assert result.data is not None and len(result.data) == len(valid_frame)
    assert any("decimal comma" in p.message for p in result.report.warnings)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("D50 (µm)", "D50"),
        ("d50", "D50"),
        ("D₅₀ [um]", "D50"),
        ("C0", "initial_concentration"),
        ("Initial Concentration (mg/g)", "initial_concentration"),
        ("Seed loading", "seed_loading"),
        ("Crystallinity (%)", "crystallinity"),
        ("Degree of agglomeration", "DoA"),
        ("t3", "T3"),
        ("Cooling rate 2", "C2"),
        ("H4 (°C/min)", "H4"),
        ("run id", None),
    ],
)
def test_header_aliases(header, name):
    assert Schema.default().match(header) == name


def test_unicode_headers_and_extra_columns_are_kept(valid_frame):
    frame = valid_frame.rename(columns={"notes": "Bemerkung – Größe"})
    frame.insert(0, "日付", "2026-01-01")
    result = load_doe(to_csv_bytes(frame), filename="doe.csv")
    assert result.report.ok
    assert {"日付", "Bemerkung – Größe", "run_id"} <= set(result.data.frame.columns)
    assert "日付" in result.report.ignored_columns
    assert result.data.extra_columns[:2] == ["日付", "run_id"]


def test_schema_maps_columns_adds_cqa_and_changes_bounds(valid_frame, tmp_path):
    frame = valid_frame.rename(columns={"D50 (µm)": "Size (um)", "seed_loading (mass fraction)": "Seed %"})
    frame["yield (%)"] = np.linspace(70, 90, len(frame))
    spec = {
        "columns": {"Size (um)": "D50", "Seed %": "seed_loading"},
        "cqas": [{"name": "yield", "unit": "%", "limits": [0, 100]}],
        "bounds": {"initial_concentration": [30, 40], "T": [0, 80]},
    }
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(spec))
    schema = Schema.from_json(path)
    assert schema.cqa_names == ["D50", "DoA", "crystallinity", "yield"]
    result = load_doe(to_csv_bytes(frame), filename="doe.csv", schema=schema)
    assert result.data is not None
    assert result.data.cqa_counts()["yield"] == len(frame)
    assert result.data.cqa("D50").notna().all()
    # concentrations of 45 and 46 are outside the schema's 30-40: warnings, rows kept
    out = [p for p in result.report.warnings if p.column == "initial_concentration (mg/g solvent)"]
    assert len(out) == (frame["initial_concentration (mg/g solvent)"] > 40).sum()


def test_schema_max_cycles_allows_more_columns():
    schema = Schema.from_json({"max_cycles": 5})
    assert schema.input_names[-1] == "H5" and "T12" in schema.input_names


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("{not json", "not valid JSON"),
        ({"max_cycles": -1}, "max_cycles"),
        ({"bounds": {"T": [70, 0]}}, "low < high"),
        ({"columns": {"Size": "D5O"}}, "not a known column"),
        ({"cqas": [{"name": "D50"}]}, "already"),
        ({"cqas": [{"unit": "%"}]}, "name"),
        ({"colour": 1}, "unknown schema keys"),
        ({"bounds": {"stirrer": [1, 2]}}, "unknown columns"),
    ],
)
def test_bad_schema_files_give_plain_reasons(spec, match):
    with pytest.raises(SchemaError, match=match):
        Schema.from_json(spec)


def test_read_rows_returns_every_row_in_canonical_columns():
    frame = doe_frame(1)
    frame["T1 (°C)"] = frame["T1 (°C)"].astype(object)
    frame.loc[2, "T1 (°C)"] = "hot"
    rows = read_rows(to_csv_bytes(frame), filename="doe.csv")
    assert list(rows.index) == list(range(2, 2 + len(frame)))
    assert np.isnan(rows.loc[4, "T1"])
    assert rows.columns.tolist()[:3] == ["initial_concentration", "seed_loading", "T1"]
    with pytest.raises(DoEReadError):
        read_rows(b"", filename="x.csv")


def test_load_frame_validates_a_dataframe(valid_frame):
    result = load_frame(valid_frame)
    assert result.report.ok and len(result.data) == len(valid_frame)


def test_template_is_a_valid_doe_with_a_column_guide():
    content = build_template()
    assert list_sheets(content, "t.xlsx") == ["DoE", "Columns"]
    empty = load_doe(content, filename="t.xlsx")
    assert [p.message for p in empty.report.problems] == [
        "no CQA value is measured in any row (D50, DoA, crystallinity); nothing can be learned"
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook["DoE"]
    d50 = next(c.column for c in sheet[1] if c.value and str(c.value).startswith("D50"))
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, d50, 100.0 + row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = load_doe(buffer.getvalue(), filename="t.xlsx")
    assert result.report.ok, result.report.to_text()
    assert sorted(set(result.data.profile_types())) == sorted(
        ["linear cooling", "linear cool + heat", "1 cycle", "2 cycles", "3 cycles", "4 cycles"]
    )
    guide = pd.read_excel(pd.io.common.BytesIO(content), sheet_name="Columns")
    assert {"D50", "T10", "C5", "H4", "seed_loading"} <= set(guide["column"])


def test_dataset_views(valid_frame):
    data = load_doe(to_csv_bytes(valid_frame), filename="doe.csv").data
    x = data.inputs
    assert list(x.columns) == Schema.default().input_names
    assert not x.isna().any().any()
    assert (x.loc[data.profile_types() == "linear cooling", "T3"] == 0).all()
    assert data.cqa_counts() == {
        "D50": len(valid_frame),
        "DoA": int(valid_frame["DoA (%)"].notna().sum()),
        "crystallinity": int(valid_frame["crystallinity (%)"].notna().sum()),
    }
    again = load_doe(data.to_csv_bytes(), filename="again.csv").data
    pd.testing.assert_frame_equal(again.inputs, x.reset_index(drop=True).set_axis(again.frame.index))
