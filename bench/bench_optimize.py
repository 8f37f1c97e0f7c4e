"""Design speed: five Pareto fronts (linear + 1-4 cycles) at population 100 x 200 generations.

Prints the lockstep run (`core.optimize.run`: array NSGA-II, all fronts
advance together, one model call per generation for every population) beside
the baseline of one pymoo `NSGA2` `minimize` per front (one model call per
generation per front), measured in the same run, and the hypervolume of each
front from both runs (same models, same objectives) so that speed is not
bought with worse fronts. The models are the default data-driven families
(`--families`; the grey box simulates every row, which would swamp what this
measures: `core/optimize/spec.py` gives it a smaller budget).

    python bench/bench_optimize.py [--pop 100] [--gen 200] [--families rf gbt svr xgb gp]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.indicators.hv import HV
from pymoo.optimize import minimize

from core.doe import load_doe
from core.models.fitting import fit_cqa_models
from core.models.zoo import DATA_DRIVEN_FAMILIES, SEARCHED_FAMILIES
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.problem import ProfileProblem, ProfileRepair, ProfileSampling
from core.optimize.run import objective_values, optimize_profiles
from core.optimize.spec import DesignSpec

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.csv"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pop", type=int, default=100)
    parser.add_argument("--gen", type=int, default=200)
    parser.add_argument("--families", nargs="+", choices=SEARCHED_FAMILIES, default=list(DATA_DRIVEN_FAMILIES))
    args = parser.parse_args()
    data = load_doe(SAMPLE).data
    start = time.perf_counter()
    fit = fit_cqa_models(data, search="fast", random_state=0, families=args.families)
    print(
        f"models: {', '.join(f'{c} {f.chosen}' for c, f in fit.fits.items())} "
        f"({time.perf_counter() - start:.1f} s to fit)"
    )
    predict = predict_fn(fit.predictor(), cqa_limits(data.schema))
    calls = {"n": 0, "rows": 0, "seconds": 0.0}

    def counted(features):
        t = time.perf_counter()
        out = predict(features)
        calls["n"] += 1
        calls["rows"] += len(features)
        calls["seconds"] += time.perf_counter() - t
        return out

    spec = DesignSpec(pop_size=args.pop, n_gen=args.gen)
    start = time.perf_counter()
    result = optimize_profiles(counted, data.schema, spec)
    lockstep = time.perf_counter() - start
    print(
        f"lockstep, {len(spec.n_temperatures)} fronts: {lockstep:.2f} s total "
        f"({lockstep / len(spec.n_temperatures):.2f} s per front); {calls['n']} model calls "
        f"({calls['seconds']:.2f} s in the models, {calls['rows']} rows)"
    )
    lockstep_F = {
        n: objective_values(front[front["feasible"]], spec) for n, front in result.points.groupby("n_temperatures")
    }
    for n, front in result.points.groupby("n_cycles"):
        print(
            f"  {n} cycles: {len(front)} Pareto points, max D50 {front['D50_mean'].max():.1f} µm, "
            f"min DoA {front['DoA_mean'].min():.1f} %"
        )
    baseline_F = {}
    start = time.perf_counter()
    for k, n_temps in enumerate(spec.n_temperatures):
        t = time.perf_counter()
        problem = ProfileProblem(data.schema, spec, n_temps, predict)
        algorithm = NSGA2(
            pop_size=args.pop, sampling=ProfileSampling(), repair=ProfileRepair(), eliminate_duplicates=True
        )
        res = minimize(problem, algorithm, ("n_gen", args.gen), seed=k)
        baseline_F[n_temps] = res.opt.get("F")[res.opt.get("CV").ravel() <= 0]
        print(f"  baseline front with {n_temps} set points: {time.perf_counter() - t:.2f} s")
    baseline = time.perf_counter() - start
    print(f"baseline, one minimize per front: {baseline:.2f} s total")
    print(f"speed-up of lockstep over baseline: {baseline / lockstep:.2f}x")
    every = np.vstack([*lockstep_F.values(), *baseline_F.values()])
    hv = HV(ref_point=every.max(axis=0) + 0.05 * np.ptp(every, axis=0) + 1e-9)
    print("hypervolume per front (shared reference point), lockstep / baseline:")
    for n_temps in spec.n_temperatures:
        ours, theirs = hv(lockstep_F[n_temps]), hv(baseline_F[n_temps])
        print(f"  {n_temps} set points: {ours:.2f} / {theirs:.2f} = {ours / theirs:.3f}")


if __name__ == "__main__":
    main()
