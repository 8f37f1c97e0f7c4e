"""Scores of fitted CQA models, as small dataclasses that serialise to JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


def _finite(value: float | None) -> float | None:
    """JSON has no NaN: a score that is not defined (e.g. R² of one point) is None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    """R², MSE and MAE; all None without rows, R² None when the measurements do not vary."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    if y_true.size == 0:
        return {"r2": None, "mse": None, "mae": None}
    err = y_true - y_pred
    mse = float(np.mean(err**2))
    spread = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - float(np.sum(err**2)) / spread if y_true.size > 1 and spread > 0 else None
    return {"r2": _finite(r2), "mse": mse, "mae": float(np.mean(np.abs(err)))}


def coverage(y_true: np.ndarray, mean: np.ndarray, std: np.ndarray, k: float) -> float | None:
    """Share of measurements inside mean ± k·std (None without rows)."""
    y_true = np.asarray(y_true, float)
    if y_true.size == 0:
        return None
    return float(np.mean(np.abs(y_true - np.asarray(mean, float)) <= k * np.asarray(std, float)))


@dataclass
class FamilyMetrics:
    """One family's best configuration on one CQA, refitted on all training rows."""

    family: str
    params: dict[str, Any]
    cv_mse: float
    cv_mse_sd: float
    train_r2: float | None
    train_mse: float | None
    train_mae: float | None
    test_r2: float | None
    test_mse: float | None
    test_mae: float | None
    fit_time_s: float
    n_fits: int
    features: str = "raw"
    cv_mse_by_type: dict[str, float] = field(default_factory=dict)  # leave-one-profile-type-out MSE
    selection_score: float | None = None
    # squared error of every row of each left-out profile type but the one with the most runs, as its type was
    # left out (`cv_mse_by_type` order): what `fitting.select_family` pairs with the committee's
    validation_errors: list[float] = field(default_factory=list)
    target_scale: str = "identity"  # "logit" or "log" (`core.models.target`); "mixed": an average of several

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FamilyMetrics:
        return cls(**d)


@dataclass
class CQAMetrics:
    """What was chosen for a CQA and how well it does, with every family's metrics beside it.

    `best_model` is the family in use: the one `fitting.select_family` picks
    (lowest selection score, the committee kept unless beaten on left-out
    profile types) unless the user chose another (`selected_by` = "user");
    `features` is the input feature set it sees. `cv_mse` is K-fold CV,
    `cv_mse_by_type` the MSE on each profile type when that type is left out
    of training; `target_scale` the scale it is modelled on ("identity": as
    measured, "logit", "log", or "mixed" for an average whose members differ).
    Coverage is the share of hold-out points inside the ±1σ and ±2σ
    intervals, overall and per profile type. `test_mse_mean` is the hold-out
    MSE of the training rows' mean, the naive prediction a model has to beat:
    a hold-out R² is measured against the hold-out's own mean, and a few runs
    of one kind (say, multi-cycle) with little spread make it negative for a
    model that predicts them far better than the data's mean does.
    `cv_mse_mean` is the same for cross-validation: the K-fold MSE of each
    training fold's mean, on the folds `cv_mse` was scored on.
    """

    best_model: str
    selected_by: str
    cv_mse: float
    cv_mse_sd: float
    test_r2: float | None
    test_mse: float | None
    test_mae: float | None
    coverage_1sd: float | None
    coverage_2sd: float | None
    n_train: int
    n_test: int
    uq: str
    calibration: str
    calibration_scale: float  # σ per unit of spread inside the applicability domain
    models: dict[str, FamilyMetrics] = field(default_factory=dict)
    features: str = "raw"
    cv_mse_by_type: dict[str, float] = field(default_factory=dict)
    selection_score: float | None = None
    coverage_by_type: dict[str, dict[str, float | None]] = field(default_factory=dict)
    target_scale: str = "identity"  # the scale the family in use models the CQA on
    calibration_scale_outside: float | None = None  # the same outside it (None: saved before the split)
    test_mse_mean: float | None = None
    cv_mse_mean: float | None = None  # None: saved before it was computed

    def mean_caution(self, cqa: str, folds: int) -> str | None:
        """Plain words when the model beats the runs' mean in cross-validation by less than one standard error of
        its CV MSE over `folds` folds (None otherwise, and for runs saved without the mean's score)."""
        if self.cv_mse_mean is None:
            return None
        se = self.cv_mse_sd / np.sqrt(folds)
        if self.cv_mse + se < self.cv_mse_mean:
            return None
        return (
            f"{cqa}: in cross-validation the model does not clearly beat the mean of the runs (CV MSE "
            f"{self.cv_mse:.3g} ± {se:.2g} against {self.cv_mse_mean:.3g}); what varies between runs may be mostly "
            "noise, so designs that rest on this CQA are guesses"
        )

    @property
    def test_gain_over_mean(self) -> float | None:
        """Relative change of the hold-out MSE against the training mean's (-0.4: 40 % lower); None without both."""
        if self.test_mse is None or not self.test_mse_mean:
            return None
        return self.test_mse / self.test_mse_mean - 1.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["models"] = {k: v.to_dict() for k, v in self.models.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CQAMetrics:
        models = {k: FamilyMetrics.from_dict(v) for k, v in d.get("models", {}).items()}
        return cls(**{**d, "models": models})


MIN_HOLDOUT_ROWS = 5  # below this a hold-out R² swings with a single run


def holdout_caution(n_test: int) -> str | None:
    """Plain words on a hold-out score from too few rows to mean much (None when there are enough, or none)."""
    if n_test == 0 or n_test >= MIN_HOLDOUT_ROWS:
        return None
    rows = "row" if n_test == 1 else "rows"
    return f"Hold-out scores come from {n_test} {rows} only: one odd run moves them a lot. Read them as a rough sign."
