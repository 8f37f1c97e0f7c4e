from dataclasses import fields

import numpy as np

from core.profiles import ThermocycleProfile
from core.virtual_lab import ModelParameters, simulate_batch
from core.virtual_lab.compounds import SOLUBILITY_CONSTANTS, STRUCTURE_CONSTANTS, other_compound
from core.virtual_lab.parameters import RATE_CONSTANTS


def test_other_compound_is_seeded_and_moves_only_kinetics_and_solubility():
    base = ModelParameters()
    a, b, c = other_compound(1), other_compound(1), other_compound(2)
    assert a == b
    assert a != c
    moved = set(RATE_CONSTANTS) | set(SOLUBILITY_CONSTANTS)
    for f in fields(base):
        ratio = getattr(a, f.name) / getattr(base, f.name) if getattr(base, f.name) else 1.0
        if f.name in moved:
            assert ratio != 1.0
            assert 0.2 < ratio < 5.0
        else:
            assert ratio == 1.0


def test_other_compound_gives_other_results():
    profile = ThermocycleProfile((50.0, 20.0, 35.0, 5.0), (0.1, 0.1), (0.7,))
    cqas = [simulate_batch(profile, 40.0, 0.1, params=p).cqas() for p in (ModelParameters(), other_compound(3))]
    assert not np.isclose(cqas[0]["D50"], cqas[1]["D50"])


def test_a_compound_of_another_structure_moves_the_other_constants_and_keeps_its_kinetics_and_solubility():
    plain, other = other_compound(4), other_compound(4, structure_spread=0.1)
    for f in fields(ModelParameters):
        if f.name in STRUCTURE_CONSTANTS:
            assert getattr(other, f.name) != getattr(plain, f.name), f.name
        else:
            assert getattr(other, f.name) == getattr(plain, f.name), f.name
    assert not set(STRUCTURE_CONSTANTS) & {*RATE_CONSTANTS, *SOLUBILITY_CONSTANTS}
