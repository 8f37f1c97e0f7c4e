"""Does the loop converge? Rounds of planned experiments in the virtual lab, scored by true hypervolume.

From the shipped 31-run sample DoE, each strategy (`ehvi`, `explore`,
`random`, `exploit`) plans ROUNDS batches of BATCH runs; the virtual lab
"runs" them with its measurement noise and they join the data. Before the
first round and after each one, a recommended Pareto set of RECOMMEND designs
is simulated noise-free, and the hypervolume of its true (D50, DoA) values
(constraint-breaking designs count for nothing) is divided by that of the true
front. Three recommendations are scored side by side: the product's
(`core.plan.recommend`: predicted front and measured runs, ranked by mean − 1σ),
the predicted front ranked by the GP means alone, and the runs made so far
(what the data already hold, at their true values). The true front is NSGA-II
run on the simulator itself over the same decision space, computed once and
cached in a JSON file kept in the repository (`bench/loop_true_fronts.json`),
so that figures from different runs and code share their reference (a front
recomputed after a change to the simulator can differ). Reference point: D50 =
0 µm, DoA = 100 %. Each seed changes the planner's seed and the
lab noise; the start data stay the sample's.

`--campaigns ID ...` starts instead from fresh 31-run campaigns
(`bench/campaigns.py`; odd ids come from other compounds, with perturbed
kinetics and solubility), each judged by its own lab and its own true front,
and the medians are over campaigns and seeds. The virtual lab's prior
(`--priors virtual_lab`, `core/plan/lab_prior.py`) simulates the default
lab with its rate constants fitted to the data, so on the sample and on even
campaigns its prior is the truth itself; only other compounds measure it
honestly. Those differ from the default lab in the rate constants the fit
moves and in solubility; `--structure-spread S` also moves every other
constant of their kinetics (orders, energies, sizes) by a log-normal factor
of spread S, which no fit of rate constants can reach. `--simulator-runs N`
sets how many runs of each `ehvi` batch are the fitted simulator's own
designs (`PlanSpec.simulator_runs`).

`--designs` also scores the Design screen's answer before the first round
and after the last: the product's surrogate models (`fit_cqa_models`, its
default families, the grey box among them) fitted on the data so far, their
Pareto designs under the product's defaults (`optimize_profiles`: domain
limit, seeding band, budget) and the RECOMMEND best of them by predicted
hypervolume, with how many are predicted beyond the measured range. The grey
box simulates the default lab too, so again only other compounds measure it
honestly. Each costs a full fit and design search. It
prints the models behind the designs, their predicted and true D50/DoA
ranges, the ranges of their σ and domain scores, and after the last round
the first designs as the last models predict them (do more runs keep the
region the first designs found?).

    nice -n 10 python bench/bench_loop.py [--seeds 5] [--first-seed 0] [--rounds 4] [--batch 4] [--recommend 8]
        [--strategies ehvi explore random exploit] [--true-pop 24] [--true-gen 12] [--jobs 2]
        [--constraint crystallinity>=80] [--cache bench/loop_true_fronts.json] [--fused-kernel]
        [--features raw descriptors both] [--priors none virtual_lab] [--campaigns 11 13 15] [--solubility]
        [--designs] [--simulator-runs 1] [--structure-spread 0.1] [--save DIR]

`--features` lists the planning GPs' inputs to compare (default: the product's, raw),
and `--priors` their priors; each strategy runs once per feature set and prior on the same seeds. `--solubility` gives
the sample's schema the lab's solubility curve as a user would measure it
(`campaigns.with_solubility`), which adds the supersaturation descriptors.

`--save DIR` writes each loop's data at its end (inputs and measured CQAs, one CSV per strategy, start and seed), to
replay a planning call or a recommendation on them.

Every planning call's time is printed as it ends, and their median and maximum per strategy.

`--fused-kernel` compiles and uses BoTorch's optional C++ qLogNEHVI kernel, which the product skips:
compare the planning-call times it prints with a run without it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from botorch.acquisition.multi_objective import logei

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.campaigns import campaign, compound, with_solubility
from core.doe import DoEData, Schema, load_doe
from core.models.datasets import ModelData
from core.models.features import FEATURE_SETS
from core.models.fitting import fit_cqa_models
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.response_range import BEYOND_MEASURED
from core.optimize.run import non_dominated, optimize_profiles
from core.optimize.spec import Constraint, DesignSpec, data_temperature_ranges, default_budget
from core.plan.lab_prior import PRIORS
from core.plan.propose import (
    STRATEGIES,
    PlanSpec,
    constraints_met,
    hypervolume,
    plan_experiments,
    recommended_set,
)
from core.plan.recommend import recommend
from core.seeding import band_for_models, seeding_band
from core.virtual_lab import ModelParameters
from core.virtual_lab.simulator import CQA_NAMES, simulate_rows

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "doe.csv"
REFERENCE = np.array([0.0, -100.0])  # maximisation form (D50, -DoA): D50 = 0 µm, DoA = 100 %


def true_outcomes(features: pd.DataFrame, jobs: int, params: ModelParameters) -> pd.DataFrame:
    """The lab's noise-free CQAs of these runs, as `<cqa>_mean` columns (and `error`)."""
    sim = simulate_rows(features.reset_index(drop=True), params=params, n_jobs=jobs, bounds=None)
    return sim.rename(columns={c: f"{c}_mean" for c in CQA_NAMES})


