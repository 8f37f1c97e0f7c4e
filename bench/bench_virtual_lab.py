"""Virtual lab benchmark: time per batch and per 100 batches, the paper's trends, mass balance, CQA ranges.

Run from the repository root: `python bench/bench_virtual_lab.py`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.profiles import ThermocycleProfile  # noqa: E402
from core.virtual_lab import ModelParameters, simulate_batch, simulate_rows  # noqa: E402

LINEAR = ThermocycleProfile((50, 5), (0.15,))
TWO_CYCLES = ThermocycleProfile((50, 25, 45, 15, 35, 5), (0.15,) * 3, (0.7,) * 2)
FOUR_CYCLES = ThermocycleProfile((50, 30, 48, 20, 40, 15, 32, 10, 25, 5), (0.15,) * 5, (0.7,) * 4)
# Seeded at saturation (about 54 °C at 40 mg/g) and heated above it: the regime of the true front, where few
# crystals grow large, so agglomeration spans most of the size grid and each step costs the most.
REDISSOLVING = ThermocycleProfile((54, 40, 61, 35, 58, 30, 55, 20, 50, 5), (0.15,) * 5, (0.7,) * 4)


def cpu_seconds(profile: ThermocycleProfile, c0: float = 40.0, seed: float = 0.1, repeats: int = 3) -> float:
    """Best-of CPU time of one batch (CPU time is less disturbed by other processes than wall time)."""
    times = []
    for _ in range(repeats):
        start = time.process_time()
        simulate_batch(profile, c0, seed)
        times.append(time.process_time() - start)
    return min(times)


def doe_like_designs(n: int, seed: int = 0) -> pd.DataFrame:
    """Random designs inside Table 2, started a few degrees below saturation as a lab would."""
    rng = np.random.default_rng(seed)
    params = ModelParameters()
    rows = []
    for _ in range(n):
        c0, n_cycles = rng.uniform(24.8, 55.2), int(rng.integers(0, 5))
        t1 = min(70.0, params.saturation_temperature(c0) - rng.uniform(1.0, 6.0))
        t_end = rng.uniform(2.0, 15.0)
        temps, top = [t1], t1
        for k in range(1, n_cycles + 1):
            low = max(t1 - (t1 - t_end) * k / (n_cycles + 1), t_end + 1.0)
            temps += [low, low + rng.uniform(0.4, 0.8) * (top - low)]
            top = temps[-1]
        temps.append(t_end)
        profile = ThermocycleProfile(
            tuple(temps), tuple(rng.uniform(0.05, 0.3, n_cycles + 1)), tuple(rng.uniform(0.5, 1.0, n_cycles))
        )
        rows.append({"initial_concentration": c0, "seed_loading": rng.uniform(0.05, 0.15), **profile.to_features()})
    return pd.DataFrame(rows)


def timing() -> None:
    print("== time per batch (CPU seconds, best of 3, one core)")
    profiles = {
        "linear cooling": LINEAR,
        "2 cycles": TWO_CYCLES,
        "4 cycles": FOUR_CYCLES,
        "4, re-dissolving": REDISSOLVING,
    }
    for name, profile in profiles.items():
        print(f"  {name:16s} {cpu_seconds(profile):.3f} s   ({profile.batch_time_min:.0f} min of batch)")
    designs = doe_like_designs(100)
    walls = {}
    for n_jobs in (1, 2):
        start = time.perf_counter()
        table = simulate_rows(designs, n_jobs=n_jobs)
        walls[n_jobs] = time.perf_counter() - start
        assert table["error"].isna().all()
    print("== 100 DoE-like batches with joblib (wall seconds)")
    print(f"  n_jobs=1 {walls[1]:.1f} s ({walls[1] / 100:.3f} s per batch)")
    print(f"  n_jobs=2 {walls[2]:.1f} s (speed-up {walls[1] / walls[2]:.2f}x on a shared 2-core machine)")
    cqas = table[["D50", "DoA", "crystallinity"]]
    print("== CQA ranges over those 100 designs")
    print(cqas.describe().loc[["min", "25%", "50%", "75%", "max"]].round(1).to_string())


def trends() -> None:
    cases = [
        ("linear, 0.15 °C/min", LINEAR, 40.0, 0.1),
        ("2 cycles", TWO_CYCLES, 40.0, 0.1),
        ("4 cycles", FOUR_CYCLES, 40.0, 0.1),
        ("linear, 0.10 °C/min", ThermocycleProfile((50, 5), (0.1,)), 40.0, 0.1),
        ("linear, 0.25 °C/min", ThermocycleProfile((50, 5), (0.25,)), 40.0, 0.1),
        ("0.20 °C/min, c0 = 40", ThermocycleProfile((50, 5), (0.2,)), 40.0, 0.1),
        ("0.20 °C/min, c0 = 54", ThermocycleProfile((50, 5), (0.2,)), 54.0, 0.1),
        ("0.25 °C/min, seed 0.05", ThermocycleProfile((50, 5), (0.25,)), 40.0, 0.05),
        ("0.25 °C/min, seed 0.15", ThermocycleProfile((50, 5), (0.25,)), 40.0, 0.15),
    ]
    print("== trends on controlled pairs (50 -> 5 °C, c0 = 40 mg/g, seed 0.1 unless stated; no noise)")
    print(f"  {'case':24s} {'D50 µm':>7s} {'DoA %':>6s} {'cryst %':>8s} {'mass balance':>13s}")
    errors = []
    for name, profile, c0, seed in cases:
        result = simulate_batch(profile, c0, seed)
        errors.append(result.mass_balance_error())
        print(f"  {name:24s} {result.D50:7.1f} {result.DoA:6.1f} {result.crystallinity:8.1f} {errors[-1]:13.1e}")
    print(f"== largest relative solute mass-balance error: {max(errors):.1e} (limit 5e-3)")


def noise() -> None:
    clean = simulate_batch(LINEAR, 40.0, 0.1).cqas()
    noisy = pd.DataFrame([simulate_batch(LINEAR, 40.0, 0.1, noise=True, random_state=s).cqas() for s in range(20)])
    print("== noise: 20 noisy repeats of the linear batch (kinetic scatter + measurement noise)")
    for name, value in clean.items():
        column = noisy[name]
        print(f"  {name:14s} clean {value:6.1f}  mean {column.mean():6.1f}  sd {statistics.stdev(column):5.2f}")


def sample_data() -> None:
    print("== shipped sample data (sample_data/*.csv)")
    for name in ("doe", "holdout"):
        frame = pd.read_csv(ROOT / "sample_data" / f"{name}.csv")
        cqas = frame[["D50 (µm)", "DoA (%)", "crystallinity (%)"]]
        print(f"  {name}: {len(frame)} runs")
        print("    " + cqas.describe().loc[["count", "min", "max"]].round(1).to_string().replace("\n", "\n    "))


if __name__ == "__main__":
    trends()
    noise()
    sample_data()
    timing()
