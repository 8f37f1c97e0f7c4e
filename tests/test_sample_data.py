"""The shipped sample data: reproducible from its script, shaped like the DoE of Barhate et al. (2025), readable
by the loader."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from core.doe import load_doe

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
DATA_FILES = ["doe.csv", "doe.xlsx", "holdout.csv", "holdout.xlsx"]
FILES = [*DATA_FILES, "template.xlsx"]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location("sample_data_generate", SAMPLE_DATA / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("sample_data")
    module.write_sample_data(out)
    return out


def _cells(path: Path) -> dict[str, list[tuple[object, ...]]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}


def test_script_reproduces_the_shipped_files(regenerated: Path) -> None:
    for name in FILES:
        shipped, fresh = SAMPLE_DATA / name, regenerated / name
        assert shipped.exists(), f"{name} is missing from sample_data/"
        if name.endswith(".csv"):
            assert fresh.read_bytes() == shipped.read_bytes(), name
        else:
            assert _cells(fresh) == _cells(shipped), name


def test_doe_mirrors_table_1_of_the_paper() -> None:
    data = load_doe(SAMPLE_DATA / "doe.xlsx", sheet="DoE").data
    assert data is not None and len(data) == 31
    assert data.profile_types().value_counts().to_dict() == {
        "linear cooling": 18,
        "linear cool + heat": 2,
        "1 cycle": 1,
        "2 cycles": 4,
        "3 cycles": 3,
        "4 cycles": 3,
    }
    assert data.cqa_counts() == {"D50": 31, "DoA": 21, "crystallinity": 15}
    # the analyses started during the campaign: early runs lack DoA and crystallinity
    assert data.frame["DoA"].iloc[:10].isna().all() and data.frame["DoA"].iloc[10:].notna().all()
    assert data.frame["crystallinity"].iloc[:16].isna().all()


@pytest.mark.parametrize("name", DATA_FILES)
def test_sample_files_load_without_problems_inside_the_design_space(name: str) -> None:
    result = load_doe(SAMPLE_DATA / name)
    assert result.report.ok and not result.report.warnings, result.report.to_dict()
    data = result.data
    assert all(p.is_feasible() for p in data.profiles())
    inputs = data.inputs
    assert inputs["initial_concentration"].between(24.8, 55.2).all()
    assert inputs["seed_loading"].between(0.05, 0.15).all()


def test_values_are_rounded_like_lab_records_and_cqas_are_realistic() -> None:
    frame = pd.concat([pd.read_csv(SAMPLE_DATA / n) for n in ("doe.csv", "holdout.csv")])
    temperatures = frame.filter(regex=r"^T\d+ ").stack()
    rates = frame.filter(regex=r"^[CH]\d+ ").stack()
    assert ((temperatures * 2).round() == temperatures * 2).all()
    assert ((rates * 100).round(6) % 1 == 0).all()
    assert frame["D50 (µm)"].between(10, 60).all()
    assert frame["DoA (%)"].dropna().between(20, 90).all()
    assert frame["crystallinity (%)"].dropna().between(40, 100).all()


def test_holdout_runs_are_well_performing_multi_cycle_profiles() -> None:
    holdout = load_doe(SAMPLE_DATA / "holdout.csv").data
    doe = load_doe(SAMPLE_DATA / "doe.csv").data
    assert len(holdout) == 4 and holdout.cqa_counts() == {"D50": 4, "DoA": 4, "crystallinity": 4}
    assert all(p.n_cycles >= 3 for p in holdout.profiles())
    assert holdout.cqa("D50").min() > doe.cqa("D50").median()
    assert holdout.cqa("DoA").max() < doe.cqa("DoA").median()
