"""A grey-box model: the virtual lab's calibrated prediction plus a Gaussian process on what it gets wrong.

A data-driven model of ~30 runs knows little of the profile types the DoE has
few runs of; a mechanistic model carries the physics of thermocycling (growth,
agglomeration, re-dissolution) to every profile, though for another compound.
Hybrid (serial grey-box) modelling combines the two (Psichogios & Ungar,
AIChE J. 38, 1992; von Stosch et al., Comput. Chem. Eng. 60, 2014): the
mechanistic model gives the trend, a data-driven model learns the residual.

Here the mechanistic part is `core.virtual_lab` with its default parameters:
it stands for another compound, never for the user's. Each training row is
simulated in corresponding states (`core.virtual_lab.transfer`: the concentration
that lies as far from the simulated compound's saturation as the experiments'
seeding line puts the real run from its own), the simulated CQA is mapped
onto the data by the robust calibration y ≈ a + b·y_sim of the synthetic-data
source (both on the CQA's target scale when it has one, `core.models.target`:
log D50 ≈ a + b·log D50_sim is a power law, so a size the simulator puts ten
times the DoE's is not carried there by a slope fitted over the DoE's few
µm), and a Gaussian process (`core.models.gaussian_process`) on the shared
profile descriptors models y − (a + b·y_sim). Everything is fitted on the rows
given, so a cross-validation fold never sees its validation rows. Where the
simulator cannot run a row the baseline is the calibration at the training
rows' median simulated value, and the GP alone carries the row.

The calibration is a line fitted to the training rows' simulated values, so
it is uncertain too, and most where a design's simulated value lies beyond
theirs: the simulator can put a profile the DoE never tried at several times
the largest size it gives any training run, and near the data in descriptor
space the residual GP is sure of itself there. The predictive variance of a
fitted line at y_sim, s²·(1/n + (y_sim − ȳ_sim)²/Σ(y_sim,i − ȳ_sim)²) with s²
the variance of the calibration's residuals (e.g. Montgomery, Peck & Vining,
Introduction to Linear Regression Analysis, 5th ed., 2012, §2.4.2), is added
to the GP's, so σ grows with how far the calibration is carried.

Whether the simulator's physics carries over to the user's compound is an
empirical question: the fit's validation (K-fold and leave-one-profile-type-out,
`core.models.fitting`) chooses this family only when it predicts the user's
own runs better than the purely data-driven ones. Its σ is the GP's, which
grows away from the data like the `gp` family's.

The model needs the rows as measured (it simulates them), so its pipeline does
not standardise them (`zoo`), and it takes part in no average of families,
whose members see standardised rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.preprocessing import StandardScaler

from core.models.features import FeatureMap
from core.models.gaussian_process import GaussianProcessModel
from core.models.recent import RecentWork, rows_key
from core.models.target import TARGET_PARAM, split_target
from core.seeding import CONCENTRATION
from core.virtual_lab.transfer import (
    CorrespondingStates,
    SimulationCache,
    calibration_fit,
    corresponding_states,
    unavailable_reason,
)

SIMULATIONS_KEPT = 20_000  # simulated rows kept per process: the three CQAs' models ask for the same rows in turn
PARALLEL_ROWS = 64  # batches of more new rows than this are simulated on every core
_simulations = SimulationCache(limit=SIMULATIONS_KEPT)


@dataclass(frozen=True)
class Calibrated:
    """What a fit learns from its rows before the GP; the row weights do not enter, so fits of the same rows
    (the augmentation study's α grid) share it."""

    states: CorrespondingStates
    calibration: tuple[float, float]  # (a, b) of y ≈ a + b·y_sim
    fallback: float  # the simulated value assumed where the simulator cannot run a row
    simulated: np.ndarray  # each training row's simulated value, the fallback where the simulator could not run
    baseline: np.ndarray  # the calibrated simulation of each training row
    line: CalibrationLine  # how uncertain the calibration is at a given simulated value
    scaler: StandardScaler  # of the training rows' descriptors
    descriptors: np.ndarray  # the training rows' descriptors, scaled


@dataclass(frozen=True)
class CalibrationLine:
    """The training rows' simulated values (mean, sum of squared deviations) and residual variance about the
    calibration: what the predictive variance of the fitted line needs."""

    n: int
    mean: float
    sum_squares: float
    residual_variance: float

    @classmethod
    def fit(cls, simulated: np.ndarray, residuals: np.ndarray) -> CalibrationLine:
        known = np.isfinite(simulated)
        s, r = simulated[known], residuals[known]
        if len(s) < 3:
            return cls(len(s), 0.0, 0.0, 0.0)
        return cls(len(s), float(s.mean()), float(((s - s.mean()) ** 2).sum()), float(r.var(ddof=2)))

    def variance(self, simulated: np.ndarray) -> np.ndarray:
        """Variance of the calibrated value at each simulated value (no slope term when the rows' simulated values
        do not vary)."""
        if self.n < 3:
            return np.zeros(len(simulated))
        leverage = 1.0 / self.n + (
            (simulated - self.mean) ** 2 / self.sum_squares if self.sum_squares > 0 else np.zeros(len(simulated))
        )
        return self.residual_variance * leverage


CALIBRATED_KEPT = 4
calibrated_rows: RecentWork[Calibrated] = RecentWork(CALIBRATED_KEPT)


class LabResidual(RegressorMixin, BaseEstimator):
    """Calibrated virtual-lab CQA + GP on the residuals; `predict(X, return_std=True)` gives the GP's std.

    Rows are the raw inputs in `input_names` order (unused set points 0). `target_limits` is the target scale the
    model is fitted on (`core.models.target`): y arrives on it, and the simulated values are mapped onto it too."""

    def __init__(
        self,
        input_names: Sequence[str] | None = None,
        cqa: str | None = None,
        nu: float = 2.5,
        n_restarts_optimizer: int = 1,
        max_iter: int = 100,
        random_state: int = 0,
        target_limits: Sequence[float | None] | None = None,
    ) -> None:
        self.input_names = input_names
        self.cqa = cqa
        self.nu = nu
        # the residual GP's kernel search, which the augmentation study's stand-in cuts (`core.augment.stand_in`)
        self.n_restarts_optimizer = n_restarts_optimizer
        self.max_iter = max_iter
        self.random_state = random_state
        self.target_limits = target_limits

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LabResidual:
        names = list(self.input_names or [])
        reason = unavailable_reason(names, str(self.cqa))
        if reason:
            raise ValueError(reason)
        X, y = np.asarray(X, float), np.asarray(y, float)
        if X.shape[1] != len(names):
            raise ValueError(f"rows of {X.shape[1]} inputs, but {len(names)} input names")
        self.features_ = FeatureMap(names, "descriptors")
        key = rows_key(X, y, {"input_names": tuple(names), "cqa": self.cqa, "target": self.target_limits})
        self.calibrated_ = calibrated_rows.get(key, lambda: self._calibrated(X, y))
        self.gp_ = GaussianProcessModel(
            nu=self.nu,
            n_restarts_optimizer=self.n_restarts_optimizer,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        self.gp_.fit(self.calibrated_.descriptors, y - self.calibrated_.baseline, sample_weight)
        self.n_features_in_ = X.shape[1]
        return self

    def _calibrated(self, X: np.ndarray, y: np.ndarray) -> Calibrated:
        states = corresponding_states(self._frame(X))
        simulated = self._simulated(X, states)
        calibration = calibration_fit(y, simulated, "affine")
        known = simulated[np.isfinite(simulated)]
        fallback = float(np.median(known)) if known.size else 0.0
        descriptors = self.features_.transform(X)
        scaler = StandardScaler().fit(descriptors)
        scaled = scaler.transform(descriptors)
        line = CalibrationLine.fit(simulated, y - _calibrate(simulated, calibration))
        simulated = np.where(np.isfinite(simulated), simulated, fallback)
        baseline = _calibrate(simulated, calibration)
        return Calibrated(states, calibration, fallback, simulated, baseline, line, scaler, scaled)

    def _frame(self, X: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(np.nan_to_num(X), columns=list(self.input_names or []))

    def _simulated(self, X: np.ndarray, states: CorrespondingStates | None = None) -> np.ndarray:
        """The simulator's value of the CQA for each row, in corresponding states and on the target scale (NaN
        where it cannot run)."""
        frame = self._frame(X)
        out = np.full(len(frame), np.nan)
        runnable = frame[CONCENTRATION].to_numpy() > 0  # a synthetic row may hold any value
        if runnable.any():
            inputs = (states if states is not None else self.calibrated_.states).simulated_inputs(frame[runnable])
            n_jobs = -1 if _simulations.missing(inputs) > PARALLEL_ROWS else 1
            out[runnable] = _simulations.simulate(inputs, n_jobs)[self.cqa].to_numpy(float)
        _, target = split_target({TARGET_PARAM: self.target_limits})
        return target.forward(out) if target else out

    def _baseline(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The calibrated simulation of each row and its variance from the calibration's uncertainty."""
        c = self.calibrated_
        simulated = self._simulated(X)
        simulated = np.where(np.isfinite(simulated), simulated, c.fallback)
        return _calibrate(simulated, c.calibration), c.line.variance(simulated)

    def _descriptors(self, X: np.ndarray) -> np.ndarray:
        return self.calibrated_.scaler.transform(self.features_.transform(X))

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, float)
        base, variance = self._baseline(X)
        if not return_std:
            return base + self.gp_.predict(self._descriptors(X))
        mean, std = self.gp_.predict(self._descriptors(X), return_std=True)
        return base + mean, np.sqrt(std**2 + variance)

    def noise_variance(self) -> float:
        """The residual GP's white-noise variance: the scatter of a run about the model's mean response."""
        return self.gp_.noise_variance()

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Leave-one-out mean and std of every training row, the calibration and the GP's kernel held."""
        mean, std = self.gp_.loo()
        c = self.calibrated_
        return c.baseline + mean, np.sqrt(std**2 + c.line.variance(c.simulated))

    def conditioned_predict(self, X: np.ndarray, y: np.ndarray, X_query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std at `X_query` of the model conditioned on (X, y) instead of the training rows, the
        calibration and the GP's kernel held (held-out predictions without refitting)."""
        X, X_query = np.asarray(X, float), np.asarray(X_query, float)
        residual = np.asarray(y, float) - self._baseline(X)[0]
        base, variance = self._baseline(X_query)
        mean, std = self.gp_.conditioned_predict(self._descriptors(X), residual, self._descriptors(X_query))
        return base + mean, np.sqrt(std**2 + variance)


def _calibrate(simulated: np.ndarray, calibration: tuple[float, float]) -> np.ndarray:
    """The simulated values mapped onto the data's scale."""
    a, b = calibration
    return a + b * simulated
