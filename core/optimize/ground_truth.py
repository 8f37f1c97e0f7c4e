"""Check designs against the virtual lab: what the surrogate promised against what the simulator gives.

Meaningful when the models were trained on virtual-lab data (the shipped
sample data, or data made with `python -m core simulate`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.doe.schema import Schema
from core.virtual_lab.simulator import CQA_NAMES, simulate_rows


def ground_truth_check(
    points: pd.DataFrame, schema: Schema, *, noise: bool = False, random_state: int = 0, n_jobs: int = 1
) -> pd.DataFrame:
    """Per design: predicted mean and std, simulated value and the error in units of the predicted std."""
    simulated = simulate_rows(
        points[schema.input_names].reset_index(drop=True),
        noise=noise,
        random_state=random_state,
        n_jobs=n_jobs,
        max_cycles=schema.max_cycles,
        bounds=None,
    )
    out = points[["id", "profile_type"]].reset_index(drop=True).copy()
    for cqa in CQA_NAMES:
        if f"{cqa}_mean" not in points:
            continue
        mean = points[f"{cqa}_mean"].to_numpy(float)
        std = points[f"{cqa}_std"].to_numpy(float)
        sim = simulated[cqa].to_numpy(float)
        out[f"{cqa}_predicted"], out[f"{cqa}_std"], out[f"{cqa}_simulated"] = mean, std, sim
        out[f"{cqa}_error_sigmas"] = np.where(std > 0, (sim - mean) / np.where(std > 0, std, 1.0), np.nan)
    out["error"] = simulated["error"]
    return out


def coverage_summary(check: pd.DataFrame) -> pd.DataFrame:
    """Per CQA: mean absolute error and the share of designs whose simulated value is within ±1σ and ±2σ."""
    rows = []
    for cqa in CQA_NAMES:
        if f"{cqa}_simulated" not in check:
            continue
        z = check[f"{cqa}_error_sigmas"].abs().dropna()
        err = (check[f"{cqa}_simulated"] - check[f"{cqa}_predicted"]).abs().dropna()
        rows.append(
            {"cqa": cqa, "mae": err.mean(), "within_1sd": (z <= 1).mean(), "within_2sd": (z <= 2).mean(), "n": len(z)}
        )
    return pd.DataFrame(rows)


def spread_sample(points: pd.DataFrame, n: int) -> pd.DataFrame:
    """n of the points, spread evenly along their order (the fronts as listed), to check against the simulator."""
    step = max(len(points) // n, 1)
    return points.iloc[::step].head(n)
