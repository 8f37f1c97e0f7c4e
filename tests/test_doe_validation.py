"""Every validation rule, with good and hostile files. Problems name the sheet row and the user's header."""

import io
import pickle
import zipfile

import openpyxl
import pandas as pd
import pytest

from core.doe import Schema, load_doe
from core.doe.reader import MAX_FILE_BYTES, MAX_ROWS
from core.profiles import ThermocycleProfile
from tests.conftest import doe_frame, to_csv_bytes, to_xlsx_bytes

CONC = "initial_concentration (mg/g solvent)"


def load_csv(frame: pd.DataFrame):
    return load_doe(to_csv_bytes(frame), filename="doe.csv")


def problems(result, severity: str) -> list[tuple[int | None, str | None]]:
    return [(p.row, p.column) for p in result.report.problems if p.severity == severity]


def with_cell(frame: pd.DataFrame, row: int, column: str, value: object) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


def test_valid_file_has_no_problems(valid_frame):
    result = load_csv(valid_frame)
    assert result.report.ok and not result.report.warnings
    assert result.report.n_rows == result.report.n_usable == len(valid_frame)


def test_missing_required_columns_are_errors_and_nothing_loads(valid_frame):
    result = load_csv(valid_frame.drop(columns=["seed_loading (mass fraction)", "T2 (°C)"]))
    assert result.data is None
    messages = " ".join(p.message for p in result.report.errors)
    assert "seed_loading" in messages and "T2" in messages


def test_no_cqa_column_is_an_error(valid_frame):
    result = load_csv(valid_frame.drop(columns=["D50 (µm)", "DoA (%)", "crystallinity (%)"]))
    assert result.data is None and "no CQA column" in result.report.errors[0].message


def test_non_numeric_cell_names_sheet_row_and_header(valid_frame):
    result = load_csv(with_cell(valid_frame, 3, "C1 (°C/min)", "fast"))
    assert problems(result, "error") == [(5, "C1 (°C/min)")]  # frame row 3 = sheet row 5 (header is row 1)
    assert '"fast" is not a number' in result.report.errors[0].message
    assert len(result.data) == len(valid_frame) - 1 and 5 not in result.data.frame.index


def test_missing_value_tokens_are_blank_not_errors(valid_frame):
    result = load_csv(with_cell(with_cell(valid_frame, 0, "DoA (%)", "n/a"), 1, "D50 (µm)", "—"))
    assert result.report.ok
    assert result.data.cqa_counts()["D50"] == len(valid_frame) - 1


def test_duplicated_headers_for_one_role_are_an_error(valid_frame):
    frame = valid_frame.copy()
    frame.insert(5, "d50", frame["D50 (µm)"])
    result = load_csv(frame)
    assert result.data is None
    assert "both hold D50" in result.report.errors[0].message


def test_duplicated_rows_are_warnings(valid_frame):
    frame = pd.concat([valid_frame, valid_frame.iloc[[2]]], ignore_index=True)
    result = load_csv(frame)
    dup = [p for p in result.report.warnings if "repeats row" in p.message]
    assert [(p.row, p.message.split()[2].rstrip(";")) for p in dup] == [(len(frame) + 1, "4")]
    assert len(result.data) == len(frame)


def test_out_of_bounds_is_a_warning_and_impossible_is_an_error(valid_frame):
    frame = with_cell(valid_frame, 0, CONC, 60.0)  # outside Table 2, still possible
    frame = with_cell(frame, 1, "seed_loading (mass fraction)", 1.5)  # impossible
    frame = with_cell(frame, 2, "DoA (%)", 130.0)  # impossible
    result = load_csv(frame)
    assert (2, CONC) in problems(result, "warning")
    assert {(3, "seed_loading (mass fraction)"), (4, "DoA (%)")} <= set(problems(result, "error"))
    assert sorted(result.data.frame.index)[:2] == [2, 5]


def test_profile_bound_warning(valid_frame):
    result = load_csv(with_cell(valid_frame, 0, "C1 (°C/min)", 0.5))
    assert problems(result, "warning") == [(2, "C1 (°C/min)")]


def test_profiles_breaking_eqs_2_to_4_are_errors(valid_frame):
    frame = with_cell(valid_frame, 2, "T2 (°C)", 70.0)  # cooling ramp goes up: Eq. 3
    frame = with_cell(frame, 3, "T3 (°C)", 0.0)  # gap before T4: Eq. 4
    frame = with_cell(frame, 4, "H2 (°C/min)", None)  # missing rate for a used ramp
    frame = with_cell(frame, 0, "H1 (°C/min)", 0.7)  # a rate for a ramp that does not exist
    result = load_csv(frame)
    errors = {(p.row, p.column): p.message for p in result.report.errors}
    assert "Eq. 3" in errors[(4, "T2 (°C)")]
    assert (5, "T4 (°C)") in errors
    assert (6, "H2 (°C/min)") in errors
    assert (2, "H1 (°C/min)") in errors
    assert set(result.data.frame.index).isdisjoint({2, 4, 5, 6})


