"""Weighted ERM (Barhate et al., 2025, Eq. 1): real rows weigh (1-α)/n, synthetic rows α/m.

The weights are rescaled to sum to the number of rows that carry weight,
because tree leaf sizes and SVR's C are defined on that scale: with α = 0 the
fit is the unweighted real-only fit and with α = 1 the synthetic-only one.
Rows of zero weight are left out of the fit altogether, so they cannot move
the scaler or a forest's bootstrap either.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import RegressorMixin

from core.models.scaleout import one_thread_per_fit
from core.models.target import on_scale, split_target
from core.models.zoo import build_pipeline


def erm_weights(n_real: int, n_synthetic: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(real weights, synthetic weights) proportional to (1-α)/n and α/m, summing to the weighted row count."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"α must be between 0 and 1, got {alpha}")
    if n_real < 1:
        raise ValueError("weighted ERM needs at least one real row")
    if alpha > 0 and n_synthetic < 1:
        raise ValueError("α > 0 needs synthetic rows")
    w_real = np.full(n_real, (1.0 - alpha) / n_real)
    w_syn = np.full(n_synthetic, alpha / n_synthetic if n_synthetic else 0.0)
    n_weighted = (n_real if alpha < 1 else 0) + (n_synthetic if alpha > 0 else 0)
    scale = n_weighted / (w_real.sum() + w_syn.sum())
    return w_real * scale, w_syn * scale


def weighted_training_set(
    X_real: np.ndarray, y_real: np.ndarray, X_syn: np.ndarray, y_syn: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Rows, targets and weights for one α; weights are None for the plain real-only fit (α = 0)."""
    if alpha == 0:
        return X_real, y_real, None
    w_real, w_syn = erm_weights(len(y_real), len(y_syn), alpha)
    keep = np.concatenate([w_real, w_syn]) > 0
    X = np.vstack([X_real, X_syn])[keep]
    y = np.concatenate([y_real, y_syn])[keep]
    return X, y, np.concatenate([w_real, w_syn])[keep]


def fit_weighted(
    family: str,
    params: dict,
    X_real: np.ndarray | pd.DataFrame,
    y_real: np.ndarray | pd.Series,
    X_syn: np.ndarray | pd.DataFrame,
    y_syn: np.ndarray | pd.Series,
    alpha: float,
    random_state: int = 0,
    limit_threads: bool = True,
) -> RegressorMixin:
    """The family's pipeline fitted by weighted ERM; at α = 0 exactly the real-only fit.

    A configuration that models its CQA on a target scale (`core.models.target`) is fitted on that scale and
    predicts as measured, so the study weighs the very model the augmented ensemble will be. Loops of many small
    fits limit the thread pools once themselves and pass `limit_threads=False`."""
    if limit_threads:
        with one_thread_per_fit():
            return fit_weighted(family, params, X_real, y_real, X_syn, y_syn, alpha, random_state, False)
    X, y, w = weighted_training_set(
        np.asarray(X_real, float), np.asarray(y_real, float), np.asarray(X_syn, float), np.asarray(y_syn, float), alpha
    )
    fit_params = {} if w is None else {"model__sample_weight": w}
    own, scale = split_target(params)
    return on_scale(build_pipeline(family, own, random_state), scale).fit(X, y, **fit_params)
