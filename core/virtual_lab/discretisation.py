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


def koren_limiter(r: np.ndarray) -> np.ndarray:
    """ψ(r) = max(0, min(2r, (1 + 2r)/3, 2))."""
    return np.maximum(0.0, np.minimum(np.minimum(2.0 * r, (1.0 + 2.0 * r) / 3.0), 2.0))


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


def face_values(counts: np.ndarray, growing: bool) -> np.ndarray:
    """Limited upwind reconstruction of the counts at the n+1 cell faces (along the last axis).

    The upwind cell is the smaller one while particles grow and the larger
    one while they dissolve. Face 0 (size zero) carries nothing in during
    growth (nuclei enter as a source) and first-order upwind outflow during
    dissolution; the caller closes the last face with a zero speed.
    """
    padded = np.zeros((*counts.shape[:-1], counts.shape[-1] + 4))
    padded[..., 2:-2] = counts
    if growing:
        upwind, downwind, far = padded[..., 1:-2], padded[..., 2:-1], padded[..., :-3]
    else:
        upwind, downwind, far = padded[..., 2:-1], padded[..., 1:-2], padded[..., 3:]
    ahead = downwind - upwind
    behind = upwind - far
    with np.errstate(over="ignore"):
        r = behind / np.where(ahead == 0.0, 1.0, ahead)
    faces = upwind + 0.5 * koren_limiter(r) * ahead
    if not growing:
        faces[..., 0] = counts[..., 0]
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
        n = len(pivot_volumes)
        lo = np.clip(np.searchsorted(pivot_volumes, volumes, side="right") - 1, 0, n - 2)
        v_lo, v_hi = pivot_volumes[lo], pivot_volumes[lo + 1]
        weight_lo = (v_hi - volumes) / (v_hi - v_lo)
        weight_hi = 1.0 - weight_lo
        below = volumes < pivot_volumes[0]
        weight_lo[below], weight_hi[below] = volumes[below] / pivot_volumes[0], 0.0
        beyond = volumes >= pivot_volumes[-1]
        lo[beyond] = n - 2
        weight_lo[beyond], weight_hi[beyond] = 0.0, volumes[beyond] / pivot_volumes[-1]
        return cls(lo, weight_lo, weight_hi)


@dataclass(frozen=True)
class AgglomerationMap:
    """Every unordered pair of cells (i <= j), ordered so that the pairs among the first n cells come first.

    `weight` is the size efficiency E_ij, halved for i == j so that a pair
    within one cell is counted once; `destination` places the agglomerate
    of volume v_i + v_j.
    """

    smaller: np.ndarray
    larger: np.ndarray
    weight: np.ndarray
    destination: PivotMap

    @classmethod
    def build(cls, pivot_volumes: np.ndarray, efficiency: np.ndarray) -> AgglomerationMap:
        larger, smaller = np.tril_indices(len(pivot_volumes))
        weight = efficiency[smaller, larger] * np.where(smaller == larger, 0.5, 1.0)
        volumes = pivot_volumes[smaller] + pivot_volumes[larger]
        return cls(smaller, larger, weight, PivotMap.for_volumes(volumes, pivot_volumes))

    def births(self, counts: np.ndarray, n_occupied: int) -> np.ndarray:
        """Agglomerates formed per unit time and unit kernel constant, by cell, from the first n_occupied cells."""
        m = n_occupied * (n_occupied + 1) // 2
        rates = self.weight[:m] * counts[self.smaller[:m]] * counts[self.larger[:m]]
        dest = self.destination
        n = len(counts)
        lo = dest.lo[:m]
        return np.bincount(lo, dest.weight_lo[:m] * rates, n) + np.bincount(lo + 1, dest.weight_hi[:m] * rates, n)


def fragmentation_matrix(pivot_volumes: np.ndarray, crystal_volume: float) -> np.ndarray:
    """Where the single crystals go when an agglomerate of each cell falls apart.

    An agglomerate of volume v holds v / `crystal_volume` crystals of that
    volume, or two halves when it is smaller than two crystals. Returns
    [k, i] = single crystals landing in cell k per agglomerate of cell i,
    placed by the fixed-pivot rule (number and volume kept).
    """
    n = len(pivot_volumes)
    halves = pivot_volumes < 2.0 * crystal_volume
    piece = np.where(halves, pivot_volumes / 2.0, crystal_volume)
    pmap = PivotMap.for_volumes(piece, pivot_volumes)
    count = pivot_volumes / piece
    fragments = np.zeros((n, n))
    cols = np.arange(n)
    np.add.at(fragments, (pmap.lo, cols), count * pmap.weight_lo)
    np.add.at(fragments, (pmap.lo + 1, cols), count * pmap.weight_hi)
    return fragments
