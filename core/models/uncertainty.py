"""Ensemble uncertainty for one CQA model: Monte Carlo CV, bootstrap or out-of-bag.

The point prediction is the chosen pipeline fitted on every training row; the
standard deviation is the spread of an ensemble of the same pipeline fitted
on resampled rows:

* ``mccv``: each member sees a random share (`train_fraction`) of the rows;
* ``bootstrap``: each member sees a bootstrap resample;
* ``oob``: a random forest's own trees are the ensemble (each was grown on a
  bootstrap resample); families without their own bagging use bootstrap members.

A family with its own predictive standard deviation (the Gaussian process)
needs no ensemble: its native σ is the spread, and its closed-form
leave-one-out predictions are the out-of-sample ones.

Every method leaves rows out of each member, which gives an out-of-sample
prediction for most training rows. Conformal calibration uses those residuals,
scaled by the spread (normalised split conformal, Lei et al., JASA 113, 2018),
to stretch or shrink the intervals so that ±1σ holds at least a normal's
68.3 % of the scores by the finite-sample rank ceil((n+1)·level) (and
`predict_interval` any level asked for) instead of trusting the raw spread.

A score must be computed at a training row as it is at a new point, or the
two are not exchangeable. At a new point every member is out of sample; at a
training row the members that saw it are pulled towards its measurement, so
the whole ensemble's spread there is not the spread at a comparable new point
(narrower where the members that saw the row agree on it, wider where they and
the others split into two camps). The jackknife+-after-bootstrap
(Kim, Xu & Barber, NeurIPS 2020) uses only the members that left a point out
for the same reason. The spread of the few members that left a row out is too noisy to divide
by, one row at a time, so the training rows' spreads are scaled by one factor,
the root ratio of the mean variance of the members that left each row out to
the mean variance of all members (`in_sample_factor`).

Given the profile type of every training row (`fit(..., groups=types)`), the
calibration also scores each type with at least two runs as a model fitted
without that type predicts it (leave-one-type-out): these residuals are what
an unfamiliar profile type costs, so the intervals stop assuming every design
is as well covered as the linear runs. A Gaussian process held out this way
keeps its kernel and reports its own, wider σ there, so its intervals widen
where the data are thin rather than everywhere.

Calibration is Mondrian (Vovk et al., Algorithmic Learning in a Random World,
2005, ch. 4): the scores are split by whether their row lies in the
applicability domain of the rows it was predicted from (`core.models.domain`,
fitted on the ensemble's own training rows), and each side has its own
factor. A training row's out-of-sample score counts as inside unless its
leave-one-out neighbour distance exceeds the domain's reference; a left-out
type's rows are placed by a domain fitted without that type. One pooled factor
let the left-out types widen every interval, in the domain as much as beyond
it; split, intervals are tight where the runs are close and wide where they
are far. A side with fewer than `MIN_SIDE_SCORES` scores (or too few for the
level asked) uses the pooled scores, and the outside factor is never below
the inside one.

The std of a new run mixes what the model does not know with the scatter of
one run about its mean response (batch-to-batch variation and the analyses'
noise), which no model removes. A Gaussian process models the two apart (its
white-noise term), so for the GP and the grey box `std_of_mean` reports the
first part alone, the uncertainty of the response a design gives on average:
the predictive std less the noise, times the same calibration factor, so that
std² = std_of_mean² + noise_std². The noise includes a Matérn term too rough
to correlate the runs (`GaussianProcessModel.noise_variance`); where the white
noise sits at its lower bound the fit interpolates the rows, the split is not
made, and the std of the mean is the whole std. An ensemble's spread is no model of the
noise; without replicate runs nothing separates the two reliably (subtracting
a GP's noise estimate from it left a third to a half of the rows with no std
at all on noise-dominated data), so its std of the mean is the std of a new
run, an upper bound, and its `noise_std` is unknown (NaN).

The model sees the rows through a `FeatureMap` (raw columns, shared profile
descriptors, or both); rows are passed in the raw input order either way.
When the parameters carry a target scale (`core.models.target`), the models
are fitted on it and every prediction, member and spread is mapped back, so
means, standard deviations and calibration are as measured.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from core.models.domain import ApplicabilityDomain
from core.models.fast_predict import forest_tree_predictions, predict_pipelines
from core.models.features import FeatureMap, available_feature_sets
from core.models.scaleout import one_thread_per_fit
from core.models.target import split_target
from core.models.zoo import build_pipeline, family
from core.profiles import SolubilityCurve

UQ_METHODS = ("mccv", "bootstrap", "oob")
CALIBRATIONS = ("conformal", "none")
ONE_SIGMA = float(norm.cdf(1) - norm.cdf(-1))  # 0.6827: share of a normal within ±1σ
MIN_SIDE_SCORES = 10  # fewer scores on one side of the domain give a quantile too unsteady to trust alone


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n+1)·level)-th smallest score: covers a new point with probability ≥ level
    when scores are exchangeable; infinite when there are too few scores for that level."""
    s = np.sort(np.asarray(scores, float))
    k = math.ceil((len(s) + 1) * level)
    return float(s[k - 1]) if 1 <= k <= len(s) else math.inf


