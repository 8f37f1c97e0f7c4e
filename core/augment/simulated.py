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

The simulated compound saturates at other concentrations than the user's, so
the same run can lie below saturation in the lab and above it in the
simulator, where its seeds dissolve: another regime. Rows are therefore
exchanged in corresponding states (`CorrespondingStates`): a real run is
simulated at the concentration whose simulated saturation temperature sits
as far above its start temperature as the experiments' seeding line (start
temperature against concentration; labs seed a few degrees below
saturation) puts the real one, and a designed run is given the real
concentration that corresponds to its simulated one. The temperatures stay
as they are.

`fit` sees the training rows only: it takes the seeding line from their
inputs, simulates them in corresponding states and fits a robust calibration
y_real ≈ a + b·y_sim on them, which maps the simulated CQA onto the real
data's range (no validation row takes part).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from core.augment.encoding import max_cycles_of
from core.doe.schema import spanning, used_range
from core.profiles import TABLE2_BOUNDS, Bounds, ThermocycleProfile
from core.seeding import CONCENTRATION, seeding_points
from core.virtual_lab import CQA_NAMES, ModelParameters, simulate_rows

SCALARS = ("initial_concentration", "seed_loading")
DEFAULT_SCALAR_BOUNDS = {"initial_concentration": (24.8, 55.2), "seed_loading": (0.05, 0.15)}
SEEDING_BELOW_SATURATION = (1.0, 6.0)  # °C below the saturation temperature at which a lab would seed
SEEDING_LINE_BELOW_SATURATION = float(np.mean(SEEDING_BELOW_SATURATION))  # where the designed runs' line lies
# Real saturation temperatures are rounded to this step (K) before simulating: the seeding line places them only
# to within its band of a few kelvin, and rounding lets the training folds, whose lines differ a little, share
# their simulations.
SATURATION_STEP_K = 0.5
MIN_SEEDING_CORRELATION = 0.7  # of start temperature with ln C0, for the line to stand for saturation
END_TEMPERATURE = (0.5, 15.0)  # °C, the final set point
CALIBRATIONS = ("affine", "shift", "none")
SLOPE_RANGE = (0.25, 4.0)  # an affine calibration steeper or flatter than this says more about noise than scale
DEFAULTS: Mapping[str, Any] = {"calibration": "affine"}


def unavailable_reason(input_names: list[str], cqa: str) -> str | None:
    """Why the virtual lab cannot stand in for these data (None when it can)."""
    if cqa not in CQA_NAMES:
        return f"the virtual lab simulates {', '.join(CQA_NAMES)}, not {cqa}"
    profile = {c for c in input_names if c[0] in "TCH" and c[1:].isdigit()}
    other = [c for c in input_names if c not in profile and c not in SCALARS]
    missing = [c for c in SCALARS if c not in input_names]
    if other or missing or "T1" not in profile:
        return "the virtual lab needs exactly the inputs initial concentration, seed loading and the profile set points"
    return None


def _row_key(values: np.ndarray) -> tuple[float, ...]:
    return tuple(np.round(values.astype(float), 9))


