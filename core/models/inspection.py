"""What a fitted CQA model depends on and where it is reliable: permutation importance, partial
dependence and errors per profile type."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance

from core.models.fitting import CQAFit


def _rows(fit: CQAFit, rows: str) -> tuple[pd.DataFrame, pd.Series]:
    ds = fit.dataset
    if rows == "train":
        return ds.X_train, ds.y_train
    if rows == "test":
        return ds.X_test, ds.y_test
    if rows == "all":
        return pd.concat([ds.X_train, ds.X_test]), pd.concat([ds.y_train, ds.y_test])
    raise ValueError("rows must be 'train', 'test' or 'all'")


def permutation_importance_table(
    fit: CQAFit, *, rows: str = "train", n_repeats: int = 10, random_state: int = 0
) -> pd.DataFrame:
    """Rise in MSE when one model feature is shuffled (mean and sd over repeats), most important first.

    Features are what the model sees: the raw inputs, or scalars and profile descriptors.
    """
    X, y = _rows(fit, rows)
    if len(y) < 2:
        raise ValueError(f"permutation importance needs at least two {rows} rows")
    # Shuffled in the columns the model sees: shuffling one raw set point would break the profiles.
    features = fit.ensemble.feature_map_
    back = fit.ensemble.from_model_scale  # the model predicts on its target scale; errors count as measured

    def neg_mse(model: Any, Z: np.ndarray, truth: np.ndarray) -> float:
        return -float(np.mean((truth - back(model.predict(Z))) ** 2))

    res = permutation_importance(
        fit.ensemble.model_,
        features.transform(X.to_numpy(float)),
        y.to_numpy(float),
        scoring=neg_mse,
        n_repeats=n_repeats,
        random_state=random_state,
    )
    table = pd.DataFrame(
        {"feature": features.names, "importance": res.importances_mean, "importance_sd": res.importances_std}
    )
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def partial_dependence_table(
    fit: CQAFit, features: str | Sequence[str], *, grid_points: int = 20, rows: str = "train"
) -> pd.DataFrame:
    """Average prediction over the rows with one or two inputs set to each grid value.

    The grid spans the observed range of each input. Returns one column per
    feature plus `prediction` (grid_points rows for one feature, grid_points²
    for two).
    """
    names = [features] if isinstance(features, str) else list(features)
    if not 1 <= len(names) <= 2:
        raise ValueError("partial dependence takes one or two inputs")
    X, _ = _rows(fit, rows)
    unknown = [n for n in names if n not in X.columns]
    if unknown:
        raise ValueError(f"no input called {', '.join(unknown)}")
    axes = [np.linspace(X[n].min(), X[n].max(), grid_points) for n in names]
    grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(names), -1).T  # (points, features)
    base = X.to_numpy(float)
    cols = [X.columns.get_loc(n) for n in names]
    stacked = np.repeat(base[None, :, :], len(grid), axis=0)  # (points, rows, inputs)
    stacked[:, :, cols] = grid[:, None, :]
    pred = fit.ensemble.predict(stacked.reshape(-1, base.shape[1])).reshape(len(grid), len(base))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a grid value no row can take is NaN, not an error
        pred = np.nanmean(pred, axis=1)
    table = pd.DataFrame(grid, columns=names)
    table["prediction"] = pred
    return table


def error_by_type_table(fit: CQAFit) -> pd.DataFrame:
    """One row per profile type: training runs, the MSE when the type is left out of training
    (leave-one-type-out CV, types with >= 2 runs), and hold-out runs with their MSE and ±2σ coverage.

    A type with a large left-out MSE is one the model only knows from its own few runs.
    """
    ds, m = fit.dataset, fit.metrics
    types = list(dict.fromkeys([*ds.types_train, *ds.types_test]))
    counts = ds.types_train.value_counts()
    rows = []
    for t in types:
        held = m.coverage_by_type.get(t, {})
        rows.append(
            {
                "profile_type": t,
                "training runs": int(counts.get(t, 0)),
                "left-out MSE": m.cv_mse_by_type.get(t),
                "hold-out runs": int(held.get("n", 0) or 0),
                "hold-out MSE": held.get("mse"),
                "hold-out ±2σ coverage": held.get("coverage_2sd"),
            }
        )
    return pd.DataFrame(rows)