def true_hv(table: pd.DataFrame, constraints: tuple[Constraint, ...]) -> float:
    ok = constraints_met(table, constraints) & table["error"].isna().to_numpy()
    Y = np.column_stack([table["D50_mean"], -table["DoA_mean"]])[ok]
    return hypervolume(Y, REFERENCE)


def spans(table: pd.DataFrame, suffix: str = "_mean") -> str:
    """D50 and DoA ranges of a set of runs (their `<cqa><suffix>` columns), for a line of the log."""
    return ", ".join(f"{c} {table[c + suffix].min():.1f}–{table[c + suffix].max():.1f}" for c in ("D50", "DoA"))


def true_front_hv(args: argparse.Namespace, schema, start_T, end_T, constraints, params: ModelParameters) -> float:
    """HV of NSGA-II on the simulator (all profile types, merged), cached by its settings."""
    key = {
        "lab": repr(params),  # another compound, or a recalibrated lab, has another true front
        "pop": args.true_pop,
        "gen": args.true_gen,
        "start_T": list(start_T),
        "end_T": list(end_T),
        "constraints": [str(c) for c in constraints],
    }
    cache = Path(args.cache)
    stored = json.loads(cache.read_text()) if cache.exists() else []
    for entry in stored:
        if entry["key"] == key:
            print(f"true front (cached): HV {entry['hv']:.1f}, points {entry['points']}")
            return float(entry["hv"])
    t = time.perf_counter()

    def predict(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        sim = simulate_rows(features, params=params, n_jobs=args.jobs, bounds=None)
        zeros = np.zeros(len(features))
        return {c: (sim[c].to_numpy(float), zeros) for c in CQA_NAMES}

    spec = DesignSpec(
        constraints=constraints, start_T=start_T, end_T=end_T, pop_size=args.true_pop, n_gen=args.true_gen
    )
    front = non_dominated(optimize_profiles(predict, schema, spec).points, spec)
    hv = hypervolume(np.column_stack([front["D50_mean"], -front["DoA_mean"]]), REFERENCE)
    points = front[["n_temperatures", "D50_mean", "DoA_mean"]].round(2).to_dict("records")
    stored.append({"key": key, "hv": hv, "points": points, "seconds": time.perf_counter() - t})
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(stored, indent=2))
    print(f"true front: HV {hv:.1f}, points {points}, {time.perf_counter() - t:.0f} s (cached in {cache})")
    return hv


RECOMMENDERS = {
    "product": "the product's recommendation (core.plan.recommend: predicted front and measured runs, mean - 1 sigma)",
    "mean front": "the predicted front alone, ranked by the GP means (kappa 0, no measured runs)",
    "measured": "the runs made so far (start DoE and planned), at their true values: what the data already hold",
}
DESIGNS = "designs"
DESIGNS_EXPLANATION = (
    "the Design screen's Pareto designs on the product's surrogate models fitted on the data so far, the best by "
    "predicted hypervolume (before the first round and after the last only)"
)


Designs = tuple[pd.DataFrame, Callable[[pd.DataFrame], pd.DataFrame]]  # the designs, and their models' predictions
_design_fronts: dict[tuple[int, int, int], Designs] = {}  # every strategy starts from the same data


