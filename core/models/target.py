"""The scale a CQA is modelled on: as measured, the logit of its share of a bounded range, or the log above a floor.

A CQA with two physical limits (a percentage such as the degree of
agglomeration) cannot leave them, but a model fitted to it as measured can:
a linear trend or a kernel carried to a profile type the DoE has few runs of
predicts past 0 or 100 %. Fitted to z = logit((y - lo) / (hi - lo)) instead,
every prediction maps back inside the limits, and a trend flattens as it
nears one, as bounded responses do. A CQA with a lower limit only (a
particle size) is fitted to z = log(y - lo): its predictions stay above the
floor, and errors and σ scale with its level (a size's scatter is a share of
it, not a fixed number of µm), so a model that finds runs ten times the
DoE's size does not keep the DoE's few-µm σ there. Whether a scale helps is
an empirical question that differs between CQAs (a share piled at a limit
gains, a mid-range linear one can lose), so the scale is chosen by validation:

* "auto" (default): for a CQA with a finite limit, each family is searched
  and validated both as measured and on the limits' scale, and keeps the
  scale whose best configuration has the lower selection score
  (`fitting.selection_score`: K-fold and leave-one-profile-type-out MSE, both
  as measured; a tie keeps the measured scale). The CQA's scale is then that
  of the family selection picks; `metrics.json` reports it per CQA and per
  family (`target_scale`). A CQA without a finite limit is modelled as measured.
* "identity": every CQA as measured; "limits": every CQA with a finite limit on its limits' scale.

The scale travels with the family's hyper-parameters (`TARGET_PARAM` holding
[lo, hi], hi None for a floor only), so every consumer of a chosen
configuration (uncertainty ensemble, saved run, augmentation) refits the same
model; `build_pipeline` drops the entry for the families that see only the
modelling scale. Predictions are mapped back by whoever fitted the pipeline
on z (`split_errors`, the search, `EnsembleRegressor`), and errors are always
measured as measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit
from sklearn.base import RegressorMixin
from sklearn.compose import TransformedTargetRegressor

TARGET_PARAM = "target_limits"
TARGET_SCALES = ("auto", "identity", "limits")
# Measurements on a limit (crystallinity 100 %) have an infinite logit: they are moved this share of the range
# inside, about the resolution at which such percentages are reported, which keeps them from dominating the fit.
MARGIN = 0.005
# The same for a measurement on a floor (a size of 0) on the log scale, in the CQA's own unit.
FLOOR_MARGIN = 1e-6


@dataclass(frozen=True)
class LogitScale:
    """z = logit((y - lo) / (hi - lo)), with y kept `MARGIN` of the range inside the limits."""

    lo: float
    hi: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.lo) and np.isfinite(self.hi) and self.hi > self.lo):
            raise ValueError(f"a logit scale needs finite limits lo < hi, got {self.lo}, {self.hi}")

    @property
    def width(self) -> float:
        return self.hi - self.lo

    def forward(self, y: np.ndarray) -> np.ndarray:
        share = (np.asarray(y, float) - self.lo) / self.width
        return logit(np.clip(share, MARGIN, 1 - MARGIN))

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self.lo + self.width * expit(np.asarray(z, float))

    def slope(self, z: np.ndarray) -> np.ndarray:
        """dy/dz: turns a standard deviation on the modelling scale into one as measured (delta method)."""
        p = expit(np.asarray(z, float))
        return self.width * p * (1 - p)


@dataclass(frozen=True)
class LogScale:
    """z = log(y - lo), with y kept `FLOOR_MARGIN` above the floor."""

    lo: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.lo):
            raise ValueError(f"a log scale needs a finite floor, got {self.lo}")

    def forward(self, y: np.ndarray) -> np.ndarray:
        return np.log(np.maximum(np.asarray(y, float) - self.lo, FLOOR_MARGIN))

    def inverse(self, z: np.ndarray) -> np.ndarray:
        return self.lo + np.exp(np.asarray(z, float))

    def slope(self, z: np.ndarray) -> np.ndarray:
        """dy/dz (delta method, as `LogitScale.slope`): σ as measured grows with the level."""
        return np.exp(np.asarray(z, float))


TargetScale = LogitScale | LogScale


def split_target(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], TargetScale | None]:
    """The model's own hyper-parameters and the target scale they carry (None: as measured)."""
    params = dict(params or {})
    limits = params.pop(TARGET_PARAM, None)
    if limits is None:
        return params, None
    lo, hi = limits
    return params, (LogScale(float(lo)) if hi is None else LogitScale(float(lo), float(hi)))


def scale_limits(limits: Sequence[float | None] | None) -> list[float | None] | None:
    """A CQA's physical limits as `TARGET_PARAM`: [lo, hi] when both are finite (logit scale), [lo, None] when
    only the lower one is (log scale; None or inf above), None without a finite lower limit (as measured)."""
    if limits is None or len(limits) != 2:
        return None
    lo, hi = float(limits[0]), np.inf if limits[1] is None else float(limits[1])
    if not np.isfinite(lo) or hi <= lo:
        return None
    return [lo, hi] if np.isfinite(hi) else [lo, None]


def scale_name(params: Mapping[str, Any] | None) -> str:
    """ "logit", "log" or "identity": the target scale a configuration's hyper-parameters carry."""
    scale = split_target(params)[1]
    return "identity" if scale is None else "log" if isinstance(scale, LogScale) else "logit"


def on_scale(estimator: RegressorMixin, scale: TargetScale | None) -> RegressorMixin:
    """`estimator` fitted on `scale` and predicting as measured; unchanged without a scale."""
    if scale is None:
        return estimator
    return TransformedTargetRegressor(
        regressor=estimator, func=scale.forward, inverse_func=scale.inverse, check_inverse=False
    )
