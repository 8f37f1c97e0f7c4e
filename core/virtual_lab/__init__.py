"""Virtual lab: a mechanistic population-balance stand-in for the crystallization laboratory.

See MODEL.md in this package for the equations, parameter values and sources.
"""

from core.virtual_lab.parameters import ModelParameters, NoiseLevels, NumericalSettings
from core.virtual_lab.simulator import (
    CQA_NAMES,
    BatchResult,
    check_batch_inputs,
    row_to_batch,
    simulate_batch,
    simulate_rows,
)

__all__ = [
    "CQA_NAMES",
    "BatchResult",
    "ModelParameters",
    "NoiseLevels",
    "NumericalSettings",
    "check_batch_inputs",
    "row_to_batch",
    "simulate_batch",
    "simulate_rows",
]
