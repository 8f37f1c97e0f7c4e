"""The α that the scaling law of Jain, Montanari & Sasoglu predicts ("Scaling laws for learning with real
and surrogate data", NeurIPS 2024, arXiv 2402.04376).

Their Eq. 4 describes the test error of weighted ERM on n real and m
surrogate rows through the two pure learning curves:

    R(α) ≈ R* + [ α² E_syn(m)^(1/β) + (1-α)² E_real(n)^(1/β) ]^β

where E_real(n) = R_real(n) - R* is the excess error of training on the n real
rows alone, E_syn(m) = R_syn(m) - R* that of training on the m synthetic rows
alone (both measured on real validation rows), and R* and β come from the
real-data learning curve R(n) = R* + A n^(-β). With β = 1 this is the Gaussian
shrinkage of two independent estimators. The outer power is monotone, so the
minimiser is that of the bracket:

    α* = E_real^(1/β) / (E_real^(1/β) + E_syn^(1/β)).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit


def _power_law(n: np.ndarray, floor: float, scale: float, exponent: float) -> np.ndarray:
    return floor + scale * n ** (-exponent)


def learning_curve(sizes: Sequence[float], errors: Sequence[float]) -> tuple[float, float]:
    """(R*, β) of R(n) = R* + A n^(-β) fitted to (size, error) points; (0, 1) when the curve does not fall.

    Points of equal size (one per CV fold) are averaged first: folds differ in
    difficulty far more than one fold's curve changes with n."""
    n, inverse = np.unique(np.asarray(sizes, float), return_inverse=True)
    err = np.bincount(inverse, np.asarray(errors, float)) / np.bincount(inverse)
    if len(n) < 3 or not np.all(np.isfinite(err)) or err[np.argmax(n)] >= err[np.argmin(n)]:
        return 0.0, 1.0
    lowest = float(err.min())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (floor, _, exponent), _ = curve_fit(
                _power_law,
                n,
                err,
                p0=(0.5 * lowest, float(err.max()) * n.min(), 1.0),
                bounds=([0.0, 0.0, 0.05], [lowest, np.inf, 3.0]),
                maxfev=5000,
            )
    except (RuntimeError, ValueError):
        return 0.0, 1.0
    return float(floor), float(exponent)


def _excess(real_error: float, synthetic_error: float, floor: float, exponent: float) -> tuple[float, float]:
    """E_real^(1/β) and E_syn^(1/β), excess errors clipped at 0."""
    return tuple(max(e - floor, 0.0) ** (1.0 / exponent) for e in (real_error, synthetic_error))


def scaling_law_error(
    alpha: float | np.ndarray, real_error: float, synthetic_error: float, floor: float = 0.0, exponent: float = 1.0
) -> np.ndarray:
    """Eq. 4's predicted test error at weight(s) α."""
    e_real, e_syn = _excess(real_error, synthetic_error, floor, exponent)
    a = np.asarray(alpha, float)
    return floor + (a**2 * e_syn + (1 - a) ** 2 * e_real) ** exponent


def theoretical_alpha(real_error: float, synthetic_error: float, floor: float = 0.0, exponent: float = 1.0) -> float:
    """The α that minimises `scaling_law_error`."""
    e_real, e_syn = _excess(real_error, synthetic_error, floor, exponent)
    if e_real + e_syn == 0:
        return 0.0
    return e_real / (e_real + e_syn)
