"""The virtual lab as the planner's prior: simulated runs over the planning space as a second GP task.

A DoE rarely touches the regimes where thermocycling pays most (heat-ups that
re-dissolve most of the solid grow a few survivors large, `bench_true_front.py`),
and a GP on the data alone reverts to the data's mean there, so no acquisition
sends runs that way. A mechanistic simulator does carry that physics, though
for another compound. The planner can therefore take simulated runs as a
second task of a multi-task GP (intrinsic coregionalisation: Bonilla, Chai &
Williams, NeurIPS 2007): where the data are, the real task follows them;
where they are not, it follows the simulated trend as far as the fitted task
correlation says the two agree.

First the simulator's rate constants are fitted to the data's runs in
corresponding states (`core.virtual_lab.rate_fit`): the best designs lie a
kelvin or two from a cliff whose place depends on the kinetics, and only a
simulator fitted to the compound puts it near the right place. The simulated
runs are then designed in the simulated compound's own concentrations, per
chosen profile type: a scrambled Sobol design for the simulator's trends, and
the final population of an NSGA-II run on the fitted simulator for the regime
where its front lies, which a space-filling design of this size rarely
touches. Their simulations are kept in `PRIOR_CACHE` per fitted simulator.
They are moved to the data's concentrations in corresponding states, and each
CQA is mapped onto the data's range by a least-squares line fitted on the
data's runs simulated alike (`core.virtual_lab.transfer`). Not the robust
line the synthetic-data source and the grey box use: the runs the planner adds
go where the simulator promises most, and when they find less, the line must
follow them, or the next round chases the same promise a little further on
(README, Next experiments). The designed runs and their simulated CQAs also
go to the planner as they are (`PriorRows.designs`): `ehvi` makes the fitted
simulator's best designs first (`core.plan.propose.simulator_designs`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import qmc

from core.optimize.spec import Constraint, Objective
from core.plan.space import ProfileSpace, search_boxes, split_rows
from core.progress import Progress
from core.seeding import CONCENTRATION
from core.virtual_lab.parameters import ModelParameters, NumericalSettings
from core.virtual_lab.rate_fit import RateFit, fit_rate_constants
from core.virtual_lab.transfer import SimulationCache, calibration_fit, corresponding_states, unavailable_reason

PRIORS = ("none", "virtual_lab")
DESIGN_SEED = 0
SOBOL_PER_TYPE = 16  # space-filling simulated runs per profile type: the simulator's trends
SEARCH_POP, SEARCH_GEN = 24, 12  # NSGA-II on the simulator per type: its final population joins the prior
FAILED = 1e6  # objective and constraint value of a run the simulator cannot do
# The prior simulates on half the default size cells: the fit and the design search simulate runs near the cliff,
# which take about 13 times as long as a DoE's, and the coarser grid runs them about 4 times faster (README).
PRIOR_NUMERICS = NumericalSettings(n_cells=150)
# Repeated calls on the same data share the simulations; each refit brings a new simulator, hence the limit.
PRIOR_CACHE = SimulationCache(limit=20_000, numerics=PRIOR_NUMERICS)


@dataclass(frozen=True)
class PriorRows:
    """Simulated runs (raw DoE inputs, at the data's concentrations: the data's runs first, then the designed
    ones) and, per CQA, their calibrated values (NaN where the simulator failed)."""

    inputs: pd.DataFrame
    values: dict[str, np.ndarray]
    calibration: dict[str, tuple[float, float]]  # per CQA, (a, b) of real ≈ a + b·simulated
    rates: RateFit | None = None  # the simulator's rate constants, fitted to the data
    # the designed runs (raw DoE inputs at the data's concentrations) and their CQAs as the fitted simulator gives them
    designs: pd.DataFrame = field(default_factory=pd.DataFrame)


def prior_unavailable(input_names: Sequence[str], outcomes: Sequence[str]) -> str | None:
    """Why the virtual lab cannot be the prior of these data (None when it can)."""
    for name in outcomes:
        reason = unavailable_reason(list(input_names), name)
        if reason:
            return reason
    return None


def minimisation_form(
    values: Mapping[str, np.ndarray], objectives: Sequence[Objective], constraints: Sequence[Constraint]
) -> tuple[np.ndarray, np.ndarray]:
    """NSGA-II's F (minimised objectives) and G (feasible where <= 0) from each quantity's values."""
    F = np.column_stack([(-1 if o.sense == "max" else 1) * values[o.quantity] for o in objectives])
    G = [(c.value - values[c.quantity]) if c.op == ">=" else (values[c.quantity] - c.value) for c in constraints]
    return F, np.column_stack(G) if G else np.zeros((len(F), 0))


def designed_runs(
    spaces: Sequence[ProfileSpace],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    cache: SimulationCache,
    n_jobs: int,
    progress: Progress | None = None,
    params: ModelParameters | None = None,
) -> pd.DataFrame:
    """The simulated compound's runs (its own concentrations): per profile type, a scrambled Sobol design and
    the final population of NSGA-II on the simulator (`params`: by default the default lab), which finds the
    regimes where the simulator's front lies (a space-filling design of this size rarely does). They depend on the
    spaces, the objectives and the simulator only, so a later call with the same simulator finds them cached."""
    sobol = [
        space.decode(qmc.Sobol(space.dim, scramble=True, seed=DESIGN_SEED + t).random(SOBOL_PER_TYPE))
        for t, space in enumerate(spaces)
    ]

    def evaluate(populations: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        sim = cache.simulate(
            pd.concat([s.decode(U) for s, U in zip(spaces, populations, strict=True)], ignore_index=True),
            n_jobs,
            params,
        )
        F, G = minimisation_form({c: sim[c].to_numpy(float) for c in sim}, objectives, constraints)
        F, G = np.nan_to_num(F, nan=FAILED), np.nan_to_num(G, nan=FAILED)  # a run the simulator failed is worst
        return list(zip(split_rows(F, populations), split_rows(G, populations), strict=True))

    report = (lambda f, message: progress(f, f"simulating the virtual lab's runs: {message}")) if progress else None
    algos = search_boxes(spaces, evaluate, SEARCH_POP, SEARCH_GEN, DESIGN_SEED, report)
    frames = [
        frame
        for space, algo, design in zip(spaces, algos, sobol, strict=True)
        for frame in (design, space.decode(algo.X))
    ]
    return pd.concat(frames, ignore_index=True)


def prior_rows(
    inputs: pd.DataFrame,
    cqas: pd.DataFrame,
    outcomes: Sequence[str],
    spaces: Sequence[ProfileSpace],
    objectives: Sequence[Objective],
    constraints: Sequence[Constraint],
    cache: SimulationCache | None = None,
    n_jobs: int = 1,
    progress: Progress | None = None,
) -> PriorRows:
    """The data's own runs and the designed runs, each outcome simulated and calibrated on the data's runs
    (`inputs`, `cqas`); the designed runs moved to the data's concentrations in corresponding states. The data's
    runs simulated are what lets the GP learn how far the two tasks agree."""
    reason = prior_unavailable(list(inputs.columns), outcomes)
    if reason:
        raise ValueError(f"the virtual lab cannot be the planner's prior: {reason}")
    cache = cache if cache is not None else SimulationCache(numerics=PRIOR_NUMERICS)
    states = corresponding_states(inputs)
    if progress:
        progress(0.0, "fitting the virtual lab's rate constants to the data")
    rates = fit_rate_constants(inputs, cqas, states, n_jobs, cache.numerics)
    design = designed_runs(spaces, objectives, constraints, cache, n_jobs, progress, rates.params)
    design = design[list(inputs.columns)]
    measured = cache.simulate(states.simulated_inputs(inputs), n_jobs, rates.params)
    simulated = pd.concat([measured, cache.simulate(design, n_jobs, rates.params)], ignore_index=True)
    values, calibration = {}, {}
    for name in outcomes:
        a, b = calibration_fit(cqas[name].to_numpy(float), measured[name].to_numpy(float), "least_squares")
        calibration[name] = (a, b)
        values[name] = a + b * simulated[name].to_numpy(float)
    real = design.assign(**{CONCENTRATION: states.to_real(design[CONCENTRATION].to_numpy(float))})
    designs = pd.concat([real, simulated.iloc[len(inputs) :].reset_index(drop=True)], axis=1)
    return PriorRows(pd.concat([inputs, real], ignore_index=True), values, calibration, rates, designs)
