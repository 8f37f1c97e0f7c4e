"""Surrogate-model benchmark on the shipped sample data.

Prints, from one run on this machine:
1. fast against exhaustive hyper-parameter search for every CQA and family,
   run back to back so both see the same machine load: wall time, CPU time
   (this process and its workers) and best CV MSE, with their ratios
   (targets: fast >= 10x faster, CV MSE within 5 % or lower);
2. the full fast fit of all three CQAs with uncertainty, every family incl. the
   Gaussian process on every feature set and leave-one-type-out CV (target: < 60 s);
3. prediction time of all CQAs (mean and std) for an optimiser population;
4. coverage of the ±1σ/±2σ intervals for each uncertainty method, raw and
   conformally calibrated, on the 4 hold-out runs and on fresh virtual-lab runs.

Run from the repository root: `python bench/bench_models.py [--n-jobs 2] [--fresh 62] [--fit-only]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import psutil
from joblib import Parallel, delayed

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.doe import load_doe  # noqa: E402
from core.models import (  # noqa: E402
    FAMILIES,
    SEARCHED_FAMILIES,
    EnsembleRegressor,
    FitResult,
    ModelData,
    build_pipeline,
    compute_backend,
    coverage,
    cqa_dataset,
    cv_folds,
    fit_cqa_models,
    search_family,
)
from core.virtual_lab import ModelParameters, simulate_rows  # noqa: E402

T = TypeVar("T")


def _load(name: str) -> ModelData:
    result = load_doe(ROOT / "sample_data" / name)
    if result.data is None:
        raise SystemExit(f"sample_data/{name} cannot be read:\n{result.report.to_text()}")
    return ModelData.from_doe(result.data)


def _fresh_runs(n: int, seed: int) -> ModelData:
    """New experiments from the sample data's own design recipe, measured (with noise) in the virtual lab."""
    spec = importlib.util.spec_from_file_location("sample_generate", ROOT / "sample_data" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # its dataclasses look their module up
    spec.loader.exec_module(generate)
    rows = []
    for k in range(int(np.ceil(n / 31))):
        for run in generate.design_runs(np.random.default_rng(seed + k), ModelParameters()):
            rows.append(
                {"initial_concentration": run.initial_concentration, "seed_loading": run.seed_loading}
                | run.profile.to_features()
            )
    frame = pd.DataFrame(rows[:n])
    measured = simulate_rows(frame, noise=True, random_state=seed)
    return ModelData.from_frame(pd.concat([frame, measured[["D50", "DoA", "crystallinity"]]], axis=1))


def _fit_every_family() -> int:
    """Fit each family on random rows (the grey box needs real runs to simulate: its libraries load with the rest)."""
    X, y = np.random.default_rng(0).random((12, 3)), np.arange(12.0)
    names = [name for name in SEARCHED_FAMILIES if not FAMILIES[name].simulates]
    for name in names:
        build_pipeline(name).fit(X, y)
    return len(names)


def _warm_up(n_jobs: int) -> None:
    """Start the worker processes and load the model libraries in them before timing,
    so neither search mode pays for it."""
    Parallel(n_jobs=n_jobs)(delayed(_fit_every_family)() for _ in range(2 * n_jobs))


def _cpu_seconds() -> float:
    """CPU time of this process and its worker processes: unlike wall time, it barely
    depends on what else the machine is running."""
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _measure(task: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, float, float]:
    """task(*args, **kwargs), its wall time and its CPU time."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    out = task(*args, **kwargs)
    return out, time.perf_counter() - wall, _cpu_seconds() - cpu


def search_comparison(data: ModelData, holdout: ModelData, n_jobs: int) -> None:
    print("\n== 1. Search: fast vs exhaustive (same folds, same grid; K = 3) ==")
    print(
        f"{'CQA':<14}{'family':<7}{'fast s':>8}{'exh. s':>9}{'speed-up':>9}{'CPU speed-up':>13}"
        f"{'fast fits':>10}{'exh. fits':>10}{'fast CV MSE':>13}{'exh. CV MSE':>13}{'MSE ratio':>10}"
    )
    totals = np.zeros(4)  # fast wall, exhaustive wall, fast CPU, exhaustive CPU
    with compute_backend(None, n_jobs=n_jobs):
        _warm_up(n_jobs)
        for cqa in data.cqa_names:
            ds = cqa_dataset(data, cqa, holdout)
            X, y = ds.X_train.to_numpy(float), ds.y_train.to_numpy(float)
            folds = cv_folds(len(y), 3, random_state=0)
            best = {"fast": (np.inf, ""), "exhaustive": (np.inf, "")}
            per_cqa = np.zeros(4)
            for name in SEARCHED_FAMILIES:
                fast, fw, fc = _measure(search_family, name, X, y, folds, mode="fast")
                full, ew, ec = _measure(search_family, name, X, y, folds, mode="exhaustive")
                per_cqa += (fw, ew, fc, ec)
                best["fast"] = min(best["fast"], (fast.cv_mse, name))
                best["exhaustive"] = min(best["exhaustive"], (full.cv_mse, name))
                print(
                    f"{cqa:<14}{name:<7}{fw:>8.2f}{ew:>9.2f}{ew / fw:>8.1f}x{ec / fc:>12.1f}x"
                    f"{fast.n_fits:>10}{full.n_fits:>10}{fast.cv_mse:>13.4g}{full.cv_mse:>13.4g}"
                    f"{fast.cv_mse / full.cv_mse:>10.3f}"
                )
            (f_mse, f_name), (e_mse, e_name) = best["fast"], best["exhaustive"]
            fw, ew, fc, ec = per_cqa
            print(
                f"{cqa:<14}{'BEST':<7}{fw:>8.2f}{ew:>9.2f}{ew / fw:>8.1f}x{ec / fc:>12.1f}x{'':>20}"
                f"{f_mse:>13.4g}{e_mse:>13.4g}{f_mse / e_mse:>10.3f}   best family: fast {f_name}, exhaustive {e_name}"
            )
            totals += per_cqa
    fw, ew, fc, ec = totals
    print(f"{'all CQAs':<21}{fw:>8.2f}{ew:>9.2f}{ew / fw:>8.1f}x{ec / fc:>12.1f}x   CPU s: fast {fc:.1f} exh. {ec:.1f}")


def full_fit(data: ModelData, holdout: ModelData, n_jobs: int) -> FitResult:
    print(
        "\n== 2. Full fast fit, all CQAs: every family (incl. the Gaussian process) on every feature set, K-fold and "
        "leave-one-type-out CV, MCCV uncertainty (25 members), scoring (target < 60 s on 2 cores) =="
    )
    result = None
    for jobs in dict.fromkeys((n_jobs, 1)):
        with compute_backend(None, n_jobs=jobs):
            if jobs != 1:
                _warm_up(jobs)
            out, wall, cpu = _measure(fit_cqa_models, data, holdout=holdout, search="fast", random_state=0)
        result = result or out
        print(f"n_jobs={jobs}: {wall:.1f} s wall, {cpu:.1f} CPU s")
    return result


def predict_speed(result: FitResult, data: ModelData) -> None:
    print("\n== 3. Prediction for an optimiser population ==")
    rng = np.random.default_rng(0)
    X = data.inputs.to_numpy(float)[rng.integers(0, len(data.inputs), 1000)]
    predictor = result.predictor()
    predictor.predict(X[:10], return_std=True)
    for n in (100, 1000):
        start = time.perf_counter()
        mean, _ = predictor.predict(X[:n], return_std=True)
        print(f"predict {n:>5} rows x {mean.shape[1]} CQAs (mean + std): {1000 * (time.perf_counter() - start):.0f} ms")


def calibration(result: FitResult, holdout: ModelData, fresh: ModelData, n_jobs: int) -> None:
    print("\n== 4. Interval coverage (share inside ±1σ / ±2σ; nominal 68 % / 95 %) ==")
    print(f"hold-out: the {len(holdout.inputs)} sample hold-out runs; fresh: {len(fresh.inputs)} new virtual-lab runs")
    print(
        f"{'CQA':<14}{'model':<6}{'uq':<10}{'calibration':<12}{'hold-out ±1σ':>13}{'±2σ':>6}"
        f"{'fresh ±1σ':>11}{'±2σ':>6}{'n fresh':>8}{'scale':>7}"
    )
    for cqa, fit in result.fits.items():
        X, y = fit.dataset.X_train.to_numpy(float), fit.dataset.y_train.to_numpy(float)
        for method in ("mccv", "bootstrap", "oob"):
            for cal in ("none", "conformal"):
                ens = EnsembleRegressor(
                    fit.chosen,
                    fit.metrics.models[fit.chosen].params,
                    method=method,
                    calibration=cal,
                    n_jobs=n_jobs,
                    features=fit.ensemble.features,
                    input_names=list(fit.dataset.X_train.columns),
                ).fit(X, y, groups=fit.dataset.types_train.to_numpy())
                cells = []
                for source in (holdout, fresh):
                    keep = source.cqas[cqa].notna().to_numpy()
                    Xs, ys = source.inputs.to_numpy(float)[keep], source.cqas[cqa].to_numpy(float)[keep]
                    mean, std = ens.predict(Xs, return_std=True)
                    cells += [coverage(ys, mean, std, 1.0), coverage(ys, mean, std, 2.0)]
                n_fresh = int(fresh.cqas[cqa].notna().sum())
                print(
                    f"{cqa:<14}{fit.chosen:<6}{method:<10}{cal:<12}{cells[0]:>13.0%}{cells[1]:>6.0%}"
                    f"{cells[2]:>11.0%}{cells[3]:>6.0%}{n_fresh:>8}{ens.scale_:>7.2f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jobs", type=int, default=2, help="local worker processes (default: 2)")
    parser.add_argument("--fresh", type=int, default=62, help="fresh virtual-lab runs for coverage (default: 62)")
    parser.add_argument("--fit-only", action="store_true", help="only section 2 (the full fit's time)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, n_jobs: {args.n_jobs}, load average at start: {os.getloadavg()[0]:.2f}")
    data, holdout = _load("doe.csv"), _load("holdout.csv")
    print(
        f"sample data: {len(data.inputs)} runs ({data.cqas.notna().sum().to_dict()}), hold-out: {len(holdout.inputs)}"
    )
    if args.fit_only:
        full_fit(data, holdout, args.n_jobs)
        print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
        return
    search_comparison(data, holdout, args.n_jobs)
    fast = full_fit(data, holdout, args.n_jobs)
    predict_speed(fast, data)
    calibration(fast, holdout, _fresh_runs(args.fresh, seed=1000), args.n_jobs)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
