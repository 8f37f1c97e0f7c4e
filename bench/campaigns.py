"""Fresh virtual-lab campaigns for the benchmarks: data sets made like the shipped sample, and test runs.

A benchmark that judges models, synthetic data or planning on one data set
measures luck. These helpers make as many independent campaigns as wanted:
a 31-run DoE with the Table 1 mix of Barhate et al. (2025) and 4 multi-cycle hold-out
runs (the sample's recipe, a different seed each), optionally for "another
compound" (`core.virtual_lab.compounds.other_compound`), and noise-free test
runs of each profile type spread over the design space.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.doe import DoEData, load_doe  # noqa: E402
from core.profiles import ThermocycleProfile  # noqa: E402
from core.virtual_lab import ModelParameters, simulate_rows  # noqa: E402
from core.virtual_lab.compounds import other_compound  # noqa: E402
from sample_data.generate import (  # noqa: E402
    MIN_T,
    cycling_profile,
    design_runs,
    half_degree,
    holdout_runs,
    measure,
    rate,
    start_temperature,
)

PROFILE_CYCLES = (0, 1, 2, 3, 4)
SOLUBILITY_TEMPERATURES = (0.0, 17.5, 35.0, 52.5, 70.0)  # °C: five points over Table 2's temperature range
SOLUBILITY_ERROR = 0.03  # relative sd of a measured solubility


def compound(seed: int, perturbed: bool, structure_spread: float = 0.0) -> ModelParameters:
    """The default virtual lab, or another compound drawn from `seed` (its structure moved by `structure_spread`,
    `core.virtual_lab.compounds.other_compound`)."""
    return other_compound(seed, structure_spread=structure_spread) if perturbed else ModelParameters()


def campaign(seed: int, params: ModelParameters) -> tuple[DoEData, DoEData]:
    """(DoE, hold-out) measured with noise, laid out like sample_data/doe.csv and holdout.csv."""
    design_rng, holdout_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    runs, holdout = design_runs(design_rng, params), holdout_runs(holdout_rng, params)
    noise = np.random.SeedSequence([seed, 1]).spawn(len(runs) + len(holdout))
    frames = [measure(runs, noise[: len(runs)], params), measure(holdout, noise[len(runs) :], params)]
    return tuple(  # type: ignore[return-value]
        load_doe(f.to_csv(index=False).encode(), filename=f"{name}.csv").data
        for f, name in zip(frames, ("doe", "holdout"), strict=True)
    )


def random_run(
    n_cycles: int, rng: np.random.Generator, params: ModelParameters
) -> tuple[float, float, ThermocycleProfile]:
    """(C0, seed loading, profile) of one run of the given type, drawn like the sample's DoE runs."""
    c0 = float(np.round(rng.uniform(24.8, 55.2), 1))
    seed_loading = float(rng.uniform(0.05, 0.15))
    t1, t_end = start_temperature(c0, rng, params), half_degree(rng.uniform(MIN_T, 15.0))
    cooling = [rate(rng.uniform(0.05, 0.3)) for _ in range(n_cycles + 1)]
    heating = [rate(rng.uniform(0.5, 1.0)) for _ in range(n_cycles)]
    return c0, seed_loading, cycling_profile(t1, t_end, n_cycles, cooling, heating, rng)


def test_runs(
    n_per_type: int, seed: int, params: ModelParameters, cycles: tuple[int, ...] = PROFILE_CYCLES, n_jobs: int = 1
) -> pd.DataFrame:
    """Noise-free runs of every profile type: canonical input columns, `n_cycles` and the true CQAs."""
    rng = np.random.default_rng(seed)
    rows = []
    for n_cycles in cycles:
        for _ in range(n_per_type):
            c0, seed_loading, profile = random_run(n_cycles, rng, params)
            rows.append({"initial_concentration": c0, "seed_loading": seed_loading, **profile.to_features()})
            rows[-1]["n_cycles"] = n_cycles
    frame = pd.DataFrame(rows)
    truth = simulate_rows(frame.drop(columns="n_cycles"), params=params, n_jobs=n_jobs, bounds=None)
    return pd.concat([frame, truth.drop(columns="error")], axis=1)


def with_solubility(doe: DoEData, params: ModelParameters, seed: int) -> DoEData:
    """The DoE with its compound's solubility curve in the schema, as measured by its user.

    Five points with a seeded 3 % measurement error: what an engineer who knows the compound would
    give the schema, neither exact nor the virtual lab's own formula."""
    rng = np.random.default_rng(seed)
    error = np.exp(SOLUBILITY_ERROR * rng.standard_normal(len(SOLUBILITY_TEMPERATURES)))
    points = tuple(
        (t, round(float(params.solubility(t) * e), 2)) for t, e in zip(SOLUBILITY_TEMPERATURES, error, strict=True)
    )
    return replace(doe, schema=replace(doe.schema, solubility=points))
