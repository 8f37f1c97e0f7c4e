"""Fit a surrogate model with uncertainty for every CQA: search, select, ensemble, score.

`fit_cqa_models` is the entry point for the app, the command line, the
augmentation step and the optimiser:

    result = fit_cqa_models(doe_data, search="fast", uq="mccv", random_state=0)
    mean, std = result.predictor().predict(X, return_std=True)   # (rows, CQAs) each
    result.metrics_dict()                                         # what metrics.json holds
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from core.models.datasets import (
    DEFAULT_TEST_FRACTION,
    CQADataset,
    DoELike,
    ModelData,
    as_model_data,
    cqa_dataset,
)
from core.models.metrics import CQAMetrics, FamilyMetrics, coverage, regression_scores
from core.models.scaleout import one_thread_per_fit
from core.models.search import SEARCH_MODES, SearchOutcome, cv_folds, search_family
from core.models.uncertainty import CALIBRATIONS, UQ_METHODS, EnsembleRegressor
from core.models.zoo import FAMILIES, build_pipeline, family

Progress = Callable[[float, str], None]
DataSource = ModelData | DoELike | pd.DataFrame


@dataclass(frozen=True)
class FitSettings:
    """Everything that, with the data, determines a fit; serialises to JSON."""

    search: str = "fast"
    folds: int = 3
    uq: str = "mccv"
    n_members: int = 25
    calibration: str = "conformal"
    test_fraction: float = DEFAULT_TEST_FRACTION
    random_state: int = 0
    families: tuple[str, ...] = tuple(FAMILIES)
    grids: dict[str, dict[str, list]] = field(default_factory=dict)  # per-family grid overrides
    choice: dict[str, str] = field(default_factory=dict)  # CQA -> family chosen by the user

    def __post_init__(self) -> None:
        object.__setattr__(self, "families", tuple(self.families))
        if self.search not in SEARCH_MODES:
            raise ValueError(f"unknown search mode {self.search!r}; choose {' or '.join(SEARCH_MODES)}")
        if self.uq not in UQ_METHODS:
            raise ValueError(f"unknown uncertainty method {self.uq!r}; choose one of {', '.join(UQ_METHODS)}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"unknown calibration {self.calibration!r}; choose one of {', '.join(CALIBRATIONS)}")
        if not self.families:
            raise ValueError("choose at least one model family")
        for name in [*self.families, *self.grids, *self.choice.values()]:
            family(name)
        if self.folds < 2:
            raise ValueError("cross-validation needs at least 2 folds")
        if self.n_members < 2:
            raise ValueError("an uncertainty ensemble needs at least 2 members")

    def min_train_rows(self) -> int:
        """Fewest training rows for K-fold CV with at least two rows in every validation fold."""
        return 2 * self.folds

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "families": list(self.families)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FitSettings:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown fit setting {', '.join(unknown)}")
        return cls(**d)


@dataclass
class CQAFit:
    """Everything fitted for one CQA."""

    cqa: str
    dataset: CQADataset
    searches: dict[str, SearchOutcome]
    pipelines: dict[str, Pipeline]  # each family's best configuration refitted on all training rows
    ensemble: EnsembleRegressor  # the chosen family with its uncertainty ensemble
    metrics: CQAMetrics

    @property
    def chosen(self) -> str:
        return self.metrics.best_model

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        return self.ensemble.predict(_matrix(X, list(self.dataset.X_train.columns)), return_std=return_std)

    def prediction_table(self) -> pd.DataFrame:
        """One row per training and hold-out experiment: measured, predicted, std (for the plots)."""
        parts = []
        ds = self.dataset
        for split, X, y, types in (
            ("train", ds.X_train, ds.y_train, ds.types_train),
            ("test", ds.X_test, ds.y_test, ds.types_test),
        ):
            if len(y) == 0:
                continue
            mean, std = self.ensemble.predict(X.to_numpy(float), return_std=True)
            parts.append(
                pd.DataFrame(
                    {
                        "row": X.index.to_numpy(),
                        "split": split,
                        "measured": y.to_numpy(float),
                        "predicted": mean,
                        "std": std,
                        "profile_type": types.to_numpy(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)


def _matrix(X: Any, input_names: Sequence[str]) -> np.ndarray:
    """Rows as a float matrix in model input order; a DataFrame is matched by column name."""
    if isinstance(X, pd.DataFrame):
        missing = [c for c in input_names if c not in X.columns]
        if missing:
            raise ValueError(f"the rows have no column {', '.join(missing)}")
        return X[list(input_names)].to_numpy(float)
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.shape[1] != len(input_names):
        raise ValueError(f"expected {len(input_names)} inputs per row ({', '.join(input_names)}), got {X.shape[1]}")
    return X


class CQAPredictor:
    """Mean and standard deviation of every CQA for many rows in one call.

    `predict(X, return_std=True)` returns two (rows, CQAs) arrays with columns
    in `cqa_names` order; X is a DataFrame with the input columns or a matrix
    in `input_names` order.
    """

    def __init__(self, input_names: Sequence[str], ensembles: Mapping[str, EnsembleRegressor]) -> None:
        self.input_names = list(input_names)
        self.ensembles = dict(ensembles)
        self.cqa_names = list(self.ensembles)

    def predict(self, X: Any, return_std: bool = True) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        X = _matrix(X, self.input_names)
        means, stds = [], []
        for name in self.cqa_names:
            if return_std:
                m, s = self.ensembles[name].predict(X, return_std=True)
                stds.append(s)
            else:
                m = self.ensembles[name].predict(X)
            means.append(m)
        mean = np.column_stack(means) if means else np.empty((len(X), 0))
        if not return_std:
            return mean
        return mean, (np.column_stack(stds) if stds else np.empty((len(X), 0)))

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """`<CQA>_mean` and `<CQA>_std` columns, indexed like X when X is a DataFrame."""
        mean, std = self.predict(X, return_std=True)
        index = X.index if isinstance(X, pd.DataFrame) else None
        cols = {}
        for j, name in enumerate(self.cqa_names):
            cols[f"{name}_mean"] = mean[:, j]
            cols[f"{name}_std"] = std[:, j]
        return pd.DataFrame(cols, index=index)


@dataclass
class FitResult:
    settings: FitSettings
    input_names: list[str]
    fits: dict[str, CQAFit]
    skipped: dict[str, str]  # CQA -> why it was not modelled
    data: ModelData
    holdout: ModelData | None = None
    seconds: float = 0.0

    def predictor(self) -> CQAPredictor:
        return CQAPredictor(self.input_names, {c: f.ensemble for c, f in self.fits.items()})

    def metrics(self) -> dict[str, CQAMetrics]:
        return {c: f.metrics for c, f in self.fits.items()}

    def metrics_dict(self) -> dict[str, Any]:
        return {c: f.metrics.to_dict() for c, f in self.fits.items()}

    def metrics_table(self) -> pd.DataFrame:
        """One row per CQA and family: CV MSE ± sd, train/test R², MSE, MAE and fit time."""
        rows = []
        for cqa, f in self.fits.items():
            for name, m in f.metrics.models.items():
                row = {k: v for k, v in m.to_dict().items() if k != "params"}
                rows.append({"cqa": cqa, **row, "chosen": name == f.chosen})
        return pd.DataFrame(rows)

    def with_choice(self, cqa: str, family_name: str, n_jobs: int | None = None) -> FitResult:
        """The same result with `family_name` used for `cqa` (its ensemble refitted, nothing re-searched)."""
        if cqa not in self.fits:
            raise ValueError(f"no model was fitted for {cqa!r}")
        fit = self.fits[cqa]
        if family_name not in fit.metrics.models:
            raise ValueError(f"{family_name!r} was not fitted for {cqa}; fitted: {', '.join(fit.metrics.models)}")
        settings = replace(self.settings, choice={**self.settings.choice, cqa: family_name})
        new_fit = _finish_cqa(fit.dataset, fit.searches, fit.pipelines, fit.metrics.models, settings, n_jobs)
        return replace(self, settings=settings, fits={**self.fits, cqa: new_fit})


def fit_cqa_models(
    data: DataSource,
    cqas: Sequence[str] | None = None,
    *,
    holdout: DataSource | None = None,
    search: str = "fast",
    folds: int = 3,
    uq: str = "mccv",
    n_members: int = 25,
    calibration: str = "conformal",
    test_fraction: float = DEFAULT_TEST_FRACTION,
    families: Sequence[str] | None = None,
    grids: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
    choice: Mapping[str, str] | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Search every family, select the best per CQA, fit its uncertainty ensemble and score it.

    data / holdout: `DoEData`, `ModelData` or a DataFrame in canonical columns.
    cqas: which CQAs (default: all in the data). CQAs with too few measured
    rows are listed in `FitResult.skipped` instead of failing the run.
    grids: per-family grids replacing the paper's (e.g. small ones for quick looks).
    choice: CQA -> family to use instead of the lowest-CV-MSE one.
    n_jobs: parallel fits; None follows `joblib.parallel_config` (see `scaleout`).
    progress: called with (fraction done, message) after every family search.
    """
    settings = FitSettings(
        search=search,
        folds=folds,
        uq=uq,
        n_members=n_members,
        calibration=calibration,
        test_fraction=test_fraction,
        random_state=random_state,
        families=tuple(families or FAMILIES),
        grids={k: {p: list(v) for p, v in g.items()} for k, g in (grids or {}).items()},
        choice=dict(choice or {}),
    )
    return fit_with_settings(data, settings, cqas, holdout=holdout, n_jobs=n_jobs, progress=progress)