def in_sample_factor(members: np.ndarray, left_out: np.ndarray) -> float:
    """sqrt(mean variance of the members that left a row out / mean variance of all members), over the rows
    left out by at least two members; 1 when there are none.

    members, left_out: (members, rows) predictions at the training rows and which members did not see each row.
    """
    counts = left_out.sum(axis=0)
    rows = counts >= 2
    if not rows.any():
        return 1.0
    P, out = members[:, rows], left_out[:, rows]
    total = members.std(axis=0, ddof=1)[rows] ** 2
    if total.sum() <= 0:
        return 1.0
    mean_out = np.where(out, P, 0.0).sum(axis=0) / counts[rows]
    var_out = np.where(out, (P - mean_out) ** 2, 0.0).sum(axis=0) / (counts[rows] - 1)
    return float(np.sqrt(var_out.sum() / total.sum()))


def side_factors(scores: np.ndarray, outside: np.ndarray, level: float) -> tuple[float, float]:
    """Conformal factors at `level` for rows inside and outside the applicability domain (Mondrian).

    Each side uses its own scores when it has at least `MIN_SIDE_SCORES` and they back the level, the
    pooled scores otherwise; the outside factor is at least the inside one (leaving the domain never
    narrows an interval)."""
    pooled = conformal_quantile(scores, level)

    def own(side: np.ndarray) -> float:
        q = conformal_quantile(side, level) if len(side) >= MIN_SIDE_SCORES else math.inf
        return q if math.isfinite(q) else pooled

    inside = own(scores[~outside])
    return inside, max(own(scores[outside]), inside)


