"""Augmenting fitted CQA models: the study per CQA, the final refit and the augmented predictor.

result = augment_fit(fit_result, ["D50"], AugmentSettings(random_state=0))
result.to_dict()                       # settings, and per CQA what augment.json holds
predictor = result.predictor(fit_result)   # CQAPredictor; CQAs without augmentation keep their model
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from core.augment.sources import make_source
from core.augment.study import AugmentSettings, StudyOutcome, run_study
from core.augment.weights import weighted_training_set
from core.models.fitting import CQAFit, CQAPredictor, FitResult, FitSettings
from core.models.metrics import regression_scores
from core.models.scaleout import torch_workers
from core.models.uncertainty import EnsembleRegressor
from core.progress import Progress
from core.virtual_lab.transfer import SimulationCache


@dataclass
class CQAAugment:
    """The outcome for one CQA, as written to augment.json."""

    generator: str | None
    m: int
    alpha: float
    alpha_theory: float | None
    cv_mse_real_only: float
    cv_mse_augmented: float
    test_mse_before: float | None
    test_mse_after: float | None
    test_mae_before: float | None
    test_mae_after: float | None
    quality_scores: dict[str, float]
    generator_params: dict[str, dict[str, Any]]
    tuning: dict[str, list[dict[str, Any]]]
    curves: dict[str, dict[int, list[list[float]]]]
    seconds: dict[str, float]
    rule: dict[str, Any] = field(default_factory=dict)  # name, folds, repeats and the verdict in words
    gain_se: float | None = None  # noise (SE) of the best candidate's CV gain over the real-only model
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per source: own choice, spread, scaling law

    @property
    def augmented(self) -> bool:
        return self.generator is not None and self.alpha > 0

    def evidence(self) -> str:
        """The verdict in words with the numbers behind it: the best CV gain, its noise and the scaling law's α."""
        verdict = self.rule.get("verdict", "")
        found = [(g, s["best"]) for g, s in self.sources.items() if s.get("best", {}).get("alpha")]
        if not found:
            return verdict
        g, best = min(found, key=lambda p: p[1]["cv_mse"])
        label = self.sources[g]["label"]
        noise = "" if best["gain_se"] is None else f" ± {best['gain_se']:.3g}"
        text = f"{verdict}. " + (
            _allowed_evidence(self.rule["evidence"], self.sources[self.rule["evidence"]["source"]]["label"])
            if self.rule.get("evidence")
            else f"Best candidate: {label}, m = {best['m']}, α = {best['alpha']:g}, CV MSE gain over the "
            f"real-only model {best['gain']:.3g}{noise} (one standard error across the grid's folds)."
        )
        if self.rule.get("types") and not self.rule.get("evidence") and best["gain"] > 0:
            text += " Every candidate with a K-fold gain makes the left-out profile types worse."
        if self.alpha_theory is not None:
            where = f"the chosen α = {self.alpha:g}" if self.augmented else "the best candidate"
            reference = self.alpha if self.augmented else best["alpha"]
            text += (
                f" The scaling law (Eq. 4) puts α* = {self.alpha_theory:.2f} for {where}, "
                f"{abs(self.alpha_theory - reference):.2f} away from the CV's α."
            )
        return text

    def change(self, metric: str) -> float | None:
        """Relative hold-out change after augmentation (-0.446 = 44.6 % lower), None without a hold-out."""
        before, after = getattr(self, f"test_{metric}_before"), getattr(self, f"test_{metric}_after")
        if before is None or after is None or before == 0:
            return None
        return after / before - 1.0

    def sources_table(self) -> pd.DataFrame:
        """One row per source: its quality score, its own choice under the rule and its best CV gain with the noise."""
        rows = []
        for g, s in self.sources.items():
            best = s.get("best", {})
            own = s.get("skipped") or ("none" if not s["alpha"] else f"{s['m']} / {s['alpha']:g}")
            rows.append(
                {
                    "source": s["label"],
                    "quality score": self.quality_scores.get(g),
                    "own choice (m / α)": own,
                    "best CV gain": best.get("gain"),
                    "± noise (SE)": best.get("gain_se"),
                    "α theory": s.get("law", {}).get("alpha_theory"),
                    "settings": json.dumps(self.generator_params.get(g, {})),
                }
            )
        return pd.DataFrame(rows)

    def chosen_instead(self, generator: str, m: int, alpha: float, after: Mapping[str, float | None]) -> CQAAugment:
        """This outcome with the engineer's (source, m, α) and its hold-out scores `after` in place of the rule's."""
        return replace(
            self,
            generator=generator if alpha > 0 else None,
            m=m,
            alpha=alpha,
            test_mse_after=after["mse"],
            test_mae_after=after["mae"],
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["curves"] = {g: {str(m): pts for m, pts in by_m.items()} for g, by_m in self.curves.items()}
        d["sources"] = {g: _keys_as(str, s) for g, s in self.sources.items()}
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CQAAugment:
        d = dict(d)
        d["curves"] = {g: {int(m): pts for m, pts in by_m.items()} for g, by_m in d["curves"].items()}
        d["sources"] = {g: _keys_as(int, s) for g, s in d.get("sources", {}).items()}
        return cls(**d)


def _allowed_evidence(best: Mapping[str, Any], label: str) -> str:
    """The best candidate the left-out profile types allow, and its CV gain over α = 0."""
    return (
        f"Best candidate that does not make the left-out profile types worse: {label}, m = {best['m']}, "
        f"α = {best['alpha']:g}, CV MSE gain over the real-only model {best['gain']:.3g} ± {best['gain_se']:.3g} "
        f"(one standard error); on the left-out profile types the MSE changes by {np.expm1(-best['type_gain']):+.0%}."
    )


def _keys_as(kind: type, summary: Mapping[str, Any]) -> dict[str, Any]:
    """A source summary with its spread keyed by m as `kind` (JSON keys are strings)."""
    if "spread" not in summary:
        return dict(summary)
    return {**summary, "spread": {kind(m): v for m, v in summary["spread"].items()}}


@dataclass
class AugmentResult:
    """Settings, one `CQAAugment` per CQA and, for augmented CQAs, the synthetic rows and the refitted ensemble."""

    settings: AugmentSettings
    cqas: dict[str, CQAAugment]
    synthetic: dict[str, pd.DataFrame] = field(default_factory=dict)
    ensembles: dict[str, EnsembleRegressor] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings.to_dict(), "cqas": {c: a.to_dict() for c, a in self.cqas.items()}}

    def predictor(self, fit: FitResult) -> CQAPredictor:
        """The fitted models with every augmented CQA's ensemble swapped in."""
        ensembles = {c: f.ensemble for c, f in fit.fits.items()}
        ensembles.update({c: e for c, e in self.ensembles.items() if c in ensembles})
        return CQAPredictor(fit.input_names, ensembles, fit.domain())


