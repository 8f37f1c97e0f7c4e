"""Recipes: chosen design points as segment tables and setpoint series, in CSV, XLSX and JSON.

A recipe is written at the precision a plant can set and the models support
(0.01 °C, 0.001 °C/min, 0.1 mg/g; `Recipe.rounded`), with units in the headers.
Every format reads back to exactly the recipe written (`read_recipes`), so an
exported recipe can be checked, edited and re-imported without loss.
"""

from __future__ import annotations

import io
import json
import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import openpyxl
import pandas as pd
from openpyxl.styles import Font

from core.doe.schema import Schema
from core.profiles import RECIPE_COLUMNS, ThermocycleProfile

SEGMENTS_HEADER = "segments"
SETPOINTS_HEADER = "setpoints"
# Decimals written: temperatures 0.01 °C, ramp rates 0.001 °C/min, concentration 0.1 mg/g, times 0.01 min.
T_DECIMALS, RATE_DECIMALS, TIME_DECIMALS, PREDICTION_DECIMALS, INPUT_DECIMALS = 2, 3, 2, 2, 4
SCALAR_DECIMALS = {"initial_concentration": 1, "seed_loading": 3}
COLUMN_UNITS = {"start_T": "°C", "end_T": "°C", "rate": "°C/min", "T_setpoint": "°C"}
UNIT_SUFFIX = re.compile(r"\s*\([^()]*\)\s*$")


@dataclass
class Recipe:
    id: str
    profile: ThermocycleProfile
    initial_concentration: float
    seed_loading: float
    other_inputs: dict[str, float] = field(default_factory=dict)
    predictions: dict[str, tuple[float, float]] = field(default_factory=dict)  # CQA -> (mean, std)

    def summary(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": self.id,
            "profile_type": self.profile.type_name,
            "n_cycles": self.profile.n_cycles,
            "initial_concentration": self.initial_concentration,
            "seed_loading": self.seed_loading,
            **self.other_inputs,
            "batch_time_min": round(self.profile.batch_time_min, TIME_DECIMALS),
        }
        for cqa, (mean, std) in self.predictions.items():
            row[f"{cqa}_mean"], row[f"{cqa}_std"] = mean, std
        return row

    def rounded(self) -> Recipe:
        """The recipe at the precision it is written with (rounding keeps Eqs. 2-3: it is monotone)."""
        p = self.profile
        profile = ThermocycleProfile(
            tuple(round(t, T_DECIMALS) for t in p.temperatures),
            tuple(round(c, RATE_DECIMALS) for c in p.cooling_rates),
            tuple(round(h, RATE_DECIMALS) for h in p.heating_rates),
        )
        return replace(
            self,
            profile=profile,
            initial_concentration=round(self.initial_concentration, SCALAR_DECIMALS["initial_concentration"]),
            seed_loading=round(self.seed_loading, SCALAR_DECIMALS["seed_loading"]),
            other_inputs={k: round(v, INPUT_DECIMALS) for k, v in self.other_inputs.items()},
            predictions={
                c: (round(m, PREDICTION_DECIMALS), round(s, PREDICTION_DECIMALS))
                for c, (m, s) in self.predictions.items()
            },
        )

    def segment_table(self) -> pd.DataFrame:
        """The ramps as written: durations and end times to 0.01 min."""
        table = self.profile.recipe_table()
        return table.assign(**{c: table[c].round(TIME_DECIMALS) for c in ("duration_min", "cumulative_min")})

    def setpoint_table(self, resolution_min: float) -> pd.DataFrame:
        series = self.profile.setpoints(resolution_min)
        return series.assign(time_min=series["time_min"].round(TIME_DECIMALS), T_setpoint=series["T_setpoint"].round(2))

    def feature_row(self, schema: Schema) -> dict[str, float]:
        """The model inputs of this recipe (unused profile entries 0, Eq. 4)."""
        scalars = {"initial_concentration": self.initial_concentration, "seed_loading": self.seed_loading}
        return schema.feature_row(self.profile, scalars | self.other_inputs)

    def to_dict(self, resolution_min: float = 1.0) -> dict[str, Any]:
        setpoints = self.setpoint_table(resolution_min)
        summary = self.summary()
        return {
            **{k: v for k, v in summary.items() if not k.endswith(("_mean", "_std"))},
            "predictions": {c: {"mean": m, "std": s} for c, (m, s) in self.predictions.items()},
            "units": {k: u for k in [*summary, *COLUMN_UNITS] if (u := unit_of(k))},
            "segments": self.segment_table().to_dict("records"),
            "setpoints": {"resolution_min": resolution_min, **setpoints.to_dict("list")},
        }


