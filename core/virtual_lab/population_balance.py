"""Population balances of single crystals, agglomerates and amorphous particles, marched through a profile.

Each population is counted per size cell (particles per g solvent). One
explicit step evaluates every rate at the current state, picks the largest
step the stability and accuracy limits allow, and updates the counts;
dissolution of crystals, de-agglomeration and consolidation are integrated
exactly over the step. The
solution then gives or takes exactly the mass the solids gained or lost, so
the solute balance closes to round-off. Equations and parameters: MODEL.md.

The march is compiled with numba, its machine code cached on disk beside this
file; it reads the parameters and operators as named tuples (`Operators.kernel`).
"""

from __future__ import annotations

import functools
import math
from collections import namedtuple
from dataclasses import astuple, dataclass, fields

import numpy as np
from numba import njit
from scipy.special import ndtr

from core.profiles import ThermocycleProfile
from core.virtual_lab.discretisation import (
    AgglomerationMap,
    SizeGrid,
    agglomerate_births,
    face_values,
    fragmentation_map,
    pivot_weights,
    place,
)
from core.virtual_lab.parameters import ModelParameters, NumericalSettings, arrhenius

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
    fragments: tuple[np.ndarray, np.ndarray, np.ndarray]  # fragmentation_map: where an agglomerate's crystals go

    @classmethod
    @functools.lru_cache(maxsize=4)  # noise-free runs share their parameters; each noisy batch has its own
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
            fragments=fragmentation_map(volume, params.shape_factor * params.single_crystal_size**3),
        )

    @functools.cached_property
    def kernel(self) -> tuple:
        """What the compiled march reads: the parameters, the numerical settings and the operators (`Kernel`)."""
        to = self.agglomeration.destination
        return Kernel(
            Kinetics(*astuple(self.params)),
            Steps(*astuple(self.numerics)),
            self.grid.pivots,
            self.grid.width,
            self.particle_mass,
            self.growth_factor,
            self.growth_at_pivots,
            self.bridge_factor,
            self.pivot_volumes,
            self.dissolution_mass_rate,
            self.open_faces,
            (self.agglomeration.weight, to.lo, to.weight_lo, to.weight_hi),
            self.efficiency,
            self.fragments,
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


# What the compiled march reads, as named tuples (it reads them by name): module-level classes, so that the march
# compiles once and its machine code is cached on disk.
Kinetics = namedtuple("Kinetics", [f.name for f in fields(ModelParameters)])
Steps = namedtuple("Steps", [f.name for f in fields(NumericalSettings)])
Kernel = namedtuple(
    "Kernel",
    "p num pivots width mass growth_factor growth_at_pivots bridge_factor pivot_volumes dissolution_mass_rate "
    "open_faces pairs efficiency fragments",
)


@njit(cache=True)
def _negligible_to_zero(counts: np.ndarray) -> np.ndarray:
    """Clear cells that hold (numerically) no particles, so that empty cells do not limit the step.

    This also removes round-off negatives; the mass involved is far below
    1e-15 mg/g and the solute balance takes whatever the solids really hold.
    """
    return np.where(counts > NEGLIGIBLE_COUNT, counts, 0.0)


@njit(cache=True)
def _transport(counts: np.ndarray, face_speed: np.ndarray, growing: bool, width: float) -> np.ndarray:
    """d(counts)/dt from growth or dissolution across the cell faces (flux in minus flux out)."""
    flux = face_speed * face_values(counts, growing) / width
    return flux[:-1] - flux[1:]


@njit(cache=True)
def dissolve(
    counts: np.ndarray, depth: float, pivots: np.ndarray, pivot_volumes: np.ndarray, l_d: float, shape_factor: float
) -> np.ndarray:
    """Counts after dissolution by `depth` µm at size zero (speed k_d |σ| / (1 + L/L_d) over one step).

    Along a characteristic L + L²/(2 L_d) falls by the depth, exactly for any step; each cell's crystals are
    moved to their new size and placed by the fixed-pivot rule (number and volume kept), those that reach
    size zero are gone. No Courant limit: the step is bound by the concentration's relaxation only.
    """
    occupied = np.flatnonzero(counts)
    if occupied.size == 0:
        return counts
    xi = pivots[occupied] * (1.0 + pivots[occupied] / (2.0 * l_d)) - depth
    alive = xi > 0.0
    occupied, xi = occupied[alive], xi[alive]
    size = l_d * (np.sqrt(1.0 + 2.0 * xi / l_d) - 1.0)
    lo, weight_lo, weight_hi = pivot_weights(shape_factor * size**3.0, pivot_volumes)
    return place(lo, weight_lo, weight_hi, counts[occupied], len(counts))


@njit(cache=True)
def _rates(k: tuple, primary: np.ndarray, agglomerates: np.ndarray, amorphous: np.ndarray, c: float, T: float) -> tuple:
    """Time derivatives of the counts at the current state, the step they allow (min), σ and σ_am, the dissolution
    speed of the finest crystals (µm/min, 0 while they grow), and per cell the shares of the agglomerates that fall
    apart and that turn compact per minute (empty when none do)."""
    p, num, n_cells, width, mass = k.p, k.num, len(k.pivots), k.width, k.mass
    t_ref = p.reference_temperature
    crystals = primary + agglomerates
    c_star = p.solubility_a * math.exp(p.solubility_b * T)
    c_star_am = p.amorphous_solubility_a * math.exp(p.amorphous_solubility_b * T)
    sigma, sigma_am = c / c_star - 1.0, c / c_star_am - 1.0
    crystalline_mass, amorphous_mass = mass @ crystals, mass @ amorphous
    dissolution_speed = p.dissolution_k * arrhenius(p.dissolution_energy, T, t_ref)

    # Growth of both crystal populations through the faces; dissolution is integrated along the characteristics
    # in `dissolve` (the finest crystals shrink fastest, so an explicit step would be bound to their speed).
    growing = sigma >= 0.0
    d_primary, d_agglomerates = np.zeros(n_cells), np.zeros(n_cells)
    max_speed, shrink, g0 = 0.0, 0.0, 0.0
    occupied = crystals > 0.0
    if growing:
        g0 = p.growth_k * arrhenius(p.growth_energy, T, t_ref) * sigma**p.growth_order
        face_speed = g0 * k.growth_factor
        d_primary = _transport(primary, face_speed, True, width)
        d_agglomerates = _transport(agglomerates, face_speed, True, width)
        for f in range(n_cells + 1):  # the fastest face next to an occupied cell
            if (f > 0 and occupied[f - 1]) or (f < n_cells and occupied[f]):
                max_speed = max(max_speed, face_speed[f])
        mass_rate = mass @ (d_primary + d_agglomerates)
    else:
        shrink = dissolution_speed * -sigma
        mass_rate = shrink * (k.dissolution_mass_rate @ crystals)
    # Relaxation rate of the concentration (the inverse time scale an explicit step must resolve).
    order = p.growth_order if growing else 1.0
    relaxation = order * abs(mass_rate) / max(abs(c - c_star), 1e-12)

    # Amorphous phase: precipitates above its own solubility and dissolves below it.
    d_amorphous = np.zeros(n_cells)
    if sigma_am > 0.0 or amorphous_mass > 0.0:
        amorphous_growing = sigma_am >= 0.0
        if amorphous_growing:
            g_am = p.amorphous_growth_k * sigma_am
        else:
            g_am = p.amorphous_dissolution_k * arrhenius(p.amorphous_dissolution_energy, T, t_ref) * sigma_am
        d_amorphous = _transport(amorphous, g_am * k.open_faces, amorphous_growing, width)
        if sigma_am > 0.0:
            d_amorphous[0] += p.amorphous_nucleation_k * sigma_am**2
        relaxation += abs(mass @ d_amorphous) / max(abs(c - c_star_am), 1e-12)
        if amorphous.any() or sigma_am > 0.0:
            max_speed = max(max_speed, abs(g_am))

    sink, breakage, consolidation = 0.0, np.empty(0), np.empty(0)
    if sigma > 0.0:
        # Nucleation of crystals into the smallest cell.
        d_primary[0] += p.primary_nucleation_k * math.exp(-p.primary_nucleation_b / math.log1p(sigma) ** 2)
        d_primary[0] += (
            p.secondary_nucleation_k
            * arrhenius(p.secondary_nucleation_energy, T, t_ref)
            * (c - c_star) ** p.secondary_nucleation_order
            * (crystalline_mass + p.amorphous_nucleation_sites * amorphous_mass) ** p.secondary_nucleation_mass_order
        )
        if occupied.any():
            # Agglomeration: every pair of occupied cells, products placed by the fixed-pivot rule. Cells beyond
            # the first 1 - 1e-6 of the crystal mass hold too little to matter; skipping them keeps the O(n²) pair
            # sum small.
            cumulative = np.cumsum(mass * crystals)
            n = np.searchsorted(cumulative, (1.0 - 1e-6) * cumulative[-1]) + 1
            amorphous_share = amorphous_mass / (crystalline_mass + amorphous_mass)
            cementing = g0 / (1.0 + g0 / p.agglomeration_saturation_growth)
            beta = p.agglomeration_k * cementing * (1.0 + p.amorphous_stickiness * amorphous_share)
            d_agglomerates += beta * agglomerate_births(*k.pairs, crystals, n)
            within = crystals.copy()
            within[n:] = 0.0
            loss = beta * (k.efficiency[:n] @ within)
            d_primary[:n] -= loss * primary[:n]
            d_agglomerates[:n] -= loss * agglomerates[:n]
            sink = loss.max()
        # Consolidation: growth fills the necks of an agglomerate, k_c e-folds per e-fold of its size.
        consolidation = p.consolidation_k * g0 * k.growth_at_pivots / k.pivots
    elif sigma < 0.0 and agglomerates.any():
        # De-agglomeration: a bridge is a thin neck, so it dissolves at the speed of a fine (no film resistance
        # of the whole particle); once a bridge thickness ((1 + L/L_b) / k_dag, thicker on larger agglomerates)
        # has gone the agglomerate falls apart.
        breakage = p.deagglomeration_k * dissolution_speed * -sigma * k.bridge_factor

    dt = num.max_step
    if max_speed > 0.0:
        dt = min(dt, num.cfl * width / max_speed)
    if relaxation > 0.0:
        dt = min(dt, num.max_relative_change / relaxation)
    if sink > 0.0:
        dt = min(dt, num.max_sink_fraction / sink)
    return d_primary, d_agglomerates, d_amorphous, dt, sigma, sigma_am, shrink, breakage, consolidation


@njit(cache=True)
def _step(
    k: tuple, primary: np.ndarray, agglomerates: np.ndarray, amorphous: np.ndarray, c: float, T: float, cap: float
) -> tuple:
    """One explicit step of at most `cap` minutes: the new counts, the concentration and the step taken.

    De-agglomeration and consolidation are integrated exactly over the step (first-order decays), so that they
    never limit it; each agglomerate that falls apart releases its single crystals (number and volume kept)."""
    d_primary, d_agglomerates, d_amorphous, dt, sigma, sigma_am, shrink, breakage, consolidation = _rates(
        k, primary, agglomerates, amorphous, c, T
    )
    dt = min(dt, cap)
    mass, p = k.mass, k.p
    solids_before = mass @ (primary + agglomerates + amorphous)
    primary = _negligible_to_zero(primary + dt * d_primary)
    agglomerates = _negligible_to_zero(agglomerates + dt * d_agglomerates)
    amorphous = _negligible_to_zero(amorphous + dt * d_amorphous)
    if shrink > 0.0:
        l_d = p.dissolution_diffusion_size
        primary = dissolve(primary, shrink * dt, k.pivots, k.pivot_volumes, l_d, p.shape_factor)
        agglomerates = dissolve(agglomerates, shrink * dt, k.pivots, k.pivot_volumes, l_d, p.shape_factor)
    if breakage.size:
        broken = agglomerates * -np.expm1(-breakage * dt)
        lo, into_lo, into_hi = k.fragments
        parted = np.flatnonzero(broken)
        primary = primary + place(lo[parted], into_lo[parted], into_hi[parted], broken[parted], len(broken))
        agglomerates = agglomerates - broken
    if consolidation.size:
        compact = agglomerates * -np.expm1(-consolidation * dt)
        primary = primary + compact
        agglomerates = agglomerates - compact
    # A dissolving population with less than one particle per kg of solvent has left the batch: its last particles
    # would otherwise keep the step at the dissolution speed of the finest ones for a long time; the solution takes
    # their mass, so the balance still closes.
    if sigma < 0.0 and primary.sum() + agglomerates.sum() < VANISHED_COUNT:
        primary, agglomerates = np.zeros(len(primary)), np.zeros(len(primary))
    if sigma_am < 0.0 and amorphous.sum() < VANISHED_COUNT:
        amorphous = np.zeros(len(amorphous))
    c -= mass @ (primary + agglomerates + amorphous) - solids_before
    return primary, agglomerates, amorphous, c, dt


@njit(cache=True)
def _march(k: tuple, seeds: np.ndarray, c: float, ramps: np.ndarray, T_first: float) -> tuple:
    """The batch, step by step (module notes): the final counts and concentration, and the trajectory."""
    primary, agglomerates, amorphous = seeds.copy(), np.zeros(len(seeds)), np.zeros(len(seeds))
    t = 0.0
    rows, n_rows = _record(np.empty((1024, 7)), 0, t, T_first, c, k, primary, agglomerates, amorphous)
    for T_start, ramp, duration in ramps:
        elapsed = 0.0
        while duration - elapsed > 1e-9:
            cap = min(duration - elapsed, k.num.max_temperature_step / abs(ramp))
            T = T_start + ramp * elapsed
            primary, agglomerates, amorphous, c, dt = _step(k, primary, agglomerates, amorphous, c, T, cap)
            elapsed += dt
            t += dt
            T = T_start + ramp * elapsed
            rows, n_rows = _record(rows, n_rows, t, T, c, k, primary, agglomerates, amorphous)
    return primary, agglomerates, amorphous, c, rows[:n_rows]


@njit(cache=True)
def _record(
    rows: np.ndarray,
    n_rows: int,
    t: float,
    T: float,
    c: float,
    k: tuple,
    primary: np.ndarray,
    agglomerates: np.ndarray,
    amorphous: np.ndarray,
) -> tuple[np.ndarray, int]:
    """`rows` with the state at time t appended as row `n_rows` (grown when full), and the new row count."""
    if n_rows == len(rows):
        rows = np.concatenate((rows, np.empty_like(rows)))
    c_star = k.p.solubility_a * math.exp(k.p.solubility_b * T)
    crystalline = k.mass @ (primary + agglomerates)
    rows[n_rows] = (t, T, c, c_star, c / c_star - 1.0, crystalline, k.mass @ amorphous)
    return rows, n_rows + 1


def _ramps(profile: ThermocycleProfile) -> np.ndarray:
    """(start T, signed rate °C/min, duration min) of every ramp that takes time, one row each."""
    ramps = [
        (s.start_T, math.copysign(s.rate, s.end_T - s.start_T), s.duration_min)
        for s in profile.segments()
        if s.duration_min > 0
    ]
    return np.array(ramps, float).reshape(-1, 3)


def run_batch(
    ops: Operators, profile: ThermocycleProfile, initial_concentration: float, seed_loading: float
) -> tuple[BatchState, np.ndarray]:
    """March one batch through `profile`; returns the final state and the trajectory, one row per step
    (`TRAJECTORY_COLUMNS`)."""
    seeds = ops.seed_counts(seed_loading * initial_concentration)
    march = _march(ops.kernel, seeds, float(initial_concentration), _ramps(profile), float(profile.temperatures[0]))
    primary, agglomerates, amorphous, c, rows = march
    return BatchState(primary, agglomerates, amorphous, c), rows
