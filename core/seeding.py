"""Where a design is seeded: its start temperature T1 tied to its initial concentration as in the experiments.

Seeds added to an undersaturated solution dissolve, and the batch then grows
from whatever nucleates. So a DoE seeds every run a little below the
saturation temperature of its own concentration, and T1 moves with the
initial concentration across the runs. Independent bounds on the two let the
optimiser pair a dilute solution with a hot start, a run unlike any the
models saw but close enough to the runs in every other input to pass a
distance-based applicability domain (the domain now measures the height above
the line too, `core.models.domain`): on one of six fresh virtual-lab campaigns such designs reached
0.04-0.11 of the true front's hypervolume (`python bench/bench_ground_truth.py
--campaigns 6 --seeding off`, against the default).

The band is the experiments' own: the least-squares line T1 = a + b·C0 over
the runs seeded as the others (`seeded_as_the_others`), and the range of their
offsets from it. A run started far off that line, more than
`PRACTICE_OFFSET_K` and three robust standard deviations, such as a planned
run that explores a hot start, neither tilts the line nor widens the band:
the band keeps the lab's seeding practice, while the models and the
applicability domain see the run as it was. Where the data show no such
relation the offsets span the start-temperature range and the band changes
nothing.

The line stands in for the saturation temperature, so it also bounds the
heat-ups: a re-heat far above the line dissolves the seeds and the crystals
grown on them just as a hot start does, so no heat-up of a design may rise
further above the line than the experiments' highest one. That cap is for
models that only know the data: a model that simulates the batch (the grey
box, `core.models.lab_residual`) predicts the re-dissolution itself, and the
cap held its multi-cycle designs back on fresh virtual-lab campaigns
(`bench/bench_ground_truth.py --seeding data band`, README). `band_for_models`
lifts it for such models; the start stays tied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.stats import median_abs_deviation, siegelslopes

from core.profiles import ThermocycleProfile, profile_max_cycles

CONCENTRATION = "initial_concentration"
START = "T1"
SEEDING_OUTLIER_SDS = 3.0  # a run seeded further off the runs' line (in robust standard deviations) does not tilt it
# Labs seed 1-6 K below saturation: a start within this of the band's line is seeding practice, however tight the
# DoE's own scatter.
PRACTICE_OFFSET_K = 5.0


@dataclass(frozen=True)
class SeedingBand:
    """T1 - (intercept + slope·C0) must lie within [low, high], and every heat-up's peak at most `peak_high` above
    the line (None: the experiments have no heat-up to bound it by)."""

    intercept: float
    slope: float
    low: float
    high: float
    peak_high: float | None = None

    def __str__(self) -> str:
        text = f"T1 within {self.low:+.1f} to {self.high:+.1f} K of {self.intercept:.1f} + {self.slope:.3f}·C0 (°C)"
        if self.peak_high is not None:
            side = "above" if self.peak_high >= 0 else "below"
            text += f"; heat-ups peak no higher than {abs(self.peak_high):.1f} K {side} that line"
        return text

    def line(self, concentration: np.ndarray) -> np.ndarray:
        return self.intercept + self.slope * concentration

    def offset(self, concentration: np.ndarray, start: np.ndarray) -> np.ndarray:
        return start - self.line(concentration)

    def violation(self, concentration: np.ndarray, start: np.ndarray) -> np.ndarray:
        """How far (K) each start temperature lies outside the band; <= 0 inside."""
        offset = self.offset(concentration, start)
        return np.maximum(offset - self.high, self.low - offset)

    def clip(self, concentration: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The start temperatures moved onto the band, each at its own concentration."""
        line = self.line(concentration)
        return line + np.clip(start - line, self.low, self.high)

    def peak_violation(self, concentration: np.ndarray, peaks: np.ndarray) -> np.ndarray:
        """How far (K) each design's highest heat-up (`peaks`: one row per design) rises above the allowed; <= 0
        when allowed or unbounded."""
        if self.peak_high is None or peaks.shape[1] == 0:
            return np.zeros(len(concentration))
        return self.above_line(concentration, peaks) - self.peak_high

    def above_line(self, concentration: np.ndarray, temperatures: np.ndarray) -> np.ndarray:
        """How far (K) each row's hottest set point (`temperatures`: one row per design) lies above the line."""
        return np.nanmax(temperatures, axis=1) - self.line(concentration)

    def ceiling(self, concentration: np.ndarray) -> np.ndarray:
        """How high each design may heat (inf when unbounded)."""
        if self.peak_high is None:
            return np.full(len(concentration), np.inf)
        return self.line(concentration) + self.peak_high


