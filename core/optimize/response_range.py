"""Designs predicted beyond every value measured: the model extrapolates the response, not only the inputs.

The applicability domain (`core.models.domain`) measures how far a design lies
from the runs in the inputs. A model that carries a trend can still put a
design near the runs at several times the largest value ever measured: the
grey box follows its simulator wherever it goes (on another compound, a design
predicted at D50 316 ± 14 µm was 38 µm when made, where no run had measured
more than 58 µm), and a linear term continues its slope. Nothing
in the data confirms such a value, whatever its σ says, so the design is
flagged and the engineer pointed to runs that test it.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

BEYOND_MEASURED = "beyond_measured"
# Share of the measured range a prediction may pass its ends by and still count as within it: noise and
# interpolation overshoot, not extrapolation.
MARGIN = 0.25

Range = tuple[float, float]


def measured_ranges(cqas: pd.DataFrame) -> dict[str, Range]:
    """(lowest, highest) measured value of every CQA measured at least twice."""
    out = {}
    for name in cqas.columns:
        values = pd.to_numeric(cqas[name], errors="coerce").dropna().to_numpy(float)
        if len(values) >= 2:
            out[name] = (float(values.min()), float(values.max()))
    return out


def _outside(points: pd.DataFrame, name: str, measured: Range) -> np.ndarray:
    """Which points' predicted mean of `name` passes its measured range by more than `MARGIN` of it."""
    if f"{name}_mean" not in points:
        return np.zeros(len(points), bool)
    lo, hi = measured
    mean = points[f"{name}_mean"].to_numpy(float)
    return (mean > hi + MARGIN * (hi - lo)) | (mean < lo - MARGIN * (hi - lo))


def beyond_measured(points: pd.DataFrame, ranges: Mapping[str, Range]) -> pd.Series:
    """Per point, the CQAs whose predicted mean passes the measured range by more than `MARGIN` of it
    (comma-separated; empty when none)."""
    outside = {name: _outside(points, name, r) for name, r in ranges.items()}
    names = [", ".join(n for n, flags in outside.items() if flags[i]) for i in range(len(points))]
    return pd.Series(names, index=points.index, dtype=object)


def summary(points: pd.DataFrame, ranges: Mapping[str, Range]) -> str | None:
    """A sentence on the points predicted beyond the measured ranges, with the farthest prediction of each CQA;
    None when there are none."""
    parts, flagged = [], np.zeros(len(points), bool)
    for name, (lo, hi) in ranges.items():
        outside = _outside(points, name, (lo, hi))
        if outside.any():
            mean = points[f"{name}_mean"].to_numpy(float)[outside]
            farthest = mean[np.argmax(np.maximum(mean - hi, lo - mean))]
            parts.append(f"{name} up to {farthest:.3g} where the runs measured {lo:.3g}–{hi:.3g}")
            flagged |= outside
    if not parts:
        return None
    return (
        f"{flagged.sum()} of {len(points)} designs are predicted beyond anything measured ({'; '.join(parts)}): "
        "the models extrapolate the response there, and their σ cannot show how far the trend holds. "
        "Test such designs (Validate) or plan runs that do (Next experiments) before relying on them."
    )