def _scores(residuals: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """|residual| / spread; a zero spread scores 0 for a zero residual and infinity otherwise."""
    resid = np.abs(residuals)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(spread > 0, resid / spread, np.where(resid > 0, np.inf, 0.0))


def _weights(sample_weight: np.ndarray | None) -> dict[str, Any]:
    return {} if sample_weight is None else {"model__sample_weight": sample_weight}


def _fit_member(family: str, params: dict, seed: int, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> Pipeline:
    with one_thread_per_fit():
        return build_pipeline(family, params, seed).fit(X, y, **_weights(w))


def _uses_own_bagging(pipeline: Pipeline) -> bool:
    model = pipeline[-1]
    return hasattr(model, "oob_score") and getattr(model, "bootstrap", False)


class EnsembleRegressor(RegressorMixin, BaseEstimator):
    """A family's pipeline with an uncertainty ensemble around it.

    `predict(X, return_std=True)` returns the full-data prediction and the
    (calibrated) ensemble standard deviation.
    """

    def __init__(
        self,
        family: str = "rf",
        params: dict | None = None,
        method: str = "mccv",
        n_members: int = 25,
        train_fraction: float = 0.8,
        calibration: str = "conformal",
        random_state: int = 0,
        n_jobs: int | None = None,
        features: str = "raw",
        input_names: list[str] | None = None,
        solubility: tuple[tuple[float, float], ...] | None = None,
    ) -> None:
        self.family = family
        self.params = params
        self.method = method
        self.n_members = n_members
        self.train_fraction = train_fraction
        self.calibration = calibration
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.features = features
        self.input_names = input_names
        self.solubility = solubility

    def fit(self, X: Any, y: Any, sample_weight: Any = None, groups: Any = None) -> EnsembleRegressor:
        """Fit on raw input rows; `groups` (e.g. profile types) adds leave-one-group-out calibration scores."""
        if self.method not in UQ_METHODS:
            raise ValueError(f"unknown uncertainty method {self.method!r}; choose one of {', '.join(UQ_METHODS)}")
        if self.calibration not in CALIBRATIONS:
            raise ValueError(f"unknown calibration {self.calibration!r}; choose one of {', '.join(CALIBRATIONS)}")
        if self.n_members < 2:
            raise ValueError("an uncertainty ensemble needs at least 2 members")
        X, y = np.asarray(X, float), np.asarray(y, float)
        n_inputs = X.shape[1] if X.ndim == 2 else 1
        self.feature_map_ = FeatureMap(
            self.input_names or [f"x{i}" for i in range(n_inputs)],
            self.features,
            SolubilityCurve(self.solubility) if self.solubility and self.features != "raw" else None,
        )
        raw = self._rows(X)
        self.domain_ = self._new_domain()
        self.domain_.fit(self._domain_rows(raw))
        X = self.feature_map_.transform(raw)
        w = None if sample_weight is None else np.asarray(sample_weight, float)
        n = len(y)
        params = dict(self.params or {})
        _, self.target_ = split_target(params)
        z = self.target_.forward(y) if self.target_ else y  # what the models are fitted on
        rng = np.random.default_rng(self.random_state)
        self.model_ = build_pipeline(self.family, params, self.random_state)
        self.native_std_ = family(self.family).native_std
        self.uses_forest_ = not self.native_std_ and self.method == "oob" and _uses_own_bagging(self.model_)
        if self.uses_forest_:
            self.model_.set_params(model__oob_score=True)
        with one_thread_per_fit():
            self.model_.fit(X, z, **_weights(w))
        self.members_: list[Pipeline] = []
        # a GP's leave-one-out std is that of a new point already
        self.in_sample_factor_ = 1.0
        if self.native_std_:
            oos, spread = self._as_measured(*self.model_[-1].loo())
        else:
            if self.uses_forest_:
                # NaN where a row was never left out
                oos = self.from_model_scale(np.asarray(self.model_[-1].oob_prediction_, float))
                draws = list(self.model_[-1].estimators_samples_)
            else:
                draws = self._draws(n, rng)
                seeds = rng.integers(0, 2**31 - 1, size=len(draws))
                self.members_ = Parallel(n_jobs=self.n_jobs)(
                    delayed(_fit_member)(self.family, params, int(s), X[idx], z[idx], None if w is None else w[idx])
                    for idx, s in zip(draws, seeds, strict=True)
                )
                oos = self.from_model_scale(self._out_of_sample(X, draws))
            members = self._member_predictions(X)
            left_out = np.ones(members.shape, bool)
            for k, idx in enumerate(draws):
                left_out[k, idx] = False
            self.in_sample_factor_ = in_sample_factor(members, left_out)
            spread = self.in_sample_factor_ * members.std(axis=0, ddof=1)
        self.oos_prediction_ = oos
        seen = ~np.isnan(oos)
        if not seen.any():
            raise ValueError("no training row was left out of any ensemble member; use more members")
        scores = _scores(y[seen] - oos[seen], spread[seen])
        far = self.domain_.left_out_scores() > self.domain_.threshold
        self.grouped_scores_, grouped_far = (
            self._grouped_scores(X, raw, y, w, groups) if groups is not None else (np.empty(0), np.empty(0, bool))
        )
        self.calibration_scores_ = np.concatenate([scores, self.grouped_scores_])
        self.calibration_outside_ = np.concatenate([far[seen], grouped_far])
        calibrated = self.calibration == "conformal"
        self.scale_, self.scale_outside_ = self._factors_at(ONE_SIGMA) if calibrated else (1.0, 1.0)
        return self

    def _factors_at(self, level: float) -> tuple[float, float]:
        """(inside, outside the domain) factors that turn the spread into the `level` interval's half-width."""
        if self.calibration == "conformal":
            return side_factors(self.calibration_scores_, self.calibration_outside_, level)
        factor = float(norm.ppf(0.5 + level / 2))
        return factor, factor

    def _new_domain(self) -> ApplicabilityDomain:
        """The applicability domain as the product defines it, on these inputs (`CQAFit.domain`)."""
        names = self.feature_map_.input_names
        space = "descriptors" if "descriptors" in available_feature_sets(names) else "as_given"
        curve = SolubilityCurve(self.solubility) if self.solubility and space == "descriptors" else None
        return ApplicabilityDomain(space=space, solubility=curve)

    def _domain_rows(self, raw: np.ndarray) -> Any:
        """Raw rows as the domain reads them: named columns when it works on profile descriptors."""
        if self.domain_.space == "descriptors":
            return pd.DataFrame(raw, columns=self.feature_map_.input_names)
        return raw

    def outside_domain(self, X: Any) -> np.ndarray:
        """Whether each raw row lies outside the applicability domain of this ensemble's training rows."""
        raw = self._rows(X)
        return ~self.domain_.in_domain(self._domain_rows(raw))

    def from_model_scale(self, z: np.ndarray) -> np.ndarray:
        """Model outputs (on the modelling scale) as measured."""
        return self.target_.inverse(z) if self.target_ else z

    def _as_measured(self, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A GP's mean and std on the modelling scale as measured (the std by the delta method)."""
        if self.target_ is None:
            return mean, std
        return self.target_.inverse(mean), std * self.target_.slope(mean)

    def _rows(self, X: Any) -> np.ndarray:
        """Raw input rows as a 2-D array."""
        X = np.asarray(X, float)
        if X.ndim == 1:
            X = X.reshape(-1, 1) if self.feature_map_.feature_set == "raw" else X.reshape(1, -1)
        return X

    def _features(self, X: Any) -> np.ndarray:
        return self.feature_map_.transform(self._rows(X))

    def _grouped_scores(
        self, X: np.ndarray, raw: np.ndarray, y: np.ndarray, w: np.ndarray | None, groups: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """|residual| / spread of each row of every group with >= 2 rows, predicted without its group, and
        whether each row lies outside the applicability domain of the other groups' rows.

        The held-out GP keeps the full fit's kernel and gives its own σ; other
        families are refitted without the group and scaled by the full spread at those (training) rows, with the
        in-sample factor.
        """
        groups = np.asarray(groups)
        z = self.target_.forward(y) if self.target_ else y
        out, far = [], []
        for g in pd.unique(groups):
            held = groups == g
            if held.sum() < 2 or (~held).sum() < 2:
                continue
            others = self._new_domain().fit(self._domain_rows(raw[~held]))
            far.append(~others.in_domain(self._domain_rows(raw[held])))
            if self.native_std_:
                scale = self.model_[0].transform
                mean, spread = self._as_measured(
                    *self.model_[-1].conditioned_predict(scale(X[~held]), z[~held], scale(X[held]))
                )
            else:
                pipe = _fit_member(
                    self.family,
                    dict(self.params or {}),
                    self.random_state,
                    X[~held],
                    z[~held],
                    None if w is None else w[~held],
                )
                mean = self.from_model_scale(pipe.predict(X[held]))
                spread = self._spread(X[held], self.in_sample_factor_)
            out.append(_scores(y[held] - mean, spread))
        if not out:
            return np.empty(0), np.empty(0, bool)
        return np.concatenate(out), np.concatenate(far)

    def _draws(self, n: int, rng: np.random.Generator) -> list[np.ndarray]:
        if self.method == "mccv":
            size = min(max(2, round(self.train_fraction * n)), n - 1)
            return [np.sort(rng.choice(n, size=size, replace=False)) for _ in range(self.n_members)]
        return [np.sort(rng.integers(0, n, size=n)) for _ in range(self.n_members)]

    def _out_of_sample(self, X: np.ndarray, draws: list[np.ndarray]) -> np.ndarray:
        total, count = np.zeros(len(X)), np.zeros(len(X))
        for member, idx in zip(self.members_, draws, strict=True):
            left_out = np.setdiff1d(np.arange(len(X)), idx)
            if left_out.size:
                total[left_out] += member.predict(X[left_out])
                count[left_out] += 1
        with np.errstate(invalid="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def member_predictions(self, X: Any) -> np.ndarray:
        """(members, rows) predictions as measured: the forest's trees for `oob`, otherwise the refitted members."""
        if self.native_std_:
            raise ValueError(f"{self.family} gives its own standard deviation and has no ensemble members")
        return self._member_predictions(self._features(X))

    def _member_predictions(self, Z: np.ndarray) -> np.ndarray:
        if self.uses_forest_:
            return self.from_model_scale(forest_tree_predictions(self.model_, Z))
        return self.from_model_scale(predict_pipelines(self.members_, Z))

    def _spread(self, X: np.ndarray, factor: float | np.ndarray = 1.0, part: str = "std") -> np.ndarray:
        """On model-feature rows: `factor` (one, or one per row) times the members' (or the GP's) standard deviation,
        or for a GP one part of it (`part`: "std_of_mean" or "noise_std", see `_native_parts`; an ensemble's spread
        is whole whatever the part).

        An infinite factor (too few calibration rows) makes the spread infinite, including where the
        members agree (inf · 0 would give NaN)."""
        factor = np.broadcast_to(np.asarray(factor, float), (len(X),))
        if np.isinf(factor).all():
            return np.full(len(X), np.inf)
        if self.native_std_:
            base = self._native_parts(*self.model_.predict(X, return_std=True))[part]
        else:
            base = self._member_predictions(X).std(axis=0, ddof=1)
        return np.where(np.isinf(factor), np.inf, factor * base)

    def _native_parts(self, mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
        """A GP's predictive std on the modelling scale as measured (the delta method at `mean`), whole and in its
        two parts: the std of the mean response (the predictive variance less the noise's, `noise_variance`) and the
        noise's."""
        noise = self.model_[-1].noise_variance()
        of_mean = np.sqrt(np.maximum(std**2 - noise, 0.0)) if math.isfinite(noise) else std  # NaN: not identified
        parts = {"std": std, "std_of_mean": of_mean, "noise_std": np.sqrt(noise)}
        return {
            name: self._as_measured(mean, np.broadcast_to(value, np.shape(mean)))[1] for name, value in parts.items()
        }

    def calibration_factors(self, X: Any) -> np.ndarray:
        """Per raw row, the factor that turns the spread into σ: the inside or the outside one."""
        return self._side_factor(self._rows(X), (self.scale_, self.scale_outside_))

    def _side_factor(self, raw: np.ndarray, factors: tuple[float, float]) -> np.ndarray:
        """Per raw row, the inside or the outside factor of `factors`."""
        inside, outside = factors
        if inside == outside:
            return np.full(len(raw), inside)
        return np.where(self.outside_domain(raw), outside, inside)

    def predict(self, X: Any, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Mean (and calibrated std) of every row; NaN for rows that are not valid profiles."""
        raw = self._rows(X)
        Z = self.feature_map_.transform(raw)
        ok = np.isfinite(Z).all(axis=1)
        if ok.all():  # the common case, returned as the model computes it (XGBoost: float32)
            mean = self.from_model_scale(predict_pipelines([self.model_], Z)[0])
            return (mean, self._spread(Z, self.calibration_factors(raw))) if return_std else mean
        mean, std = np.full(len(Z), np.nan), np.full(len(Z), np.nan)
        if ok.any():
            mean[ok] = self.from_model_scale(predict_pipelines([self.model_], Z[ok])[0])
            if return_std:
                std[ok] = self._spread(Z[ok], self.calibration_factors(raw[ok]))
        return (mean, std) if return_std else mean

    def predict_interval(self, X: Any, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds that hold a new measurement with probability `level`.

        Conformal: the level's quantile of the calibration scores on the row's
        side of the applicability domain times the spread (infinite when too
        few rows back that level). Without calibration: the normal quantile
        times the spread.
        """
        if not 0 < level < 1:
            raise ValueError("the interval level must be between 0 and 1")
        raw = self._rows(X)
        Z = self.feature_map_.transform(raw)
        mean = self.from_model_scale(predict_pipelines([self.model_], Z)[0])
        half = self._spread(Z, self._side_factor(raw, self._factors_at(level)))
        return mean - half, mean + half

    def std_of_mean(self, X: Any) -> np.ndarray:
        """Calibrated std of each row's mean response: for a GP what the model does not know, without the scatter of
        one run about its mean (`noise_std`); for an ensemble the std of a new run (the two are not separated)."""
        return self._part(X, "std_of_mean")

    def noise_std(self, X: Any) -> np.ndarray:
        """Calibrated std of one run about its mean response, from a GP's noise (`noise_variance`; constant on the
        modelling scale, so it grows with the level on a log scale); NaN for an ensemble, which does not model it,
        and where the GP interpolates its rows."""
        return self._part(X, "noise_std")

    def _part(self, X: Any, part: str) -> np.ndarray:
        """A part of the calibrated std (`_native_parts`) of every row; NaN for rows that are not valid profiles."""
        raw = self._rows(X)
        Z = self.feature_map_.transform(raw)
        ok = np.isfinite(Z).all(axis=1)
        out = np.full(len(Z), np.nan)
        if not ok.any() or (not self.native_std_ and part == "noise_std"):
            return out
        out[ok] = self._spread(Z[ok], self.calibration_factors(raw[ok]), part)
        return out
