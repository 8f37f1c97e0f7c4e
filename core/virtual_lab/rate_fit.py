"""The virtual lab's rate constants fitted to a user's runs, in corresponding states.

The simulator stands for another compound, whose kinetics differ from the
user's by a factor on every rate constant (`RATE_CONSTANTS`). Where a
thermocycle's heat-ups dissolve nearly all the solid, the best designs lie
within a kelvin or two of a cliff (a degree or two hotter and the seeds
dissolve, `bench/bench_true_front.py --cliff`), so a simulator whose cliff
lies a few kelvin off recommends designs that fail. Fitting one factor per
rate constant to the end-of-batch CQAs of the runs made moves that cliff to
where the data put it; an affine calibration of the outputs cannot.

The fit is a maximum a posteriori estimate: log-factors with a normal prior
(sd `PRIOR_SD`, a factor of e either way), residuals scaled by each CQA's
spread in the data (D50 on the log scale, as the models take it), a Sobol
screen of `SCREEN` factor sets, then trust-region least squares (scipy) from
the best of them, `MAX_EVALUATIONS` factor sets evaluated in all. It is
deterministic. The runs of each factor set are simulated in chunks over the
processes, so that the single sets least squares evaluates between Jacobians
use them all. Solubility is not fitted: corresponding states
(`core.virtual_lab.transfer`) already place the runs relative to saturation.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import least_squares
from scipy.stats import qmc

from core.virtual_lab.parameters import RATE_CONSTANTS, ModelParameters, NumericalSettings
from core.virtual_lab.simulator import CQA_NAMES, simulate_rows
from core.virtual_lab.transfer import CorrespondingStates, corresponding_states

PRIOR_SD = 1.0  # of a log-factor
BOUND = 3.0  # on a log-factor: within a factor of 20 either way
SCREEN = 8
# Factor sets evaluated, screen included (a set evaluated again counts, though reused): the screen, then three
# Jacobians of least squares and their steps. Two more Jacobians (60) lowered the misfit by 1 % or less on the sample
# and ten fresh campaigns, by up to 2.5 % on a loop's 43 runs, for half as many simulations again
# (`bench/bench_rate_fit.py`); on a loop's later calls the fit is the planning call's largest stage.
MAX_EVALUATIONS = 40
CHUNK = 8  # runs simulated per task: small enough to balance the processes (runs near a cliff take longest)
DIFF_STEP = 0.05  # finite-difference step of the log-factors
SCALE_FLOOR = {"D50": 0.03, "DoA": 3.0, "crystallinity": 3.0}  # about a measurement's error: a spread no smaller
FAILED = 5.0  # residual (in scaled units) of a run the simulator cannot do


@dataclass(frozen=True)
class RateFit:
    """The fitted simulator, its log-factor per rate constant, and the misfit (sum of squared scaled residuals,
    prior included) of the default constants and of the fitted ones."""

    params: ModelParameters
    log_factors: dict[str, float]
    misfit_default: float
    misfit: float
    simulations: int  # factor sets simulated


class _Budget(Exception):
    """Raised when the fit has used its simulations."""


def fitted_parameters(log_factors: np.ndarray) -> ModelParameters:
    """The default simulator with every rate constant multiplied by exp(its log-factor)."""
    base = ModelParameters()
    factors = zip(RATE_CONSTANTS, np.exp(log_factors), strict=True)
    return replace(base, **{n: getattr(base, n) * float(f) for n, f in factors})


def fit_rate_constants(
    inputs: pd.DataFrame,
    cqas: pd.DataFrame,
    states: CorrespondingStates | None = None,
    n_jobs: int = 1,
    numerics: NumericalSettings | None = None,
    max_evaluations: int | None = None,
) -> RateFit:
    """Fit the rate constants to the runs `inputs` (raw DoE rows) measured as `cqas`, simulated in `states`
    (by default those the runs' start temperatures give) on the size grid `numerics` gives, within
    `max_evaluations` factor sets (by default `MAX_EVALUATIONS`); the screen and each finite-difference Jacobian
    simulate their factor sets on `n_jobs` processes."""
    states = states if states is not None else corresponding_states(inputs)
    rows = states.simulated_inputs(inputs.reset_index(drop=True))
    misfit = _Misfit(rows, cqas.reset_index(drop=True), n_jobs, numerics, max_evaluations or MAX_EVALUATIONS)
    dim = len(RATE_CONSTANTS)
    screen = BOUND / 3 * (2 * qmc.Sobol(dim, scramble=True, seed=0).random(SCREEN) - 1)
    default = float(np.sum(misfit.residuals([np.zeros(dim), *screen])[0] ** 2))
    with contextlib.suppress(_Budget):  # the budget ends the search: the best factors seen stand
        least_squares(
            lambda x: misfit.residuals([x])[0], misfit.best_factors, jac=misfit.jacobian, bounds=(-BOUND, BOUND)
        )
    factors = misfit.best_factors
    return RateFit(
        fitted_parameters(factors),
        dict(zip(RATE_CONSTANTS, map(float, factors), strict=True)),
        default,
        misfit.best_cost,
        misfit.simulations,
    )


class _Misfit:
    """Scaled residuals of factor sets against the data, within the simulation budget; keeps the best set seen."""

    def __init__(
        self, rows: pd.DataFrame, cqas: pd.DataFrame, n_jobs: int, numerics: NumericalSettings | None, budget: int
    ) -> None:
        self.n_jobs, self.numerics, self.budget = n_jobs, numerics, budget
        self.targets = {
            c: _scaled(c, cqas[c].to_numpy(float)) for c in CQA_NAMES if c in cqas and cqas[c].notna().sum() >= 3
        }
        if not self.targets:
            names = ", ".join(CQA_NAMES)
            raise ValueError(f"fitting the rate constants needs at least 3 measurements of one of {names}")
        self.scales = {c: max(float(np.nanstd(y)), SCALE_FLOOR[c]) for c, y in self.targets.items()}
        self.chunks = [rows.iloc[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]
        self.evaluations, self.best_cost = 0, np.inf
        self.best_factors = np.zeros(len(RATE_CONSTANTS))
        self.seen: dict[bytes, np.ndarray] = {}  # residuals of every factor set simulated, by its bytes

    @property
    def simulations(self) -> int:
        """Factor sets simulated."""
        return len(self.seen)

    def residuals(self, sets: list[np.ndarray]) -> list[np.ndarray]:
        """Residuals of every set; a set simulated before (least squares starts from the screen's best and asks for
        each Jacobian's base point again) is not simulated again, but counts against the budget all the same."""
        if self.evaluations + len(sets) > self.budget:
            raise _Budget
        self.evaluations += len(sets)
        keys = [np.asarray(x, float).tobytes() for x in sets]
        new = {k: x for k, x in zip(keys, sets, strict=True) if k not in self.seen}
        self.seen.update(zip(new, self._simulated(list(new.values())), strict=True))
        return [self.seen[k] for k in keys]

    def _simulated(self, sets: list[np.ndarray]) -> list[np.ndarray]:
        """Residuals of sets simulated on the data's runs, in chunks over the processes; keeps the best set."""
        n = len(self.chunks)
        pieces = Parallel(n_jobs=self.n_jobs)(
            delayed(simulate_rows)(chunk, params=fitted_parameters(x), numerics=self.numerics, bounds=None)
            for x in sets
            for chunk in self.chunks
        )
        sims = [pd.concat(pieces[i : i + n]) for i in range(0, len(pieces), n)]
        out = []
        for x, sim in zip(sets, sims, strict=True):
            parts = [_residual(_scaled(c, sim[c].to_numpy(float)), y, self.scales[c]) for c, y in self.targets.items()]
            r = np.concatenate([*parts, np.asarray(x) / PRIOR_SD])
            if r @ r < self.best_cost:
                self.best_cost, self.best_factors = float(r @ r), np.array(x, float)
            out.append(r)
        return out

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Forward differences, every factor's step simulated at once."""
        steps = np.where(x + DIFF_STEP <= BOUND, DIFF_STEP, -DIFF_STEP)
        sets = [x, *(x + np.eye(len(x))[i] * steps[i] for i in range(len(x)))]
        base, *moved = self.residuals(sets)
        return np.column_stack([(r - base) / h for r, h in zip(moved, steps, strict=True)])


def _scaled(cqa: str, values: np.ndarray) -> np.ndarray:
    """D50 on the log scale, as the models take it; the percentages as they are."""
    return np.log(np.maximum(values, 1e-3)) if cqa == "D50" else values


def _residual(simulated: np.ndarray, measured: np.ndarray, scale: float) -> np.ndarray:
    r = (simulated - measured) / scale
    r = np.where(np.isfinite(simulated), r, FAILED)
    return np.where(np.isfinite(measured), r, 0.0)
