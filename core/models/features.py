"""What a model sees of a DoE row: the raw columns, the shared profile descriptors, or both.

`raw` is the sheet's encoding (T1..T(2N+2), C1..C(N+1), H1..HN, scalars): each
profile type fills its own corner of it. `descriptors` replaces the profile
columns by `core.profiles` descriptors that mean the same for every type (batch
time, amplitudes, rates, re-dissolution depths, ...), so what a model learns on
linear runs carries over to cycled ones. `both` keeps the raw columns and adds
the descriptors. Which one a CQA uses is chosen by validation (see `fitting`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.profiles import (
    CONCENTRATION_COLUMN,
    SolubilityCurve,
    cooling_columns,
    descriptor_matrix,
    descriptor_names,
    heating_columns,
    profile_max_cycles,
    temperature_columns,
)

FEATURE_SETS = ("raw", "descriptors", "both")


def available_feature_sets(input_names: Sequence[str]) -> tuple[str, ...]:
    return FEATURE_SETS if profile_max_cycles(input_names) is not None else ("raw",)


class FeatureMap:
    """Turns rows in `input_names` order into the columns of one feature set, vectorised."""

    def __init__(
        self, input_names: Sequence[str], feature_set: str = "raw", solubility: SolubilityCurve | None = None
    ) -> None:
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}")
        self.input_names = list(input_names)
        self.feature_set = feature_set
        self.solubility = solubility
        n = profile_max_cycles(self.input_names)
        if feature_set != "raw" and n is None:
            raise ValueError(f"the {feature_set!r} feature set needs the profile columns T1.., C1.., H1..")
        if solubility is not None and CONCENTRATION_COLUMN not in self.input_names:
            raise ValueError(f"supersaturation descriptors need the {CONCENTRATION_COLUMN} input")
        index = {c: i for i, c in enumerate(self.input_names)}
        if n is not None:
            self._t = [index[c] for c in temperature_columns(n)]
            self._c = [index[c] for c in cooling_columns(n)]
            self._h = [index[c] for c in heating_columns(n)]
            profile = set(self._t + self._c + self._h)
            self._scalars = [i for i in range(len(self.input_names)) if i not in profile]
            self._descriptors = descriptor_names(n, solubility is not None)
        self._c0 = index.get(CONCENTRATION_COLUMN)

    @property
    def names(self) -> list[str]:
        if self.feature_set == "raw":
            return list(self.input_names)
        scalars = [self.input_names[i] for i in self._scalars]
        if self.feature_set == "descriptors":
            return [*scalars, *self._descriptors]
        return [*self.input_names, *self._descriptors]

    def column_roles(self) -> tuple[list[int], list[int]]:
        """Indices of `both`'s raw columns and of its descriptor view (scalar inputs and descriptors); lists, as
        hyper-parameters read back from JSON are."""
        if self.feature_set != "both":
            raise ValueError("only the 'both' feature set holds raw columns and descriptors side by side")
        n = len(self.input_names)
        return list(range(n)), [*self._scalars, *range(n, n + len(self._descriptors))]

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, float)
        if self.feature_set == "raw":
            return X
        c0 = X[:, self._c0] if self.solubility is not None else None
        desc = descriptor_matrix(X[:, self._t], X[:, self._c], X[:, self._h], c0, self.solubility)
        if self.feature_set == "descriptors":
            return np.hstack([X[:, self._scalars], desc])
        return np.hstack([X, desc])
