"""Per-CQA training and hold-out sets.

Each CQA is modelled on the rows where it was measured. Its hold-out set is
the separate hold-out file when there is one; otherwise a seeded share of its
rows (10-15 %), drawn per profile type so the test set mirrors the profile mix
and a profile type seen only once always stays in training.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from core.doe import Schema
from core.profiles import DEFAULT_MAX_CYCLES, ThermocycleProfile

DEFAULT_TEST_FRACTION = 0.125
UNRECOGNISED_PROFILE = "unrecognised profile"


class DoELike(Protocol):
    """What `core.doe.DoEData` offers and the models need."""

    schema: Schema

    @property
    def inputs(self) -> pd.DataFrame: ...

    def cqa(self, name: str) -> pd.Series: ...

    def profile_types(self) -> pd.Series: ...


@dataclass(frozen=True)
class ModelData:
    """Model inputs, measured CQAs (NaN = not measured) and profile types, indexed by row id."""

    inputs: pd.DataFrame
    cqas: pd.DataFrame
    profile_types: pd.Series

    @property
    def input_names(self) -> list[str]:
        return list(self.inputs.columns)

    @property
    def cqa_names(self) -> list[str]:
        return list(self.cqas.columns)

    def to_frame(self) -> pd.DataFrame:
        """Inputs then CQAs, with the row id as the first column `row`."""
        frame = pd.concat([self.inputs, self.cqas], axis=1)
        frame.index.name = "row"
        return frame.reset_index()

    @classmethod
    def from_doe(cls, data: DoELike) -> ModelData:
        cqas = pd.DataFrame({c: data.cqa(c) for c in data.schema.cqa_names}, index=data.inputs.index)
        return cls(data.inputs, cqas, data.profile_types())

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        input_names: Sequence[str] | None = None,
        cqa_names: Sequence[str] | None = None,
        max_cycles: int = DEFAULT_MAX_CYCLES,
    ) -> ModelData:
        """Rows in canonical column names; a `row` column, if present, becomes the row id.

        Blank profile entries mean "unused" and become 0 (Eq. 4); any other
        missing input is an error that names the rows.
        """
        schema = Schema.default(max_cycles)
        input_names = list(input_names or schema.input_names)
        if cqa_names is None:
            cqa_names = [c for c in frame.columns if c not in input_names and c in set(schema.cqa_names)]
        frame = frame.set_index("row") if "row" in frame.columns else frame
        missing = [c for c in [*input_names, *cqa_names] if c not in frame.columns]
        if missing:
            raise ValueError(f"the data has no column {', '.join(missing)}")
        if not frame.index.is_unique:
            frame = frame.reset_index(drop=True)
        try:
            x = frame[input_names].astype(float)
            y = frame[list(cqa_names)].astype(float)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"inputs and CQAs must be numbers: {exc}") from None
        profile = [c for c in schema.profile_names if c in x.columns]
        x[profile] = x[profile].fillna(0.0)
        blank = x.columns[x.isna().any()].tolist()
        if blank:
            rows = x.index[x[blank].isna().any(axis=1)].tolist()
            raise ValueError(f"missing {', '.join(blank)} in row {', '.join(map(str, rows[:10]))}")
        return cls(x, y, profile_types_of(x, max_cycles))


def profile_types_of(inputs: pd.DataFrame, max_cycles: int = DEFAULT_MAX_CYCLES) -> pd.Series:
    """The profile type of each row of model inputs (`UNRECOGNISED_PROFILE` where the columns make no profile)."""
    names = [_type_name(r, max_cycles) for r in inputs.to_dict("records")]
    return pd.Series(names, index=inputs.index, name="profile_type")


def _type_name(row: dict[str, float], max_cycles: int) -> str:
    try:
        return ThermocycleProfile.from_features(row, max_cycles).type_name
    except ValueError:
        return UNRECOGNISED_PROFILE


def as_model_data(source: ModelData | DoELike | pd.DataFrame) -> ModelData:
    if isinstance(source, ModelData):
        return source
    if isinstance(source, pd.DataFrame):
        return ModelData.from_frame(source)
    return ModelData.from_doe(source)


def stratified_holdout(
    profile_types: pd.Series, test_fraction: float = DEFAULT_TEST_FRACTION, random_state: int = 0, min_train: int = 0
) -> pd.Index:
    """Row ids of a hold-out set of about `test_fraction` of the rows, allotted per profile type.

    Only types with at least two rows give up rows, and each keeps at least one
    in training. Rows go to types in proportion to their size (largest
    remainders first, ties broken by the seed); `min_train` rows always stay.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError("the hold-out fraction must be at least 0 and below 1")
    rng = np.random.default_rng(random_state)
    counts = profile_types.value_counts().sort_index()
    eligible = counts[counts >= 2]
    n = len(profile_types)
    n_test = min(round(test_fraction * n), int((eligible - 1).sum()), max(n - min_train, 0))
    if n_test <= 0:
        return profile_types.index[:0]
    share = eligible / eligible.sum() * n_test
    alloc = np.minimum(np.floor(share).astype(int), eligible - 1)
    tiebreak = pd.Series(rng.random(len(eligible)), index=eligible.index)
    while alloc.sum() < n_test:
        room = alloc < eligible - 1
        gap = (share - alloc).where(room, -np.inf)
        pick = pd.DataFrame({"gap": gap, "tie": tiebreak}).sort_values(["gap", "tie"], ascending=False).index[0]
        alloc[pick] += 1
    chosen = []
    for name, k in alloc.items():
        if k:
            rows = profile_types.index[profile_types == name]
            chosen.extend(rng.choice(np.asarray(rows), size=int(k), replace=False).tolist())
    return profile_types.index[profile_types.index.isin(chosen)]


@dataclass(frozen=True)
class CQADataset:
    """Training and hold-out rows of one CQA (rows where it was measured)."""

    cqa: str
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    types_train: pd.Series
    types_test: pd.Series
    holdout_source: str  # "file", "split" or "none"

    @property
    def n_train(self) -> int:
        return len(self.y_train)

    @property
    def n_test(self) -> int:
        return len(self.y_test)


def cqa_dataset(
    data: ModelData,
    cqa: str,
    holdout: ModelData | None = None,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    random_state: int = 0,
    min_train: int = 0,
) -> CQADataset:
    """The rows of `data` where `cqa` was measured, split into training and hold-out."""
    if cqa not in data.cqas.columns:
        raise ValueError(f"the data has no CQA {cqa!r}")
    measured = data.cqas[cqa].notna()
    X, y, types = data.inputs[measured], data.cqas.loc[measured, cqa], data.profile_types[measured]
    if holdout is not None:
        if cqa in holdout.cqas.columns:
            keep = holdout.cqas[cqa].notna()
            X_test, y_test, t_test = holdout.inputs[keep], holdout.cqas.loc[keep, cqa], holdout.profile_types[keep]
        else:
            X_test, y_test, t_test = holdout.inputs.iloc[:0], pd.Series(dtype=float, name=cqa), types.iloc[:0]
        return CQADataset(cqa, X, y, X_test, y_test, types, t_test, "file")
    test = stratified_holdout(types, test_fraction, random_state, min_train)
    is_test = types.index.isin(test)
    return CQADataset(
        cqa,
        X[~is_test],
        y[~is_test],
        X[is_test],
        y[is_test],
        types[~is_test],
        types[is_test],
        "split" if len(test) else "none",
    )