def unit_of(key: str) -> str:
    """The unit of a recipe field ('' when it has none or its name says it, like batch_time_min)."""
    if key in COLUMN_UNITS:
        return COLUMN_UNITS[key]
    name = key.removesuffix("_mean").removesuffix("_std")
    try:
        unit = Schema.default().variable(name).unit
    except KeyError:
        return ""
    return "" if unit == "-" else unit


def with_unit(key: str) -> str:
    unit = unit_of(key)
    return f"{key} ({unit})" if unit else key


def without_unit(header: object) -> str:
    return UNIT_SUFFIX.sub("", str(header))


def recipe_from_point(point: pd.Series | dict[str, Any], schema: Schema) -> Recipe:
    """A recipe from one row of a design result (or any row with the schema's input columns)."""
    row = dict(point)
    scalars = schema.scalar_inputs
    predictions = {c: (float(row[f"{c}_mean"]), float(row[f"{c}_std"])) for c in schema.cqa_names if f"{c}_mean" in row}
    return Recipe(
        id=str(row.get("id", "recipe")),
        profile=ThermocycleProfile.from_features({n: row.get(n) for n in schema.profile_names}, schema.max_cycles),
        initial_concentration=float(row["initial_concentration"]),
        seed_loading=float(row["seed_loading"]),
        other_inputs={n: float(row[n]) for n in scalars if n not in ("initial_concentration", "seed_loading")},
        predictions=predictions,
    )


# -- writers ---------------------------------------------------------------------------
def recipes_to_json(recipes: list[Recipe], resolution_min: float = 1.0) -> bytes:
    return json.dumps([r.rounded().to_dict(resolution_min) for r in recipes], indent=2, ensure_ascii=False).encode(
        "utf-8"
    )


def recipes_to_csv(recipes: list[Recipe]) -> bytes:
    """One row per ramp of every recipe, with the recipe's conditions and predictions on each row."""
    frames = []
    for r in (r.rounded() for r in recipes):
        table = r.segment_table()
        for key, value in reversed(r.summary().items()):
            table.insert(0, key, value)
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    return out.rename(columns=with_unit).to_csv(index=False).encode("utf-8")


def recipes_to_xlsx(recipes: list[Recipe], resolution_min: float = 1.0) -> bytes:
    """A summary sheet, then one sheet per recipe: conditions, segment table and setpoint series."""
    wb = openpyxl.Workbook()
    summary = wb.active
    summary.title = "summary"
    recipes = [r.rounded() for r in recipes]
    rows = [r.summary() for r in recipes]
    header = list(dict.fromkeys(k for row in rows for k in row))
    summary.append([with_unit(k) for k in header])
    for row in rows:
        summary.append([row.get(k) for k in header])
    for r in recipes:
        ws = wb.create_sheet(_sheet_name(r.id, wb.sheetnames))
        ws.append(["recipe", r.id])
        for key, value in r.summary().items():
            if key != "id":
                ws.append([with_unit(key), value])
        ws.append([])
        ws.append([SEGMENTS_HEADER])
        ws.append([with_unit(c) for c in RECIPE_COLUMNS])
        for seg in r.segment_table().itertuples(index=False):
            ws.append(list(seg))
        ws.append([])
        ws.append([SETPOINTS_HEADER, f"every {resolution_min:g} min and at every ramp end"])
        ws.append([with_unit("time_min"), with_unit("T_setpoint")])
        for t, temp in r.setpoint_table(resolution_min).itertuples(index=False):
            ws.append([t, temp])
        for cell in ws["A"]:
            if cell.value in ("recipe", SEGMENTS_HEADER, SETPOINTS_HEADER):
                cell.font = Font(bold=True)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _sheet_name(recipe_id: str, taken: list[str]) -> str:
    base = "".join(ch for ch in recipe_id if ch not in "[]:*?/\\")[:28] or "recipe"
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    return name


