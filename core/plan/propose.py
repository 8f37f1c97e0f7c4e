"""Propose the next k experiments: batch Bayesian optimisation of the Pareto front (Barhate et al., 2025, Step 8).

Strategies (`STRATEGIES`):

* ``ehvi``: q-log noisy expected hypervolume improvement with outcome
  constraints (qLogNEHVI: Daulton, Balandat & Bakshy, NeurIPS 2021; log form:
  Ament et al., NeurIPS 2023) on the GPs of `core.plan.gp`. The acquisition
  problem is solved per profile type in that type's feasible unit box
  (`core.plan.space`); the batch is built by sequential greedy selection over
  the types: each slot takes the type and profile with the highest
  incremental improvement given the runs already in the batch (which enter as
  pending points, so a near-duplicate of them is worth nothing). This is the
  sequential greedy q-batch of BoTorch's `optimize_acqf`, taken over the union
  of the types' boxes.
* ``explore``: the k candidates with the largest predictive spread among the
  predicted Pareto-optimal profiles of every type.
* ``exploit``: the k predicted Pareto profiles that together give the largest
  predicted hypervolume.
* ``random``: feasible space-filling; each slot's type comes from a seeded
  shuffle of the chosen types, its profile is the Sobol candidate farthest
  from every run so far (maximin).

Every proposed run carries its predicted outcomes ± σ, its expected
hypervolume improvement on its own, and its applicability-domain score
(`core.models.domain`, fitted on the data's runs unless another scorer is given:
above 1 the run lies farther from the data than a typical run from its neighbours).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import torch
from botorch.acquisition import AcquisitionFunction
from botorch.acquisition.multi_objective import logei
from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement
from botorch.acquisition.multi_objective.objective import GenericMCMultiOutputObjective
from botorch.exceptions.warnings import BotorchWarning, NumericsWarning, OptimizationWarning
from botorch.sampling import SobolQMCNormalSampler
from botorch.utils.sampling import draw_sobol_samples
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting
from scipy.stats import qmc

from core.doe.schema import Schema
from core.models.domain import ApplicabilityDomain
from core.models.features import FEATURE_SETS
from core.optimize.run import point_id
from core.optimize.spec import Constraint, Objective, named_quantities
from core.plan.gp import PlanningModels, input_bounds
from core.plan.lab_prior import PRIOR_CACHE, PRIORS, PriorRows, minimisation_form, prior_rows, prior_unavailable
from core.plan.shared_rows import SharedRowsModel
from core.plan.space import ProfileSpace, search_boxes, spaces_for, split_rows
from core.profiles import profile_type_name, temperature_columns
from core.progress import Progress
from core.seeding import CONCENTRATION, START, SeedingBand, seeding_band
from core.torch_threads import one_torch_thread
from core.virtual_lab.rate_fit import RateFit

STRATEGIES = ("ehvi", "explore", "random", "exploit")
DISTINCT = 0.05  # unit-box RMS distance below which two runs count as the same
DomainScorer = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class PlanSpec:
    """What to plan: batch size, strategy, objectives, constraints, profile types and the optimiser's budget."""

    batch_size: int = 4
    strategy: str = "ehvi"
    objectives: tuple[Objective, ...] = (Objective("D50", "max"), Objective("DoA", "min"))
    constraints: tuple[Constraint, ...] = ()
    n_temperatures: tuple[int, ...] = (2, 4, 6, 8, 10)
    start_T: tuple[float, float] | None = None
    end_T: tuple[float, float] | None = None
    random_state: int = 0
    features: str = "raw"  # the GPs' inputs, a feature set of `core.models.features` (`bench_plan_models.py`)
    prior: str = "none"  # "virtual_lab": simulated runs as the GPs' second task (`core.plan.lab_prior`)
    n_jobs: int = 1  # processes for the prior's simulations and the GPs' fits
    mc_samples: int = 64
    num_restarts: int = 3  # screened candidates refined per slot
    raw_samples: int = 128  # Sobol candidates screened per profile type and slot
    maxiter: int = 30  # rounds of the local search
    # ehvi with the virtual lab as prior: runs of the batch (at most) that are the fitted simulator's own designs
    simulator_runs: int = 2
    front_pop: int = 32
    front_gen: int = 25

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f'unknown strategy "{self.strategy}"; choose one of {", ".join(STRATEGIES)}')
        if not 1 <= self.batch_size <= 24:
            raise ValueError("the batch size must be between 1 and 24 runs")
        if len(self.objectives) < 2:
            raise ValueError("planning improves a Pareto front: choose at least two objectives")
        if not self.n_temperatures:
            raise ValueError("choose at least one profile type")
        if self.features not in FEATURE_SETS:
            raise ValueError(f'unknown feature set "{self.features}"; choose one of {", ".join(FEATURE_SETS)}')
        if self.simulator_runs < 0:
            raise ValueError("the number of runs the simulator designs cannot be negative")
        if self.prior not in PRIORS:
            raise ValueError(f'unknown prior "{self.prior}"; choose one of {", ".join(PRIORS)}')

    @property
    def outcomes_needed(self) -> list[str]:
        return named_quantities(self.objectives, self.constraints)


