"""Surrogate models of every CQA: model zoo, hyper-parameter search, ensemble uncertainty.

Typical use::

    from core.models import fit_cqa_models, save_run, load_run

    result = fit_cqa_models(doe_data, search="fast", uq="mccv", random_state=0)
    mean, std = result.predictor().predict(X, return_std=True)  # (rows, CQAs) each
    save_run(result, "runs/first")        # JSON + CSV only
    same = load_run("runs/first")         # re-fitted deterministically

The family pipelines (`build_pipeline`) accept `model__sample_weight` in fit.
"""

from core.models.datasets import CQADataset, ModelData, cqa_dataset, stratified_holdout
from core.models.domain import ApplicabilityDomain
from core.models.fitting import (
    CQAFit,
    CQAPredictor,
    FitResult,
    FitSettings,
    fit_cqa_models,
    fit_with_settings,
    select_family,
)
from core.models.inspection import partial_dependence_table, permutation_importance_table
from core.models.metrics import CQAMetrics, FamilyMetrics, coverage, regression_scores
from core.models.persistence import RunFormatError, load_run, result_from_files, run_files, save_run
from core.models.scaleout import DASK_ENV, compute_backend, scheduler_address
from core.models.search import SEARCH_MODES, SearchOutcome, cv_folds, search_family
from core.models.uncertainty import CALIBRATIONS, UQ_METHODS, EnsembleRegressor, conformal_quantile
from core.models.zoo import FAMILIES, SEARCHED_FAMILIES, ModelFamily, build_pipeline, family

__all__ = [
    "CALIBRATIONS",
    "DASK_ENV",
    "FAMILIES",
    "SEARCHED_FAMILIES",
    "SEARCH_MODES",
    "UQ_METHODS",
    "ApplicabilityDomain",
    "CQADataset",
    "CQAFit",
    "CQAMetrics",
    "CQAPredictor",
    "EnsembleRegressor",
    "FamilyMetrics",
    "FitResult",
    "FitSettings",
    "ModelData",
    "ModelFamily",
    "RunFormatError",
    "SearchOutcome",
    "build_pipeline",
    "compute_backend",
    "conformal_quantile",
    "coverage",
    "cqa_dataset",
    "cv_folds",
    "family",
    "fit_cqa_models",
    "fit_with_settings",
    "load_run",
    "partial_dependence_table",
    "permutation_importance_table",
    "regression_scores",
    "result_from_files",
    "run_files",
    "save_run",
    "scheduler_address",
    "search_family",
    "select_family",
    "stratified_holdout",
]
