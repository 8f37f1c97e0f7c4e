"""SDV's overall quality score of synthetic rows, computed for a whole table at once.

The score is sdmetrics' quality report for numerical columns (the report SDV's `evaluate_quality`
generates): the mean of two properties, column shapes (1 − the Kolmogorov–Smirnov statistic of each
column) and column pair trends (1 − |Pearson r real − Pearson r synthetic| / 2, averaged over the pairs
of columns whose real correlation exceeds 0.5 in magnitude, pairs with a constant column left out).
sdmetrics scores the ~230 pairs of a DoE one pandas call at a time (about 1 s a score); the augmentation
study scores every source and the tuning every configuration, so the same formulas run here on whole
correlation matrices. `tests/test_augment_generators.py` checks the result against sdmetrics' report.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

DECIMALS = sys.float_info.dig - 1  # sdmetrics rounds before the KS test
REAL_CORRELATION_THRESHOLD = 0.5  # sdmetrics' quality report scores the trends of the pairs correlated beyond this


def _shape(real: pd.Series, synthetic: pd.Series) -> float:
    real, synthetic = real.dropna().round(DECIMALS), synthetic.dropna().round(DECIMALS)
    return 1.0 - float(ks_2samp(real, synthetic).statistic) if len(real) and len(synthetic) else np.nan


def _pair_trends(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Mean correlation similarity over the pairs correlated in the real rows (NaN if there are none); a pair
    with a constant column (in either table) has no correlation and no score."""
    r_real, r_synthetic = real.corr().to_numpy(), synthetic.corr().to_numpy()
    constant = (real.nunique() <= 1).to_numpy() | (synthetic.nunique() <= 1).to_numpy()
    i, j = np.triu_indices(len(real.columns), k=1)
    r_real, r_synthetic = r_real[i, j], r_synthetic[i, j]
    scored = ~(constant[i] | constant[j]) & (np.abs(r_real) > REAL_CORRELATION_THRESHOLD) & np.isfinite(r_synthetic)
    return float(np.mean(1.0 - np.abs(r_real - r_synthetic)[scored] / 2.0)) if scored.any() else np.nan


def quality_score(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Overall quality (0-1) of synthetic against real rows, over the columns that vary in the real rows."""
    columns = [c for c in real.columns if real[c].nunique() > 1]
    real, synthetic = real[columns].astype(float), synthetic[columns].astype(float)
    shapes = np.nanmean([_shape(real[c], synthetic[c]) for c in columns]) if columns else np.nan
    return float(np.nanmean([shapes, _pair_trends(real, synthetic)]))