# How far a run starts above the experiments' line of start temperature against concentration (`core.seeding`)
ABOVE_SEEDING_LINE = "T1_above_seeding_line_K"


@dataclass
class Plan:
    """The proposed runs (one row each) and the predicted Pareto candidates they were chosen among."""

    runs: pd.DataFrame
    front: pd.DataFrame
    spec: PlanSpec
    reference_point: list[float]  # in maximisation form, one value per objective
    seconds: float
    notes: list[str] = field(default_factory=list)
    measured: pd.DataFrame = field(default_factory=pd.DataFrame)  # the data's runs, as measured (`measured_runs`)
    seeding: SeedingBand | None = None  # the experiments' band, from which `ABOVE_SEEDING_LINE` is measured

    def runs_table(self, cqas: Sequence[str]) -> pd.DataFrame:
        """The runs to show: id, type, each CQA as "mean ± σ", the expected improvement and the domain score."""
        table = predictions_table(self.runs, ["id", "profile_type"], cqas)
        table["expected HV improvement"] = self.runs["expected_improvement"].round(3)
        table["domain score"] = self.runs["domain_score"].round(2)
        if ABOVE_SEEDING_LINE in self.runs:
            table["T1 above the seeding line (K)"] = self.runs[ABOVE_SEEDING_LINE].round(1)
        return table


def predictions_table(rows: pd.DataFrame, columns: Sequence[str], cqas: Sequence[str]) -> pd.DataFrame:
    """`columns` of `rows`, then each predicted CQA as "mean ± σ"."""
    table = rows[list(columns)].copy()
    for c in (c for c in cqas if f"{c}_mean" in rows):
        pairs = zip(rows[f"{c}_mean"], rows[f"{c}_std"], strict=True)
        table[f"{c} ± σ"] = [f"{m:.3g} ± {s:.2g}" for m, s in pairs]
    return table


# -- objectives ------------------------------------------------------------------------
def objective_matrix(table: pd.DataFrame, objectives: tuple[Objective, ...], suffix: str = "_mean") -> np.ndarray:
    """Objectives in maximisation form (a minimised quantity is negated) from `<quantity><suffix>` columns."""
    return np.column_stack(
        [(1 if o.sense == "max" else -1) * table[f"{o.quantity}{suffix}"].to_numpy(float) for o in objectives]
    )


def constraints_met(table: pd.DataFrame, constraints: tuple[Constraint, ...], suffix: str = "_mean") -> np.ndarray:
    ok = np.ones(len(table), bool)
    for c in constraints:
        value = table[f"{c.quantity}{suffix}"].to_numpy(float)
        ok &= value >= c.value if c.op == ">=" else value <= c.value
    return ok


def hypervolume(Y_max: np.ndarray, reference: np.ndarray) -> float:
    """Hypervolume dominated by maximisation-form points above `reference`."""
    Y = np.asarray(Y_max, float).reshape(-1, len(reference))
    Y = Y[np.isfinite(Y).all(axis=1) & (reference < Y).all(axis=1)]
    return float(HV(ref_point=-np.asarray(reference, float))(-Y)) if len(Y) else 0.0


