"""`python -m core validate`: exit codes 0/1/2 and the JSON report."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from tests.conftest import to_csv_bytes

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def files(tmp_path, valid_frame):
    good = tmp_path / "good.csv"
    good.write_bytes(to_csv_bytes(valid_frame))
    bad_frame = valid_frame.copy()
    bad_frame["T1 (°C)"] = bad_frame["T1 (°C)"].astype(object)
    bad_frame.loc[0, "T1 (°C)"] = "warm"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(to_csv_bytes(bad_frame))
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00\xff" * 50)
    return good, bad, junk


def test_exit_codes(files, capsys):
    good, bad, junk = files
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(bad)]) == 1
    assert main(["validate", str(junk)]) == 2
    assert "binary" in capsys.readouterr().out


def test_json_report_schema(files, capsys, valid_frame):
    _, bad, _ = files
    assert main(["validate", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"errors", "warnings", "cqa_counts", "n_rows"}
    assert report["n_rows"] == len(valid_frame)
    assert report["errors"] == [
        {"severity": "error", "message": '"warm" is not a number', "row": 2, "column": "T1 (°C)"}
    ]
    assert report["cqa_counts"]["D50"] == len(valid_frame) - 1


def test_schema_and_sheet_options(tmp_path, files, capsys):
    good, _, _ = files
    schema = tmp_path / "schema.json"
    schema.write_text('{"bounds": {"initial_concentration": [0, 30]}}')
    assert main(["validate", str(good), "--schema", str(schema), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"]
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(good), "--schema", str(broken)])
    assert exc.value.code == 2


def test_module_entry_point_runs(files):
    good, _, _ = files
    done = subprocess.run(
        [sys.executable, "-m", "core", "validate", str(good), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["errors"] == []
