"""Finite-volume discretisation of the size axis.

Particles are counted per cell (number per g solvent). Growth (and the
dissolution of amorphous particles) moves them between cells through face
fluxes reconstructed with the Koren flux limiter, which is second/third order
where the distribution is smooth and falls back to first-order upwind at
fronts, so the distribution never oscillates or turns negative (for Courant
numbers below 0.5). Agglomeration, breakage and the dissolution of crystals
along their characteristics place particles with the fixed-pivot technique,
which keeps both number and volume (hence mass) exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@njit(cache=True)
def koren_limiter(r: float) -> float:
    """ψ(r) = max(0, min(2r, (1 + 2r)/3, 2))."""
    return max(0.0, min(min(2.0 * r, (1.0 + 2.0 * r) / 3.0), 2.0))


@dataclass(frozen=True)
class SizeGrid:
    """Linear grid from 0 to `max_size` µm; pivots are the cell centres."""

    edges: np.ndarray
    pivots: np.ndarray
    width: float

    @classmethod
    def linear(cls, n_cells: int, max_size: float) -> SizeGrid:
        if n_cells < 10 or max_size <= 0:
            raise ValueError("the size grid needs at least 10 cells and a positive maximum size")
        edges = np.linspace(0.0, max_size, n_cells + 1)
        return cls(edges, 0.5 * (edges[:-1] + edges[1:]), float(edges[1] - edges[0]))

    @property
    def n_cells(self) -> int:
        return len(self.pivots)


@njit(cache=True)
def face_values(counts: np.ndarray, growing: bool) -> np.ndarray:
    """Limited upwind reconstruction of the counts at the n+1 cell faces.

    The upwind cell is the smaller one while particles grow and the larger
    one while they dissolve. Face 0 (size zero) carries nothing in during
    growth (nuclei enter as a source) and first-order upwind outflow during
    dissolution; the caller closes the last face with a zero speed.
    """
    n = len(counts)
    padded = np.zeros(n + 4)
    padded[2:-2] = counts
    faces = np.empty(n + 1)
    for f in range(n + 1):
        if growing:  # face f lies between cells f - 1 (upwind) and f
            upwind, downwind, far = padded[f + 1], padded[f + 2], padded[f]
        else:
            upwind, downwind, far = padded[f + 2], padded[f + 1], padded[f + 3]
        ahead = downwind - upwind
        r = (upwind - far) / (ahead if ahead != 0.0 else 1.0)
        faces[f] = upwind + 0.5 * koren_limiter(r) * ahead
    if not growing:
        faces[0] = counts[0]
    return faces


@dataclass(frozen=True)
class PivotMap:
    """Where a new particle of a given volume goes: `weight_lo` to cell `lo`, `weight_hi` to `lo + 1`.

    Weights keep number and volume; a particle beyond the last pivot goes to
    the last cell with a weight that keeps its volume.
    """

    lo: np.ndarray
    weight_lo: np.ndarray
    weight_hi: np.ndarray

    @classmethod
    def for_volumes(cls, volumes: np.ndarray, pivot_volumes: np.ndarray) -> PivotMap:
        return cls(*pivot_weights(np.asarray(volumes, float), pivot_volumes))


@njit(cache=True)
def pivot_weights(volumes: np.ndarray, pivot_volumes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`PivotMap`'s (lo, weight_lo, weight_hi) for each volume."""
    n = len(pivot_volumes)
    lo = np.empty(len(volumes), np.int64)
    weight_lo, weight_hi = np.empty(len(volumes)), np.empty(len(volumes))
    for k, v in enumerate(volumes):
        if v < pivot_volumes[0]:
            lo[k], weight_lo[k], weight_hi[k] = 0, v / pivot_volumes[0], 0.0
        elif v >= pivot_volumes[-1]:
            lo[k], weight_lo[k], weight_hi[k] = n - 2, 0.0, v / pivot_volumes[-1]
        else:
            i = min(np.searchsorted(pivot_volumes, v, side="right") - 1, n - 2)
            v_lo, v_hi = pivot_volumes[i], pivot_volumes[i + 1]
            lo[k], weight_lo[k] = i, (v_hi - v) / (v_hi - v_lo)
            weight_hi[k] = 1.0 - weight_lo[k]
    return lo, weight_lo, weight_hi