def reference_point(cqas: pd.DataFrame, objectives: tuple[Objective, ...]) -> np.ndarray:
    """Per objective: the worst measured value less a tenth of the measured range (maximisation form)."""
    ref = []
    for o in objectives:
        if o.quantity not in cqas:
            raise ValueError(f"{o.quantity} is not a measured CQA; choose from {', '.join(cqas.columns)}")
        values = cqas[o.quantity].dropna().to_numpy(float) * (1 if o.sense == "max" else -1)
        ref.append(values.min() - 0.1 * max(np.ptp(values), 1e-6))
    return np.array(ref)


def _outcomes(cqas: pd.DataFrame, spec: PlanSpec) -> list[str]:
    """Every CQA measured often enough to model, plus what the objectives and constraints need."""
    measured = [c for c in cqas.columns if cqas[c].notna().sum() >= 3]
    return list(dict.fromkeys(measured + spec.outcomes_needed))


def default_prior(inputs: pd.DataFrame, cqas: pd.DataFrame, spec: PlanSpec) -> tuple[str, str | None]:
    """The prior the command line and the screen plan with unless told otherwise, and why it is not the virtual lab.

    The virtual lab whenever the data allow it: on the other compounds tried it raised the recommendation's share of
    the true front before any planned run on every one, and after 16 runs on all but one (README, Next experiments);
    since the simulator was compiled the first call with it takes about the planner's 30 s target."""
    reason = prior_unavailable(list(inputs.columns), _outcomes(cqas, spec))
    return ("none", reason) if reason else ("virtual_lab", None)


# -- acquisition -----------------------------------------------------------------------
def skip_fused_kernel() -> None:
    """Keep BoTorch from JIT-compiling its optional C++ qLogNEHVI kernel on first use.

    The compile takes about a minute on 2 cores (and needs a compiler on the user's machine), while at
    these problem sizes a planning call takes as long without it (`bench/bench_loop.py --fused-kernel` compares).
    """
    logei._load_attempted = True


def build_acquisition(
    models: PlanningModels, spec: PlanSpec, reference: np.ndarray, seed: int
) -> qLogNoisyExpectedHypervolumeImprovement:
    """qLogNEHVI on the GPs, whose posteriors over candidates that share the baseline and pending runs are computed
    once over the distinct rows (`core.plan.shared_rows`)."""
    skip_fused_kernel()
    index = {name: j for j, name in enumerate(models.outcomes)}
    weights = torch.tensor([1.0 if o.sense == "max" else -1.0 for o in spec.objectives], dtype=torch.double)
    columns = [index[o.quantity] for o in spec.objectives]
    objective = GenericMCMultiOutputObjective(lambda Z, X=None: models.measured(Z)[..., columns] * weights)
    constraints = [_constraint(index[c.quantity], c, models.measured) for c in spec.constraints]
    return qLogNoisyExpectedHypervolumeImprovement(
        SharedRowsModel(models.model_),
        ref_point=reference.tolist(),
        X_baseline=models.X_baseline_,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([spec.mc_samples]), seed=seed),
        objective=objective,
        constraints=constraints or None,
        prune_baseline=True,
    )


