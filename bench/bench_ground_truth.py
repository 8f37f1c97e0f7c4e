"""How good are the data-driven designs in truth? Hypervolume against NSGA-II run on the simulator itself.

For each profile type: the surrogate's Pareto designs (models fitted on the
sample DoE) are simulated by the virtual lab, and the hypervolume of their
true (D50, DoA) values is divided by the hypervolume of a front found by
running NSGA-II directly on the simulator (expensive; kept small). Both use
the same decision space, including the start/final temperature ranges of the
experiments. Reference point: D50 = 0 µm, DoA = 100 %. With several `--risk`
values the surrogate designs are found once per κ (mean ∓ κσ), to see whether
keeping away from what the models do not know pays off in truth; `--domain`
keeps the designs within the models' applicability domain or not, and
`--old` fits the models as before (raw columns, K-fold selection only).

    python bench/bench_ground_truth.py [--pop 24] [--gen 12] [--jobs 2] [--risk 0 1] [--domain strict|off] [--old]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymoo.indicators.hv import HV

from core.doe import load_doe
from core.models.fitting import fit_cqa_models
from core.optimize.predictors import cqa_limits, predict_fn
from core.optimize.problem import PredictFn
from core.optimize.run import optimize_profiles
from core.optimize.spec import DesignSpec, data_temperature_ranges
from core.profiles import profile_type_name
from core.virtual_lab.simulator import simulate_rows

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "doe.csv"
REFERENCE = np.array([0.0, 100.0])  # in (-D50, DoA) minimisation form: D50 = 0 µm, DoA = 100 %


def hypervolume(d50: np.ndarray, doa: np.ndarray) -> float:
    points = np.column_stack([-d50, doa])
    points = points[np.isfinite(points).all(axis=1) & (points < REFERENCE).all(axis=1)]
    return float(HV(ref_point=REFERENCE)(points)) if len(points) else 0.0


def simulator_predict(jobs: int) -> PredictFn:
    def predict(features: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        sim = simulate_rows(features, n_jobs=jobs, bounds=None)
        zeros = np.zeros(len(features))
        return {c: (sim[c].to_numpy(float), zeros) for c in ("D50", "DoA", "crystallinity")}

    return predict


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pop", type=int, default=24)
    parser.add_argument("--gen", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--risk", type=float, nargs="+", default=[0.0], help="risk settings κ of the surrogate designs")
    parser.add_argument(
        "--domain",
        choices=("strict", "off"),
        default="strict",
        help="keep surrogate designs within the models' applicability domain (default) or not",
    )
    parser.add_argument("--old", action="store_true", help="models as before: raw columns, K-fold selection only")
    args = parser.parse_args()
    data = load_doe(SAMPLE).data
    old = {"features": "raw", "families": ("rf", "gbt", "svr", "xgb"), "validation": "kfold"} if args.old else {}
    fit = fit_cqa_models(data, search="fast", random_state=0, **old)
    start_T, end_T = data_temperature_ranges(data.profiles())
    print(
        f"models: {', '.join(f'{c} {f.chosen}/{f.metrics.features}' for c, f in fit.fits.items())}; "
        f"domain {args.domain}; "
        f"start T {start_T[0]:g}-{start_T[1]:g} °C, final T {end_T[0]:g}-{end_T[1]:g} °C"
    )
    surrogate = predict_fn(fit.predictor(), cqa_limits(data.schema))
    truth = simulator_predict(args.jobs)
    data_columns = "".join(f" {f'HV κ={k:g}':>10} {'ratio':>6}" for k in args.risk)
    print(f"{'profile type':<16} {'HV simulator':>13}{data_columns} {'sim. time':>9}")
    for n_temps in (2, 4, 6, 8, 10):
        hv_data = []
        for kappa in args.risk:
            spec = DesignSpec(
                n_temperatures=(n_temps,),
                start_T=start_T,
                end_T=end_T,
                pop_size=100,
                n_gen=100,
                risk_kappa=kappa,
                domain=args.domain,
            )
            designs = optimize_profiles(surrogate, data.schema, spec, experiments=data.inputs).points
            designs = designs[designs["feasible"]]
            true = simulate_rows(designs[data.schema.input_names], n_jobs=args.jobs, bounds=None)
            hv_data.append(hypervolume(true["D50"].to_numpy(float), true["DoA"].to_numpy(float)))
        t = time.perf_counter()
        small = DesignSpec(n_temperatures=(n_temps,), start_T=start_T, end_T=end_T, pop_size=args.pop, n_gen=args.gen)
        front = optimize_profiles(truth, data.schema, small).points
        front = front[front["feasible"]]
        hv_true = hypervolume(front["D50_mean"].to_numpy(float), front["DoA_mean"].to_numpy(float))
        seconds = time.perf_counter() - t
        best = max(hv_true, *hv_data)  # a small simulator run can lose to the surrogate: report both honestly
        cells = "".join(f" {hv:>10.1f} {hv / best if best else float('nan'):>6.2f}" for hv in hv_data)
        print(f"{profile_type_name(n_temps):<16} {hv_true:>13.1f}{cells} {seconds:>8.0f}s", flush=True)


if __name__ == "__main__":
    main()