# -- readers ---------------------------------------------------------------------------
def read_recipes(content: bytes, filename: str) -> list[Recipe]:
    """Recipes back from any export format (for checks and re-import)."""
    suffix = filename.rsplit(".", 1)[-1].lower()
    if suffix == "json":
        return [_from_dict(d) for d in json.loads(content.decode("utf-8"))]
    if suffix == "csv":
        table = pd.read_csv(io.BytesIO(content), float_precision="round_trip").rename(columns=without_unit)
        return [_from_rows(group) for _, group in table.groupby("id", sort=False)]
    if suffix == "xlsx":
        wb = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
        return [_from_sheet(wb[name]) for name in wb.sheetnames if name != "summary"]
    raise ValueError(f"{filename}: recipes are read from .json, .csv or .xlsx")


def _number(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _predictions(row: dict[str, Any]) -> dict[str, tuple[float, float]]:
    return {
        k[: -len("_mean")]: (float(v), _number(row.get(k[: -len("_mean")] + "_std")))
        for k, v in row.items()
        if k.endswith("_mean") and not math.isnan(_number(v))
    }


def _from_dict(d: dict[str, Any]) -> Recipe:
    segments = pd.DataFrame(d["segments"])
    known = {
        "id",
        "profile_type",
        "n_cycles",
        "initial_concentration",
        "seed_loading",
        "batch_time_min",
        "predictions",
        "segments",
        "setpoints",
        "units",
    }
    return Recipe(
        str(d["id"]),
        ThermocycleProfile.from_recipe_table(segments),
        float(d["initial_concentration"]),
        float(d["seed_loading"]),
        {k: float(v) for k, v in d.items() if k not in known},
        {c: (float(p["mean"]), float(p["std"])) for c, p in d.get("predictions", {}).items()},
    )


def _from_rows(group: pd.DataFrame) -> Recipe:
    first = group.iloc[0].to_dict()
    others = (
        set(group.columns)
        - set(RECIPE_COLUMNS)
        - {"id", "profile_type", "n_cycles", "initial_concentration", "seed_loading", "batch_time_min"}
    )
    return Recipe(
        str(first["id"]),
        ThermocycleProfile.from_recipe_table(group[RECIPE_COLUMNS]),
        float(first["initial_concentration"]),
        float(first["seed_loading"]),
        {k: float(first[k]) for k in others if not k.endswith(("_mean", "_std"))},
        _predictions(first),
    )


def _from_sheet(ws: openpyxl.worksheet.worksheet.Worksheet) -> Recipe:
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    info: dict[str, Any] = {}
    k = 0
    while rows[k] and rows[k][0] not in (None, SEGMENTS_HEADER):
        info[without_unit(rows[k][0])] = rows[k][1]
        k += 1
    start = next(i for i, r in enumerate(rows) if r and r[0] == SEGMENTS_HEADER) + 2
    end = next(i for i in range(start, len(rows)) if not rows[i] or rows[i][0] is None)
    segments = pd.DataFrame([r[: len(RECIPE_COLUMNS)] for r in rows[start:end]], columns=RECIPE_COLUMNS)
    fixed = {"recipe", "profile_type", "n_cycles", "initial_concentration", "seed_loading", "batch_time_min"}
    return Recipe(
        str(info["recipe"]),
        ThermocycleProfile.from_recipe_table(segments),
        float(info["initial_concentration"]),
        float(info["seed_loading"]),
        {k: float(v) for k, v in info.items() if k not in fixed and not k.endswith(("_mean", "_std"))},
        _predictions(info),
    )