def fit_with_settings(
    data: DataSource,
    settings: FitSettings,
    cqas: Sequence[str] | None = None,
    *,
    holdout: DataSource | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> FitResult:
    start = time.perf_counter()
    model_data = as_model_data(data)
    holdout_data = as_model_data(holdout) if holdout is not None else None
    if holdout_data is not None:
        missing = [c for c in model_data.input_names if c not in holdout_data.input_names]
        if missing:
            raise ValueError(f"the hold-out data has no column {', '.join(missing)}")
    cqas = list(cqas or model_data.cqa_names)
    unknown = [c for c in cqas if c not in model_data.cqa_names]
    if unknown:
        raise ValueError(f"the data has no CQA {', '.join(unknown)}")
    report = progress or (lambda fraction, message: None)
    fits: dict[str, CQAFit] = {}
    skipped: dict[str, str] = {}
    n_steps = len(cqas) * (len(settings.families) + 1)
    step = 0
    for cqa in cqas:
        ds = cqa_dataset(
            model_data, cqa, holdout_data, settings.test_fraction, settings.random_state, settings.min_train_rows()
        )
        if ds.n_train < settings.min_train_rows():
            skipped[cqa] = (
                f"{ds.n_train} measured rows; {settings.folds}-fold cross-validation needs at least "
                f"{settings.min_train_rows()}"
            )
            step += len(settings.families) + 1
            report(step / n_steps, f"{cqa}: skipped ({skipped[cqa]})")
            continue
        X, y = ds.X_train.to_numpy(float), ds.y_train.to_numpy(float)
        folds = cv_folds(len(y), settings.folds, settings.random_state)
        searches, pipelines, family_metrics = {}, {}, {}
        for name in settings.families:
            outcome = search_family(
                name,
                X,
                y,
                folds,
                mode=settings.search,
                grid=settings.grids.get(name),
                random_state=settings.random_state,
                n_jobs=n_jobs,
            )
            refit_start = time.perf_counter()
            with one_thread_per_fit():
                pipe = build_pipeline(name, outcome.best_params, settings.random_state).fit(X, y)
            refit_seconds = time.perf_counter() - refit_start
            searches[name], pipelines[name] = outcome, pipe
            family_metrics[name] = _family_metrics(name, outcome, pipe, ds, outcome.seconds + refit_seconds)
            step += 1
            report(
                step / n_steps,
                f"{cqa}: {FAMILIES[name].label} CV MSE {outcome.cv_mse:.4g} "
                f"({outcome.n_fits} fits, {outcome.seconds:.1f} s, {settings.search})",
            )
        fits[cqa] = _finish_cqa(ds, searches, pipelines, family_metrics, settings, n_jobs)
        step += 1
        m = fits[cqa].metrics
        report(step / n_steps, f"{cqa}: {m.best_model} chosen ({m.selected_by}); {settings.uq} uncertainty fitted")
    return FitResult(
        settings, model_data.input_names, fits, skipped, model_data, holdout_data, time.perf_counter() - start
    )


def _family_metrics(name: str, outcome: SearchOutcome, pipe: Pipeline, ds: CQADataset, seconds: float) -> FamilyMetrics:
    train = regression_scores(ds.y_train.to_numpy(float), pipe.predict(ds.X_train.to_numpy(float)))
    if ds.n_test:
        test = regression_scores(ds.y_test.to_numpy(float), pipe.predict(ds.X_test.to_numpy(float)))
    else:
        test = regression_scores(np.empty(0), np.empty(0))
    return FamilyMetrics(
        family=name,
        params=outcome.best_params,
        cv_mse=outcome.cv_mse,
        cv_mse_sd=outcome.cv_mse_sd,
        train_r2=train["r2"],
        train_mse=train["mse"],
        train_mae=train["mae"],
        test_r2=test["r2"],
        test_mse=test["mse"],
        test_mae=test["mae"],
        fit_time_s=seconds,
        n_fits=outcome.n_fits,
    )


def select_family(family_metrics: Mapping[str, FamilyMetrics]) -> str:
    """The family with the lowest mean CV MSE (the first listed among equals)."""
    return min(family_metrics, key=lambda name: family_metrics[name].cv_mse)


def _finish_cqa(
    ds: CQADataset,
    searches: dict[str, SearchOutcome],
    pipelines: dict[str, Pipeline],
    family_metrics: dict[str, FamilyMetrics],
    settings: FitSettings,
    n_jobs: int | None,
) -> CQAFit:
    best = select_family(family_metrics)
    chosen = settings.choice.get(ds.cqa, best)
    if chosen not in family_metrics:
        raise ValueError(f"{chosen!r} was chosen for {ds.cqa} but was not fitted; fitted: {', '.join(family_metrics)}")
    ensemble = EnsembleRegressor(
        family=chosen,
        params=family_metrics[chosen].params,
        method=settings.uq,
        n_members=settings.n_members,
        calibration=settings.calibration,
        random_state=settings.random_state,
        n_jobs=n_jobs,
    ).fit(ds.X_train.to_numpy(float), ds.y_train.to_numpy(float))
    if ds.n_test:
        X_test, y_test = ds.X_test.to_numpy(float), ds.y_test.to_numpy(float)
        mean, std = ensemble.predict(X_test, return_std=True)
        test = regression_scores(y_test, mean)
        cov1, cov2 = coverage(y_test, mean, std, 1.0), coverage(y_test, mean, std, 2.0)
    else:
        test, cov1, cov2 = regression_scores(np.empty(0), np.empty(0)), None, None
    fm = family_metrics[chosen]
    metrics = CQAMetrics(
        best_model=chosen,
        selected_by="cv" if chosen == best else "user",
        cv_mse=fm.cv_mse,
        cv_mse_sd=fm.cv_mse_sd,
        test_r2=test["r2"],
        test_mse=test["mse"],
        test_mae=test["mae"],
        coverage_1sd=cov1,
        coverage_2sd=cov2,
        n_train=ds.n_train,
        n_test=ds.n_test,
        uq=settings.uq,
        calibration=settings.calibration,
        calibration_scale=float(ensemble.scale_),
        models=family_metrics,
    )
    return CQAFit(ds.cqa, ds, searches, pipelines, ensemble, metrics)