def design_front(
    inputs: pd.DataFrame, cqas: pd.DataFrame, schema: Schema, spec: PlanSpec, size: int, seed: int
) -> Designs:
    """The Design screen's answer on these data (the product's models and search defaults, `size` designs), and
    what those models predict for any runs (`<cqa>_mean` columns)."""
    key = (int(pd.util.hash_pandas_object(pd.concat([inputs, cqas], axis=1)).sum()), size, seed)
    if key not in _design_fronts:
        _design_fronts[key] = _designs(inputs, cqas, schema, spec, size, seed)
    return _design_fronts[key]


def _designs(inputs: pd.DataFrame, cqas: pd.DataFrame, schema: Schema, spec: PlanSpec, size: int, seed: int) -> Designs:
    fit = fit_cqa_models(pd.concat([inputs, cqas], axis=1), list(cqas.columns), random_state=seed)
    predictor = fit.predictor()
    pop, gen = default_budget(predictor.simulates)
    design = DesignSpec(
        objectives=spec.objectives,
        constraints=spec.constraints,
        n_temperatures=spec.n_temperatures,
        start_T=spec.start_T,
        end_T=spec.end_T,
        pop_size=pop,
        n_gen=gen,
        random_state=seed,
        domain="strict",
    )
    simulated = predictor.simulates_all(design.quantities)
    design = replace(design, seeding=band_for_models(seeding_band(inputs), simulated))
    predict = predict_fn(predictor, cqa_limits(schema))
    points = optimize_profiles(predict, schema, design, experiments=inputs, measured=cqas).points
    front = non_dominated(points, design)
    chosen = recommended_set(front.reset_index(drop=True), spec, REFERENCE, size) if len(front) else front
    print(
        f"  designs on {len(inputs)} runs: models "
        + ", ".join(f"{c} {f.chosen}" for c, f in fit.fits.items())
        + f"; heat-ups {'free' if simulated else 'capped'}"
        + (
            f"; predicted {spans(chosen)}, σ {spans(chosen, '_std')}, domain score "
            f"{chosen['domain_score'].min():.2f}–{chosen['domain_score'].max():.2f}, "
            f"{(chosen[BEYOND_MEASURED] != '').sum()} predicted beyond the measured range"
            if len(chosen)
            else "; no design"
        ),
        flush=True,
    )
    return chosen, lambda rows: pd.DataFrame({f"{c}_mean": m for c, (m, _) in predict(rows).items()})


STAGES = {  # the planner's progress messages, by how they start, and the stage that follows each
    "fitting the virtual lab's rate constants": "rate fit",
    "simulating the virtual lab's runs": "designed runs",
    "fitting a GP": "GPs",
    "predicting the front": "front",
    "choosing run": "batch",
}


class StageClock:
    """A planning call's progress callback that adds up the seconds from each stage's first message to the next
    stage's (the batch's share includes the reports that follow it)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.stage, self.since = "", time.perf_counter()

    def __call__(self, fraction: float, message: str) -> None:
        self.stop()
        self.stage = next((name for start, name in STAGES.items() if message.startswith(start)), self.stage)

    def stop(self) -> None:
        now = time.perf_counter()
        if self.stage:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self.since
        self.since = now

    def summary(self) -> str:
        return ", ".join(f"{name} {seconds:.1f}" for name, seconds in self.seconds.items())


@dataclass(frozen=True)
class Start:
    """The data a loop starts from, the lab that is its truth, and that lab's true front."""

    name: str
    data: DoEData
    params: ModelParameters
    spec: PlanSpec
    hv_true: float


def starts(args: argparse.Namespace, spec: PlanSpec) -> list[Start]:
    """The shipped sample (the default lab), or fresh campaigns (odd ids: other compounds, `bench/campaigns.py`)."""
    labs = [("sample", load_doe(SAMPLE).data, ModelParameters())]
    if args.campaigns:
        compounds = {i: compound(1000 + i, i % 2 == 1, args.structure_spread) for i in args.campaigns}
        labs = [(f"campaign {i}", campaign(i, p)[0], p) for i, p in compounds.items()]
    out = []
    for name, data, params in labs:
        if args.solubility:
            data = with_solubility(data, params, seed=0)
        start_T, end_T = data_temperature_ranges(data.profiles())
        hv = true_front_hv(args, data.schema, start_T, end_T, spec.constraints, params)
        out.append(Start(name, data, params, replace(spec, start_T=start_T, end_T=end_T), hv))
    return out


