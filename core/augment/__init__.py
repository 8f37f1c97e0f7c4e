"""Surrogate DoE data and weighted ERM (Barhate et al., 2025, Eq. 1): SDV generators and the virtual lab, the α/m/source
study, persistence.

    from core.augment import AugmentSettings, augment_fit, save_augment, load_predictor

    result = augment_fit(fit_result, ["D50"], AugmentSettings(random_state=0))
    predictor = result.predictor(fit_result)   # same interface as CQAPredictor
    save_augment(result, "runs/first")         # augment.json, augment_settings.json, synthetic_<CQA>.csv
    fit, predictor = load_predictor("runs/first")

Every surrogate row is a feasible thermocycle profile by construction (see
`encoding` and `simulated`); sources are fitted inside each training fold only.
"""

from core.augment.encoding import ProfileEncoding
from core.augment.generators import GENERATORS, SyntheticGenerator, tune_generator
from core.augment.persistence import load_augment, load_predictor, save_augment
from core.augment.quality import quality_score
from core.augment.result import AugmentResult, CQAAugment, augment_fit
from core.augment.simulated import VirtualLabSource
from core.augment.sources import SOURCES, make_source
from core.augment.study import (
    AugmentSettings,
    StudyOutcome,
    paired_gain,
    repeated_folds,
    run_study,
    select_configuration,
)
from core.augment.theory import learning_curve, scaling_law_error, theoretical_alpha
from core.augment.weights import erm_weights, fit_weighted
from core.virtual_lab.transfer import SimulationCache

__all__ = [
    "GENERATORS",
    "SOURCES",
    "AugmentResult",
    "AugmentSettings",
    "CQAAugment",
    "ProfileEncoding",
    "SimulationCache",
    "StudyOutcome",
    "SyntheticGenerator",
    "VirtualLabSource",
    "augment_fit",
    "erm_weights",
    "fit_weighted",
    "learning_curve",
    "load_augment",
    "load_predictor",
    "make_source",
    "paired_gain",
    "quality_score",
    "repeated_folds",
    "run_study",
    "save_augment",
    "scaling_law_error",
    "select_configuration",
    "theoretical_alpha",
    "tune_generator",
]
