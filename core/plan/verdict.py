"""Is the model fit for purpose at a design? Prediction ± σ against replicate measurements.

Barhate et al. (2025), Table 3 and Step 8.

Per CQA, with replicate measurements of mean m and standard deviation s
(n ≥ 2) and a prediction μ ± σ, where σ_m is the σ of the mean response (a
new run's σ less its own scatter, `core.models.uncertainty`; σ itself where
the model does not separate the two):

* the model *disagrees* when |μ − m| > 2·sqrt(σ_m² + s²/n): the measurement
  is outside what the model and the replicates' spread allow together (the
  replicates' scatter is counted once, in s²/n, not again inside σ);
* otherwise it *agrees*, and it is *precise enough* when σ_m ≤
  `sigma_ratio`·s, i.e. what the model does not know is comparable to the
  experiment's own scatter. An agreeing but much less certain model still
  needs data there.

With a single measurement there is no experimental spread: agreement is
judged against a new run's σ alone and precision cannot be judged. The model
is fit for purpose at the design when every measured CQA agrees and is
precise enough; otherwise the advice is to plan more experiments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

FIT, IMPRECISE, DISAGREES, UNKNOWN_SPREAD, NOT_MEASURED = (
    "fit for purpose",
    "agrees, but the model is much less certain than the experiment",
    "disagrees with the measurement",
    "agrees; replicate to judge precision",
    "not measured",
)


@dataclass
class Verdict:
    table: pd.DataFrame  # one row per CQA: prediction, replicates, z, ratio, status
    fit_for_purpose: bool
    message: str


def replicate_summary(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (NaN for one value) and count of replicate measurements."""
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], float)
    if len(x) == 0:
        return math.nan, math.nan, 0
    return float(x.mean()), float(x.std(ddof=1)) if len(x) > 1 else math.nan, len(x)


def fit_for_purpose(
    predictions: Mapping[str, tuple[float, float]],
    replicates: Mapping[str, Sequence[float]],
    sigma_ratio: float = 2.0,
    std_of_mean: Mapping[str, float] | None = None,
) -> Verdict:
    """The verdict for one design: `predictions` CQA -> (mean, a new run's σ), `replicates` CQA -> measured values,
    `std_of_mean` CQA -> σ of the mean response where the model separates it (otherwise σ stands for it)."""
    rows = []
    for cqa, (mu, sigma) in predictions.items():
        of_mean = (std_of_mean or {}).get(cqa)
        of_mean = sigma if of_mean is None or not math.isfinite(of_mean) else of_mean
        mean, sd, n = replicate_summary(replicates.get(cqa, ()))
        row = {"cqa": cqa, "predicted_mean": mu, "predicted_std": sigma, "predicted_std_of_mean": of_mean}
        row |= {"measured_mean": mean, "measured_std": sd, "n": n, "z": math.nan, "sigma_ratio": math.nan}
        if n == 0:
            row["status"] = NOT_MEASURED
        else:
            combined = math.sqrt(of_mean**2 + sd**2 / n) if n > 1 else sigma
            row["z"] = abs(mu - mean) / combined if combined > 0 else (0.0 if mu == mean else math.inf)
            if n > 1 and sd > 0:
                row["sigma_ratio"] = of_mean / sd
            if row["z"] > 2:
                row["status"] = DISAGREES
            elif n < 2 or not sd > 0:
                row["status"] = UNKNOWN_SPREAD
            else:
                row["status"] = FIT if row["sigma_ratio"] <= sigma_ratio else IMPRECISE
        rows.append(row)
    table = pd.DataFrame(rows)
    return Verdict(table, *_advice(table, sigma_ratio))


def _advice(table: pd.DataFrame, sigma_ratio: float) -> tuple[bool, str]:
    measured = table[table["status"] != NOT_MEASURED]
    if measured.empty:
        return False, "Nothing measured yet: enter the replicate measurements of this run."
    wrong = list(measured.loc[measured["status"] == DISAGREES, "cqa"])
    vague = list(measured.loc[measured["status"] == IMPRECISE, "cqa"])
    unknown = list(measured.loc[measured["status"] == UNKNOWN_SPREAD, "cqa"])
    if wrong:
        return False, (
            f"More experiments are needed: the model's {', '.join(wrong)} is off by more than twice the combined "
            "uncertainty of prediction and replicates here. Plan the next batch and retrain."
        )
    if vague:
        return False, (
            f"The model agrees with the measurements, but its {', '.join(vague)} uncertainty is more than "
            f"{sigma_ratio:g}× the replicates' spread: more experiments near this design would make it fit for purpose."
        )
    if unknown:
        return False, (
            f"The model agrees with the measurement of {', '.join(unknown)}, but with a single measurement the "
            "experimental spread is unknown: replicate the run to judge whether the model is precise enough."
        )
    return True, (
        "The model is fit for purpose at this design: every measured CQA agrees with the prediction, and the "
        "prediction's uncertainty is comparable to the experiment's own."
    )


def parse_replicates(text: str) -> list[float]:
    """Numbers typed as '41.2, 39.8; 40.5' (commas, semicolons or spaces); a plain message for anything else."""
    items = [t for t in text.replace(";", " ").replace(",", " ").split() if t]
    values = []
    for item in items:
        try:
            values.append(float(item))
        except ValueError:
            raise ValueError(f'"{item}" is not a number; enter replicate values like 41.2, 39.8, 40.5') from None
    return values


def prediction_vs_measured(
    prediction: pd.DataFrame, measured: Mapping[str, float], cqas: Sequence[str]
) -> pd.DataFrame:
    """One row per CQA: the first predicted row's mean and σ beside a single measurement (NaN where not measured)."""
    return pd.DataFrame(
        [
            {
                "cqa": c,
                "predicted_mean": prediction[f"{c}_mean"].iloc[0],
                "predicted_std": prediction[f"{c}_std"].iloc[0],
                "measured": measured.get(c, math.nan),
                "measured_std": math.nan,
            }
            for c in cqas
        ]
    )


def within_two_sigma(table: pd.DataFrame) -> tuple[int, int]:
    """How many measured CQAs of a `prediction_vs_measured` table lie within ±2σ of the prediction, of how many."""
    measured = table.dropna(subset=["measured"])
    inside = (measured["measured"] - measured["predicted_mean"]).abs() <= 2 * measured["predicted_std"]
    return int(inside.sum()), len(measured)