def run_loop(
    strategy: str, seed: int, args, start: Start, spec: PlanSpec
) -> tuple[dict[str, list[float]], list[float]]:
    """Per recommender, true HV fraction after 0, 1, ..., rounds rounds; seconds per planning call."""
    schema = start.data.schema
    md = ModelData.from_doe(start.data)
    inputs, cqas = md.inputs.reset_index(drop=True), md.cqas.reset_index(drop=True)
    fractions: dict[str, list[float]] = {name: [] for name in recommenders(args)}
    first = pd.DataFrame()  # the Design screen's designs before the first round
    seconds = []
    for r in range(args.rounds + 1):
        last = r == args.rounds
        clock = StageClock()
        plan = plan_experiments(
            inputs,
            cqas,
            schema,
            replace(spec, strategy="exploit" if last else strategy, random_state=seed * 100 + r),
            progress=clock,
        )
        clock.stop()
        if not last:
            seconds.append(plan.seconds)
            call = f"planning call {plan.seconds:.1f} s ({clock.summary()})"
            print(f"  {strategy} {start.name} seed {seed} round {r + 1}: {call}", flush=True)
        chosen = {
            "product": recommend(plan, args.recommend),
            "mean front": recommend(plan, args.recommend, kappa=0.0, measured=False),
            "measured": inputs,
        }
        if args.designs:
            chosen[DESIGNS] = None
            if r in (0, args.rounds):
                chosen[DESIGNS], predict = design_front(inputs, cqas, schema, spec, args.recommend, seed)
                if r == 0:
                    first = chosen[DESIGNS]
                elif len(first):  # do the models on more runs still know the first designs?
                    again = spans(predict(first[schema.input_names]))
                    print(f"  the first designs as these models predict them: {again}", flush=True)
        for name, rows in chosen.items():
            if rows is None:
                fractions[name].append(np.nan)
                continue
            table = true_outcomes(rows[schema.input_names], args.jobs, start.params)
            fractions[name].append(true_hv(table, spec.constraints) / start.hv_true)
            if name == DESIGNS and len(rows):
                print(f"  designs after {r} rounds, in truth: {spans(table)}", flush=True)
        if last:
            break
        new = plan.runs[schema.input_names].reset_index(drop=True)
        measured = simulate_rows(
            new, params=start.params, noise=True, random_state=seed * 1000 + r, n_jobs=args.jobs, bounds=None
        )
        inputs = pd.concat([inputs, new], ignore_index=True)
        cqas = pd.concat([cqas, measured[list(cqas.columns)]], ignore_index=True)
    if args.save:
        path = Path(args.save) / f"{strategy}_{start.name.replace(' ', '_')}_seed{seed}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.concat([inputs, cqas], axis=1).to_csv(path, index=False)
    return fractions, seconds


