"""The equal-weight average of the best families' chosen configurations, each on its own columns and target scale.

On a DoE of 20-30 runs the validation scores that rank the families are
noisy, and on profile types the DoE has few runs of the families err in
different directions (a forest holds its value, a kernel model carries a
trend). Averaging predictions whose errors are not perfectly correlated
lowers the error below the members' mean (Krogh & Vedelsby, NIPS 7, 1995)
and spreads the risk of picking the family that was merely lucky on the
folds. Whether the average is used, and of how many families, is decided
by the fit's own validation (`fitting`), never by default: the members' own
validation predictions are averaged, so the average is scored on exactly
the folds the families were, at no extra fit.

Each member is `[family, params, columns]`: the family's hyper-parameters
(with its target scale, `core.models.target`) and which columns of the
blend's feature set it sees (None: all of them), so a forest on the raw
columns and a Gaussian process on the descriptors can share one `both` row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from core.models.target import scale_name, split_target

Member = Sequence[Any]  # [family name, params, column indices or None]


def members_scale(members: Sequence[Member]) -> str:
    """The target scale the members model the CQA on: theirs when they agree, else "mixed"."""
    scales = {scale_name(params) for _, params, _ in members}
    return scales.pop() if len(scales) == 1 else "mixed"


class FamilyAverage(RegressorMixin, BaseEstimator):
    """Mean prediction (as measured) of the member families, each fitted on its columns and target scale."""

    def __init__(self, members: Sequence[Member] = (), random_state: int = 0) -> None:
        self.members = members
        self.random_state = random_state

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FamilyAverage:
        from core.models.zoo import build_pipeline  # the zoo registers this class: imported when first fitted

        if len(self.members) < 2:
            raise ValueError("an average of families needs at least two members")
        X, y = np.asarray(X, float), np.asarray(y, float)
        weights = {} if sample_weight is None else {"model__sample_weight": np.asarray(sample_weight, float)}
        self.fitted_ = []
        for name, params, columns in self.members:
            _, target = split_target(params)
            pipe = build_pipeline(name, params, self.random_state)
            pipe.fit(self._columns(X, columns), target.forward(y) if target else y, **weights)
            self.fitted_.append((pipe, target, columns))
        self.n_features_in_ = X.shape[1]
        return self

    @staticmethod
    def _columns(X: np.ndarray, columns: Sequence[int] | None) -> np.ndarray:
        if columns is None:
            return X
        if max(columns) >= X.shape[1]:
            raise ValueError(f"a member's columns do not fit rows of {X.shape[1]} features")
        return X[:, list(columns)]

    def member_predictions(
        self, X: Any, predict: Callable[[Pipeline, np.ndarray], np.ndarray] | None = None
    ) -> np.ndarray:
        """(members, rows) predictions as measured; `predict(pipeline, rows)` stands in for `pipeline.predict`
        (the batched path of `core.models.fast_predict`)."""
        X = np.asarray(X, float)
        out = []
        for pipe, target, columns in self.fitted_:
            rows = self._columns(X, columns)
            z = pipe.predict(rows) if predict is None else predict(pipe, rows)
            out.append(target.inverse(z) if target else z)
        return np.vstack(out)

    def predict(self, X: Any) -> np.ndarray:
        return self.member_predictions(X).mean(axis=0)