@dataclass(frozen=True)
class CorrespondingStates:
    """Initial concentrations of the data and of the simulated compound that lie equally far from saturation.

    The experiments' start temperatures are fitted as T1 = intercept + slope·ln C0: over a DoE's range
    solubility grows about exponentially with temperature (van 't Hoff), so the logarithm of the concentration
    a run saturates at is close to linear in temperature. The real saturation temperature is that line plus
    the distance at which the designed runs are seeded below the simulated one. `slope` None: no exchange,
    the concentrations are taken as they are."""

    intercept: float = 0.0
    slope: float | None = None

    @property
    def active(self) -> bool:
        return self.slope is not None

    def to_simulated(self, concentration: np.ndarray) -> np.ndarray:
        if not self.active:
            return concentration
        saturation = self.intercept + self.slope * np.log(concentration) + SEEDING_LINE_BELOW_SATURATION
        saturation = np.round(saturation / SATURATION_STEP_K) * SATURATION_STEP_K
        return np.asarray(ModelParameters().solubility(saturation), float)

    def to_real(self, concentration: np.ndarray) -> np.ndarray:
        if not self.active:
            return concentration
        params = ModelParameters()
        saturation = np.log(concentration / params.solubility_a) / params.solubility_b
        return np.exp((saturation - SEEDING_LINE_BELOW_SATURATION - self.intercept) / self.slope)

    def simulated_inputs(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """The rows as the simulator runs them."""
        return inputs.assign(**{CONCENTRATION: self.to_simulated(inputs[CONCENTRATION].to_numpy(float))})


def corresponding_states(inputs: pd.DataFrame) -> CorrespondingStates:
    """The exchange of concentrations the start temperatures of these (training) rows give; none without at
    least 3 runs at two concentrations or more, or when the start temperatures do not rise closely with the
    concentration (then they say little about saturation)."""
    _, c0, t1 = seeding_points(inputs)
    log_c0, t1 = np.log(c0[c0 > 0]), t1[c0 > 0]
    if len(t1) < 3 or np.ptp(log_c0) == 0 or np.ptp(t1) == 0:
        return CorrespondingStates()
    if np.corrcoef(log_c0, t1)[0, 1] < MIN_SEEDING_CORRELATION:
        return CorrespondingStates()
    slope, intercept = np.polyfit(log_c0, t1, 1)
    return CorrespondingStates(float(intercept), float(slope))


class SimulationCache:
    """CQAs of simulated runs keyed by their inputs, so that no run is simulated twice."""

    def __init__(self) -> None:
        self.results: dict[tuple[float, ...], dict[str, float]] = {}

    def simulate(self, inputs: pd.DataFrame, n_jobs: int | None = 1) -> pd.DataFrame:
        """D50, DoA and crystallinity of every row (NaN where the simulator cannot run it)."""
        keys = [_row_key(v) for v in inputs.to_numpy(float)]
        first: dict[tuple[float, ...], int] = {}
        for i, key in enumerate(keys):
            if key not in self.results:
                first.setdefault(key, i)
        todo = list(first.values())
        if todo:
            out = simulate_rows(inputs.iloc[todo], params=ModelParameters(), n_jobs=n_jobs or 1, bounds=None)
            for i, rec in zip(todo, out[list(CQA_NAMES)].to_dict("records"), strict=True):
                self.results[keys[i]] = rec
        return pd.DataFrame([self.results[k] for k in keys], index=inputs.index, columns=list(CQA_NAMES))

    def __len__(self) -> int:
        return len(self.results)


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


def calibration_fit(y_real: np.ndarray, y_sim: np.ndarray, kind: str) -> tuple[float, float]:
    """(a, b) of y_real ≈ a + b·y_sim on the rows given (the training fold), robust to a few bad rows.

    Theil-Sen: b is the median slope over all pairs of rows, a the median of y_real − b·y_sim. The
    simulator stands for another compound, so it can put a real run in another regime (a simulated D50
    far off the trend of the others); least squares would follow such a run, the medians do not."""
    ok = np.isfinite(y_real) & np.isfinite(y_sim)
    y_real, y_sim = y_real[ok], y_sim[ok]
    if kind == "none" or not len(y_real):
        return 0.0, 1.0
    slope = 1.0
    if kind == "affine" and len(y_real) >= 3:
        i, j = np.triu_indices(len(y_sim), k=1)
        dx, dy = y_sim[j] - y_sim[i], y_real[j] - y_real[i]
        if np.any(dx != 0):
            slope = float(np.clip(np.median(dy[dx != 0] / dx[dx != 0]), *SLOPE_RANGE))
    return float(np.median(y_real - slope * y_sim)), slope


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
