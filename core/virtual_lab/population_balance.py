"""Population balances of single crystals, agglomerates and amorphous particles, marched through a profile.

Each population is counted per size cell (particles per g solvent). One
explicit step evaluates every rate at the current state, picks the largest
step the stability and accuracy limits allow, and updates the counts;
dissolution of crystals, de-agglomeration and consolidation are integrated
exactly over the step. The
solution then gives or takes exactly the mass the solids gained or lost, so
the solute balance closes to round-off. Equations and parameters: MODEL.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from core.profiles import ThermocycleProfile
from core.virtual_lab.discretisation import (
    AgglomerationMap,
    PivotMap,
    SizeGrid,
    face_values,
    fragmentation_matrix,
)
from core.virtual_lab.parameters import ModelParameters, NumericalSettings

TRAJECTORY_COLUMNS = [
    "time_min",
    "T",
    "concentration",
    "solubility",
    "supersaturation",
    "crystalline_mass",
    "amorphous_mass",
]
NEGLIGIBLE_COUNT = 1e-9  # particles per g solvent: less than one per tonne
VANISHED_COUNT = 1e-3  # particles per g solvent: a dissolving population with fewer has left the batch


@dataclass(frozen=True)
class Operators:
    """Everything that depends on the parameters and the grid but not on the batch."""

    params: ModelParameters
    numerics: NumericalSettings
    grid: SizeGrid
    particle_mass: np.ndarray  # mg per particle at each pivot
    growth_factor: np.ndarray  # (1 + γL)^p at the faces; 0 at the closed top face
    growth_at_pivots: np.ndarray  # (1 + γL)^p at the pivots
    bridge_factor: np.ndarray  # 1 / (1 + L/L_b) at the pivots: larger agglomerates hold thicker bridges
    pivot_volumes: np.ndarray  # µm3
    dissolution_mass_rate: np.ndarray  # mg/µm per particle: mass lost per µm of dissolution depth at size zero
    open_faces: np.ndarray  # 1 at every face except the closed top one
    agglomeration: AgglomerationMap  # pairs of cells, their efficiency and where their agglomerate goes
    efficiency: np.ndarray  # size efficiency E_ij of the agglomeration kernel
    fragments: np.ndarray  # fragmentation_matrix: single crystals released per disintegrated agglomerate

    @classmethod
    def build(cls, params: ModelParameters, numerics: NumericalSettings) -> Operators:
        grid = SizeGrid.linear(numerics.n_cells, numerics.max_size)
        volume = params.shape_factor * grid.pivots**3  # µm3
        open_faces = np.ones(grid.n_cells + 1)
        open_faces[-1] = 0.0
        growth = (1.0 + params.growth_size_gamma * grid.edges) ** params.growth_size_power * open_faces
        small, large = np.minimum.outer(grid.pivots, grid.pivots), np.maximum.outer(grid.pivots, grid.pivots)
        x = ((small + large) / 2.0 / params.agglomeration_peak_size) ** 3
        efficiency = (small / large) ** params.agglomeration_size_ratio_power * 2.0 * x / (1.0 + x**2)
        return cls(
            params=params,
            numerics=numerics,
            grid=grid,
            particle_mass=params.crystal_density * 1e-9 * volume,  # g/cm3 = 1e-9 mg/µm3
            growth_factor=growth,
            growth_at_pivots=(1.0 + params.growth_size_gamma * grid.pivots) ** params.growth_size_power,
            bridge_factor=1.0 / (1.0 + grid.pivots / params.bridge_size),
            pivot_volumes=volume,
            dissolution_mass_rate=3.0
            * params.crystal_density
            * 1e-9
            * params.shape_factor
            * grid.pivots**2
            / (1.0 + grid.pivots / params.dissolution_diffusion_size),
            open_faces=open_faces,
            agglomeration=AgglomerationMap.build(volume, efficiency),
            efficiency=efficiency,
            fragments=fragmentation_matrix(volume, params.shape_factor * params.single_crystal_size**3),
        )

    def seed_counts(self, seed_mass: float) -> np.ndarray:
        """Seed particles per cell: a log-normal volume distribution holding `seed_mass` mg/g solvent."""
        p = self.params
        edges = np.maximum(self.grid.edges, 1e-12)
        volume_share = np.diff(ndtr(np.log(edges / p.seed_median) / math.log(p.seed_gsd)))
        return seed_mass * volume_share / volume_share.sum() / self.particle_mass


@dataclass
class BatchState:
    """Particle counts per cell (per g solvent) and the solute concentration (mg/g solvent)."""

    primary: np.ndarray
    agglomerates: np.ndarray
    amorphous: np.ndarray
    concentration: float


@dataclass
class _Rates:
    """Time derivatives of the counts and the limits they put on the step (min)."""

    primary: np.ndarray
    agglomerates: np.ndarray
    amorphous: np.ndarray
    dt_limit: float
    breakage: np.ndarray | None = None  # per cell: share of the agglomerates that fall apart per minute
    consolidation: np.ndarray | None = None  # per cell: share of the agglomerates that turn compact per minute
    dissolving: tuple[bool, bool] = (False, False)  # crystals, amorphous particles
    shrink: float = 0.0  # µm/min: dissolution speed of the finest crystals (0 while they grow)


def _negligible_to_zero(counts: np.ndarray) -> np.ndarray:
    """Clear cells that hold (numerically) no particles, so that empty cells do not limit the step.

    This also removes round-off negatives; the mass involved is far below
    1e-15 mg/g and the solute balance takes whatever the solids really hold.
    """
    return np.where(counts > NEGLIGIBLE_COUNT, counts, 0.0)


def _transport(counts: np.ndarray, face_speed: np.ndarray, growing: bool, width: float) -> np.ndarray:
    """d(counts)/dt from growth or dissolution across the cell faces (flux in minus flux out)."""
    flux = face_speed * face_values(counts, growing) / width
    return flux[..., :-1] - flux[..., 1:]


def _rates(ops: Operators, state: BatchState, T: float) -> _Rates:
    p, num, width = ops.params, ops.numerics, ops.grid.width
    mass = ops.particle_mass
    c = state.concentration
    crystals = state.primary + state.agglomerates
    c_star = p.solubility_a * math.exp(p.solubility_b * T)
    c_star_am = p.amorphous_solubility_a * math.exp(p.amorphous_solubility_b * T)
    sigma, sigma_am = c / c_star - 1.0, c / c_star_am - 1.0
    crystalline_mass, amorphous_mass = float(mass @ crystals), float(mass @ state.amorphous)
    dissolution_speed = p.dissolution_k * p.arrhenius(p.dissolution_energy, T)

    # Growth of both crystal populations through the faces; dissolution is integrated along the characteristics
    # in `_dissolve` (the finest crystals shrink fastest, so an explicit step would be bound to their speed).
    growing = sigma >= 0.0
    d_primary, d_agglomerates = np.zeros_like(crystals), np.zeros_like(crystals)
    max_speed, shrink = 0.0, 0.0
    if growing:
        g0 = p.growth_k * p.arrhenius(p.growth_energy, T) * sigma**p.growth_order
        face_speed = g0 * ops.growth_factor
        d_crystals = _transport(np.stack([state.primary, state.agglomerates]), face_speed, True, width)
        d_primary, d_agglomerates = d_crystals[0], d_crystals[1]
        occupied = crystals > 0.0
        active_faces = np.concatenate(([False], occupied)) | np.concatenate((occupied, [False]))
        max_speed = float(face_speed[active_faces].max()) if occupied.any() else 0.0
        mass_rate = float(mass @ (d_primary + d_agglomerates))
    else:
        shrink = dissolution_speed * -sigma
        mass_rate = shrink * float(ops.dissolution_mass_rate @ crystals)
    # Relaxation rate of the concentration (the inverse time scale an explicit step must resolve).
    order = p.growth_order if growing else 1.0
    relaxation = order * abs(mass_rate) / max(abs(c - c_star), 1e-12)

    # Amorphous phase: precipitates above its own solubility and dissolves below it.
    d_amorphous = np.zeros_like(state.amorphous)
    if sigma_am > 0.0 or amorphous_mass > 0.0:
        amorphous_growing = sigma_am >= 0.0
        if amorphous_growing:
            g_am = p.amorphous_growth_k * sigma_am
        else:
            g_am = p.amorphous_dissolution_k * p.arrhenius(p.amorphous_dissolution_energy, T) * sigma_am
        d_amorphous = _transport(state.amorphous, g_am * ops.open_faces, amorphous_growing, width)
        if sigma_am > 0.0:
            d_amorphous[0] += p.amorphous_nucleation_k * sigma_am**2
        relaxation += abs(float(mass @ d_amorphous)) / max(abs(c - c_star_am), 1e-12)
        if state.amorphous.any() or sigma_am > 0.0:
            max_speed = max(max_speed, abs(g_am))

    sink, breakage, consolidation = 0.0, None, None
    if sigma > 0.0:
        # Nucleation of crystals into the smallest cell.
        d_primary[0] += p.primary_nucleation_k * math.exp(-p.primary_nucleation_b / math.log1p(sigma) ** 2)
        d_primary[0] += (
            p.secondary_nucleation_k
            * p.arrhenius(p.secondary_nucleation_energy, T)
            * (c - c_star) ** p.secondary_nucleation_order
            * (crystalline_mass + p.amorphous_nucleation_sites * amorphous_mass) ** p.secondary_nucleation_mass_order
        )
        if occupied.any():
            # Agglomeration: every pair of occupied cells, products placed by the fixed-pivot rule.
            # Cells beyond the first 1 - 1e-6 of the crystal mass hold too little to matter; skipping them
            # keeps the O(n²) pair sum small.
            cumulative = np.cumsum(mass * crystals)
            n = int(np.searchsorted(cumulative, (1.0 - 1e-6) * cumulative[-1])) + 1
            amorphous_share = amorphous_mass / (crystalline_mass + amorphous_mass)
            cementing = g0 / (1.0 + g0 / p.agglomeration_saturation_growth)
            beta = p.agglomeration_k * cementing * (1.0 + p.amorphous_stickiness * amorphous_share)
            d_agglomerates += beta * ops.agglomeration.births(crystals, n)
            loss = beta * (ops.efficiency[:n, :n] @ crystals[:n])
            d_primary[:n] -= loss * state.primary[:n]
            d_agglomerates[:n] -= loss * state.agglomerates[:n]
            sink = float(loss.max())
        # Consolidation: growth fills the necks of an agglomerate, k_c e-folds per e-fold of its size.
        consolidation = p.consolidation_k * g0 * ops.growth_at_pivots / ops.grid.pivots
    elif sigma < 0.0 and state.agglomerates.any():
        # De-agglomeration: a bridge is a thin neck, so it dissolves at the speed of a fine (no film resistance
        # of the whole particle); once a bridge thickness ((1 + L/L_b) / k_dag, thicker on larger agglomerates)
        # has gone the agglomerate falls apart.
        breakage = p.deagglomeration_k * dissolution_speed * -sigma * ops.bridge_factor

    dt = num.max_step
    if max_speed > 0.0:
        dt = min(dt, num.cfl * width / max_speed)
    if relaxation > 0.0:
        dt = min(dt, num.max_relative_change / relaxation)
    if sink > 0.0:
        dt = min(dt, num.max_sink_fraction / sink)
    dissolving = (sigma < 0.0, sigma_am < 0.0)
    return _Rates(d_primary, d_agglomerates, d_amorphous, dt, breakage, consolidation, dissolving, shrink)


def _break_agglomerates(ops: Operators, state: BatchState, breakage: np.ndarray, dt: float) -> None:
    """De-agglomeration over `dt`, integrated exactly in time (first-order decay) so that it never limits the step.

    Each agglomerate that falls apart releases its single crystals (fragmentation_matrix); number and volume
    are kept.
    """
    broken = state.agglomerates * -np.expm1(-breakage * dt)
    state.primary = state.primary + ops.fragments @ broken
    state.agglomerates = state.agglomerates - broken


def _dissolve(ops: Operators, counts: np.ndarray, depth: float) -> np.ndarray:
    """Counts after dissolution by `depth` µm at size zero (speed k_d |σ| / (1 + L/L_d) over one step).

    Along a characteristic L + L²/(2 L_d) falls by the depth, exactly for any step; each cell's crystals are
    moved to their new size and placed by the fixed-pivot rule (number and volume kept), those that reach
    size zero are gone. No Courant limit: the step is bound by the concentration's relaxation only.
    """
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        return counts
    l_d = ops.params.dissolution_diffusion_size
    xi = ops.grid.pivots[occupied] * (1.0 + ops.grid.pivots[occupied] / (2.0 * l_d)) - depth
    alive = xi > 0.0
    occupied, xi = occupied[alive], xi[alive]
    size = l_d * (np.sqrt(1.0 + 2.0 * xi / l_d) - 1.0)
    pmap = PivotMap.for_volumes(ops.params.shape_factor * size**3, ops.pivot_volumes)
    n, moved = len(counts), counts[occupied]
    return np.bincount(pmap.lo, pmap.weight_lo * moved, n) + np.bincount(pmap.lo + 1, pmap.weight_hi * moved, n)


def _clear_vanished(state: BatchState, crystals_dissolving: bool, amorphous_dissolving: bool) -> None:
    """Remove a dissolving population once it holds less than one particle per kg of solvent.

    Its last particles would otherwise keep the step at the dissolution speed of the finest ones for a long
    time; the solution takes their mass, so the balance still closes.
    """
    if crystals_dissolving and state.primary.sum() + state.agglomerates.sum() < VANISHED_COUNT:
        state.primary, state.agglomerates = np.zeros_like(state.primary), np.zeros_like(state.agglomerates)
    if amorphous_dissolving and state.amorphous.sum() < VANISHED_COUNT:
        state.amorphous = np.zeros_like(state.amorphous)


def _ramps(profile: ThermocycleProfile) -> list[tuple[float, float, float]]:
    """(start T, signed rate °C/min, duration min) of every ramp that takes time."""
    return [
        (s.start_T, math.copysign(s.rate, s.end_T - s.start_T), s.duration_min)
        for s in profile.segments()
        if s.duration_min > 0
    ]


def run_batch(
    ops: Operators, profile: ThermocycleProfile, initial_concentration: float, seed_loading: float
) -> tuple[BatchState, list[tuple[float, ...]]]:
    """March one batch through `profile`; returns the final state and one trajectory row per step."""
    p, num = ops.params, ops.numerics
    mass = ops.particle_mass
    zeros = np.zeros(ops.grid.n_cells)
    state = BatchState(ops.seed_counts(seed_loading * initial_concentration), zeros, zeros, initial_concentration)
    t = 0.0
    rows: list[tuple[float, ...]] = []

    def record(T: float) -> None:
        c_star = float(p.solubility(T))
        crystalline = float(mass @ (state.primary + state.agglomerates))
        c = state.concentration
        rows.append((t, T, c, c_star, c / c_star - 1.0, crystalline, float(mass @ state.amorphous)))

    record(profile.temperatures[0])
    for T_start, ramp, duration in _ramps(profile):
        elapsed = 0.0
        while duration - elapsed > 1e-9:
            rates = _rates(ops, state, T_start + ramp * elapsed)
            dt = min(rates.dt_limit, duration - elapsed, num.max_temperature_step / abs(ramp))
            solids_before = float(mass @ (state.primary + state.agglomerates + state.amorphous))
            state.primary = _negligible_to_zero(state.primary + dt * rates.primary)
            state.agglomerates = _negligible_to_zero(state.agglomerates + dt * rates.agglomerates)
            state.amorphous = _negligible_to_zero(state.amorphous + dt * rates.amorphous)
            if rates.shrink > 0.0:
                state.primary = _dissolve(ops, state.primary, rates.shrink * dt)
                state.agglomerates = _dissolve(ops, state.agglomerates, rates.shrink * dt)
            if rates.breakage is not None:
                _break_agglomerates(ops, state, rates.breakage, dt)
            if rates.consolidation is not None:
                compact = state.agglomerates * -np.expm1(-rates.consolidation * dt)
                state.primary = state.primary + compact
                state.agglomerates = state.agglomerates - compact
            _clear_vanished(state, *rates.dissolving)
            solids_after = float(mass @ (state.primary + state.agglomerates + state.amorphous))
            state.concentration -= solids_after - solids_before
            elapsed += dt
            t += dt
            record(T_start + ramp * elapsed)
    return state, rows
