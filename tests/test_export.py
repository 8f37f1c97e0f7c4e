import numpy as np
import pytest

from core.doe import Schema
from core.export import read_recipes, recipe_from_point, recipes_to_csv, recipes_to_json, recipes_to_xlsx
from core.profiles import ThermocycleProfile

SCHEMA = Schema.default()


def points():
    profiles = [
        ThermocycleProfile((65, 40, 55, 30, 45, 22, 35, 15, 25, 5), (0.3, 0.2, 0.15, 0.1, 0.05), (1.0, 0.8, 0.8, 0.5)),
        ThermocycleProfile((61.3, 20.7), (0.123,)),
    ]
    rows = []
    for k, p in enumerate(profiles):
        rows.append(
            {
                "id": f"P{k}",
                "initial_concentration": 40.0 + k,
                "seed_loading": 0.1,
                **p.to_features(),
                "D50_mean": 30.0 + k,
                "D50_std": 2.0,
                "DoA_mean": 50.0,
                "DoA_std": 4.0,
            }
        )
    return rows, profiles


@pytest.mark.parametrize(
    ("writer", "name"), [(recipes_to_json, "r.json"), (recipes_to_csv, "r.csv"), (recipes_to_xlsx, "r.xlsx")]
)
def test_export_round_trip_gives_the_same_recipes(writer, name):
    rows, profiles = points()
    recipes = [recipe_from_point(r, SCHEMA) for r in rows]
    back = read_recipes(writer(recipes), name)
    assert [r.id for r in back] == ["P0", "P1"]
    assert [r.profile for r in back] == profiles
    assert [r.initial_concentration for r in back] == [40.0, 41.0]
    assert back[0].predictions == {"D50": (30.0, 2.0), "DoA": (50.0, 4.0)}


def test_json_holds_setpoints_at_the_chosen_resolution():
    import json

    rows, _ = points()
    data = json.loads(recipes_to_json([recipe_from_point(rows[1], SCHEMA)], resolution_min=2.0))
    setpoints = data[0]["setpoints"]
    assert setpoints["resolution_min"] == 2.0
    assert np.allclose(np.diff(setpoints["time_min"])[:-1], 2.0)
    assert setpoints["T_setpoint"][-1] == 20.7
    assert data[0]["segments"][0]["rate"] == 0.123


def test_xlsx_has_a_summary_and_one_sheet_per_recipe():
    import io

    import openpyxl

    rows, _ = points()
    wb = openpyxl.load_workbook(io.BytesIO(recipes_to_xlsx([recipe_from_point(r, SCHEMA) for r in rows])))
    assert wb.sheetnames == ["summary", "P0", "P1"]
    assert wb["summary"]["A1"].value == "id" and wb["summary"]["A3"].value == "P1"


def full_precision_point() -> dict:
    profile = ThermocycleProfile((61.234567, 35.118, 47.9051, 12.3449), (0.1234567, 0.2987654), (0.7777777,))
    return {
        "id": "F1",
        "initial_concentration": 55.18845829457249,
        "seed_loading": 0.123456,
        **profile.to_features(),
        "D50_mean": 152.34567,
        "D50_std": 3.14159,
    }


@pytest.mark.parametrize(
    ("writer", "name"), [(recipes_to_json, "r.json"), (recipes_to_csv, "r.csv"), (recipes_to_xlsx, "r.xlsx")]
)
def test_recipes_are_written_rounded_and_read_back_exactly_as_written(writer, name):
    recipe = recipe_from_point(full_precision_point(), SCHEMA)
    content = writer([recipe])
    (back,) = read_recipes(content, name)
    assert back.profile.temperatures == (61.23, 35.12, 47.91, 12.34)
    assert back.profile.cooling_rates == (0.123, 0.299) and back.profile.heating_rates == (0.778,)
    assert back.initial_concentration == 55.2 and back.seed_loading == 0.123
    assert back.predictions == {"D50": (152.35, 3.14)}
    assert read_recipes(writer([back]), name) == [back]  # what was read writes the same recipe again
    if not name.endswith("xlsx"):  # (a workbook also stores the time it was written)
        assert writer([back]) == content
    assert back == recipe.rounded()


def test_recipe_headers_carry_units():
    import io

    import openpyxl
    import pandas as pd

    recipe = recipe_from_point(full_precision_point(), SCHEMA)
    csv = pd.read_csv(io.BytesIO(recipes_to_csv([recipe])))
    assert {"initial_concentration (mg/g solvent)", "start_T (°C)", "rate (°C/min)", "D50_mean (µm)"} <= set(csv)
    assert "batch_time_min" in csv and "duration_min" in csv
    wb = openpyxl.load_workbook(io.BytesIO(recipes_to_xlsx([recipe])))
    summary = [c.value for c in wb["summary"][1]]
    assert "initial_concentration (mg/g solvent)" in summary and "D50_std (µm)" in summary
    assert wb["summary"].cell(2, summary.index("initial_concentration (mg/g solvent)") + 1).value == 55.2
    sheet = [r for r in wb["F1"].iter_rows(values_only=True)]
    assert ("step", "kind", "start_T (°C)", "end_T (°C)", "rate (°C/min)", "duration_min", "cumulative_min") in sheet
    assert ("time_min", "T_setpoint (°C)") in [r[:2] for r in sheet]
