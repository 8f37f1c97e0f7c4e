"""Other compounds: the virtual lab with its kinetics and solubility perturbed.

Accuracy figures measured against one parameter set say little about a
user's own crystallizer. Benchmarks therefore also draw "other compounds":
every rate constant and both solubility curves moved by a seeded log-normal
factor, so that nothing is tuned to the default parameters.
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from core.virtual_lab.parameters import RATE_CONSTANTS, ModelParameters

# The solubility curves are moved as a whole: a scale on a (the level) and on b (the temperature slope).
SOLUBILITY_CONSTANTS = ("solubility_a", "solubility_b", "amorphous_solubility_a", "amorphous_solubility_b")
# Everything else of the kinetics: orders, activation energies, sizes, seeds; not the units' constants
UNITS_CONSTANTS = ("crystal_density", "shape_factor", "reference_temperature")
STRUCTURE_CONSTANTS = tuple(
    f.name for f in fields(ModelParameters) if f.name not in (*RATE_CONSTANTS, *SOLUBILITY_CONSTANTS, *UNITS_CONSTANTS)
)


def other_compound(
    random_state: int, spread: float = 0.25, base: ModelParameters | None = None, structure_spread: float = 0.0
) -> ModelParameters:
    """A different compound: kinetic constants × lognormal(0, spread), solubility × lognormal(0, spread/3), and
    every other constant of the kinetics (`STRUCTURE_CONSTANTS`: orders, energies, sizes) × lognormal(0,
    structure_spread).

    The solubility moves less because the Table 2 box (24.8-55.2 mg/g, 0-70 °C) must stay a sensible design
    space for the compound. The structure stays by default: a compound that differs beyond its rate constants
    and solubility tests what a calibration of those alone cannot reach.
    """
    base = base or ModelParameters()
    rng = np.random.default_rng(random_state)
    kinetic = {n: getattr(base, n) * rng.lognormal(0.0, spread) for n in RATE_CONSTANTS}
    level, slope = rng.lognormal(0.0, spread / 3.0, 2)
    solubility = {n: getattr(base, n) * (level if n.endswith("_a") else slope) for n in SOLUBILITY_CONSTANTS}
    structure = {}
    if structure_spread > 0:  # drawn after the others, so that the rest of the compound stays as it was
        structure = {n: getattr(base, n) * rng.lognormal(0.0, structure_spread) for n in STRUCTURE_CONSTANTS}
    return replace(base, **kinetic, **solubility, **structure)