def final_synthetic_rows(
    fit: CQAFit,
    generator: str,
    params: Mapping[str, Any],
    m: int,
    random_state: int,
    scalar_bounds=None,
    cache: SimulationCache | None = None,
) -> pd.DataFrame:
    """m rows from the source fitted on every training row of the CQA."""
    ds = fit.dataset
    source = make_source(generator, params, random_state, scalar_bounds, cache)
    return source.fit(ds.X_train, ds.y_train).sample(m)


def augmented_ensemble(
    fit: CQAFit, synthetic: pd.DataFrame, alpha: float, fit_settings: Mapping[str, Any], n_jobs: int | None = None
) -> EnsembleRegressor:
    """The CQA's chosen family and uncertainty ensemble refitted by weighted ERM on real + synthetic rows."""
    ds = fit.dataset
    X, y, w = weighted_training_set(
        ds.X_train.to_numpy(float),
        ds.y_train.to_numpy(float),
        synthetic[list(ds.X_train.columns)].to_numpy(float),
        synthetic[fit.cqa].to_numpy(float),
        alpha,
    )
    settings = FitSettings.from_dict(fit_settings)
    params = fit.metrics.models[fit.chosen].params
    ensemble = settings.ensemble(fit.chosen, params, fit.ensemble.features, ds.X_train.columns, n_jobs)
    return ensemble.fit(X, y, sample_weight=w)


def test_scores(fit: CQAFit, ensemble: EnsembleRegressor) -> dict[str, float | None]:
    ds = fit.dataset
    if not ds.n_test:
        return regression_scores(np.empty(0), np.empty(0))
    return regression_scores(ds.y_test.to_numpy(float), ensemble.predict(ds.X_test.to_numpy(float)))


@torch_workers()  # the studies and the refits share one pool (see torch_workers)
def augment_fit(
    fit_result: FitResult,
    cqas: Sequence[str] | None = None,
    settings: AugmentSettings | None = None,
    *,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    cache: SimulationCache | None = None,
) -> AugmentResult:
    """Run the study for each CQA, refit the winners and score them on the CQA's hold-out rows.

    `cache` keeps the virtual lab's simulations for later studies and inspections."""
    settings = settings or AugmentSettings()
    cqas = list(cqas or fit_result.fits)
    unknown = [c for c in cqas if c not in fit_result.fits]
    if unknown:
        raise ValueError(f"no model was fitted for {', '.join(unknown)}; fitted: {', '.join(fit_result.fits)}")
    report = progress or (lambda fraction, message: None)
    fit_settings = fit_result.settings.to_dict()
    out = AugmentResult(settings, {})
    cache = cache if cache is not None else SimulationCache()
    for i, cqa in enumerate(cqas):
        fit = fit_result.fits[cqa]
        ds = fit.dataset

        def sub(fraction: float, message: str, i: int = i, cqa: str = cqa) -> None:
            report((i + fraction) / len(cqas), f"{cqa}: {message}")

        study = run_study(
            ds.X_train,
            ds.y_train,
            fit.chosen,
            fit.metrics.models[fit.chosen].params,
            settings,
            scalar_bounds,
            n_jobs,
            sub,
            cache,
            features=fit.ensemble.feature_map_,
        )
        before = test_scores(fit, fit.ensemble)
        after = before
        start = time.perf_counter()
        if study.generator is not None:
            rows = final_synthetic_rows(
                fit,
                study.generator,
                study.generator_params[study.generator],
                study.m,
                settings.random_state,
                scalar_bounds,
                cache,
            )
            out.synthetic[cqa] = rows
            out.ensembles[cqa] = augmented_ensemble(fit, rows, study.alpha, fit_settings, n_jobs)
            after = test_scores(fit, out.ensembles[cqa])
        out.cqas[cqa] = _cqa_augment(study, before, after, time.perf_counter() - start)
    return out


def _cqa_augment(study: StudyOutcome, before: dict, after: dict, refit_seconds: float) -> CQAAugment:
    return CQAAugment(
        generator=study.generator,
        m=study.m,
        alpha=study.alpha,
        alpha_theory=study.alpha_theory,
        cv_mse_real_only=study.cv_mse_real_only,
        cv_mse_augmented=study.cv_mse_augmented,
        test_mse_before=before["mse"],
        test_mse_after=after["mse"],
        test_mae_before=before["mae"],
        test_mae_after=after["mae"],
        quality_scores=study.quality_scores,
        generator_params=study.generator_params,
        tuning=study.tuning,
        curves=study.curves,
        seconds={**study.seconds, "final_refit": refit_seconds},
        rule=study.rule,
        gain_se=study.gain_se,
        sources=study.sources,
    )
