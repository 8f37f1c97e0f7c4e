"""The virtual lab's public API: run one batch or a table of DoE rows.

`simulate_batch` runs the population-balance model of a seeded batch cooling
crystallization under a thermocycle profile and reports the three CQAs of
Barhate et al. (2025) (D50, DoA, crystallinity), the final size distributions and the
batch trajectory. `simulate_rows` does the same for every row of a DoE-style
table, in parallel through joblib, turning rows that cannot be run into
plain-words errors instead of exceptions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from core.profiles import DEFAULT_MAX_CYCLES, TABLE2_BOUNDS, Bounds, ThermocycleProfile, check_features
from core.virtual_lab.parameters import ModelParameters, NoiseLevels, NumericalSettings
from core.virtual_lab.population_balance import TRAJECTORY_COLUMNS, BatchState, Operators, run_batch

CQA_NAMES = ("D50", "DoA", "crystallinity")
TEMPERATURE_RANGE = (-20.0, 120.0)  # °C: where the solubility correlations are used at all

RandomState = int | np.random.Generator | np.random.SeedSequence | None


@dataclass
class BatchResult:
    """End-of-batch CQAs, final size distributions and the batch trajectory.

    `D50` (µm) is the volume median of all particles, `DoA` (%) the volume
    share of agglomerates among the crystals and `crystallinity` (%) the
    crystalline share of the solid mass; with noise they are the measured
    values. Distributions are number densities (particles per µm per g
    solvent) at the cell centres `size_grid` (µm). The trajectory has one row
    per time step: time_min, T (°C), concentration and solubility (mg/g
    solvent), supersaturation (c/c* - 1), crystalline_mass and amorphous_mass
    (mg/g solvent).
    """

    D50: float
    DoA: float
    crystallinity: float
    size_grid: np.ndarray
    primary: np.ndarray
    agglomerates: np.ndarray
    amorphous: np.ndarray
    trajectory: pd.DataFrame
    profile: ThermocycleProfile
    initial_concentration: float
    seed_loading: float
    noise: bool = False
    parameters: ModelParameters = field(default_factory=ModelParameters)

    def cqas(self) -> dict[str, float]:
        return {"D50": self.D50, "DoA": self.DoA, "crystallinity": self.crystallinity}

    def volume_distribution(self) -> pd.DataFrame:
        """Volume density of each population in % of the total solid volume per µm."""
        volume = self.size_grid**3
        parts = {"primary": self.primary, "agglomerates": self.agglomerates, "amorphous": self.amorphous}
        width = float(self.size_grid[1] - self.size_grid[0])
        total = sum(float(volume @ n) for n in parts.values()) * width
        return pd.DataFrame({"size_um": self.size_grid} | {k: 100.0 * volume * n / total for k, n in parts.items()})

    def mass_balance_error(self) -> float:
        """Largest relative drift of the total solute (dissolved + crystalline + amorphous) over the batch."""
        traj = self.trajectory
        total = traj["concentration"] + traj["crystalline_mass"] + traj["amorphous_mass"]
        return float((total - total.iloc[0]).abs().max() / total.iloc[0])

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable digest: inputs, profile, CQAs and batch figures."""
        final = self.trajectory.iloc[-1]
        return {
            "initial_concentration": self.initial_concentration,
            "seed_loading": self.seed_loading,
            "profile": self.profile.to_features(max(self.profile.n_cycles, 1)),
            "profile_type": self.profile.type_name,
            **self.cqas(),
            "noise": self.noise,
            "batch_time_min": float(final["time_min"]),
            "final_concentration": float(final["concentration"]),
            "yield_percent": float(100.0 * (1.0 - final["concentration"] / self.initial_concentration)),
            "mass_balance_error": self.mass_balance_error(),
            "n_steps": len(self.trajectory) - 1,
        }


def check_batch_inputs(profile: ThermocycleProfile, initial_concentration: float, seed_loading: float) -> list[str]:
    """Plain-words reasons why the virtual lab cannot run this batch (empty when it can).

    Checks physics, not the design space: cooling ramps must cool and heating
    ramps heat (Eqs. 2-3), rates must be positive and temperatures within the
    range of the solubility correlations. Use `ThermocycleProfile.violations`
    for the Table 2 bounds.
    """
    problems = []
    if not (math.isfinite(initial_concentration) and initial_concentration > 0):
        problems.append(f"the initial concentration must be a positive number, got {initial_concentration:g}")
    if not (math.isfinite(seed_loading) and 0 <= seed_loading <= 1):
        problems.append(f"the seed loading must be a mass fraction between 0 and 1, got {seed_loading:g}")
    lo, hi = TEMPERATURE_RANGE
    for i, v in enumerate(profile.temperatures, start=1):
        if not (math.isfinite(v) and lo <= v <= hi):
            problems.append(f"T{i} = {v:g} °C is outside the range the model covers ({lo:g} to {hi:g} °C)")
    for name, rates in (("C", profile.cooling_rates), ("H", profile.heating_rates)):
        problems += [f"{name}{i} = {v:g} °C/min must be positive" for i, v in enumerate(rates, 1) if not v > 0]
    return problems + profile.order_violations()


