"""The scale a CQA is modelled on: as measured, or the logit of its share of a bounded range.

A CQA with two physical limits (a percentage such as the degree of
agglomeration) cannot leave them, but a model fitted to it as measured can:
a linear trend or a kernel carried to a profile type the DoE has few runs of
predicts past 0 or 100 %. Fitted to z = logit((y - lo) / (hi - lo)) instead,
every prediction maps back inside the limits, and a trend flattens as it
nears one, as bounded responses do. Whether that helps is an empirical
question that differs between CQAs (a share piled at a limit gains, a
mid-range linear one can lose), so the scale is chosen by validation:

* "auto" (default): for a CQA with two finite schema limits, each family is
  searched and validated on both scales, and keeps the scale whose best
  configuration has the lower selection score (`fitting.selection_score`:
  K-fold and leave-one-profile-type-out MSE, both as measured; a tie keeps
  the measured scale). The CQA's scale is then that of the family selection
  picks; `metrics.json` reports it per CQA and per family (`target_scale`).
  A CQA without two finite limits is modelled as measured.
* "identity": every CQA as measured; "logit": every bounded CQA on the logit scale.

The scale travels with the family's hyper-parameters (`TARGET_PARAM` holding
[lo, hi]), so every consumer of a chosen configuration (uncertainty ensemble,
saved run, augmentation) refits the same model; `build_pipeline` drops the
entry, as the pipeline itself only ever sees the modelling scale. Predictions
are mapped back by whoever fitted the pipeline on z (`split_errors`, the
search, `EnsembleRegressor`), and errors are always measured as measured.
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
TARGET_SCALES = ("auto", "identity", "logit")
# Measurements on a limit (crystallinity 100 %) have an infinite logit: they are moved this share of the range
# inside, about the resolution at which such percentages are reported, which keeps them from dominating the fit.
MARGIN = 0.005


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


def split_target(params: Mapping[str, Any] | None) -> tuple[dict[str, Any], LogitScale | None]:
    """The model's own hyper-parameters and the target scale they carry (None: as measured)."""
    params = dict(params or {})
    limits = params.pop(TARGET_PARAM, None)
    return params, (LogitScale(float(limits[0]), float(limits[1])) if limits is not None else None)


def bounded_limits(limits: Sequence[float] | None) -> list[float] | None:
    """[lo, hi] when both physical limits are finite (the CQA is modelled on the logit scale), else None."""
    if limits is None or len(limits) != 2:
        return None
    lo, hi = float(limits[0]), float(limits[1])
    return [lo, hi] if np.isfinite(lo) and np.isfinite(hi) and hi > lo else None


def scale_name(params: Mapping[str, Any] | None) -> str:
    """ "logit" when a configuration's hyper-parameters carry a target scale, else "identity"."""
    return "logit" if split_target(params)[1] is not None else "identity"


def on_scale(estimator: RegressorMixin, scale: LogitScale | None) -> RegressorMixin:
    """`estimator` fitted on `scale` and predicting as measured; unchanged without a scale."""
    if scale is None:
        return estimator
    return TransformedTargetRegressor(
        regressor=estimator, func=scale.forward, inverse_func=scale.inverse, check_inverse=False
    )