def test_unused_segments_blank_or_zero_are_the_same(valid_frame):
    zeros = valid_frame.copy()
    profile_cols = [c for c in zeros.columns if c[0] in "TCH" and c[1].isdigit()]
    zeros[profile_cols] = zeros[profile_cols].fillna(0.0)
    a, b = load_csv(valid_frame), load_csv(zeros)
    assert b.report.ok
    pd.testing.assert_frame_equal(a.data.inputs, b.data.inputs)


FIVE_CYCLES = ThermocycleProfile(
    (60.0, 30.0, 50.0, 28.0, 46.0, 25.0, 42.0, 22.0, 38.0, 20.0, 35.0, 10.0), (0.2,) * 6, (0.7,) * 5
)


def with_profile(frame: pd.DataFrame, row: int, profile: ThermocycleProfile) -> pd.DataFrame:
    features = {_header(name): value for name, value in profile.to_features(profile.n_cycles).items()}
    frame = frame.reindex(columns=[*frame.columns, *(h for h in features if h not in frame.columns)])
    for header, value in features.items():
        frame = with_cell(frame, row, header, value)
    return frame


def _header(name: str) -> str:
    return f"{name} (°C)" if name[0] == "T" else f"{name} (°C/min)"


def test_profiles_with_more_cycles_than_the_schema_are_errors_until_a_wider_schema_reads_them(valid_frame):
    frame = with_profile(valid_frame, 0, FIVE_CYCLES)  # sheet row 2
    result = load_csv(frame)
    errors = {(p.row, p.column): p.message for p in result.report.errors}
    assert set(errors) == {(2, "T11 (°C)"), (2, "T12 (°C)"), (2, "C6 (°C/min)"), (2, "H5 (°C/min)")}
    assert "belongs to cycle 5" in errors[(2, "H5 (°C/min)")] and "max_cycles" in errors[(2, "H5 (°C/min)")]
    assert 2 not in result.data.frame.index and result.report.n_usable == len(frame) - 1
    wider = load_doe(to_csv_bytes(frame), filename="doe.csv", schema=Schema.default(max_cycles=5))
    assert wider.report.ok
    assert ThermocycleProfile.from_features(wider.data.inputs.loc[2].to_dict(), 5) == FIVE_CYCLES
    # a schema file that maps those columns to null keeps them, by choice, as columns not modelled
    chosen = Schema.from_json({"columns": {h: None for h in ("T11 (°C)", "T12 (°C)", "C6 (°C/min)", "H5 (°C/min)")}})
    assert load_doe(to_csv_bytes(frame), filename="doe.csv", schema=chosen).report.ok


def test_columns_of_more_cycles_left_blank_or_zero_are_kept_without_a_problem(valid_frame):
    result = load_csv(valid_frame.assign(**{"T11 (°C)": 0.0, "H5 (°C/min)": None}))
    assert result.report.ok and not result.report.warnings
    assert {"T11 (°C)", "H5 (°C/min)"} <= set(result.report.ignored_columns)


def test_row_with_no_cqa_is_a_warning(valid_frame):
    frame = valid_frame.copy()
    frame.loc[1, ["D50 (µm)", "DoA (%)", "crystallinity (%)"]] = None
    result = load_csv(frame)
    assert problems(result, "warning") == [(3, None)]


def test_blank_rows_keep_the_sheet_numbering(valid_frame):
    text = to_csv_bytes(valid_frame).decode().splitlines()
    text.insert(3, ",,,")
    text[5] = text[5].replace("run-0-3,35.0", "run-0-3,oops", 1)
    result = load_doe("\n".join(text).encode(), filename="doe.csv")
    assert problems(result, "error") == [(6, CONC)]


@pytest.mark.parametrize(
    ("content", "name", "match"),
    [
        (b"", "doe.csv", "empty"),
        (b"   \n\n", "doe.csv", "empty"),
        (b"\x00\x01\x02binary\xff" * 100, "doe.xlsx", "binary"),
        (b"a,b\n1,2\n", "doe.xlsx", "plain text"),
        (b"%PDF-1.7 something", "doe.csv", "PDF"),
        (pickle.dumps({"evil": 1}), "doe.csv", "pickled"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "doe.xls", "97-2003"),
        (b"PK\x03\x04garbage", "doe.xlsx", "damaged zip"),
        (b"MZ\x90\x00", "doe.exe", "program"),
        (b"a,b\n1,2\n", "doe.json", "only .csv"),
    ],
)
def test_unreadable_files_give_one_plain_error(content, name, match):
    result = load_doe(content, filename=name)
    assert result.data is None and not result.report.readable
    assert len(result.report.errors) == 1
    assert match in result.report.errors[0].message


