"""The virtual lab as a surrogate-data source: simulated runs instead of generated ones.

Jain, Montanari & Sasoglu treat any cheaper source as surrogate data, even one
from another distribution; a mechanistic simulator is such a source. Its rows
carry the physics of thermocycling into profile types where real runs are
few, which an SDV generator trained on those few runs cannot.

The source designs its own runs: a scrambled Sobol sequence over the design
space, the profile types in turn (linear cooling, then one to four cycles),
each run seeded a few degrees below the simulated compound's saturation
temperature as a lab would. The design depends on the seed only, never on
the data, so every training fold reuses the same simulations (`SimulationCache`)
and the first m runs serve every m. The simulator always runs the default
parameters: it stands for a different compound, not for the user's.

Rows are exchanged with the real data's in corresponding states and their
CQAs calibrated onto the real data's range (`core.virtual_lab.transfer`): a
designed run is given the real concentration that corresponds to its
simulated one. `fit` sees the training rows only: it takes the seeding line
from their inputs, simulates them in corresponding states and fits the
calibration on them (no validation row takes part).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from core.augment.encoding import max_cycles_of
from core.doe.schema import spanning, used_range
from core.profiles import TABLE2_BOUNDS, Bounds, ThermocycleProfile
from core.seeding import CONCENTRATION
from core.virtual_lab import ModelParameters
from core.virtual_lab.transfer import (
    SEEDING_BELOW_SATURATION,
    SimulationCache,
    calibration_fit,
    corresponding_states,
    unavailable_reason,
)

DEFAULT_SCALAR_BOUNDS = {"initial_concentration": (24.8, 55.2), "seed_loading": (0.05, 0.15)}
END_TEMPERATURE = (0.5, 15.0)  # °C, the final set point
CALIBRATIONS = ("affine", "shift", "none")
DEFAULTS: Mapping[str, Any] = {"calibration": "affine"}


def design_runs(
    n: int,
    input_names: list[str],
    random_state: int,
    bounds: Bounds = TABLE2_BOUNDS,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """n feasible runs (input columns only); the first k runs of n are the k runs asked for alone."""
    max_cycles = max_cycles_of(input_names)
    limits = {**DEFAULT_SCALAR_BOUNDS, **dict(scalar_bounds or {})}
    solubility = ModelParameters()
    n_dims = 4 + 2 * max_cycles + (max_cycles + 1) + max_cycles
    power = max(int(np.ceil(np.log2(max(n, 1)))), 0)  # Sobol points are balanced in powers of two; a prefix is kept
    points = qmc.Sobol(n_dims, scramble=True, seed=random_state).random_base2(power)[:n]
    (t_lo, t_hi), (c_lo, c_hi), (h_lo, h_hi) = bounds.T, bounds.C, bounds.H
    rows = []
    for i, u in enumerate(points):
        n_cycles = i % (max_cycles + 1)
        c0 = _scale(u[0], limits["initial_concentration"])
        seed = _scale(u[1], limits["seed_loading"])
        t_sat = solubility.saturation_temperature(c0)
        start = float(np.clip(t_sat - _scale(u[2], SEEDING_BELOW_SATURATION), t_lo + 1.0, t_hi))
        end = float(np.clip(_scale(u[3], END_TEMPERATURE), t_lo, start))
        temps, top = [start], start
        for j in range(n_cycles):  # each cycle cools part-way towards the end temperature, then heats part-way back
            low = end + (top - end) * _scale(u[4 + 2 * j], (0.2, 0.9))
            top = low + (top - low) * _scale(u[5 + 2 * j], (0.3, 1.0))
            temps += [low, top]
        temps.append(end)
        k = 4 + 2 * max_cycles
        cool = [_scale(v, (c_lo, c_hi)) for v in u[k : k + n_cycles + 1]]
        heat = [_scale(v, (h_lo, h_hi)) for v in u[k + max_cycles + 1 : k + max_cycles + 1 + n_cycles]]
        profile = ThermocycleProfile(tuple(temps), tuple(cool), tuple(heat))
        rows.append({"initial_concentration": c0, "seed_loading": seed, **profile.to_features(max_cycles)})
    return pd.DataFrame(rows, columns=input_names)


def _scale(u: float, limits: tuple[float, float]) -> float:
    return float(limits[0] + u * (limits[1] - limits[0]))


class VirtualLabSource:
    """Simulated runs as synthetic rows, with the same `fit(X, y)` / `sample(n)` contract as `SyntheticGenerator`."""

    def __init__(
        self,
        params: Mapping[str, Any] | None = None,
        random_state: int = 0,
        bounds: Bounds = TABLE2_BOUNDS,
        scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
        cache: SimulationCache | None = None,
        n_jobs: int | None = 1,
    ) -> None:
        self.params = params
        self.random_state = random_state
        self.bounds = bounds
        self.scalar_bounds = scalar_bounds
        self.cache = cache
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: pd.Series) -> VirtualLabSource:
        """Simulate the training rows' inputs and fit the calibration on them; nothing else is seen."""
        reason = unavailable_reason(list(X.columns), str(y.name))
        if reason:
            raise ValueError(reason)
        kind = {**DEFAULTS, **(self.params or {})}["calibration"]
        if kind not in CALIBRATIONS:
            raise ValueError(f"unknown calibration {kind!r}; choose one of {', '.join(CALIBRATIONS)}")
        self.cache_ = self.cache if self.cache is not None else SimulationCache()
        self.input_names_, self.cqa_ = list(X.columns), str(y.name)
        self.states_ = corresponding_states(X)
        design = {**DEFAULT_SCALAR_BOUNDS, **dict(self.scalar_bounds or {})}[CONCENTRATION]
        # another compound's runs may lie beyond the template's range
        self.concentration_range_ = spanning(design, used_range(X, [CONCENTRATION], unused_zero=False))
        simulated = self.cache_.simulate(self.states_.simulated_inputs(X), self.n_jobs)[self.cqa_].to_numpy(float)
        self.calibration_ = calibration_fit(y.to_numpy(float), simulated, kind)
        return self

    def sample(self, n_rows: int) -> pd.DataFrame:
        """The first n designed runs with their calibrated simulated CQA, at the corresponding real concentration.

        Runs the simulator cannot do, and runs whose real concentration falls outside the design space (widened to
        the training rows' concentrations), are left out."""
        runs = design_runs(n_rows, self.input_names_, self.random_state, self.bounds, self.scalar_bounds)
        simulated = self.cache_.simulate(runs, self.n_jobs)[self.cqa_].to_numpy(float)
        a, b = self.calibration_
        concentration = self.states_.to_real(runs[CONCENTRATION].to_numpy(float))
        rows = runs.assign(**{CONCENTRATION: concentration, self.cqa_: a + b * simulated})
        lo, hi = self.concentration_range_
        keep = np.isfinite(simulated) & (concentration >= lo) & (concentration <= hi)
        return rows[keep].reset_index(drop=True)
