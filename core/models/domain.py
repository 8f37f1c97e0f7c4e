"""Applicability domain: how far a row lies from the runs a model was trained on.

A surrogate is trustworthy near its training runs and guesses elsewhere. The
score follows the k-nearest-neighbour approach to applicability domains
(Sahigara et al., J. Cheminform. 5:27, 2013): the mean Euclidean distance of a
row to its k nearest training runs, in standardised descriptor space, divided
by a reference distance learned from the training runs themselves, namely the
`quantile` of their leave-one-out k-NN distances (each run's distance to the
k nearest *other* runs). A score of 1 means "as far from the data as a
typical-to-lonely training run is from its neighbours"; `in_domain` is
`score <= threshold`.

Profile rows are described by the shared descriptors of `core.profiles`, in
which every profile type has the same coordinates, so a 3-cycle design close
to the 2- and 4-cycle runs counts as near even though its raw columns differ.

One more coordinate holds what the descriptors miss: how far the hottest set
point (the start or a heat-up) lies above the line along which the runs were
seeded (T1 against initial concentration, `core.seeding`). The descriptors
place concentration and temperatures each within the runs' ranges, so a
dilute solution started or re-heated as hot as the concentrated runs looked
near the data; in truth its seeds dissolve (`bench/bench_ground_truth.py`),
and no run was made like it. The line is learnt from the training runs; with
fewer than three runs or one concentration there is none.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from core.profiles import SolubilityCurve, descriptor_frame, profile_max_cycles, temperature_columns
from core.seeding import CONCENTRATION, seeding_band

SPACES = ("descriptors", "as_given")
ABOVE_SEEDING = "T_max_above_seeding_line"


class ApplicabilityDomain(BaseEstimator):
    """Distance-to-data score and in/out flag for new rows.

    space: "descriptors" turns a DataFrame with the canonical profile columns
    into `core.profiles.descriptor_frame` first; "as_given" uses X as it is.
    n_neighbors: k of the k-NN distance (fewer when there are fewer runs).
    quantile: which of the training runs' leave-one-out distances is the unit.
    threshold: largest score still in the domain.
    """

    def __init__(
        self,
        space: str = "descriptors",
        n_neighbors: int = 3,
        quantile: float = 0.95,
        threshold: float = 1.0,
        solubility: SolubilityCurve | None = None,
    ) -> None:
        self.space = space
        self.n_neighbors = n_neighbors
        self.quantile = quantile
        self.threshold = threshold
        self.solubility = solubility

    def _table(self, X: Any) -> Any:
        """What the distances are measured on: in descriptor space a frame's descriptors (and, with a seeding line,
        the hottest set point's height above it); anything else as given."""
        if self.space not in SPACES:
            raise ValueError(f"unknown domain space {self.space!r}; choose {' or '.join(SPACES)}")
        if self.space != "descriptors" or not isinstance(X, pd.DataFrame):
            return X
        frame = descriptor_frame(X, solubility=self.solubility)
        seeding = getattr(self, "seeding_", None)  # domains saved before the seeding line have none
        if seeding is None:
            return frame
        temperatures = X[temperature_columns(profile_max_cycles(list(X.columns)))]
        above = seeding.above_line(X[CONCENTRATION].to_numpy(float), temperatures.to_numpy(float))
        return frame.assign(**{ABOVE_SEEDING: above})

    def _matrix(self, table: Any) -> np.ndarray:
        if isinstance(table, pd.DataFrame):
            if hasattr(self, "feature_names_") and list(table.columns) != self.feature_names_:
                missing = [c for c in self.feature_names_ if c not in table.columns]
                if missing:
                    raise ValueError(f"the rows have no column {', '.join(missing)}")
                table = table[self.feature_names_]
            return table.to_numpy(float)
        Z = np.asarray(table, float)
        return Z.reshape(1, -1) if Z.ndim == 1 else Z

    def _features(self, X: Any) -> np.ndarray:
        return self._matrix(self._table(X))

    def fit(self, X: Any, y: Any = None) -> ApplicabilityDomain:
        if not 0 < self.quantile <= 1:
            raise ValueError("the reference quantile must be in (0, 1]")
        if self.n_neighbors < 1:
            raise ValueError("n_neighbors must be at least 1")
        descriptors = self.space == "descriptors" and isinstance(X, pd.DataFrame)
        self.seeding_ = seeding_band(X) if descriptors else None
        table = self._table(X)
        if isinstance(table, pd.DataFrame):
            self.feature_names_ = list(table.columns)
        Z = self._matrix(table)
        if len(Z) < 2:
            raise ValueError("an applicability domain needs at least two training runs")
        if not np.isfinite(Z).all():
            raise ValueError("the training rows have missing or non-numeric values")
        self.center_ = Z.mean(axis=0)
        scale = Z.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)  # a constant column neither helps nor hurts
        self.train_ = (Z - self.center_) / self.scale_
        self.k_ = min(self.n_neighbors, len(Z) - 1)
        d = _distances(self.train_, self.train_)
        np.fill_diagonal(d, np.inf)
        self.train_distances_ = _knn_mean(d, self.k_)
        self.reference_ = float(np.quantile(self.train_distances_, self.quantile))
        if self.reference_ <= 0:
            self.reference_ = 1.0  # duplicated runs only: any distance is "far"
        return self

    def score(self, X: Any) -> np.ndarray:
        """Mean distance to the k nearest training runs over the reference distance (0 = on a run).

        Rows that are not valid profiles score infinity.
        """
        Z = (self._features(X) - self.center_) / self.scale_
        if Z.shape[1] != self.train_.shape[1]:
            raise ValueError(f"expected {self.train_.shape[1]} features per row, got {Z.shape[1]}")
        bad = ~np.isfinite(Z).all(axis=1)
        d = _distances(np.where(bad[:, None], 0.0, Z), self.train_)
        out = _knn_mean(d, self.k_) / self.reference_
        out[bad] = np.inf
        return out

    def left_out_scores(self) -> np.ndarray:
        """Each training run's score against the other runs: its leave-one-out distance over the reference."""
        return self.train_distances_ / self.reference_

    def in_domain(self, X: Any) -> np.ndarray:
        return self.score(X) <= self.threshold


def _distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(rows of A, rows of B) Euclidean distances, by the expanded square for speed on large A."""
    sq = (A**2).sum(axis=1)[:, None] + (B**2).sum(axis=1)[None, :] - 2.0 * A @ B.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _knn_mean(d: np.ndarray, k: int) -> np.ndarray:
    return np.partition(d, k - 1, axis=1)[:, :k].mean(axis=1)