def simulate_batch(
    profile: ThermocycleProfile,
    initial_concentration: float,
    seed_loading: float,
    *,
    params: ModelParameters | None = None,
    noise: bool = False,
    noise_levels: NoiseLevels | None = None,
    numerics: NumericalSettings | None = None,
    random_state: RandomState = None,
) -> BatchResult:
    """Run one batch of the virtual lab.

    `initial_concentration` is in mg solute per g solvent; `seed_loading` is
    the seed mass per mass of dissolved solute, added at T1. With `noise`,
    the rate constants get batch-to-batch scatter and the CQAs measurement
    noise, both drawn from `random_state` (same seed, same result). Raises
    ValueError with a plain-words message for a batch the model cannot run
    (see `check_batch_inputs`); the Table 2 bounds are not enforced, so
    designs outside them can be explored.
    """
    problems = check_batch_inputs(profile, initial_concentration, seed_loading)
    if problems:
        raise ValueError("; ".join(problems))
    params = params or ModelParameters()
    noise_levels = noise_levels or NoiseLevels()
    rng = np.random.default_rng(random_state)
    batch_params = noise_levels.scatter(params, rng) if noise else params
    ops = Operators.build(batch_params, numerics or NumericalSettings())
    state, rows = run_batch(ops, profile, float(initial_concentration), float(seed_loading))
    cqas = _end_of_batch_cqas(ops, state)
    if noise:
        cqas = noise_levels.measure(cqas, rng)
    width = ops.grid.width
    return BatchResult(
        **cqas,
        size_grid=ops.grid.pivots,
        primary=state.primary / width,
        agglomerates=state.agglomerates / width,
        amorphous=state.amorphous / width,
        trajectory=pd.DataFrame(rows, columns=TRAJECTORY_COLUMNS),
        profile=profile,
        initial_concentration=float(initial_concentration),
        seed_loading=float(seed_loading),
        noise=noise,
        parameters=batch_params,
    )


def _end_of_batch_cqas(ops: Operators, state: BatchState) -> dict[str, float]:
    mass = ops.particle_mass
    solids = mass * (state.primary + state.agglomerates + state.amorphous)
    cumulative = np.concatenate(([0.0], np.cumsum(solids)))
    d50 = float(np.interp(0.5, cumulative / cumulative[-1], ops.grid.edges)) if cumulative[-1] > 0 else 0.0
    primary, agglomerates, amorphous = (float(mass @ n) for n in (state.primary, state.agglomerates, state.amorphous))
    crystals = primary + agglomerates
    return {
        "D50": d50,
        # ratio first, then percent: a share of 1 stays exactly 100 %
        "DoA": 100.0 * (agglomerates / crystals) if crystals > 0 else 0.0,
        "crystallinity": 100.0 * (crystals / (crystals + amorphous)) if crystals + amorphous > 0 else 0.0,
    }


def row_to_batch(
    row: Mapping[str, object], max_cycles: int = DEFAULT_MAX_CYCLES, bounds: Bounds | None = TABLE2_BOUNDS
) -> tuple[ThermocycleProfile, float, float]:
    """Profile, initial concentration and seed loading of a DoE row in canonical column names.

    Raises ValueError naming every problem: a broken profile encoding (Eq. 4),
    missing inputs, a batch the model cannot run, or (unless `bounds` is None)
    a profile outside the design space.
    """
    problems = [message for _, message in check_features(row, max_cycles)]
    values = {}
    for name, label in (("initial_concentration", "initial concentration"), ("seed_loading", "seed loading")):
        value = _as_float(row.get(name))
        if value is None:
            problems.append(f"the {label} is missing")
        values[name] = value
    if problems:
        raise ValueError("; ".join(problems))
    profile = ThermocycleProfile.from_features(row, max_cycles)
    c0, seed = values["initial_concentration"], values["seed_loading"]
    problems = check_batch_inputs(profile, c0, seed)
    if bounds is not None:
        problems += [message for _, message in profile.bound_violations(bounds)]
    if problems:
        raise ValueError("; ".join(problems))
    return profile, c0, seed


def _as_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _simulate_row(row: dict[str, object], kwargs: dict[str, Any], seed: np.random.SeedSequence) -> dict[str, Any]:
    try:
        profile, c0, seed_loading = row_to_batch(row, kwargs["max_cycles"], kwargs["bounds"])
    except ValueError as exc:
        return {"error": str(exc)}
    result = simulate_batch(
        profile,
        c0,
        seed_loading,
        params=kwargs["params"],
        noise=kwargs["noise"],
        noise_levels=kwargs["noise_levels"],
        numerics=kwargs["numerics"],
        random_state=seed,
    )
    return result.cqas()


def simulate_rows(
    frame: pd.DataFrame,
    *,
    params: ModelParameters | None = None,
    noise: bool = False,
    noise_levels: NoiseLevels | None = None,
    numerics: NumericalSettings | None = None,
    random_state: int | None = None,
    n_jobs: int = 1,
    max_cycles: int = DEFAULT_MAX_CYCLES,
    bounds: Bounds | None = TABLE2_BOUNDS,
) -> pd.DataFrame:
    """Run the virtual lab on every row of a DoE-style table (canonical column names; CQA columns ignored).

    Returns a frame with the same index and columns D50, DoA, crystallinity
    and error: rows that cannot be run (see `row_to_batch`) get NaN CQAs and
    the reason in `error`. Each row draws its noise from its own child of
    `random_state`, so results do not depend on `n_jobs`.
    """
    seeds = np.random.SeedSequence(random_state).spawn(len(frame))
    kwargs = {
        "params": params,
        "noise": noise,
        "noise_levels": noise_levels,
        "numerics": numerics,
        "max_cycles": max_cycles,
        "bounds": bounds,
    }
    rows = frame.to_dict("records")
    outputs = Parallel(n_jobs=n_jobs)(delayed(_simulate_row)(r, kwargs, s) for r, s in zip(rows, seeds, strict=True))
    table = pd.DataFrame(
        [{**dict.fromkeys(CQA_NAMES, math.nan), "error": None, **out} for out in outputs], index=frame.index
    )
    return table[[*CQA_NAMES, "error"]]
