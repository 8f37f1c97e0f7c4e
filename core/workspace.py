"""The crystallization workflow as one object: data → models → augmentation → design → basket → experiment rounds.

Each transition is a method and says what happens to the results that depend on it:

- loading a new data set (`load_data`, `open_project`) clears every result made from the old one, and so does
  giving the data a solubility curve (`set_solubility`), which changes what the models see;
- appending runs (`append_runs`) or refitting (`set_fit`, `choose_model`) keeps the design and its
  ground-truth check visible, but `design_is_stale` then says they were made with other models, so a
  screen labels them and never uses them silently;
- an augmentation applies only to the fit it was made for (`augmentation`);
- running a design (`set_design`) clears the selection and the ground-truth check of the old one.

The state lives in a mutable mapping (a plain dict by default; the app passes its session state), under
the keys below, so the workspace adds no second copy of anything and a saved project is rebuilt from it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from core.augment.persistence import augment_files, augment_from_files
from core.augment.result import AugmentResult, CQAAugment
from core.doe import DoEData, LoadResult, ValidationReport
from core.models.datasets import ModelData
from core.models.fitting import CQAPredictor, FitResult, FitSettings, fit_with_settings
from core.models.persistence import RunFormatError
from core.models.uncertainty import EnsembleRegressor
from core.optimize.run import DesignResult
from core.optimize.spec import DesignSpec
from core.plan.loop import RoundSummary, summarise_round
from core.plan.propose import Plan, PlanSpec, default_prior, plan_experiments
from core.profiles import SolubilityCurve
from core.progress import Progress
from core.project import MODEL_PREFIX, Project, model_files, saved_models

DOE = "doe"  # DoEData of the project
DOE_NAME = "doe_name"  # where the data came from
DOE_REPORT = "doe_report"  # ValidationReport of the loaded data
DOE_SOURCE = "doe_source"  # identity of the upload + sheet + schema the data came from
FIT = "fit"  # FitResult of the current data
AUGMENT = "augment"  # AppliedAugmentation chosen on the Synthetic screen
DESIGN = "design"  # DesignResult
DESIGN_MODELS = "design_models"  # (fit, augmentation) the current design was made with
SELECTED_POINTS = "selected_point_ids"  # ids picked on the Pareto chart (set by a click or by tests)
BASKET = "basket"  # DataFrame of Pareto points the engineer chose to export
GROUND_TRUTH = "ground_truth"  # the design's points simulated by the virtual lab
PLAN = "plan"  # the proposed next batch (Plan)
PLAN_HISTORY = "plan_history"  # RoundSummary per experiment round
PLAN_REFERENCE = "plan_reference"  # hypervolume reference point, fixed at the first round

RESULTS = (
    FIT,
    AUGMENT,
    DESIGN,
    DESIGN_MODELS,
    SELECTED_POINTS,
    BASKET,
    GROUND_TRUTH,
    PLAN,
    PLAN_HISTORY,
    PLAN_REFERENCE,
)

CLEARED_LABELS = {FIT: "models", DESIGN: "design", BASKET: "basket", PLAN_HISTORY: "experiment rounds"}


def _holds(value: Any) -> bool:
    return value is not None and not (isinstance(value, (pd.DataFrame, list)) and len(value) == 0)


class AppendError(ValueError):
    """Rows that cannot be appended to the data; nothing was changed."""


@dataclass(frozen=True)
class AppliedAugmentation:
    """An augmentation applied to the models of one fit; it no longer applies once the models are refitted."""

    fit: FitResult
    result: AugmentResult


def fit_key(fit: FitResult) -> str:
    """A content key of fitted models: their settings, training rows and hold-out rows."""
    holdout = fit.holdout.to_frame().to_csv(index=False) if fit.holdout is not None else ""
    text = json.dumps(fit.settings.to_dict(), sort_keys=True) + fit.data.to_frame().to_csv(index=False) + holdout
    return hashlib.sha256(text.encode()).hexdigest()


def training_key(data: DoEData, settings: FitSettings, cqas: list[str], holdout: DoEData | None = None) -> str:
    """A content key of a fit about to be made: the data, the hold-out rows, the settings and the CQAs."""
    content = data.to_csv_bytes() + (holdout.to_csv_bytes() if holdout is not None else b"")
    return hashlib.sha256(content + json.dumps([settings.to_dict(), cqas], sort_keys=True).encode()).hexdigest()


class Workspace:
    """The project's data and everything made from it, with the workflow's transitions as methods."""

    def __init__(self, store: MutableMapping[str, Any] | None = None) -> None:
        self.store: MutableMapping[str, Any] = {} if store is None else store

    # ------------------------------------------------------------------ reading
    @property
    def data(self) -> DoEData | None:
        return self.store.get(DOE)

    @property
    def data_name(self) -> str:
        return self.store.get(DOE_NAME, "data")

    @property
    def data_source(self) -> str | None:
        return self.store.get(DOE_SOURCE)

    @property
    def fit(self) -> FitResult | None:
        return self.store.get(FIT)

    @property
    def augmentation(self) -> AugmentResult | None:
        """The augmentation applied to the models in use (None when none is, or it was made for other models)."""
        applied = self.store.get(AUGMENT)
        return applied.result if applied is not None and applied.fit is self.fit else None

    @property
    def design(self) -> DesignResult | None:
        return self.store.get(DESIGN)

    @property
    def selected_points(self) -> list[str]:
        return self.store.get(SELECTED_POINTS) or []

    @property
    def basket(self) -> pd.DataFrame:
        basket = self.store.get(BASKET)
        return basket if basket is not None else pd.DataFrame()

    @property
    def ground_truth(self) -> pd.DataFrame | None:
        return self.store.get(GROUND_TRUTH)

    @property
    def plan(self) -> Plan | None:
        return self.store.get(PLAN)

    @property
    def plan_history(self) -> list[RoundSummary]:
        return self.store.get(PLAN_HISTORY) or []

    def predictor(self) -> CQAPredictor:
        """The models the design and validation use: augmented where an augmentation of these models is applied."""
        if self.fit is None:
            raise ValueError("no models are trained")
        augmentation = self.augmentation
        return augmentation.predictor(self.fit) if augmentation is not None else self.fit.predictor()

    def models_in_use(self) -> tuple[FitResult | None, AugmentResult | None]:
        return self.fit, self.augmentation

    def models_are_stale(self) -> bool:
        """The models were trained on other rows than the data loaded now."""
        data, fit = self.data, self.fit
        if data is None or fit is None:
            return False
        current, trained = ModelData.from_doe(data), fit.data
        if list(current.inputs.columns) != list(trained.inputs.columns):
            return True
        same_inputs = np.array_equal(current.inputs.to_numpy(float), trained.inputs.to_numpy(float), equal_nan=True)
        cqas = trained.cqas.reindex(columns=current.cqas.columns).to_numpy(float)
        return not (same_inputs and np.array_equal(current.cqas.to_numpy(float), cqas, equal_nan=True))

    def design_is_stale(self) -> bool:
        """The design (and its ground-truth check) was made with other models than those in use now."""
        made_with = self.store.get(DESIGN_MODELS)
        if self.design is None or made_with is None:
            return False
        fit, augmentation = self.models_in_use()
        return made_with[0] is not fit or made_with[1] is not augmentation

    # ------------------------------------------------------------------ data
    def load_data(
        self, data: DoEData, name: str, report: ValidationReport | None = None, source: str = ""
    ) -> list[str]:
        """A new data set: every result made from the previous one is cleared; returns what was, in words."""
        cleared = [label for key, label in CLEARED_LABELS.items() if _holds(self.store.get(key))]
        for key in RESULTS:
            self.store.pop(key, None)
        self._set_data(data, name, report, source)
        return cleared

    def set_solubility(self, points: Sequence[Sequence[float]] | None) -> list[str]:
        """Give the data the compound's solubility curve ((T, c*) points; None or empty: no curve).

        The models' supersaturation descriptors come from it, so every result made with the old curve is
        cleared, as for new data; returns what was, in words. Raises ValueError, changing nothing, for a
        curve that cannot be used; the same curve again changes nothing."""
        data = self.data
        if data is None:
            raise ValueError("load data before giving a solubility curve")
        pairs = [tuple(float(v) for v in p) for p in points or []]
        if any(len(p) != 2 or not np.all(np.isfinite(p)) for p in pairs):
            raise ValueError("every point needs a temperature and a solubility")
        curve = SolubilityCurve(tuple(pairs)).points if pairs else None
        if curve == data.schema.solubility:
            return []
        schema = replace(data.schema, solubility=curve)
        return self.load_data(
            replace(data, schema=schema), self.data_name, self.store.get(DOE_REPORT), self.data_source or ""
        )

    def append_runs(self, result: LoadResult, label: str) -> None:
        """Runs appended to the data (a validation run, a planned round): the models are refitted with their
        settings; the design and its checks stay, marked stale. Raises AppendError, changing nothing, when the
        rows cannot be appended."""
        if result.data is None or result.report.errors:
            problems = "; ".join(p.message for p in result.report.errors[:3]) or "the rows could not be read"
            raise AppendError(problems)
        fit = self.fit
        refit = fit_with_settings(result.data, fit.settings, list(fit.fits), holdout=fit.holdout) if fit else None
        self._set_data(result.data, f"{self.data_name} + {label}", result.report)
        if refit is not None:
            self.store[FIT] = refit

    def _set_data(self, data: DoEData, name: str, report: ValidationReport | None, source: str = "") -> None:
        self.store[DOE] = data
        self.store[DOE_NAME] = name
        self.store[DOE_REPORT] = report
        self.store[DOE_SOURCE] = source

    # ------------------------------------------------------------------ models
    def set_fit(self, fit: FitResult) -> None:
        """Newly trained models: an augmentation of the previous ones stops applying, the design turns stale."""
        self.store[FIT] = fit

    def choose_model(self, cqa: str, family: str) -> FitResult:
        """The engineer picks another family for one CQA; a refit as far as the dependents go."""
        fit = self.fit.with_choice(cqa, family)
        self.set_fit(fit)
        return fit

    def apply_augmentation(
        self,
        cqa: str,
        result: AugmentResult,
        entry: CQAAugment,
        rows: pd.DataFrame,
        ensemble: EnsembleRegressor,
    ) -> AugmentResult:
        """Use `entry` (its α, m and source) for `cqa`, keeping what is applied to the other CQAs of these models.

        α = 0 goes back to the real-only model of that CQA. The design turns stale.
        """
        previous = self.augmentation
        cqas = {**(previous.cqas if previous else {}), cqa: entry}
        synthetic = {**(previous.synthetic if previous else {}), cqa: rows}
        ensembles = {**(previous.ensembles if previous else {}), cqa: ensemble}
        if entry.alpha == 0:
            synthetic.pop(cqa)
            ensembles.pop(cqa)
        applied = AugmentResult(result.settings, cqas, synthetic, ensembles)
        self.store[AUGMENT] = AppliedAugmentation(self.fit, applied)
        return applied

    # ------------------------------------------------------------------ design
    def set_design(self, result: DesignResult) -> None:
        """A new design, made with the models in use: the old selection and ground-truth check go."""
        self.store[DESIGN] = result
        self.store[DESIGN_MODELS] = self.models_in_use()
        self.store[SELECTED_POINTS] = []
        self.store.pop(GROUND_TRUTH, None)

    def select_points(self, ids: list[str]) -> None:
        self.store[SELECTED_POINTS] = list(ids)

    def set_ground_truth(self, check: pd.DataFrame) -> None:
        self.store[GROUND_TRUTH] = check

    def add_to_basket(self, points: pd.DataFrame) -> None:
        self.store[BASKET] = pd.concat([self.basket, points]).drop_duplicates("id").reset_index(drop=True)

    def empty_basket(self) -> None:
        self.store[BASKET] = pd.DataFrame()

    # ------------------------------------------------------------------ experiment rounds
    def plan_prior(self, spec: PlanSpec) -> tuple[str, str | None]:
        """The prior a plan of these data takes by default, and why it is not the virtual lab (`default_prior`)."""
        md = ModelData.from_doe(self.data)
        return default_prior(md.inputs, md.cqas, spec)

    def propose_plan(self, spec: PlanSpec, progress: Progress | None = None) -> Plan:
        """The next batch; the first proposal fixes the hypervolume reference and records round 0."""
        md = ModelData.from_doe(self.data)
        reference = self.store.get(PLAN_REFERENCE)
        plan = plan_experiments(md.inputs, md.cqas, self.data.schema, spec, reference=reference, progress=progress)
        if reference is None:
            self.store[PLAN_REFERENCE] = np.array(plan.reference_point)
        if not self.plan_history:
            self.store[PLAN_HISTORY] = [summarise_round(0, plan, self.data, self.store[PLAN_REFERENCE])]
        self.store[PLAN] = plan
        return plan

    def accept_round(self, result: LoadResult, label: str, spec: PlanSpec) -> None:
        """A round's results appended (models refitted) and recorded; raises AppendError, changing nothing, when
        the rows cannot be appended."""
        self.append_runs(result, label)
        md = ModelData.from_doe(self.data)
        after = plan_experiments(
            md.inputs,
            md.cqas,
            self.data.schema,
            replace(spec, strategy="exploit", batch_size=1),
            reference=self.store[PLAN_REFERENCE],
        )
        history = self.plan_history
        history.append(summarise_round(len(history), after, self.data, self.store[PLAN_REFERENCE]))
        self.store[PLAN_HISTORY] = history
        self.store[PLAN] = None

    # ------------------------------------------------------------------ save and open
    def to_project(self) -> Project:
        """Everything worth keeping, as data, settings, results and tables (models are re-fitted on open)."""
        settings: dict[str, Any] = {}
        results: dict[str, Any] = {}
        tables: dict[str, pd.DataFrame] = {}
        files: dict[str, str] = {}
        fit = self.fit
        if fit is not None:
            settings["models"] = {"settings": fit.settings.to_dict(), "cqas": list(fit.fits)}
            results["metrics"] = fit.metrics_dict()
            if fit.holdout is not None:
                tables["holdout"] = fit.holdout.to_frame()
            files = model_files(fit)
            if self.augmentation is not None:
                files |= augment_files(self.augmentation)
        if self.design is not None:
            settings["design"] = {"spec": self.design.spec.to_dict(), "generations": self.design.generations}
            tables["design_points"] = self.design.points
        if not self.basket.empty:
            tables["basket"] = self.basket
        return Project(self.data, self.store.get(DOE_NAME, "project"), settings, results, tables, files)

    def open_project(self, project: Project, note: Callable[[str], None] = lambda message: None) -> list[str]:
        """Replace the workspace by an opened project, re-fitting its models with the saved settings and seeds.

        `note` hears what is being re-fitted; returns warnings about parts that could not be restored.
        """
        warnings: list[str] = []
        self.load_data(project.data, project.name, None, source=f"project:{project.name}")
        models = project.settings.get("models")
        if models:
            self.store[FIT] = _refit_models(project, models, note, warnings)
            if any(not name.startswith(MODEL_PREFIX) for name in project.files):
                note("Re-fitting the applied synthetic-data augmentation")
                try:
                    self.store[AUGMENT] = AppliedAugmentation(self.fit, augment_from_files(project.files, self.fit))
                except RunFormatError as exc:
                    warnings.append(f"The project's synthetic-data augmentation was not restored: {exc}")
        design = project.settings.get("design")
        if design and "design_points" in project.tables:
            spec = DesignSpec.from_dict(design["spec"])
            points, generations = project.tables["design_points"], design["generations"]
            result = DesignResult(points, spec, generations, cancelled=False, seconds=0.0)  # not timed when reopened
            self.set_design(result)  # saved with the models it was made with
        if "basket" in project.tables:
            self.store[BASKET] = project.tables["basket"]
        return warnings


def _refit_models(project: Project, models: dict, note: Callable[[str], None], warnings: list[str]) -> FitResult:
    """The saved configuration re-fitted (no search); a project saved without it repeats the search."""
    try:
        note("Re-fitting the saved models (their saved configuration, no search)")
        fit = saved_models(project)
        if fit is not None:
            return fit
    except RunFormatError as exc:
        warnings.append(f"The saved model configuration could not be used ({exc}); the models are searched again.")
    note("Re-fitting the saved models (searching hyper-parameters again)")
    return fit_with_settings(
        project.data, FitSettings.from_dict(models["settings"]), models["cqas"], holdout=project.tables.get("holdout")
    )
