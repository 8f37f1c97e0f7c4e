"""How the virtual lab's runs are exchanged with a real compound's: corresponding states, calibration, a cache.

The virtual lab simulates one compound with its default parameters; a user's
data come from another. Two exchanges make its runs comparable with theirs.

Concentrations, in corresponding states (`CorrespondingStates`): the simulated
compound saturates at other concentrations than the user's, so the same run
can lie below saturation in the lab and above it in the simulator, where its
seeds dissolve: another regime. A real run is therefore simulated at the
concentration whose simulated saturation temperature sits as far above its
start temperature as the experiments' seeding line (start temperature against
concentration; labs seed a few degrees below saturation) puts the real one.
Runs seeded far off the line the others follow, such as planned runs that
explore hot starts, do not tilt it (`core.seeding.seeded_as_the_others`). The temperatures
stay as they are.

Values, by calibration (`calibration_fit`): y_real ≈ a + b·y_sim fitted on the
real runs simulated alike maps a simulated CQA onto the real data's range;
robust to a few runs off the trend, or by least squares where those runs are
the point (the planner's prior).

Users: the synthetic-data source (`core.augment.simulated`), the planner's prior
(`core.plan.lab_prior`) and the grey-box model family (`core.models.lab_residual`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.seeding import CONCENTRATION, SEEDING_OUTLIER_SDS, seeded_as_the_others, seeding_points
from core.virtual_lab.parameters import ModelParameters, NumericalSettings
from core.virtual_lab.simulator import CQA_NAMES, simulate_rows

SCALARS = ("initial_concentration", "seed_loading")
SEEDING_BELOW_SATURATION = (1.0, 6.0)  # °C below the saturation temperature at which a lab would seed
SEEDING_LINE_BELOW_SATURATION = float(np.mean(SEEDING_BELOW_SATURATION))  # where the designed runs' line lies
# Real saturation temperatures are rounded to this step (K) before simulating: the seeding line places them only
# to within its band of a few kelvin, and rounding lets the training folds, whose lines differ a little, share
# their simulations.
SATURATION_STEP_K = 0.5
MIN_SEEDING_CORRELATION = 0.7  # of start temperature with ln C0, for the line to stand for saturation
SLOPE_RANGE = (0.25, 4.0)  # an affine calibration steeper or flatter than this says more about noise than scale


def unavailable_reason(input_names: Sequence[str], cqa: str) -> str | None:
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
    practice = seeded_as_the_others(log_c0, t1, SEEDING_OUTLIER_SDS * SATURATION_STEP_K)
    log_c0, t1 = log_c0[practice], t1[practice]
    if len(t1) < 3 or np.ptp(log_c0) == 0 or np.ptp(t1) == 0:
        return CorrespondingStates()
    if np.corrcoef(log_c0, t1)[0, 1] < MIN_SEEDING_CORRELATION:
        return CorrespondingStates()
    slope, intercept = np.polyfit(log_c0, t1, 1)
    return CorrespondingStates(float(intercept), float(slope))


class SimulationCache:
    """CQAs of simulated runs keyed by their inputs and the simulator's parameters, so that no run is simulated
    twice (with a `limit`, the rows simulated longest ago are forgotten first); every run on one size grid and
    time-step control (`numerics`, by default the simulator's)."""

    def __init__(self, limit: int | None = None, numerics: NumericalSettings | None = None) -> None:
        self.results: dict[tuple[ModelParameters, tuple[float, ...]], dict[str, float]] = {}
        self.limit, self.numerics = limit, numerics

    def missing(self, inputs: pd.DataFrame, params: ModelParameters | None = None) -> int:
        """How many distinct rows of `inputs` `simulate` would run."""
        return len({k for k in _keys(inputs, params) if k not in self.results})

    def simulate(
        self, inputs: pd.DataFrame, n_jobs: int | None = 1, params: ModelParameters | None = None
    ) -> pd.DataFrame:
        """D50, DoA and crystallinity of every row (NaN where the simulator cannot run it), by the default
        simulator or the one `params` give."""
        keys = _keys(inputs, params)
        first: dict[tuple[ModelParameters, tuple[float, ...]], int] = {}
        for i, key in enumerate(keys):
            if key not in self.results:
                first.setdefault(key, i)
        todo = list(first.values())
        found = {k: self.results[k] for k in keys if k in self.results}
        if todo:
            out = simulate_rows(
                inputs.iloc[todo], params=keys[0][0], numerics=self.numerics, n_jobs=n_jobs or 1, bounds=None
            )
            for i, rec in zip(todo, out[list(CQA_NAMES)].to_dict("records"), strict=True):
                found[keys[i]] = self.results[keys[i]] = rec
            while self.limit is not None and len(self.results) > self.limit:
                del self.results[next(iter(self.results))]
        return pd.DataFrame([found[k] for k in keys], index=inputs.index, columns=list(CQA_NAMES))

    def __len__(self) -> int:
        return len(self.results)


def _keys(inputs: pd.DataFrame, params: ModelParameters | None) -> list[tuple[ModelParameters, tuple[float, ...]]]:
    params = params or ModelParameters()
    return [(params, _row_key(v)) for v in inputs.to_numpy(float)]


def calibration_fit(y_real: np.ndarray, y_sim: np.ndarray, kind: str) -> tuple[float, float]:
    """(a, b) of y_real ≈ a + b·y_sim on the rows given (the training fold).

    ``affine``, robust to a few bad rows: Theil-Sen, b the median slope over all pairs of rows, a the median of
    y_real − b·y_sim. The simulator stands for another compound, so it can put a real run in another regime (a
    simulated D50 far off the trend of the others); least squares would follow such a run, the medians do not.
    ``least_squares`` follows every run, the few far from the rest most: the planner's prior wants exactly that,
    for its planned runs are the ones that test the simulator where it promises most. ``shift``: b = 1."""
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
    elif kind == "least_squares" and len(y_real) >= 3 and np.ptp(y_sim) > 0:
        slope = float(np.clip(np.polyfit(y_sim, y_real, 1)[0], *SLOPE_RANGE))
    centre = np.mean if kind == "least_squares" else np.median
    return float(centre(y_real - slope * y_sim)), slope
