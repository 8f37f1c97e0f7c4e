"""Fit a surrogate model with uncertainty for every CQA: search, select, ensemble, score.

`fit_cqa_models` is the entry point for the app, the command line, the
augmentation step and the optimiser:

    result = fit_cqa_models(doe_data, search="fast", uq="mccv", random_state=0)
    mean, std = result.predictor().predict(X, return_std=True)   # (rows, CQAs) each
    result.metrics_dict()                                         # what metrics.json holds
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import binomtest
from sklearn.pipeline import Pipeline

from core.doe import Schema
from core.models.blend import members_scale
from core.models.datasets import (
    DEFAULT_TEST_FRACTION,
    CQADataset,
    DoELike,
    ModelData,
    as_model_data,
    cqa_dataset,
)
from core.models.domain import ApplicabilityDomain
from core.models.features import FEATURE_SETS, FeatureMap, available_feature_sets
from core.models.metrics import CQAMetrics, FamilyMetrics, coverage, regression_scores
from core.models.scaleout import one_thread_per_fit
from core.models.search import (
    SEARCH_MODES,
    GroupFolds,
    SearchOutcome,
    cv_folds,
    group_folds,
    mean_baseline_mse,
    search_family,
    split_predictions,
)
from core.models.target import TARGET_SCALES, scale_limits, scale_name, split_target
from core.models.uncertainty import CALIBRATIONS, UQ_METHODS, EnsembleRegressor
from core.models.zoo import DEFAULT_FAMILIES, FAMILIES, build_pipeline, family, unavailable
from core.profiles import SolubilityCurve
from core.progress import Progress

VALIDATIONS = ("types", "kfold")
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
    families: tuple[str, ...] = DEFAULT_FAMILIES
    grids: dict[str, dict[str, list]] = field(default_factory=dict)  # per-family grid overrides
    choice: dict[str, str] = field(default_factory=dict)  # CQA -> family chosen by the user
    features: str = "auto"  # raw, descriptors, both, or auto: chosen per family by the selection score
    # "types": select and calibrate with leave-one-profile-type-out CV beside K-fold; "kfold": K-fold only
    validation: str = "types"
    # (T, c*) points of the schema's solubility curve: adds supersaturation descriptors
    solubility: tuple[tuple[float, float], ...] | None = None
    # "auto": a CQA with a finite physical limit (`limits`) is modelled on the scale validation prefers, as
    # measured or on its limits' scale, logit or log (`core.models.target`); "identity": every CQA as measured;
    # "limits": each on its limits' scale
    target_scale: str = "auto"
    # CQA -> [lo, hi], its physical limits as `target.scale_limits` gives them (hi None: a floor only)
    limits: dict[str, list[float | None]] = field(default_factory=dict)
    # with "types" validation: also build the average of the best families (`_fit_average`), used when its selection
    # score is the lowest
    average: bool = True

    def __post_init__(self) -> None:
        if self.target_scale not in TARGET_SCALES:
            raise ValueError(f"unknown target scale {self.target_scale!r}; choose {' or '.join(TARGET_SCALES)}")
        object.__setattr__(self, "limits", {str(k): scale_limits(lim) for k, lim in self.limits.items()})
        if self.validation not in VALIDATIONS:
            raise ValueError(f"unknown validation {self.validation!r}; choose {' or '.join(VALIDATIONS)}")
        object.__setattr__(self, "families", tuple(self.families))
        if self.solubility is not None:
            object.__setattr__(self, "solubility", SolubilityCurve(tuple(map(tuple, self.solubility))).points)
        if self.features not in ("auto", *FEATURE_SETS):
            raise ValueError(f"unknown feature set {self.features!r}; choose auto or one of {', '.join(FEATURE_SETS)}")
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
        derived = [name for name in self.families if not family(name).searched]
        if derived:
            raise ValueError(f"{', '.join(derived)} is built from the searched families, not searched itself")
        if self.folds < 2:
            raise ValueError("cross-validation needs at least 2 folds")
        if self.n_members < 2:
            raise ValueError("an uncertainty ensemble needs at least 2 members")

    def min_train_rows(self) -> int:
        """Fewest training rows for K-fold CV with at least two rows in every validation fold."""
        return 2 * self.folds

    def to_dict(self) -> dict[str, Any]:
        out = {**asdict(self), "families": list(self.families)}
        out["solubility"] = [list(p) for p in self.solubility] if self.solubility else None
        return out

    def curve(self) -> SolubilityCurve | None:
        return SolubilityCurve(self.solubility) if self.solubility else None

    def target_candidates(self, cqa: str) -> list[list[float | None] | None]:
        """The target scales `cqa` is tried on, as `search_family`'s `target_limits` (None: as measured)."""
        limits = self.limits.get(cqa) if self.target_scale != "identity" else None
        if limits is None:
            return [None]
        return [limits] if self.target_scale == "limits" else [None, limits]

    def ensemble(
        self,
        family_name: str,
        params: Mapping[str, Any],
        features: str,
        input_names: Sequence[str],
        n_jobs: int | None = None,
    ) -> EnsembleRegressor:
        """An unfitted uncertainty ensemble of one family with these settings' method, size, calibration and seed."""
        return EnsembleRegressor(
            family=family_name,
            params=dict(params),
            method=self.uq,
            n_members=self.n_members,
            calibration=self.calibration,
            random_state=self.random_state,
            n_jobs=n_jobs,
            features=features,
            input_names=list(input_names),
            solubility=self.solubility,
        )

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
    pipelines: dict[str, Pipeline]  # each family's best configuration refitted on all rows (on its target scale)
    ensemble: EnsembleRegressor  # the chosen family with its uncertainty ensemble
    metrics: CQAMetrics

    @property
    def chosen(self) -> str:
        return self.metrics.best_model

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        return self.ensemble.predict(_matrix(X, list(self.dataset.X_train.columns)), return_std=return_std)

    def std_of_mean(self, X: Any) -> np.ndarray:
        """Calibrated std of each row's mean response (`EnsembleRegressor.std_of_mean`)."""
        return self.ensemble.std_of_mean(_matrix(X, list(self.dataset.X_train.columns)))

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

    def __init__(
        self,
        input_names: Sequence[str],
        ensembles: Mapping[str, EnsembleRegressor],
        domain: ApplicabilityDomain | None = None,
    ) -> None:
        self.input_names = list(input_names)
        self.ensembles = dict(ensembles)
        self.cqa_names = list(self.ensembles)
        self.domain = domain

    @property
    def simulates(self) -> bool:
        """Whether a prediction runs the virtual lab (the grey-box family): every new row costs a simulation."""
        return any(family(e.family).simulates for e in self.ensembles.values())

    def simulates_all(self, names: Iterable[str]) -> bool:
        """Whether every one of these CQAs (names that are not CQAs, e.g. batch time, are ignored) has a model that
        simulates the batch, and there is at least one."""
        used = [self.ensembles[n] for n in names if n in self.ensembles]
        return bool(used) and all(family(e.family).simulates for e in used)

    def domain_scores(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Distance-to-data score of every row and whether it is in the applicability domain."""
        if self.domain is None:
            raise ValueError("this predictor has no applicability domain")
        frame = pd.DataFrame(_matrix(X, self.input_names), columns=self.input_names)
        score = self.domain.score(frame)
        return score, score <= self.domain.threshold

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
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

    def predict_frame(self, X: Any, split: bool = False) -> pd.DataFrame:
        """`<CQA>_mean` and `<CQA>_std` columns (the std of a new run), indexed like X when X is a DataFrame; with
        `split`, also `<CQA>_std_of_mean` and `<CQA>_noise_std`, the two parts that std is made of."""
        mean, std = self.predict(X, return_std=True)
        index = X.index if isinstance(X, pd.DataFrame) else None
        rows = _matrix(X, self.input_names) if split else None
        cols = {}
        for j, name in enumerate(self.cqa_names):
            cols[f"{name}_mean"] = mean[:, j]
            cols[f"{name}_std"] = std[:, j]
            if split:
                cols[f"{name}_std_of_mean"] = self.ensembles[name].std_of_mean(rows)
                cols[f"{name}_noise_std"] = self.ensembles[name].noise_std(rows)
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
    schema: Schema | None = None  # the data's, when it came with one: its design bounds and extra inputs

    def predictor(self) -> CQAPredictor:
        return CQAPredictor(self.input_names, {c: f.ensemble for c, f in self.fits.items()}, self.domain())

    def domain(self) -> ApplicabilityDomain:
        """Applicability domain of every run in the data (in descriptor space when the inputs hold profiles)."""
        space = "descriptors" if "descriptors" in available_feature_sets(self.input_names) else "as_given"
        curve = self.settings.curve() if space == "descriptors" else None
        return ApplicabilityDomain(space=space, solubility=curve).fit(self.data.inputs[self.input_names])

    @property
    def metrics(self) -> dict[str, CQAMetrics]:
        return {c: f.metrics for c, f in self.fits.items()}

    def mean_cautions(self, cqas: Iterable[str] | None = None) -> list[str]:
        """`CQAMetrics.mean_caution` of each of `cqas` (default: every fitted CQA) that has one."""
        metrics = self.metrics
        chosen = metrics if cqas is None else [c for c in cqas if c in metrics]
        return [caution for c in chosen if (caution := metrics[c].mean_caution(c, self.settings.folds))]

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
        metrics = fit.metrics
        new_fit = _finish_cqa(
            fit.dataset, fit.searches, fit.pipelines, metrics.models, settings, n_jobs, metrics.cv_mse_mean
        )
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
    features: str = "auto",
    validation: str = "types",
    solubility: Sequence[Sequence[float]] | None = None,
    target_scale: str = "auto",
    average: bool = True,
    random_state: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Search every family, select the best per CQA, fit its uncertainty ensemble and score it.

    data / holdout: `DoEData`, `ModelData` or a DataFrame in canonical columns.
    cqas: which CQAs (default: all in the data). CQAs with too few measured
    rows are listed in `FitResult.skipped` instead of failing the run.
    grids: per-family grids replacing the paper's (e.g. small ones for quick looks).
    choice: CQA -> family to use instead of the one with the lowest selection score.
    features: "raw", "descriptors", "both", or "auto" to let validation choose per family.
    validation: "types" adds leave-one-profile-type-out CV to selection and calibration; "kfold" does not.
    solubility: (T, c*) points; default: the data's schema's `solubility`, if any.
    average: with "types" validation, also build the average of the best families (`_fit_average`); it is used
    when its selection score is the lowest.
    target_scale: "auto" tries a CQA with a finite schema limit as measured and on its limits' scale (logit for a
    percentage, log for a size) and keeps the one with the lower selection score, per family
    (`core.models.target`); "identity" models every CQA as measured, "limits" every one with a finite limit on its
    limits' scale. Data without a schema use the default one's.
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
        families=tuple(families or DEFAULT_FAMILIES),
        grids={k: {p: list(v) for p, v in g.items()} for k, g in (grids or {}).items()},
        choice=dict(choice or {}),
        features=features,
        validation=validation,
        solubility=_solubility(data, solubility),
        target_scale=target_scale,
        limits=_cqa_limits(data),
        average=average,
    )
    return fit_with_settings(data, settings, cqas, holdout=holdout, n_jobs=n_jobs, progress=progress)


def _solubility(data: DataSource, given: Sequence[Sequence[float]] | None) -> tuple[tuple[float, float], ...] | None:
    if given is not None:
        return tuple((float(t), float(c)) for t, c in given)
    schema = getattr(data, "schema", None)
    return getattr(schema, "solubility", None)


def _cqa_limits(data: DataSource) -> dict[str, list[float | None]]:
    """Physical limits of the CQAs that have a finite lower one, from the data's schema (else the default schema)."""
    schema = getattr(data, "schema", None) or Schema.default()
    out = {}
    for name in schema.cqa_names:
        limits = scale_limits(schema.variable(name).limits)
        if limits is not None:
            out[name] = limits
    return out


def fit_with_settings(
    data: DataSource,
    settings: FitSettings,
    cqas: Sequence[str] | None = None,
    *,
    holdout: DataSource | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> FitResult:
    """Fit a surrogate with uncertainty for each CQA of `data` as `settings` say: the fit behind `fit_cqa_models`,
    taking its options as one `FitSettings`, which is how the app, projects and saved runs repeat a fit.

    Per CQA: a train/test split (the `holdout` rows when given, else a stratified `test_fraction`), every family's
    hyper-parameter search on each candidate feature set, the family with the lowest selection score (or the one
    `settings.choice` names) and its uncertainty ensemble. A CQA with too few measured rows for the folds is
    skipped and `FitResult.skipped` says why. Raises ValueError for an unknown CQA or a hold-out without the
    inputs. `progress` hears (fraction done, message) after each family and CQA.
    """
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
        by_type, fresh = [], None
        if settings.validation == "types":
            by_type = group_folds(ds.types_train.to_numpy())
            # The best of a family's many configurations looks better on the folds that picked it than it is
            # (winner's curse), most for the largest grids: families are compared on folds no search has seen.
            fresh = cv_folds(len(y), settings.folds, settings.random_state + 1)
        feature_sets = _candidate_feature_sets(settings.features, list(ds.X_train.columns))
        maps = {
            f: FeatureMap(list(ds.X_train.columns), f, settings.curve() if f != "raw" else None) for f in feature_sets
        }
        matrices = {f: m.transform(X) for f, m in maps.items()}
        searches, pipelines, family_metrics, predictions = {}, {}, {}, {}
        left_out = {name: unavailable(name, list(ds.X_train.columns), cqa) for name in settings.families}
        if all(left_out.values()):
            skipped[cqa] = "; ".join(dict.fromkeys(left_out.values()))  # type: ignore[arg-type]
            step += len(settings.families) + 1
            report(step / n_steps, f"{cqa}: skipped ({skipped[cqa]})")
            continue
        for name in settings.families:
            if left_out[name]:
                step += 1
                report(step / n_steps, f"{cqa}: {FAMILIES[name].label} left out ({left_out[name]})")
                continue
            searches[name], pipelines[name], family_metrics[name], predictions[name] = _fit_family(
                name, ds, maps, matrices, y, folds, by_type, settings, n_jobs, fresh
            )
            step += 1
            m = family_metrics[name]
            report(
                step / n_steps,
                f"{cqa}: {FAMILIES[name].label} CV MSE {m.cv_mse:.4g} on {m.features}, "
                f"selection score {m.selection_score:.4g} ({searches[name].n_fits} search fits, "
                f"{m.fit_time_s:.1f} s, {settings.search})",
            )
        if settings.average and fresh is not None and sum(not family(n).simulates for n in family_metrics) >= 2:
            searches[AVERAGE], pipelines[AVERAGE], family_metrics[AVERAGE] = _fit_average(
                ds, family_metrics, predictions, maps, matrices, y, fresh, by_type, settings
            )
        baseline = mean_baseline_mse(y, fresh if fresh is not None else folds)  # the folds families are scored on
        fits[cqa] = _finish_cqa(ds, searches, pipelines, family_metrics, settings, n_jobs, baseline)
        step += 1
        m = fits[cqa].metrics
        report(step / n_steps, f"{cqa}: {m.best_model} chosen ({m.selected_by}); {settings.uq} uncertainty fitted")
    return FitResult(
        settings,
        model_data.input_names,
        fits,
        skipped,
        model_data,
        holdout_data,
        time.perf_counter() - start,
        getattr(data, "schema", None),
    )


# K-fold MSE, its sd, MSE per left-out type, selection score, squared errors of the sparser left-out types' rows
Scores = tuple[float, float, dict[str, float], float, list[float]]
# validation predictions (as measured) of each fold's validation rows: ("kfold", fold index) or ("type", type name)
Predictions = dict[tuple[str, Any], np.ndarray]
AVERAGE = "average"


def _fit_family(
    name: str,
    ds: CQADataset,
    maps: Mapping[str, FeatureMap],
    matrices: dict[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    by_type: list[tuple[str, np.ndarray, np.ndarray]],
    settings: FitSettings,
    n_jobs: int | None,
    fresh_folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[SearchOutcome, Pipeline, FamilyMetrics, Predictions]:
    """Search the family's hyper-parameters (on `both` when it is a candidate: it holds every column), score
    the best configuration on each candidate feature set and refit it on the one with the lowest score; also
    returns that configuration's validation predictions."""
    own = _family_feature_sets(name, matrices, settings.features)
    search_on = "both" if "both" in own else next(iter(own))
    grid = settings.grids.get(name)
    if family(name).column_roles and search_on == "both":
        raw, desc = maps["both"].column_roles()
        grid = {**(grid or family(name).grid), "raw_columns": [raw], "descriptor_columns": [desc]}
    if family(name).simulates:
        grid = {**(grid or family(name).grid), "input_names": [list(ds.X_train.columns)], "cqa": [ds.cqa]}
    start = time.perf_counter()
    best: tuple[SearchOutcome, str, Scores, Predictions] | None = None
    n_fits = 0
    # Hyper-parameters such as SVR's C and epsilon mean different things on either scale: each scale is searched.
    for limits in settings.target_candidates(ds.cqa):
        outcome = search_family(
            name,
            own[search_on],
            y,
            folds,
            mode=settings.search,
            grid=grid,
            random_state=settings.random_state,
            n_jobs=n_jobs,
            target_limits=limits,
        )
        n_fits += outcome.n_fits
        scores, predictions = _validate_feature_sets(
            name,
            outcome,
            search_on,
            own,
            y,
            fresh_folds or folds,
            by_type,
            settings.random_state,
            n_jobs,
            reuse_search=fresh_folds is None,
        )
        chosen_set = min(scores, key=lambda f: scores[f][3])
        if best is None or scores[chosen_set][3] < best[2][3]:  # a tie keeps the scale tried first, as measured
            best = (outcome, chosen_set, scores[chosen_set], predictions[chosen_set])
    outcome, chosen_set, chosen_scores, chosen_predictions = best
    outcome = replace(outcome, n_fits=n_fits)
    _, target = split_target(outcome.best_params)
    with one_thread_per_fit():
        pipe = build_pipeline(name, outcome.best_params, settings.random_state).fit(
            matrices[chosen_set], target.forward(y) if target else y
        )
    seconds = time.perf_counter() - start
    metrics = _family_metrics(name, outcome, pipe, maps[chosen_set], ds, seconds, chosen_scores)
    return outcome, pipe, metrics, chosen_predictions


def _candidate_feature_sets(setting: str, input_names: list[str]) -> list[str]:
    available = available_feature_sets(input_names)
    if setting == "auto":
        return list(available)
    if setting not in available:
        raise ValueError(f"the {setting!r} feature set needs the profile columns T1.., C1.., H1..")
    return [setting]


def _family_feature_sets(name: str, matrices: dict[str, np.ndarray], setting: str) -> dict[str, np.ndarray]:
    """The candidate feature sets a family is tried on: its own preference under "auto", else the user's."""
    preferred = family(name).feature_sets
    if setting != "auto" or preferred is None:
        return matrices
    own = {f: Z for f, Z in matrices.items() if f in preferred}
    return own or matrices


def selection_score(cv_mse: float, cv_mse_by_type: Mapping[str, float]) -> float:
    """What selects a family and its feature set: the geometric mean of the K-fold CV MSE and the
    leave-one-profile-type-out MSEs, the K-fold term weighing 1/2 and each left-out type 1/(2·types).

    K-fold CV over a mostly-linear DoE rewards interpolating among linear runs;
    the grouped term rewards carrying knowledge to profile types a model has
    (almost) not seen, which is where the optimiser's designs go. Geometric
    weighting makes a 20 % gain count the same on either side, whatever the
    scale, and keeps one badly predicted type from drowning the rest. Without
    any type to leave out the score is the CV MSE.
    """
    if not cv_mse_by_type:
        return float(cv_mse)
    grouped = np.exp(np.mean(np.log(np.maximum(list(cv_mse_by_type.values()), 1e-300))))
    return float(np.sqrt(max(cv_mse, 1e-300) * grouped))


def _validate_feature_sets(
    name: str,
    outcome: SearchOutcome,
    searched_on: str,
    matrices: Mapping[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    by_type: GroupFolds,
    random_state: int,
    n_jobs: int | None,
    reuse_search: bool = True,
) -> tuple[dict[str, Scores], dict[str, Predictions]]:
    """K-fold and leave-one-type-out MSE of the family's best configuration on every feature set, in one batch,
    and the validation predictions behind them.

    With `reuse_search` the searched feature set keeps the search's CV MSE (the `folds` are the search's, and its
    K-fold predictions are not returned); without, every set is scored on `folds`, which should then be fresh ones
    (see `fit_with_settings`)."""
    rescored = [f for f in matrices if f != searched_on or not reuse_search]
    tasks = [(f, "kfold", i, tr, te) for f in rescored for i, (tr, te) in enumerate(folds)]
    tasks += [(f, "type", g, tr, te) for f in matrices for g, tr, te in by_type]
    results = Parallel(n_jobs=n_jobs)(
        delayed(split_predictions)(name, outcome.best_params, matrices[f], y, tr, te, random_state)
        for f, _, _, tr, te in tasks
    )
    scores, predictions = {}, {}
    for f in matrices:
        predictions[f] = {(kind, key): r for (ff, kind, key, _, _), r in zip(tasks, results, strict=True) if ff == f}
        kfold = None if f in rescored else (outcome.cv_mse, outcome.cv_mse_sd)
        scores[f] = _scores(predictions[f], y, folds, by_type, kfold)
    return scores, predictions


def _scores(
    predictions: Predictions,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    by_type: GroupFolds,
    kfold: tuple[float, float] | None = None,
) -> Scores:
    """K-fold and leave-one-type-out scores from validation predictions (`kfold`: the K-fold MSE and sd, given)."""
    if kfold is None:
        fold_mse = np.array([np.mean((y[te] - predictions[("kfold", i)]) ** 2) for i, (_, te) in enumerate(folds)])
        kfold = (float(fold_mse.mean()), float(fold_mse.std()))
    cv, sd = kfold
    squared = {g: (y[te] - predictions[("type", g)]) ** 2 for g, _, te in by_type}
    per_type = {str(g): float(e.mean()) for g, e in squared.items()}
    # Leaving out the type with the most runs asks the sparse types to predict it: not the extrapolation designs
    # need, and its many rows would outvote the others in `select_family`'s sign test.
    best_covered = max(by_type, key=lambda fold: len(fold[2]))[0] if len(by_type) > 1 else None
    errors = [float(e) for g, sq in squared.items() if g != best_covered for e in sq]
    return cv, sd, per_type, selection_score(cv, per_type), errors


def _fit_average(
    ds: CQADataset,
    family_metrics: Mapping[str, FamilyMetrics],
    predictions: Mapping[str, Predictions],
    maps: Mapping[str, FeatureMap],
    matrices: Mapping[str, np.ndarray],
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    by_type: GroupFolds,
    settings: FitSettings,
) -> tuple[SearchOutcome, Pipeline, FamilyMetrics]:
    """The equal-weight average (`core.models.blend`) of the k families with the lowest selection scores, k from
    2 to all, each as chosen (configuration, feature set, target scale); the k whose averaged validation predictions
    score lowest. Scored on the folds the families were, from their own validation predictions: no extra fit."""
    start = time.perf_counter()
    averaged = [n for n in family_metrics if not family(n).simulates]
    ranked = sorted(averaged, key=lambda n: family_metrics[n].selection_score)
    best: tuple[Scores, list[str]] | None = None
    for k in range(2, len(ranked) + 1):
        members = ranked[:k]
        mean = {key: np.mean([predictions[n][key] for n in members], axis=0) for key in predictions[members[0]]}
        scores = _scores(mean, y, folds, by_type)
        if best is None or scores[3] < best[0][3]:
            best = (scores, members)
    scores, members = best
    feature_set, params = _average_params(members, family_metrics, maps)
    outcome = SearchOutcome(AVERAGE, settings.search, params, scores[0], scores[1], pd.DataFrame(), 0, 0.0)
    with one_thread_per_fit():
        pipe = build_pipeline(AVERAGE, params, settings.random_state).fit(matrices[feature_set], y)
    seconds = time.perf_counter() - start
    return outcome, pipe, _family_metrics(AVERAGE, outcome, pipe, maps[feature_set], ds, seconds, scores)


def _average_params(
    members: Sequence[str], family_metrics: Mapping[str, FamilyMetrics], maps: Mapping[str, FeatureMap]
) -> tuple[str, dict[str, Any]]:
    """The average's feature set (the members' common one, else `both`) and its `members` hyper-parameter."""
    sets = {family_metrics[n].features for n in members}
    feature_set = sets.pop() if len(sets) == 1 else "both"
    columns: dict[str, list[int] | None] = {feature_set: None}
    if feature_set == "both":
        columns["raw"], columns["descriptors"] = maps["both"].column_roles()
    spec = [[n, family_metrics[n].params, columns[family_metrics[n].features]] for n in members]
    return feature_set, {"members": spec}


def _family_metrics(
    name: str,
    outcome: SearchOutcome,
    pipe: Pipeline,
    feature_map: FeatureMap,
    ds: CQADataset,
    seconds: float,
    scores: Scores,
) -> FamilyMetrics:
    cv, sd, per_type, score, errors = scores
    params = outcome.best_params
    _, target = split_target(params)

    def predict(X: pd.DataFrame) -> np.ndarray:
        z = pipe.predict(feature_map.transform(X.to_numpy(float)))
        return target.inverse(z) if target else z

    train = regression_scores(ds.y_train.to_numpy(float), predict(ds.X_train))
    if ds.n_test:
        test = regression_scores(ds.y_test.to_numpy(float), predict(ds.X_test))
    else:
        test = regression_scores(np.empty(0), np.empty(0))
    return FamilyMetrics(
        family=name,
        features=feature_map.feature_set,
        cv_mse_by_type=per_type,
        selection_score=score,
        validation_errors=errors,
        target_scale=members_scale(params["members"]) if name == AVERAGE else scale_name(params),
        params=outcome.best_params,
        cv_mse=cv,
        cv_mse_sd=sd,
        train_r2=train["r2"],
        train_mse=train["mse"],
        train_mae=train["mae"],
        test_r2=test["r2"],
        test_mse=test["mse"],
        test_mae=test["mae"],
        fit_time_s=seconds,
        n_fits=outcome.n_fits,
    )


REFERENCE_FAMILY = "committee"
SWITCH_P = 0.05  # one-sided sign-test level at which a family replaces the reference


def select_family(family_metrics: Mapping[str, FamilyMetrics]) -> str:
    """The family with the lowest selection score (`selection_score`; the first listed among equals), unless the
    committee was fitted too and the best family does not beat it beyond noise. The average of the best families
    (`_fit_average`) competes by its score like any family.

    On a DoE of ~20-30 runs, validation scores are noisy, and picking the lowest of six adds that noise to the
    model: on fresh virtual-lab campaigns (`bench/bench_extrapolation.py`), the scores ranked the families
    hardly better than chance on the profile types the DoE has few runs of, while the committee predicted them
    best or nearly best every time. So the committee stays unless the best family carries knowledge to left-out
    profile types clearly better: paired row by row with the committee's, its errors on the rows of the left-out
    types (all but the type with the most runs, see `_validate_feature_sets`) are smaller on significantly more
    rows than not (one-sided sign test at `SWITCH_P`; a count, so one or two wild rows neither make nor block
    the case, unlike a mean of squared errors). A better K-fold score alone (interpolating among runs of
    well-covered types) does not replace it. Without such rows (K-fold-only validation, or fewer than two types
    with two runs), the lowest score wins.
    """

    def key(name: str) -> float:
        m = family_metrics[name]
        return m.selection_score if m.selection_score is not None else m.cv_mse

    best = min(family_metrics, key=key)
    reference = family_metrics.get(REFERENCE_FAMILY)
    if reference is None or best == REFERENCE_FAMILY:
        return best
    errors, reference_errors = family_metrics[best].validation_errors, reference.validation_errors
    if len(errors) < 2 or len(errors) != len(reference_errors):
        return best
    diff = np.asarray(errors) - np.asarray(reference_errors)
    wins, decided = int(np.sum(diff < 0)), int(np.sum(diff != 0))
    clearly_better = decided > 0 and binomtest(wins, decided, alternative="greater").pvalue < SWITCH_P
    return best if clearly_better else REFERENCE_FAMILY


def _finish_cqa(
    ds: CQADataset,
    searches: dict[str, SearchOutcome],
    pipelines: dict[str, Pipeline],
    family_metrics: dict[str, FamilyMetrics],
    settings: FitSettings,
    n_jobs: int | None,
    cv_mse_mean: float | None,
) -> CQAFit:
    best = select_family(family_metrics)
    chosen = settings.choice.get(ds.cqa, best)
    if chosen not in family_metrics:
        raise ValueError(f"{chosen!r} was chosen for {ds.cqa} but was not fitted; fitted: {', '.join(family_metrics)}")
    params, features = family_metrics[chosen].params, family_metrics[chosen].features
    ensemble = settings.ensemble(chosen, params, features, ds.X_train.columns, n_jobs).fit(
        ds.X_train.to_numpy(float),
        ds.y_train.to_numpy(float),
        groups=ds.types_train.to_numpy() if settings.validation == "types" else None,
    )
    by_type: dict[str, dict[str, float | None]] = {}
    if ds.n_test:
        X_test, y_test = ds.X_test.to_numpy(float), ds.y_test.to_numpy(float)
        mean, std = ensemble.predict(X_test, return_std=True)
        test = regression_scores(y_test, mean)
        test_mse_mean = float(np.mean((y_test - ds.y_train.mean()) ** 2))
        cov1, cov2 = coverage(y_test, mean, std, 1.0), coverage(y_test, mean, std, 2.0)
        types = ds.types_test.to_numpy()
        for t in pd.unique(types):
            k = types == t
            by_type[str(t)] = {
                "n": int(k.sum()),
                "mse": regression_scores(y_test[k], mean[k])["mse"],
                "coverage_1sd": coverage(y_test[k], mean[k], std[k], 1.0),
                "coverage_2sd": coverage(y_test[k], mean[k], std[k], 2.0),
            }
    else:
        test, cov1, cov2, test_mse_mean = regression_scores(np.empty(0), np.empty(0)), None, None, None
    fm = family_metrics[chosen]
    metrics = CQAMetrics(
        best_model=chosen,
        features=fm.features,
        cv_mse_by_type=dict(fm.cv_mse_by_type),
        selection_score=fm.selection_score,
        target_scale=fm.target_scale,
        coverage_by_type=by_type,
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
        calibration_scale_outside=float(ensemble.scale_outside_),
        test_mse_mean=test_mse_mean,
        cv_mse_mean=cv_mse_mean,
        models=family_metrics,
    )
    return CQAFit(ds.cqa, ds, searches, pipelines, ensemble, metrics)