def _constraint(
    j: int, c: Constraint, measured: Callable[[torch.Tensor], torch.Tensor]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """BoTorch's convention: feasible where the value is <= 0."""
    if c.op == ">=":
        return lambda Z: c.value - measured(Z)[..., j]
    return lambda Z: measured(Z)[..., j] - c.value


def acquisition_values(acq: AcquisitionFunction, models: PlanningModels, X: torch.Tensor) -> np.ndarray:
    """The acquisition of each raw DoE row on its own (q = 1, given the pending runs)."""
    with torch.no_grad():
        return acq(models.transform(X).unsqueeze(-2)).numpy()


def expected_improvement(acq: AcquisitionFunction, models: PlanningModels, X: np.ndarray) -> np.ndarray:
    """Expected hypervolume improvement of each row on its own (the acquisition is its logarithm)."""
    return np.exp(acquisition_values(acq, models, torch.as_tensor(X, dtype=torch.double)))


def _ehvi_batch(
    models: PlanningModels,
    spaces: list[ProfileSpace],
    spec: PlanSpec,
    reference: np.ndarray,
    report: Progress,
    chosen_first: pd.DataFrame,
) -> list[tuple[int, np.ndarray]]:
    """Sequential greedy batch over the union of the types' boxes.

    Each slot screens `raw_samples` Sobol points of every type, then improves
    the `num_restarts` best of them all by a local search within their own
    type; the types are screened and the searches moved in one acquisition
    call each, since a call's fixed cost (the posterior over the baseline runs)
    outweighs its rows. The search needs no gradients: the GP may see
    descriptors computed in numpy. Runs `chosen_first` (raw rows) take the first slots and enter as pending.
    """
    acq = build_acquisition(models, spec, reference, spec.random_state)
    chosen: list[tuple[int, np.ndarray]] = []
    pending = [torch.as_tensor(chosen_first[models.schema.input_names].to_numpy(float), dtype=torch.double)]
    if len(chosen_first):
        acq.set_X_pending(models.transform(torch.cat(pending)))
    for slot in range(len(chosen_first), spec.batch_size):
        report(slot / spec.batch_size, f"choosing run {slot + 1} of {spec.batch_size}")
        seed = spec.random_state * 7919 + slot * 101
        draws = [
            draw_sobol_samples(s.unit_bounds(), n=spec.raw_samples, q=1, seed=seed + t)[:, 0, :]
            for t, s in enumerate(spaces)
        ]
        decoded = torch.cat([s.decode_tensor(U) for s, U in zip(spaces, draws, strict=True)])
        values = acquisition_values(acq, models, decoded).reshape(len(spaces), -1)
        screened = [(float(values[t, i]), t, i, U[i].numpy()) for t, U in enumerate(draws) for i in range(len(U))]
        screened.sort(key=lambda item: (-item[0], item[1], item[2]))
        starts = [(t, U, value) for value, t, _, U in screened[: spec.num_restarts]]
        refined = _local_search(acq, models, spaces, starts, spec.maxiter, np.random.default_rng(seed))
        _, U_best, t_best = max(refined, key=lambda item: item[0])
        chosen.append((t_best, U_best))
        pending.append(spaces[t_best].decode_tensor(torch.as_tensor(U_best[None, :], dtype=torch.double)))
        acq.set_X_pending(models.transform(torch.cat(pending)))
    return chosen


def _local_search(
    acq: AcquisitionFunction,
    models: PlanningModels,
    spaces: Sequence[ProfileSpace],
    starts: Sequence[tuple[int, np.ndarray, float]],
    rounds: int,
    rng: np.random.Generator,
    n_moves: int = 16,
) -> list[tuple[float, np.ndarray, int]]:
    """Seeded (1+λ) searches in the unit boxes of their types, from each (type, start, value): each keeps the best
    of `n_moves` Gaussian moves and halves its step on failure. The searches move together, one acquisition call
    per round for all of them; each draws its moves from `rng` in turn, as if they ran one after another."""
    steps = [rng.standard_normal((rounds, n_moves, spaces[t].dim)) for t, _, _ in starts]
    best = [(value, U, 0.1) for _, U, value in starts]
    for r in range(rounds):
        moves = [np.clip(U + step * z[r], 0.0, 1.0) for (_, U, step), z in zip(best, steps, strict=True)]
        decoded = [
            spaces[t].decode_tensor(torch.as_tensor(M, dtype=torch.double))
            for (t, _, _), M in zip(starts, moves, strict=True)
        ]
        values = acquisition_values(acq, models, torch.cat(decoded)).reshape(len(starts), n_moves)
        for k, (value, U, step) in enumerate(best):
            i = int(np.argmax(values[k]))
            best[k] = (float(values[k, i]), moves[k][i], step) if values[k, i] > value else (value, U, step / 2)
    return [(value, U, t) for (value, U, _), (t, _, _) in zip(best, starts, strict=True)]


# -- predicted Pareto candidates -------------------------------------------------------
def predicted_front(models: PlanningModels, spaces: list[ProfileSpace], spec: PlanSpec) -> pd.DataFrame:
    """NSGA-II on the GP means per profile type; the final non-dominated set of every type, one row each."""
    index = {name: j for j, name in enumerate(models.outcomes)}

    def evaluate(populations: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        X = torch.cat(
            [s.decode_tensor(torch.as_tensor(U, dtype=torch.double)) for s, U in zip(spaces, populations, strict=True)]
        )
        mean = models.predict_tensor(X)[0].numpy()
        values = {name: mean[:, j] for name, j in index.items()}
        F, G = minimisation_form(values, spec.objectives, spec.constraints)
        return list(zip(split_rows(F, populations), split_rows(G, populations), strict=True))

    algos = search_boxes(spaces, evaluate, spec.front_pop, spec.front_gen, spec.random_state)
    tables = [_candidates(space, algo.X[algo.optimum], models) for space, algo in zip(spaces, algos, strict=True)]
    front = pd.concat(tables, ignore_index=True).drop_duplicates("id").reset_index(drop=True)
    front["feasible"] = constraints_met(front, spec.constraints)
    return front


def _candidates(space: ProfileSpace, U: np.ndarray, models: PlanningModels) -> pd.DataFrame:
    features = space.decode(U)
    ids = [point_id(space.n_temperatures, x) for x in features.to_numpy(float)]
    return _predicted(features, np.full(len(features), space.n_temperatures), ids, models)


def _predicted(features: pd.DataFrame, n_temps: np.ndarray, ids: Sequence[str], models: PlanningModels) -> pd.DataFrame:
    """Id, profile type and profile of each row, with the GPs' predictions."""
    table = features.copy()
    table.insert(0, "profile_type", [profile_type_name(int(n)) for n in n_temps])
    table.insert(0, "n_temperatures", n_temps)
    table.insert(0, "id", list(ids))
    return pd.concat([table, models.predict_frame(features)], axis=1)


def merged_front(front: pd.DataFrame, spec: PlanSpec) -> pd.DataFrame:
    """The candidates no other (constraint-meeting) candidate of any type dominates: the recommended set."""
    feasible = front[front["feasible"]] if front["feasible"].any() else front
    if feasible.empty:
        return feasible
    keep = NonDominatedSorting().do(-objective_matrix(feasible, spec.objectives), only_non_dominated_front=True)
    return feasible.iloc[np.sort(keep)]


# -- the plain strategies --------------------------------------------------------------
def _scaled(features: pd.DataFrame, schema: Schema) -> np.ndarray:
    b = input_bounds(schema).numpy()
    return (features[schema.input_names].to_numpy(float) - b[0]) / (b[1] - b[0])


def _explore(front: pd.DataFrame, models: PlanningModels, spec: PlanSpec, cqas: pd.DataFrame) -> pd.DataFrame:
    """Largest spread (σ in units of the measured spread, summed over the objectives), near-duplicates skipped."""
    pool = front[front["feasible"]] if front["feasible"].sum() >= spec.batch_size else front
    spread = np.zeros(len(pool))
    for o in spec.objectives:
        scale = float(cqas[o.quantity].std()) if o.quantity in cqas else 1.0
        spread += pool[f"{o.quantity}_std"].to_numpy(float) / (scale if scale > 0 else 1.0)
    order = np.argsort(-spread, kind="stable")
    return _take_distinct(pool.iloc[order], spec.batch_size, models.schema)


def _exploit(front: pd.DataFrame, models: PlanningModels, spec: PlanSpec, reference: np.ndarray) -> pd.DataFrame:
    """The k predicted Pareto points that together give the largest predicted hypervolume."""
    pool = merged_front(front, spec)
    rest = front.drop(index=pool.index)
    pool = pd.concat([pool, rest[rest["feasible"]] if rest["feasible"].any() else rest])
    ranked = recommended_set(pool, spec, reference, 4 * spec.batch_size)
    return _take_distinct(pd.concat([ranked, pool.drop(index=ranked.index)]), spec.batch_size, models.schema)


def recommended_set(front: pd.DataFrame, spec: PlanSpec, reference: np.ndarray, size: int) -> pd.DataFrame:
    """Up to `size` points of `front`, greedily by predicted hypervolume gain (the rest after them, in order)."""
    Y = objective_matrix(front, spec.objectives)
    return front.iloc[greedy_by_hypervolume(Y, reference, size)]


def greedy_by_hypervolume(
    Y: np.ndarray,
    reference: np.ndarray,
    size: int,
    held: np.ndarray | None = None,
    allowed: np.ndarray | None = None,
    only_gains: bool = False,
) -> list[int]:
    """Up to `size` rows of `Y` (maximisation form), each the one that adds most hypervolume to the rows `held` and
    those chosen before it (ties to the first); among the `allowed` rows, and with `only_gains` none that adds
    nothing."""
    held = np.zeros((0, Y.shape[1])) if held is None else held
    pool = np.flatnonzero(np.ones(len(Y), bool) if allowed is None else allowed)
    chosen: list[int] = []
    for _ in range(min(size, len(pool))):
        base = hypervolume(np.vstack([held, Y[chosen]]), reference)
        rest = [i for i in pool if i not in chosen]
        gains = [(hypervolume(np.vstack([held, Y[[*chosen, i]]]), reference) - base, -i) for i in rest]
        if only_gains and max(gains)[0] <= 0:
            break
        chosen.append(-max(gains)[1])
    return chosen


def _take_distinct(ordered: pd.DataFrame, k: int, schema: Schema, min_distance: float = DISTINCT) -> pd.DataFrame:
    """The first k rows that are at least `min_distance` apart (unit-box RMS distance), relaxing it if short."""
    X = _scaled(ordered, schema)
    for gap in (min_distance, 0.0):
        picked: list[int] = []
        for i in range(len(ordered)):
            if all(np.sqrt(np.mean((X[i] - X[j]) ** 2)) > gap for j in picked):
                picked.append(i)
            if len(picked) == k:
                return ordered.iloc[picked]
    return ordered.iloc[picked]


def _random(
    spaces: list[ProfileSpace], spec: PlanSpec, inputs: pd.DataFrame, schema: Schema
) -> list[tuple[int, np.ndarray]]:
    rng = np.random.default_rng(spec.random_state)
    order = np.concatenate([rng.permutation(len(spaces)) for _ in range(-(-spec.batch_size // len(spaces)))])
    seen = _scaled(inputs, schema)
    chosen = []
    for slot in range(spec.batch_size):
        t = int(order[slot])
        sobol = qmc.Sobol(spaces[t].dim, scramble=True, seed=rng.integers(2**31))
        U = sobol.random(128)
        X = _scaled(spaces[t].decode(U), schema)
        nearest = np.sqrt(((X[:, None, :] - seen[None, :, :]) ** 2).mean(axis=2)).min(axis=1)
        i = int(np.argmax(nearest))
        chosen.append((t, U[i]))
        seen = np.vstack([seen, X[i]])
    return chosen


# -- entry point -----------------------------------------------------------------------
def plan_experiments(
    inputs: pd.DataFrame,
    cqas: pd.DataFrame,
    schema: Schema,
    spec: PlanSpec,
    *,
    domain: DomainScorer | None = None,
    reference: np.ndarray | None = None,
    progress: Progress | None = None,
) -> Plan:
    """Fit the GPs to the data and propose `spec.batch_size` feasible runs with `spec.strategy`; `progress` hears
    of each stage (the virtual lab's simulations, the GPs, the front, each run chosen)."""
    with one_torch_thread(), torch.random.fork_rng():
        torch.manual_seed(spec.random_state)  # e.g. the baseline pruning draws from torch's generator
        return _plan(inputs, cqas, schema, spec, domain, reference, progress or (lambda fraction, message: None))


def _plan(
    inputs: pd.DataFrame,
    cqas: pd.DataFrame,
    schema: Schema,
    spec: PlanSpec,
    domain: DomainScorer | None,
    reference: np.ndarray | None,
    report: Progress,
) -> Plan:
    start = time.perf_counter()
    schema = schema.covering(inputs)  # the runs made lie within the space the next ones are planned in
    spaces = spaces_for(schema, spec.n_temperatures, spec.start_T, spec.end_T)
    outcomes = _outcomes(cqas, spec)
    prior = None
    simulated = 0.45 if spec.prior == "virtual_lab" else 0.0  # the share of the call the prior's simulations take

    def span(start: float, end: float) -> Progress:  # a stage's own progress, moved onto the whole call's
        return lambda fraction, message: report(start + (end - start) * fraction, message)

    def after(fraction: float) -> float:  # a fraction of the work after the simulations
        return simulated + (1 - simulated) * fraction

    if spec.prior == "virtual_lab":
        made = inputs[schema.input_names]
        prior = prior_rows(
            made,
            cqas,
            outcomes,
            spaces,
            spec.objectives,
            spec.constraints,
            PRIOR_CACHE,
            spec.n_jobs,
            span(0, simulated),
        )
    report(after(0.0), f"fitting a GP to each of {', '.join(outcomes)}")
    models = PlanningModels(schema, outcomes, spec.features).fit(inputs, cqas, spec.random_state, prior, spec.n_jobs)
    ref = reference_point(cqas, spec.objectives) if reference is None else np.asarray(reference)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (BotorchWarning, NumericsWarning, OptimizationWarning, RuntimeWarning))
        report(after(0.3), "predicting the front of every profile type")
        front = predicted_front(models, spaces, spec)
        designed = inputs.iloc[:0]  # the fitted simulator's own designs, the batch's first runs
        if spec.strategy == "ehvi":
            if prior is not None:
                designed = simulator_designs(prior, inputs, cqas, spec, ref, schema)
            chosen = _ehvi_batch(models, spaces, spec, ref, span(after(0.45), after(0.95)), designed)
            parts = [_as_candidates(designed, models)] if len(designed) else []
            runs = pd.concat(parts + ([_from_latent(chosen, spaces, models)] if chosen else []))
        elif spec.strategy == "random":
            runs = _from_latent(_random(spaces, spec, inputs, schema), spaces, models)
        elif spec.strategy == "explore":
            runs = _explore(front, models, spec, cqas)
        else:
            runs = _exploit(front, models, spec, ref)
        acq = build_acquisition(models, replace(spec, mc_samples=max(spec.mc_samples, 128)), ref, spec.random_state)
        runs = runs.reset_index(drop=True)
        runs["expected_improvement"] = expected_improvement(acq, models, runs[schema.input_names].to_numpy(float))
    runs.insert(1, "strategy", spec.strategy)
    runs.insert(3, "n_cycles", runs["n_temperatures"] // 2 - 1)
    runs["id"] = [f"N{i + 1}-{rid}" for i, rid in enumerate(runs["id"])]
    if domain is None:
        domain = ApplicabilityDomain().fit(inputs[schema.input_names]).score
    runs["domain_score"] = domain(runs[schema.input_names])
    band = seeding_band(inputs[schema.input_names])
    if band is not None:  # far above it the seeds dissolve: a run unlike the experiments, shown rather than forbidden
        runs[ABOVE_SEEDING_LINE] = band.offset(runs[CONCENTRATION].to_numpy(float), runs[START].to_numpy(float))
    runs = runs.drop(columns=["feasible"], errors="ignore")
    notes = [f"{n}: GP on {c} runs ({spec.features})" for n, c in models.counts_.items()]
    if prior is not None:
        notes += [
            f"{n}: with {np.isfinite(prior.values[n]).sum()} simulated runs as a second task, calibrated "
            f"{a:.3g} + {b:.3g} × simulated"
            for n, (a, b) in prior.calibration.items()
        ]
        notes.append(_rates_note(prior.rates))
        if spec.strategy == "ehvi":
            ids = ", ".join(runs["id"][: len(designed)])
            notes.append(f"{ids}: the fitted simulator's own best designs" if ids else _NO_SIMULATOR_DESIGN)
    measured = measured_runs(inputs, cqas, models, spec)
    return Plan(runs, front, spec, ref.tolist(), time.perf_counter() - start, notes, measured, band)


_NO_SIMULATOR_DESIGN = "the fitted simulator predicts no design that adds to the runs made"


def _rates_note(rates: RateFit) -> str:
    factors = ", ".join(f"{name} ×{np.exp(f):.2g}" for name, f in rates.log_factors.items())
    return (
        f"virtual lab: rate constants fitted to the data in {rates.simulations} simulations, misfit "
        f"{rates.misfit_default:.3g} → {rates.misfit:.3g} ({factors})"
    )


def measured_runs(inputs: pd.DataFrame, cqas: pd.DataFrame, models: PlanningModels, spec: PlanSpec) -> pd.DataFrame:
    """The data's runs as candidates: each CQA at what was measured (the mean over runs of the same profile), at
    the GPs' posterior where it was not, with the GPs' σ. Not the posterior mean throughout: the best runs lie near a
    cliff the GPs smooth away, and there the posterior mean can fall far below what a run gave (README)."""
    table = _as_candidates(inputs, models, [f"row {i}" for i in inputs.index])  # the row of the user's sheet
    profiles = [inputs[c].to_numpy() for c in models.schema.input_names]
    for name in models.outcomes:
        if name in cqas:
            value = cqas[name].groupby(profiles).transform("mean").to_numpy(float)
            seen = np.isfinite(value)
            table.loc[seen, f"{name}_mean"] = value[seen]
    table["feasible"] = constraints_met(table, spec.constraints)
    return table


def _as_candidates(rows: pd.DataFrame, models: PlanningModels, ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Raw rows with their profile type, an id (by default their profile's) and the GPs' posterior."""
    schema = models.schema
    features = rows[schema.input_names].reset_index(drop=True)
    n_temps = (features[temperature_columns(schema.max_cycles)] > 0).sum(axis=1).to_numpy()
    if ids is None:
        ids = [point_id(int(n), x) for n, x in zip(n_temps, features.to_numpy(float), strict=True)]
    return _predicted(features, n_temps, ids, models)


def simulator_designs(
    prior: PriorRows, inputs: pd.DataFrame, cqas: pd.DataFrame, spec: PlanSpec, reference: np.ndarray, schema: Schema
) -> pd.DataFrame:
    """Up to `spec.simulator_runs` (at most the batch) of the fitted simulator's designed runs (`PriorRows.designs`),
    greedily by the hypervolume they add, as the simulator predicts them, to what the measured runs hold: its own
    best designs, made so that the next fit of its rate constants learns from them where they fail. Designs the
    simulator predicts to break a constraint, outside the schema's bounds, or next to a run already made are left
    out."""
    designs = prior.designs
    ok = constraints_met(designs, spec.constraints, suffix="") & np.isfinite(
        objective_matrix(designs, spec.objectives, "")
    ).all(axis=1)
    for name in schema.scalar_inputs:
        lo, hi = schema.bounds[name]
        ok &= designs[name].between(lo, hi).to_numpy()
    made = _scaled(inputs, schema)
    X = _scaled(designs, schema)
    ok &= np.sqrt(((X[:, None, :] - made[None, :, :]) ** 2).mean(axis=2)).min(axis=1) > DISTINCT
    measured = cqas[constraints_met(cqas, spec.constraints, suffix="")]
    Y_made = objective_matrix(measured, spec.objectives, "")
    Y_made = Y_made[np.isfinite(Y_made).all(axis=1)]
    Y = objective_matrix(designs, spec.objectives, "")
    size = min(spec.simulator_runs, spec.batch_size)
    picked = greedy_by_hypervolume(Y, reference, size, held=Y_made, allowed=ok, only_gains=True)
    return designs.iloc[picked][schema.input_names]


def _from_latent(
    chosen: list[tuple[int, np.ndarray]], spaces: list[ProfileSpace], models: PlanningModels
) -> pd.DataFrame:
    return pd.concat([_candidates(spaces[t], U[None, :], models) for t, U in chosen], ignore_index=True)
