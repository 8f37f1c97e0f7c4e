"""Prediction speed of the fitted CQA models for one optimiser generation.

Fits the shipped sample data (fast search, MCCV ensembles of 25 members,
seed 0) and times one predictor call (mean + std of every CQA) on a
population of rows, two ways, interleaved in the same run so both see the
same machine load (then the same for D50 ensembles of every family, with the
parameters the search found for it):

* plain: what the ensembles did before batching, `pipeline.predict` on the
  full-data model and on every member, one pipeline after another;
* batched: `CQAPredictor.predict`, i.e. `core.models.fast_predict`.

The population is sample rows with every used input moved by up to ±10 % of
its column's range (unused profile entries stay 0), like a late optimiser
generation. Prints median ms per call per CQA and in total, the ratio, and the
largest difference between the two results (target: ≥ 5x, equal results;
tree predictions identical).

The models are the default data-driven families (`--families`): the grey box's
predictions cost a simulation per row, nothing batching could save.

Run from the repository root: `python bench/bench_predict.py [--rows 500] [--repeats 30] [--families ...]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.doe import load_doe  # noqa: E402
from core.models.fitting import CQAPredictor, fit_cqa_models  # noqa: E402
from core.models.uncertainty import EnsembleRegressor  # noqa: E402
from core.models.zoo import DATA_DRIVEN_FAMILIES, SEARCHED_FAMILIES  # noqa: E402


def population(inputs: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lo, hi = inputs.min(axis=0), inputs.max(axis=0)
    rows = inputs[rng.integers(0, len(inputs), n)]
    moved = rows + rng.uniform(-0.1, 0.1, rows.shape) * (hi - lo)
    return np.where(rows != 0, np.clip(moved, lo, hi), 0.0)


def plain_predict(ensemble: EnsembleRegressor, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and calibrated std with one `predict` per pipeline (per tree for a forest's own trees)."""
    factor = ensemble.calibration_factors(X)  # inside or outside the applicability domain
    X = ensemble.feature_map_.transform(X)  # what the model sees: raw columns and/or profile descriptors
    if ensemble.native_std_:  # the model's outputs as measured (a logit-scale model is mapped back)
        mean, std = ensemble._as_measured(*ensemble.model_.predict(X, return_std=True))
        return mean, factor * std
    mean = ensemble.from_model_scale(ensemble.model_.predict(X))
    if ensemble.uses_forest_:
        X32 = np.ascontiguousarray(ensemble.model_[:-1].transform(X), dtype=np.float32)
        members = np.array([tree.predict(X32, check_input=False) for tree in ensemble.model_[-1].estimators_])
    else:
        members = np.array([m.predict(X) for m in ensemble.members_])
    return mean, factor * ensemble.from_model_scale(members).std(axis=0, ddof=1)


def interleaved_ms(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time per call in ms, the calls taking turns so that load changes hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        call()  # warm caches and lazy imports
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * float(np.median(t)) for name, t in times.items()}


def compare(label: str, ensemble: EnsembleRegressor, X: np.ndarray, repeats: int) -> None:
    ms = interleaved_ms(
        {"plain": lambda: plain_predict(ensemble, X), "batched": lambda: ensemble.predict(X, return_std=True)},
        repeats,
    )
    diff = max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(plain_predict(ensemble, X), ensemble.predict(X, return_std=True), strict=True)
    )
    members = len(ensemble.model_[-1].estimators_) if ensemble.uses_forest_ else len(ensemble.members_)
    print(
        f"{label:<24}{members:>8}{ms['plain']:>10.2f}{ms['batched']:>12.2f}"
        f"{ms['plain'] / ms['batched']:>9.1f}x{diff:>12.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500, help="rows per predictor call (default: 500)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per path (default: 30)")
    parser.add_argument("--families", nargs="+", choices=SEARCHED_FAMILIES, default=list(DATA_DRIVEN_FAMILIES))
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.2f}")
    loaded = load_doe(ROOT / "sample_data" / "doe.csv")
    if loaded.data is None:
        raise SystemExit(f"sample_data/doe.csv cannot be read:\n{loaded.report.to_text()}")
    result = fit_cqa_models(loaded.data, search="fast", random_state=0, families=args.families)
    predictor: CQAPredictor = result.predictor()
    X = population(result.data.inputs.to_numpy(float), args.rows, seed=0)
    print(f"{args.rows} rows; median of {args.repeats} interleaved calls per path\n")
    header = f"{'members':>8}{'plain ms':>10}{'batched ms':>12}{'speed-up':>10}{'max |diff|':>12}"
    print(f"{'CQA (chosen model)':<24}{header}")
    for cqa, ensemble in predictor.ensembles.items():
        compare(f"{cqa} ({ensemble.family})", ensemble, X, args.repeats)
    ms = interleaved_ms(
        {
            "plain": lambda: [plain_predict(e, X) for e in predictor.ensembles.values()],
            "batched": lambda: predictor.predict(X, return_std=True),
        },
        args.repeats,
    )
    print(
        f"{'all CQAs, one call':<32}{ms['plain']:>10.2f}{ms['batched']:>12.2f}{ms['plain'] / ms['batched']:>9.1f}x"
        "   (mean + std of every CQA)"
    )

    fit = result.fits["D50"]
    X_train, y_train = fit.dataset.X_train.to_numpy(float), fit.dataset.y_train.to_numpy(float)
    print(f"\n{'D50, every family':<24}{header}")
    for name, metrics in fit.metrics.models.items():
        for method in ("mccv", "oob") if name == "rf" else ("mccv",):
            ensemble = EnsembleRegressor(
                name,
                metrics.params,
                method=method,
                random_state=0,
                features=metrics.features,
                input_names=list(fit.dataset.X_train.columns),
            ).fit(X_train, y_train)
            compare(f"{name} {method}", ensemble, X, args.repeats)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
