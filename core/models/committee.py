"""A committee of unlike models: a random forest on the raw columns, a ridge regression and a Gaussian process on
the shared profile descriptors, averaged.

Each member errs differently where the DoE is thin. The forest splits on the
raw set points and holds its value outside the data; the ridge regression
carries linear trends in the descriptors (batch time, amplitudes, rates, ...)
from linear runs over to cycled ones; the Gaussian process adds smooth
curvature near the data. Averaging predictions of models whose errors are not
perfectly correlated lowers the error below the members' mean error (Krogh &
Vedelsby, NIPS 7, 1995). `bench/bench_extrapolation.py` measures it on fresh
virtual-lab campaigns, half of them for perturbed compounds: on the cycled
types the average beats every single member and a default random forest.

The committee sees the `both` feature set (raw columns, then descriptors);
`raw_columns` and `descriptor_columns` say which columns each kind of member
uses (the fit sets them from the feature map, see `fitting`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import RidgeCV

from core.models.gaussian_process import GaussianProcessModel

RIDGE_ALPHAS = tuple(np.logspace(-3, 3, 13))  # chosen by the ridge's closed-form leave-one-out error


class Committee(RegressorMixin, BaseEstimator):
    """Mean prediction of a forest on `raw_columns` and a ridge and a GP on `descriptor_columns`."""

    def __init__(
        self,
        raw_columns: Sequence[int] | None = None,
        descriptor_columns: Sequence[int] | None = None,
        n_estimators: int = 100,
        random_state: int = 0,
    ) -> None:
        self.raw_columns = raw_columns
        self.descriptor_columns = descriptor_columns
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _split(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        X = np.asarray(X, float)
        every = list(range(X.shape[1]))
        raw = list(self.raw_columns) if self.raw_columns is not None else every
        desc = list(self.descriptor_columns) if self.descriptor_columns is not None else every
        if max(raw + desc) >= X.shape[1]:
            raise ValueError(f"the committee's columns do not fit rows of {X.shape[1]} features")
        return X[:, raw], X[:, desc]

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Committee:
        raw, desc = self._split(X)
        y = np.asarray(y, float)
        self.members_ = [
            RandomForestRegressor(self.n_estimators, random_state=self.random_state, n_jobs=1).fit(
                raw, y, sample_weight=sample_weight
            ),
            RidgeCV(alphas=RIDGE_ALPHAS).fit(desc, y, sample_weight=sample_weight),
            GaussianProcessModel(random_state=self.random_state).fit(desc, y, sample_weight=sample_weight),
        ]
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def member_predictions(self, X: Any) -> np.ndarray:
        """(3, rows): forest, ridge, Gaussian process."""
        raw, desc = self._split(X)
        forest, ridge, gp = self.members_
        return np.vstack([forest.predict(raw), ridge.predict(desc), gp.predict(desc)])

    def predict(self, X: Any) -> np.ndarray:
        return self.member_predictions(X).mean(axis=0)
