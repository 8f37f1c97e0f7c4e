"""Parameter values of the virtual lab: kinetics, noise levels and numerics.

The values describe a fictitious API with the difficulties of the
"compound A" of Barhate et al. (2025): slow growth, strong agglomeration and an amorphous phase at
high supersaturation. Functional forms and orders of magnitude follow the
literature cited in MODEL.md; the numbers were chosen so that designs across the
Table 2 box, seeded or started above saturation, mostly give D50 ≈ 10-60 µm, DoA ≈ 20-85 % and crystallinity
≈ 50-100 %, and so that the method paper's trends hold in most of the box (`bench/bench_trends.py` measures both).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np
from numba import njit

GAS_CONSTANT = 8.314  # J/(mol K)


@njit(cache=True)
def arrhenius(energy: float, temperature: float, reference_temperature: float) -> float:
    """Rate factor exp(-E/R (1/T - 1/T_ref)) at `temperature` relative to `reference_temperature` (both °C)."""
    return math.exp(-energy / GAS_CONSTANT * (1.0 / (temperature + 273.15) - 1.0 / (reference_temperature + 273.15)))


@dataclass(frozen=True)
class ModelParameters:
    """Physical and kinetic constants. Concentrations in mg solute per g solvent, sizes in µm, times in min.

    σ = c/c* - 1 is the relative supersaturation of the crystals, Δc = c - c*
    the absolute one, σ_am = c/c*_am - 1 that of the amorphous form. Rate
    constants are at the reference temperature and scale with Arrhenius
    factors exp(-E/R (1/T - 1/T_ref)).
    """

    # Solids
    crystal_density: float = 1.3  # g/cm3 (amorphous taken the same)
    shape_factor: float = math.pi / 6  # sizes are volume-equivalent sphere diameters
    # Solubility of the crystals c* = a exp(b T)
    solubility_a: float = 7.5  # mg/g solvent at 0 °C
    solubility_b: float = 0.031  # 1/°C
    # Solubility of the amorphous form c*_am = a_am exp(b_am T). b_am < b: the amorphous solid dissolves with
    # less enthalpy, so its solubility advantage shrinks on heating and it is reached more easily when hot.
    amorphous_solubility_a: float = 10.5  # mg/g solvent at 0 °C: advantage 1.4, shrinking to 1.12 at 70 °C
    amorphous_solubility_b: float = 0.0278  # 1/°C
    # Seeds, added at T1: log-normal volume distribution
    seed_median: float = 20.0  # µm, volume median
    seed_gsd: float = 1.35  # geometric standard deviation
    # Growth G = kg σ^g (1 + γL)^p for σ > 0; p = 1: larger crystals grow faster (diffusion through a thinner
    # film relative to their size), so the mass a heat-up dissolves regrows mostly on the largest crystals
    growth_k: float = 0.35  # µm/min
    growth_order: float = 1.5
    growth_size_gamma: float = 0.05  # 1/µm
    growth_size_power: float = 1.0
    growth_energy: float = 20e3  # J/mol
    # Dissolution G = kd σ / (1 + L/Ld) for σ < 0: surface detachment in series with diffusion through the
    # film around the particle (Sherwood number 2), so fines dissolve first
    dissolution_k: float = 10.0  # µm/min, small-particle limit
    dissolution_diffusion_size: float = 5.0  # µm, Ld: size at which both resistances are equal
    dissolution_energy: float = 20e3  # J/mol
    # Primary (heterogeneous) nucleation of crystals B0 = kp exp(-Bp / ln²S), S = c/c*
    primary_nucleation_k: float = 1e6  # 1/(min g solvent)
    primary_nucleation_b: float = 0.065
    # Secondary nucleation Bs = kb Δc^b (M_c + w M_am)^j: crystals also nucleate on amorphous particles
    secondary_nucleation_k: float = 10.0  # 1/(min g solvent) per (mg/g)^(b+j)
    secondary_nucleation_order: float = 5.0  # steep: faster cooling, higher Δc, many more fines
    secondary_nucleation_mass_order: float = 1.0
    secondary_nucleation_energy: float = 40e3  # J/mol
    amorphous_nucleation_sites: float = 20.0  # w
    # Amorphous phase: nucleation kna σ_am², growth ka σ_am, dissolution kad σ_am (solution-mediated
    # transformation: the amorphous solid dissolves while the crystals grow)
    amorphous_nucleation_k: float = 1.4e7  # 1/(min g solvent)
    amorphous_growth_k: float = 5.0  # µm/min
    amorphous_dissolution_k: float = 0.3  # µm/min: a heat-up below c*_am dissolves the amorphous particles
    amorphous_dissolution_energy: float = 50e3  # J/mol
    # Agglomeration of crystals: β_ij = β0 G(0) (1 + s w_am) E_ij, proportional to growth (cementing bridges)
    # and promoted by the sticky amorphous phase (w_am = amorphous share of the solid mass). Size efficiency
    # E_ij = (L_small/L_large)^q 2x/(1 + x²), x = (L_mean/L_peak)^3: collisions become more frequent with size,
    # a fine on a much bigger crystal is overgrown, and shear parts large crystals before a bridge forms.
    agglomeration_k: float = 3e-6  # g solvent/(particle µm)
    amorphous_stickiness: float = 8.8  # s
    agglomeration_size_ratio_power: float = 3.0  # q
    agglomeration_peak_size: float = 10.0  # µm, L_peak
    # The cementing efficiency saturates: once growth outpaces the shear that parts colliding crystals
    # (G >> G_c), every collision sticks, so β ∝ G G_c/(G + G_c) and faster growth makes fewer collisions per µm
    agglomeration_saturation_growth: float = 0.03  # µm/min, G_c
    # De-agglomeration while undersaturated: bridges dissolve at the speed of a fine, kd σ, and an agglomerate
    # falls apart into its crystals (of `single_crystal_size`, or two halves) after 1/kdag of it: a share
    # 1 - exp(-kdag kd ∫|σ| dt) of the agglomerates breaks in a heat-up, whatever their size
    deagglomeration_k: float = 0.08  # 1/µm
    single_crystal_size: float = 8.0  # µm: agglomerates are mostly clusters of grown nuclei
    # Bridges thicken as an agglomerate grows: the breakage rate falls as 1/(1 + L/L_b), so a deep heat-up
    # parts the young, small agglomerates while the large, cemented ones survive it
    bridge_size: float = 3.0  # µm, L_b
    # Consolidation while growing: the crystal that grows over an agglomerate fills the necks between its
    # crystals until it looks like one compact particle; a share kc G(L)/L of the agglomerates per minute
    # (kc e-folds per e-fold of size), so agglomerates of nuclei that grow far lose their identity, those of
    # grown crystals keep it
    consolidation_k: float = 1.5
    reference_temperature: float = 25.0  # °C

    def solubility(self, temperature: float | np.ndarray) -> float | np.ndarray:
        """Solubility of the crystals, mg/g solvent."""
        return self.solubility_a * np.exp(self.solubility_b * np.asarray(temperature, float))

    def amorphous_solubility(self, temperature: float | np.ndarray) -> float | np.ndarray:
        """Solubility of the amorphous form, mg/g solvent."""
        return self.amorphous_solubility_a * np.exp(self.amorphous_solubility_b * np.asarray(temperature, float))

    def saturation_temperature(self, concentration: float) -> float:
        """Temperature (°C) at which `concentration` is saturated with respect to the crystals."""
        return math.log(concentration / self.solubility_a) / self.solubility_b

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelParameters:
        unknown = sorted(set(values) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown model parameters: {', '.join(unknown)}")
        return cls(**{k: float(v) for k, v in values.items()})


# Rate constants that vary from batch to batch (impurities, mixing, seed quality).
SCATTERED_RATES = (
    "growth_k",
    "primary_nucleation_k",
    "secondary_nucleation_k",
    "amorphous_nucleation_k",
    "amorphous_dissolution_k",
    "agglomeration_k",
    "deagglomeration_k",
)

# Every rate prefactor of the kinetics: what differs most between compounds, and what a calibration may move.
RATE_CONSTANTS = (*SCATTERED_RATES, "dissolution_k")


@dataclass(frozen=True)
class NoiseLevels:
    """Batch-to-batch kinetic scatter and the measurement noise of the three analyses."""

    kinetic_cv: float = 0.08  # log-normal scatter of each rate constant in SCATTERED_RATES
    d50_relative_sd: float = 0.03  # laser diffraction repeatability
    doa_sd: float = 3.0  # percentage points, image analysis
    crystallinity_sd: float = 3.0  # percentage points, PXRD/TGA

    def scatter(self, params: ModelParameters, rng: np.random.Generator) -> ModelParameters:
        """A copy of `params` with every scattered rate constant multiplied by a log-normal factor."""
        factors = rng.lognormal(0.0, self.kinetic_cv, len(SCATTERED_RATES))
        return replace(params, **{n: getattr(params, n) * f for n, f in zip(SCATTERED_RATES, factors, strict=True)})

    def measure(self, cqas: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
        """Noisy analysis results; percentages stay within 0-100."""
        d50 = cqas["D50"] * (1.0 + self.d50_relative_sd * rng.standard_normal())
        doa = cqas["DoA"] + self.doa_sd * rng.standard_normal()
        crystallinity = cqas["crystallinity"] + self.crystallinity_sd * rng.standard_normal()
        return {
            "D50": max(d50, 0.0),
            "DoA": float(np.clip(doa, 0.0, 100.0)),
            "crystallinity": float(np.clip(crystallinity, 0.0, 100.0)),
        }


@dataclass(frozen=True)
class NumericalSettings:
    """Size grid and time-step control."""

    n_cells: int = 300
    max_size: float = 300.0  # µm; the grid is linear from 0
    cfl: float = 0.4  # Courant number limit (the limited scheme stays positive below 0.5)
    max_relative_change: float = 0.2  # of the concentration's relaxation time, per step
    max_sink_fraction: float = 0.4  # of a cell's particles removed by agglomeration per step
    max_temperature_step: float = 0.5  # °C per step
    max_step: float = 5.0  # min