def saved_loop(
    path: str | Path, input_names: Sequence[str], runs: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A loop's data as `--save` wrote it, its first `runs` rows (all by default): the raw inputs and the CQAs, at
    the loop's exact values (its later calls are chaotic in them)."""
    table = pd.read_csv(path, float_precision="round_trip").iloc[:runs]
    return table[list(input_names)], table.drop(columns=list(input_names))


def recommenders(args: argparse.Namespace) -> dict[str, str]:
    return {**RECOMMENDERS, DESIGNS: DESIGNS_EXPLANATION} if args.designs else dict(RECOMMENDERS)


def variant_name(strategy: str, features: str, prior: str, args: argparse.Namespace) -> str:
    """The strategy, tagged with the feature set and the prior when several are compared."""
    tags = [t for t, many in ((features, len(args.features) > 1), (prior, len(args.priors) > 1)) if many]
    return "/".join([strategy, *tags])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds are first-seed, first-seed + 1, ...")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--recommend", type=int, default=8, help="size of the recommended Pareto set")
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--constraint", action="append", default=[], help='e.g. "crystallinity>=80"')
    parser.add_argument(
        "--simulator-runs",
        type=int,
        default=PlanSpec.simulator_runs,
        help="ehvi runs per batch the fitted simulator designs (with the virtual lab as prior)",
    )
    parser.add_argument("--true-pop", type=int, default=24)
    parser.add_argument("--true-gen", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the machine may be shared)")
    parser.add_argument("--cache", default=str(ROOT / "bench" / "loop_true_fronts.json"))
    parser.add_argument("--save", help="write each loop's data at its end (runs made and CQAs measured) to this folder")
    parser.add_argument("--fused-kernel", action="store_true", help="compile and use BoTorch's C++ qLogNEHVI kernel")
    parser.add_argument("--features", nargs="+", choices=FEATURE_SETS, default=[PlanSpec.features])
    parser.add_argument("--solubility", action="store_true", help="give the schema the lab's solubility curve")
    parser.add_argument(
        "--campaigns", type=int, nargs="+", default=[], help="start from these fresh campaigns instead of the sample"
    )
    parser.add_argument(
        "--structure-spread",
        type=float,
        default=0.0,
        help="other compounds also differ in every constant the rate fit leaves alone (log-normal spread)",
    )
    parser.add_argument(
        "--priors", nargs="+", choices=PRIORS, default=["virtual_lab"], help="the GPs' prior (default: the product's)"
    )
    parser.add_argument(
        "--designs", action="store_true", help="also score the Design screen's designs before and after the rounds"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.fused_kernel:
        t = time.perf_counter()
        logei._try_load_fused_kernel()
        print(f"fused kernel {'loaded' if logei._C is not None else 'unavailable'} in {time.perf_counter() - t:.0f} s")
    constraints = tuple(Constraint.parse(c) for c in args.constraint)
    spec = PlanSpec(
        batch_size=args.batch, constraints=constraints, n_jobs=args.jobs, simulator_runs=args.simulator_runs
    )
    print(
        f"size: {args.seeds} seeds x {args.rounds} rounds x {args.batch} runs; recommended set {args.recommend}; "
        f"true front NSGA-II {args.true_pop}x{args.true_gen}; constraints: {', '.join(args.constraint) or 'none'}"
    )
    results: dict[str, dict[str, np.ndarray]] = {name: {} for name in recommenders(args)}
    variants = [(f, p) for f in args.features for p in args.priors]
    begins = starts(args, spec)
    for features, prior in variants:
        for strategy in args.strategies:
            name = variant_name(strategy, features, prior, args)
            runs: dict[str, list[list[float]]] = {r: [] for r in recommenders(args)}
            times = []
            for start in begins:
                for seed in range(args.first_seed, args.first_seed + args.seeds):
                    variant = replace(start.spec, features=features, prior=prior)
                    fractions, seconds = run_loop(strategy, seed, args, start, variant)
                    times += seconds
                    for rec, values in fractions.items():
                        runs[rec].append(values)
                        print(
                            f"  {name} {start.name} seed {seed} {rec}: " + " ".join(f"{f:.2f}" for f in values),
                            flush=True,
                        )
            for rec in recommenders(args):
                results[rec][name] = np.array(runs[rec])
            print(f"{name}: planning call {np.median(times):.1f} s median, {max(times):.1f} s max", flush=True)
    added = [args.batch * r for r in range(args.rounds + 1)]
    for rec, explanation in recommenders(args).items():
        print(f"\ntrue HV / true front of {rec}: {explanation}; median [min-max] over seeds")
        print(f"{'added runs':<22}" + "".join(f"{n:>18}" for n in added))
        for strategy, table in results[rec].items():
            cells = "".join(
                f"{np.median(table[:, r]):>8.2f} [{table[:, r].min():.2f}-{table[:, r].max():.2f}]"
                if np.isfinite(table[:, r]).all()
                else f"{'-':>18}"
                for r in range(len(added))
            )
            print(f"{strategy:<22}{cells}")
    results = results["product"]
    for features, prior in variants:
        ehvi = results.get(variant_name("ehvi", features, prior, args))
        rand = results.get(variant_name("random", features, prior, args))
        if ehvi is None or rand is None:
            continue
        final_e, final_r = np.median(ehvi[:, -1]), np.median(rand[:, -1])
        reach = np.any(np.median(ehvi, axis=0) >= 0.8)
        ratio = final_e / final_r if final_r > 0 else float("inf")
        verdict = "yes" if reach else "no"
        label = variant_name("ehvi", features, prior, args)
        print(f"\n{label} median reaches 0.8: {verdict}; at {added[-1]} runs ehvi/random = {ratio:.2f}")


if __name__ == "__main__":
    main()
