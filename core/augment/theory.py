"""The α that the scaling-law view of Jain, Montanari & Sasoglu (arXiv 2402.04376) predicts.

Their analysis treats the weighted-ERM estimate as a shrinkage of the
real-data estimate towards the surrogate one. In the simplest form (an
average of two independent estimators, the Gaussian sequence model) the
excess test error is

    E(α) = (1-α)² E_real(n) + α² E_syn(m)

where E_real(n) is the excess error of training on the n real rows alone and
E_syn(m) that of training on the m synthetic rows alone (variance plus the
bias of the synthetic distribution). Setting dE/dα = 0 gives

    α* = E_real(n) / (E_real(n) + E_syn(m)).

Excess errors are measured above the irreducible error R*, which a power law
R(n) = R* + A n^(-β) fitted to the real-only learning curve estimates.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit


def _power_law(n: np.ndarray, floor: float, scale: float, exponent: float) -> np.ndarray:
    return floor + scale * n ** (-exponent)


def learning_curve_floor(sizes: Sequence[float], errors: Sequence[float]) -> float:
    """R* of R(n) = R* + A n^(-β) fitted to (size, error) points; 0 when the curve does not fall."""
    n, err = np.asarray(sizes, float), np.asarray(errors, float)
    if len(n) < 3 or not np.all(np.isfinite(err)) or err[np.argmax(n)] >= err[np.argmin(n)]:
        return 0.0
    lowest = float(err.min())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (floor, _, _), _ = curve_fit(
                _power_law,
                n,
                err,
                p0=(0.5 * lowest, float(err.max()) * n.min(), 1.0),
                bounds=([0.0, 0.0, 0.05], [lowest, np.inf, 3.0]),
                maxfev=5000,
            )
    except (RuntimeError, ValueError):
        return 0.0
    return float(floor)


def theoretical_alpha(real_error: float, synthetic_error: float, floor: float = 0.0) -> float:
    """α* = E_real / (E_real + E_syn) with excess errors above `floor` (clipped at 0)."""
    e_real, e_syn = max(real_error - floor, 0.0), max(synthetic_error - floor, 0.0)
    if e_real + e_syn == 0:
        return 0.0
    return e_real / (e_real + e_syn)