def test_zip_that_is_not_a_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("payload.txt", "hello")
    result = load_doe(buffer.getvalue(), filename="doe.xlsx")
    assert "not an Excel workbook" in result.report.errors[0].message


def test_xlsx_named_csv_is_rejected(valid_frame):
    result = load_doe(to_xlsx_bytes({"DoE": valid_frame}), filename="doe.csv")
    assert "rename it to .xlsx" in result.report.errors[0].message


def test_header_only_file(valid_frame):
    result = load_csv(valid_frame.head(0))
    assert result.data is None and "no data rows" in result.report.errors[0].message


def test_file_too_large():
    result = load_doe(b"a" * (MAX_FILE_BYTES + 1), filename="big.csv")
    assert "limit" in result.report.errors[0].message and not result.report.readable


def test_missing_path_is_reported(tmp_path):
    result = load_doe(tmp_path / "nope.csv")
    assert not result.report.readable and "cannot open" in result.report.errors[0].message


def test_100k_row_file_is_validated_with_a_capped_report():
    frame = doe_frame(1)
    big = pd.concat([frame] * (MAX_ROWS // len(frame)), ignore_index=True)
    big["run_id"] = range(len(big))
    result = load_csv(big)
    assert result.report.n_rows == len(big) and result.report.n_usable == len(big)
    dup = [p for p in result.report.warnings if "repeats row" in p.message]
    assert len(dup) == 50  # capped per rule ...
    assert any(p.message.startswith(f"{len(big) - len(frame) - 50:,} more rows") for p in result.report.warnings)


def test_more_rows_than_the_limit_are_refused():
    frame = doe_frame(1)
    big = pd.concat([frame] * (MAX_ROWS // len(frame) + 1), ignore_index=True)
    result = load_csv(big)
    assert not result.report.readable and "limit" in result.report.errors[0].message


def workbook_bytes(valid_frame: pd.DataFrame, edit) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({"DoE": valid_frame})))
    edit(wb["DoE"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_formula_without_saved_value_is_an_error(valid_frame):
    def put_formula(ws):
        ws["B3"] = "=B2+1"

    result = load_doe(workbook_bytes(valid_frame, put_formula), filename="doe.xlsx")
    assert problems(result, "error") == [(3, CONC)]
    assert "formula" in result.report.errors[0].message


def test_merged_cells_are_errors_for_the_hidden_cells(valid_frame):
    def merge(ws):
        ws.merge_cells("B4:B5")

    result = load_doe(workbook_bytes(valid_frame, merge), filename="doe.xlsx")
    assert (5, CONC) in problems(result, "error")
    assert "merged" in result.report.errors[0].message
    assert 4 in result.data.frame.index and 5 not in result.data.frame.index


def test_report_serialises_with_rows_and_columns(valid_frame):
    result = load_csv(with_cell(valid_frame, 0, "T1 (°C)", "x"))
    d = result.report.to_dict()
    assert set(d) >= {"errors", "warnings", "cqa_counts", "n_rows"}
    assert d["errors"][0]["row"] == 2 and d["errors"][0]["column"] == "T1 (°C)"
    assert d["cqa_counts"]["D50"] == len(valid_frame) - 1


def test_design_bounds_cover_the_experiments_beyond_the_template():
    schema = Schema.default()
    runs = pd.DataFrame(
        [
            {"initial_concentration": 80.0, "seed_loading": 0.1, "T1": 75.0, "T2": 0.0, "C1": 0.1},  # T2 unused
            {"initial_concentration": 40.0, "seed_loading": float("nan"), "T1": 60.0, "T2": 20.0, "C1": 0.4},
        ]
    )
    wide = schema.covering(runs)
    assert wide.bounds["initial_concentration"] == (24.8, 80.0)
    assert wide.bounds["seed_loading"] == schema.bounds["seed_loading"]  # inside already; NaN ignored
    assert wide.bounds["T1"] == wide.bounds["T10"] == (0.0, 75.0)  # every set point, as far as any used one
    assert wide.bounds["C5"] == (schema.bounds["C1"][0], 0.4) and wide.bounds["H1"] == schema.bounds["H1"]
    assert wide.profile_bounds.T == (0.0, 75.0)
    assert schema.covering(runs.iloc[:0]) == schema
    result = load_csv(with_cell(doe_frame(), 0, CONC, 80.0))
    warning = next(p.message for p in result.report.warnings if p.column == CONC)
    assert "outside the design space [24.8, 55.2]; the design bounds widen to take it in" in warning