@njit(cache=True)
def place(lo: np.ndarray, weight_lo: np.ndarray, weight_hi: np.ndarray, amounts: np.ndarray, n: int) -> np.ndarray:
    """Particles per cell of an n-cell grid: each amount split between cells lo and lo + 1 by a `PivotMap`'s weights."""
    into_lo, into_hi = np.zeros(n), np.zeros(n)
    for k in range(len(amounts)):
        into_lo[lo[k]] += weight_lo[k] * amounts[k]
        into_hi[lo[k] + 1] += weight_hi[k] * amounts[k]
    return into_lo + into_hi


@dataclass(frozen=True)
class AgglomerationMap:
    """Every unordered pair of cells (i <= j), pair (i, j) at index j(j+1)/2 + i, so that the pairs among the first
    n cells come first.

    `weight` is the size efficiency E_ij, halved for i == j so that a pair
    within one cell is counted once; `destination` places the agglomerate
    of volume v_i + v_j (`lo` as 32-bit integers: the births read these arrays whole at every step).
    """

    weight: np.ndarray
    destination: PivotMap

    @classmethod
    def build(cls, pivot_volumes: np.ndarray, efficiency: np.ndarray) -> AgglomerationMap:
        larger, smaller = np.tril_indices(len(pivot_volumes))
        weight = efficiency[smaller, larger] * np.where(smaller == larger, 0.5, 1.0)
        to = PivotMap.for_volumes(pivot_volumes[smaller] + pivot_volumes[larger], pivot_volumes)
        return cls(weight, PivotMap(to.lo.astype(np.int32), to.weight_lo, to.weight_hi))

    def births(self, counts: np.ndarray, n_occupied: int) -> np.ndarray:
        """Agglomerates formed per unit time and unit kernel constant, by cell, from the first n_occupied cells."""
        to = self.destination
        return agglomerate_births(self.weight, to.lo, to.weight_lo, to.weight_hi, counts, n_occupied)


@njit(cache=True)
def agglomerate_births(
    weight: np.ndarray,
    lo: np.ndarray,
    weight_lo: np.ndarray,
    weight_hi: np.ndarray,
    counts: np.ndarray,
    n_occupied: int,
) -> np.ndarray:
    """`AgglomerationMap.births` on the map's arrays.

    For a given j the agglomerates of the pairs (i, j) grow with i, so runs of consecutive pairs share a destination
    cell: their births are summed before they are added to it, which keeps the loop from waiting on the same memory
    cell over and over."""
    into_lo, into_hi = np.zeros(len(counts)), np.zeros(len(counts))
    for j in range(n_occupied):
        first = j * (j + 1) // 2
        cell, to_lo, to_hi = lo[first], 0.0, 0.0
        for i in range(j + 1):
            k = first + i
            if lo[k] != cell:
                into_lo[cell] += to_lo
                into_hi[cell + 1] += to_hi
                cell, to_lo, to_hi = lo[k], 0.0, 0.0
            rate = weight[k] * counts[i] * counts[j]
            to_lo += weight_lo[k] * rate
            to_hi += weight_hi[k] * rate
        into_lo[cell] += to_lo
        into_hi[cell + 1] += to_hi
    return into_lo + into_hi


def fragmentation_map(pivot_volumes: np.ndarray, crystal_volume: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the single crystals go when an agglomerate of each cell falls apart.

    An agglomerate of volume v holds v / `crystal_volume` crystals of that
    volume, or two halves when it is smaller than two crystals. Returns, per
    cell i of the agglomerate, (lo, into_lo, into_hi): single crystals landing
    in cells lo and lo + 1 per agglomerate, placed by the fixed-pivot rule
    (number and volume kept).
    """
    halves = pivot_volumes < 2.0 * crystal_volume
    piece = np.where(halves, pivot_volumes / 2.0, crystal_volume)
    pmap = PivotMap.for_volumes(piece, pivot_volumes)
    count = pivot_volumes / piece
    return pmap.lo, count * pmap.weight_lo, count * pmap.weight_hi