def seeding_points(inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(mask, C0, T1) of the runs that give both an initial concentration and a start temperature (0 marks an
    unused set point); none without those columns."""
    if CONCENTRATION not in inputs or START not in inputs:
        return np.zeros(len(inputs), bool), np.empty(0), np.empty(0)
    c0, t1 = (inputs[c].to_numpy(float) for c in (CONCENTRATION, START))
    known = np.isfinite(c0) & np.isfinite(t1) & (t1 != 0)
    return known, c0[known], t1[known]


def seeded_as_the_others(x: np.ndarray, t1: np.ndarray, min_offset: float) -> np.ndarray:
    """Which runs follow the line the runs' start temperatures follow against `x` (C0 or ln C0): within
    `SEEDING_OUTLIER_SDS` robust standard deviations of it, or `min_offset` K. A run seeded far off it, such as a
    planned run that explores a hot start, says nothing of where saturation lies, and least squares would tilt the
    line towards it. The line is found by repeated medians (Siegel, Biometrika 69, 1982), which up to half the runs
    may leave without moving it; on a DoE whose runs all keep to their line every run is kept. Fewer than 3 runs,
    or a single concentration, give no line: every run is kept."""
    if len(t1) < 3 or np.ptp(x) == 0:
        return np.ones(len(t1), bool)
    line = siegelslopes(t1, x)
    residual = t1 - (line.intercept + line.slope * x)
    spread = median_abs_deviation(residual, scale="normal")  # the normal sd the MAD stands for
    return np.abs(residual - np.median(residual)) <= max(SEEDING_OUTLIER_SDS * spread, min_offset)


def seeding_band(inputs: pd.DataFrame) -> SeedingBand | None:
    """The experiments' band, or None when they cannot give one (no such columns, or fewer than 3 runs seeded as
    the others with both values, or a single initial concentration among them)."""
    known, c0, t1 = seeding_points(inputs)
    practice = seeded_as_the_others(c0, t1, PRACTICE_OFFSET_K)
    if practice.sum() < 3 or np.ptp(c0[practice]) == 0:
        return None
    slope, intercept = np.polyfit(c0[practice], t1[practice], 1)
    line = intercept + slope * c0
    offsets = (t1 - line)[practice]
    above = _highest_peaks(inputs.loc[known]) - line
    peak_high = float(np.nanmax(above)) if np.isfinite(above).any() else None
    return SeedingBand(float(intercept), float(slope), float(offsets.min()), float(offsets.max()), peak_high)


def band_for_models(band: SeedingBand | None, simulated: bool) -> SeedingBand | None:
    """The band a design keeps: the heat-ups are left free when every model it uses simulates the batch."""
    return replace(band, peak_high=None) if band is not None and simulated else band


def peak_names(n_temperatures: int) -> list[str]:
    """The heat-up peaks of a profile with `n_temperatures` set points: T3, T5, ... (none for linear cooling)."""
    return [f"T{i}" for i in range(3, n_temperatures, 2)]


def _highest_peaks(inputs: pd.DataFrame) -> np.ndarray:
    """Each run's highest heat-up peak (the set points between start and end that a heating ramp reaches); NaN
    for runs without a heat-up or without a complete profile block."""
    max_cycles = profile_max_cycles(list(inputs.columns))
    if max_cycles is None:
        return np.full(len(inputs), np.nan)
    profiles = [ThermocycleProfile.from_features(row, max_cycles) for row in inputs.to_dict("records")]
    return np.array([max(p.temperatures[2:-1:2], default=np.nan) for p in profiles], float)
