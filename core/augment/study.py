"""The weighted-ERM study: which source, how many surrogate rows m and which α, without leakage.

Folds. Repeated K-fold (K = 5, three repeats by default) and, beside it, one
fold per profile type with at least two runs that leaves that type out
(`type_folds`; the best-covered type, usually linear cooling, stays in every
training side: leaving it out would train on a handful of sparse-type rows, a
setting where any extra rows help and that the final model never faces).
Every candidate (α = 0 included) is scored on the very same folds, and each
source is fitted on the training rows of each fold only and sampled once; the
first m rows serve every m (nested prefixes) and every α. Validation folds
hold real rows only. Random folds of a mostly-linear DoE validate mostly on
linear runs and cannot see whether surrogate rows carry knowledge to the
profile types with few runs; the left-out types can.

Selection. With ~20 training rows the fold-to-fold noise of the CV MSE is as
large as most gains, and the lowest of a few hundred noisy candidates is
biased low, so the default rule (`one_se`) asks for a gain larger than that
noise. On the repeated K-fold, the paired differences d_j = MSE_j(candidate) −
MSE_j(α = 0) over the J = R·K folds give the gain −mean(d) and its standard
error with the Nadeau & Bengio correction for overlapping training sets,
SE = sd(d) · sqrt(1/J + n_val/n_train) with n_val/n_train = 1/(K − 1): the
plain sd/sqrt(J) of repeated folds would count the same rows R times as
independent evidence. The rule takes the candidate with the lowest CV MSE;
when its gain is not larger than its SE, synthetic data does not help and the
real-only model is kept. Otherwise it keeps that candidate's source and m and
takes the smallest α whose CV MSE is within one SE of the best and whose own
gain exceeds its own SE.

With left-out types (the default whenever a type other than the best-covered
one has two runs), they veto: a candidate whose MSE on the left-out types is
higher than the real-only model's (mean log ratio over the types < 0,
`type_gain`) is not considered, and the rule above decides among the rest on
the repeated K-fold evidence. Only candidates whose K-fold CV MSE is below the
real-only one are scored on the left-out types (no rule can choose another);
the others count as vetoed there. The left-out types do not add to the gain: with a
type left out, the real-only model knows nothing of it and almost any rows
help, a setting the final model, trained on every type, never faces; on 20
campaigns of other compounds (`bench/bench_augment.py`) a rule that counted
their gains (half the log CV MSE, half the mean log type MSE) chose
virtual-lab rows that doubled the test MSE, while the K-fold evidence alone
had rejected them.

A small α near the noise floor may be "within one SE of the best"
and no better than real-only at once, hence the own-gain condition. The `law`
rule makes the same decision whether to augment, then takes α from the
scaling law (Eq. 4, `theory`) at that source and m instead of from the noisy
CV curve. `lowest` takes the lowest K-fold CV MSE as it is.

Screen and decision. A large ensemble would cost ten minutes over the
default grid, so the grid is scored with a stand-in of the chosen model
(`stand_in`: a smaller budget, such as the first 20 members of an ensemble),
on the first repeat of the K-fold split and the left-out types
(`screen_repeats`; the sources are fitted on those folds only): the curves and
the rule's choice come from there. That choice is scored again with the full
model on every fold (all repeats and the left-out types) and kept only if the
rule's evidence holds there too. The repeats serve the decision, where noise
would do harm; a ranking on fewer folds can lose a gain, not add a harmful one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from joblib import Parallel, delayed
from sklearn.model_selection import RepeatedKFold

from core.augment.generators import GENERATORS, TuningOutcome, generator_kind, tune_generator
from core.augment.quality import quality_score
from core.augment.simulated import design_runs
from core.augment.sources import SOURCES, VIRTUAL_LAB, check_source, default_params, make_source, source_label
from core.augment.stand_in import STAND_IN_ESTIMATORS, stand_in_params
from core.augment.theory import learning_curve, theoretical_alpha
from core.augment.weights import fit_weighted
from core.models.datasets import profile_types_of
from core.models.features import FeatureMap
from core.models.scaleout import one_thread_per_fit, torch_workers
from core.models.search import GroupFolds, group_folds
from core.progress import Progress
from core.virtual_lab.transfer import SimulationCache, corresponding_states, unavailable_reason

Folds = list[tuple[np.ndarray, np.ndarray]]
DEFAULT_M = (5, 10, 15, 20, 25)
DEFAULT_LAB_M = (25, 50, 100, 150, 200)  # simulated runs are cheap to reuse, so the virtual lab goes further
DEFAULT_ALPHAS = tuple(round(0.05 * k, 2) for k in range(21))


def alpha_grid(step: float) -> tuple[float, ...]:
    """α from 0 to 1 in steps of `step` (rounded so that 0.1 steps give 0.3, not 0.30000000000000004)."""
    n_steps = round(1 / step)
    return tuple(round(k / n_steps, 4) for k in range(n_steps + 1))


LEARNING_CURVE_FRACTIONS = (0.4, 0.55, 0.7, 0.85)
SELECTION_RULES = ("one_se", "law", "lowest")
NO_GAIN = "synthetic data does not help these data; the real-only model is kept"
Curves = Mapping[str, Mapping[int, Sequence[Sequence[float]]]]  # source -> m -> [[α, CV MSE], ...]
FoldCurves = Mapping[str, Mapping[int, Sequence[Sequence[float]]]]  # source -> m -> per α, the per-fold MSEs
Choice = tuple[str | None, int, float, float]  # (source, m, α, CV MSE); source None: no augmentation


@dataclass(frozen=True)
class AugmentSettings:
    """Everything that, with the data and the chosen model, determines a study; serialises to JSON."""

    generators: tuple[str, ...] = SOURCES
    m_values: tuple[int, ...] = DEFAULT_M
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    folds: int = 5
    tune: bool = False  # the defaults are what a quality-guided search settles on for DoE-sized data
    generator_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # used as given when tune is False
    selection: str = "one_se"
    random_state: int = 0
    repeats: int = 3
    lab_m_values: tuple[int, ...] = DEFAULT_LAB_M
    stand_in_estimators: int | None = STAND_IN_ESTIMATORS  # None: the full model scores every candidate
    types: bool = True  # also leave one profile type out at a time (module notes); False: repeated K-fold only
    screen_repeats: int = 1  # repeats of the K-fold split the grid is scored on (module notes)

    def __post_init__(self) -> None:
        object.__setattr__(self, "generators", tuple(self.generators))
        for name in ("m_values", "lab_m_values"):
            object.__setattr__(self, name, tuple(sorted({int(m) for m in getattr(self, name)})))
        object.__setattr__(self, "alphas", tuple(sorted({0.0, *(float(a) for a in self.alphas)})))
        for name in [*self.generators, *self.generator_params]:
            check_source(name)
        if not self.generators:
            raise ValueError("choose at least one generator")
        for values in (self.m_values, self.lab_m_values):
            if not values or values[0] < 1:
                raise ValueError("m values must be positive whole numbers")
        if self.alphas[0] < 0.0 or self.alphas[-1] > 1.0:
            raise ValueError("α values must lie between 0 and 1")
        if self.folds < 2:
            raise ValueError("cross-validation needs at least 2 folds")
        if self.repeats < 1:
            raise ValueError("the folds must be drawn at least once (repeats ≥ 1)")
        if self.screen_repeats < 1:
            raise ValueError("the grid must be scored on at least one repeat of the folds (screen_repeats ≥ 1)")
        if self.stand_in_estimators is not None and self.stand_in_estimators < 1:
            raise ValueError("the stand-in model needs at least one estimator")
        if self.selection not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {self.selection!r}; choose one of {', '.join(SELECTION_RULES)}")

    @property
    def screened_folds(self) -> int:
        """How many of the repeated K-fold splits the grid is scored on (the first ones)."""
        return self.folds * min(self.screen_repeats, self.repeats)

    def m_for(self, source: str) -> tuple[int, ...]:
        return self.lab_m_values if source == VIRTUAL_LAB else self.m_values

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {
            **d,
            "generators": list(self.generators),
            "m_values": list(self.m_values),
            "lab_m_values": list(self.lab_m_values),
            "alphas": list(self.alphas),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AugmentSettings:
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown augmentation setting {', '.join(unknown)}")
        return cls(**d)


@dataclass
class StudyOutcome:
    """CV results of one CQA: curves with their spread, the choice and why, quality and the scaling law."""

    generator: str | None  # None: augmentation did not help (α = 0 chosen)
    m: int
    alpha: float
    alpha_theory: float | None
    cv_mse_real_only: float
    cv_mse_augmented: float
    quality_scores: dict[str, float]
    generator_params: dict[str, dict[str, Any]]
    tuning: dict[str, list[dict[str, Any]]]
    curves: dict[str, dict[int, list[list[float]]]]  # source -> m -> [[α, CV MSE], ...]
    seconds: dict[str, float]
    fold_curves: dict[str, dict[int, list[list[float]]]] = field(default_factory=dict)  # per α, per-fold MSEs
    fold_mse_real_only: list[float] = field(default_factory=list)
    rule: dict[str, Any] = field(default_factory=dict)  # name, folds, repeats, verdict
    gain_se: float | None = None  # SE of the best candidate's gain over α = 0
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)  # per source: its own choice, spread, law
    validation_folds: list[list[int]] = field(default_factory=list)  # the rows of every validation fold
    type_folds: dict[str, list[int]] = field(default_factory=dict)  # left-out profile type -> its rows
    type_curves: dict[str, dict[int, list[list[float]]]] = field(default_factory=dict)  # per α, MSE per type
    type_mse_real_only: list[float] = field(default_factory=list)  # per left-out type, in `type_folds` order


def repeated_folds(n_rows: int, folds: int, repeats: int, random_state: int) -> Folds:
    """R shuffled K-fold splits, one after the other; every candidate is scored on exactly these."""
    if n_rows < folds:
        raise ValueError(f"{n_rows} training rows cannot be split into {folds} folds")
    splitter = RepeatedKFold(n_splits=folds, n_repeats=repeats, random_state=random_state)
    return list(splitter.split(np.zeros((n_rows, 1))))


def type_folds(groups: Sequence[Any]) -> GroupFolds:
    """Leave-one-profile-type-out folds of the types with at least two runs, the best-covered type excepted.

    Leaving out the type with the most runs (usually linear cooling) would train on a handful of
    sparse-type rows: a setting where any extra rows help and that the final model never faces."""
    folds = group_folds(groups)
    if len(folds) < 2:
        return folds
    most = max(range(len(folds)), key=lambda i: len(folds[i][2]))
    return [f for i, f in enumerate(folds) if i != most]


@dataclass(frozen=True)
class TypeEvidence:
    """Per-type scores of the leave-one-profile-type-out folds, beside the repeated K-fold ones."""

    curves: FoldCurves  # source -> m -> per α, the MSE of each left-out type
    real_only: Sequence[float]  # α = 0, per left-out type


def type_gain(types: TypeEvidence, source: str, m: int, index: int) -> float:
    """The mean log ratio real-only / candidate MSE over the left-out profile types (> 0: better there)."""
    return _mean_log_ratio(types.real_only, types.curves[source][m][index])


def _mean_log_ratio(real_only: Sequence[float], candidate: Sequence[float]) -> float:
    return float(np.mean(np.log(np.maximum(real_only, 1e-300) / np.maximum(candidate, 1e-300))))


def paired_gain(candidate: Sequence[float], real_only: Sequence[float], folds: int) -> tuple[float, float]:
    """(gain, corrected SE): the mean per-fold MSE reduction against α = 0 and its standard error (module notes)."""
    d = np.asarray(real_only, float) - np.asarray(candidate, float)
    if len(d) < 2:
        return float(d.mean()), float("inf")
    return float(d.mean()), float(d.std(ddof=1) * np.sqrt(1.0 / len(d) + 1.0 / (folds - 1)))


def _best(curves: Curves, real_only: float) -> Choice:
    best: Choice = (None, 0, 0.0, real_only)
    for gen, by_m in curves.items():
        for m, points in by_m.items():
            for alpha, mse in points:
                if alpha > 0 and mse < best[3]:
                    best = (gen, int(m), float(alpha), float(mse))
    return best


def select_configuration(
    curves: Curves,
    real_only: float,
    rule: str = "one_se",
    fold_curves: FoldCurves | None = None,
    fold_real_only: Sequence[float] = (),
    folds: int | None = None,
    law: tuple[float, float] | None = None,
    types: TypeEvidence | None = None,
) -> Choice:
    """(source, m, α, CV MSE) by `rule` (see the module notes); α = 0 wins every tie.

    `folds` is K of the repeated K-fold behind the per-fold scores (default: their number, plain K-fold);
    `law` is (R*, β) of the real-data learning curve, which the `law` rule needs; `types`, the scores of the
    leave-one-profile-type-out folds: with at least one such fold the one-SE and law rules leave out the
    candidates that lose on them (`allowed_by_types`)."""
    if rule not in SELECTION_RULES:
        raise ValueError(f"unknown selection rule {rule!r}; choose one of {', '.join(SELECTION_RULES)}")
    if rule != "lowest" and fold_curves is None:
        raise ValueError(f"the {rule} rule needs the per-fold CV scores")
    if rule == "law" and law is None:
        raise ValueError("the law rule needs the real-data learning curve (R*, β)")
    if rule != "lowest" and types is not None and len(types.real_only):
        curves, fold_curves = allowed_by_types(curves, fold_curves, types)
    best = _best(curves, real_only)
    gen, m, alpha, mse = best
    if rule == "lowest" or gen is None:
        return best
    points = curves[gen][m]
    at_best = next(i for i, (a, _) in enumerate(points) if a == alpha)
    _, se = paired_gain(fold_curves[gen][m][at_best], fold_real_only, folds or len(fold_real_only))
    threshold = mse + se
    if real_only <= threshold:
        return None, 0, 0.0, real_only
    if rule == "law" and (by_law := _law_choice(gen, m, points, real_only, law)) is not None:
        return by_law
    per_fold, k = fold_curves[gen][m], folds or len(fold_real_only)
    established = [
        (a, e)
        for (a, e), f in zip(points, per_fold, strict=True)
        if a > 0 and e <= threshold and np.subtract(*paired_gain(f, fold_real_only, k)) > 0
    ]
    a, e = min(established or [(alpha, mse)], key=lambda p: p[0])
    return gen, int(m), float(a), float(e)


def _law_choice(
    gen: str, m: int, points: Sequence[Sequence[float]], real_only: float, law: tuple[float, float] | None
) -> Choice | None:
    """α from the scaling law at this source and m, its CV MSE read off the curve; None without a positive α."""
    surrogate_only = [e for a, e in points if a == 1.0]
    if not surrogate_only or law is None:
        return None
    a = round(theoretical_alpha(real_only, surrogate_only[0], *law), 3)
    if a <= 0:
        return None
    grid = np.asarray(points, float)
    return gen, int(m), a, float(np.interp(a, grid[:, 0], grid[:, 1]))


def allowed_by_types(curves: Curves, fold_curves: FoldCurves, types: TypeEvidence) -> tuple[Curves, FoldCurves]:
    """The curves and per-fold scores without the candidates that lose on the left-out profile types (α = 0 kept)."""
    kept: dict[str, dict[int, list]] = {}
    kept_folds: dict[str, dict[int, list]] = {}
    for gen, by_m in curves.items():
        for m, points in by_m.items():
            keep = [i for i, (a, _) in enumerate(points) if a == 0 or type_gain(types, gen, m, i) >= 0]
            if len(keep) > 1:
                kept.setdefault(gen, {})[m] = [points[i] for i in keep]
                kept_folds.setdefault(gen, {})[m] = [fold_curves[gen][m][i] for i in keep]
    return kept, kept_folds


def _scorer(
    family: str, params: dict, X: np.ndarray, y: np.ndarray, train: np.ndarray, val: np.ndarray, seed: int
) -> Callable[..., float]:
    """The validation MSE of one weighted fit on the training fold (optionally on some of its real rows only)."""
    Xr, yr, Xv, yv = X[train], y[train], X[val], y[val]

    def mse(Xs: np.ndarray, ys: np.ndarray, alpha: float, rows: np.ndarray | None = None) -> float:
        Xt, yt = (Xr, yr) if rows is None else (Xr[rows], yr[rows])
        model = fit_weighted(family, params, Xt, yt, Xs, ys, alpha, seed, limit_threads=False)
        return float(np.mean((model.predict(Xv) - yv) ** 2))

    return mse


def _unchecked() -> AbstractContextManager:
    """sklearn without its per-fit checks of parameters and finite inputs, which cost a third of each small fit.

    Used only after one checked fit with the same parameters and with inputs already checked to be finite."""
    return sklearn.config_context(assume_finite=True, skip_parameter_validation=True)


def _real_scores(
    family: str,
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    curve_seed: int,
    seed: int,
    with_curve: bool = True,
) -> tuple[float, list[int], list[float]]:
    """One fold's real-only MSE and its learning curve (MSE on growing subsets of the training rows)."""
    mse = _scorer(family, params, X, y, train, val, seed)
    empty = np.empty((0, X.shape[1]))
    order = np.random.default_rng(curve_seed).permutation(len(train))
    sizes = sorted({max(3, round(f * len(train))) for f in LEARNING_CURVE_FRACTIONS} - {len(train)})
    with one_thread_per_fit():
        real_only = mse(empty, empty[:, 0], 0.0)  # checks the parameters and the rows once
        if not with_curve:
            return real_only, [], []
        with _unchecked():
            curve = [mse(empty, empty[:, 0], 0.0, order[:s]) for s in sizes]
    return real_only, [*sizes, len(train)], [*curve, real_only]


def _source_scores(
    family: str,
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    sample: tuple[np.ndarray, np.ndarray],
    m_values: Sequence[int],
    alphas: Sequence[float],
    seed: int,
    wanted: np.ndarray | None = None,
) -> np.ndarray:
    """One fold and one source: the MSE of every (m, α), m by α, NaN where `wanted` (m by α) is False; the first m
    rows of the sample serve each m."""
    Xs, ys = sample
    if not (np.isfinite(Xs).all() and np.isfinite(ys).all()):
        raise ValueError("a surrogate source gave rows with missing or infinite values")
    mse = _scorer(family, params, X, y, train, val, seed)
    scores = np.full((len(m_values), len(alphas)), np.nan)
    cells = np.argwhere(np.ones_like(scores, bool) if wanted is None else wanted)
    with one_thread_per_fit():  # once for the hundreds of small fits
        for c, (i, j) in enumerate(cells):
            with _unchecked() if c else nullcontext():  # the first fit checks the parameters
                scores[i, j] = mse(Xs[: m_values[i]], ys[: m_values[i]], alphas[j])
    return scores


def _fold_samples(
    names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    seed: int,
    X: pd.DataFrame,
    y: pd.Series,
    train: np.ndarray,
    m_by_source: Mapping[str, int],
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each SDV source fitted on one training fold and sampled once: one job per fold."""
    return {n: _fold_sample(n, params[n], seed, X, y, train, m_by_source[n], scalar_bounds, None) for n in names}


def _fold_sample(
    name: str,
    params: Mapping[str, Any],
    seed: int,
    X: pd.DataFrame,
    y: pd.Series,
    train: np.ndarray,
    m: int,
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    cache: SimulationCache | None,
) -> tuple[np.ndarray, np.ndarray]:
    """m rows (inputs, CQA) from the source fitted on the training fold's rows only."""
    source = make_source(name, params, seed, scalar_bounds, cache)
    synthetic = source.fit(X.iloc[train], y.iloc[train]).sample(m)
    return synthetic[list(X.columns)].to_numpy(float), synthetic[str(y.name)].to_numpy(float)


def _tuned(
    settings: AugmentSettings,
    sdv: Sequence[str],
    X: pd.DataFrame,
    y: pd.Series,
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    n_jobs: int | None,
) -> dict[str, TuningOutcome]:
    """Each SDV generator's configuration by SDV's quality score, generators side by side."""
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(tune_generator)(n, X, y, None, settings.random_state, scalar_bounds) for n in sdv
    )
    return dict(zip(sdv, outcomes, strict=True))


def _sdv_samples(
    settings: AugmentSettings,
    sdv: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    which: Sequence[int],
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    n_jobs: int | None,
    with_quality: bool = True,
) -> tuple[dict[tuple[int, str], tuple[np.ndarray, np.ndarray]], dict[str, TuningOutcome]]:
    """The SDV sources fitted inside the training side of folds `which` (fold k with seed + k, so a fold's sample
    does not depend on which others are drawn) and, unless they were tuned or `with_quality` is off, their quality
    score on every row (the configuration as given), all in one batch of jobs, the longest first."""
    seed, m_max = settings.random_state, {n: settings.m_for(n)[-1] for n in sdv}
    jobs = [delayed(_fold_samples)(sdv, params, seed + k, X, y, folds[k][0], m_max, scalar_bounds) for k in which]
    scored = list(sdv) if with_quality and not settings.tune else []
    if scored:  # one job over every row, the longest, so it goes first
        jobs.insert(0, delayed(_quality_scores)(scored, params, X, y, seed, scalar_bounds))
    done = Parallel(n_jobs=n_jobs)(jobs)
    quality = done.pop(0) if scored else {}
    samples = {(k, n): rows for k, by_source in zip(which, done, strict=True) for n, rows in by_source.items()}
    return samples, quality


def _quality_scores(
    names: Sequence[str],
    params: Mapping[str, Mapping[str, Any]],
    X: pd.DataFrame,
    y: pd.Series,
    seed: int,
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
) -> dict[str, TuningOutcome]:
    """SDV's quality score of each source as configured, fitted on every row."""
    return {n: tune_generator(n, X, y, [params[n]], seed, scalar_bounds) for n in names}


def _lab_samples(
    settings: AugmentSettings,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    which: Sequence[int],
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    cache: SimulationCache,
    n_jobs: int | None,
) -> tuple[dict[str, Any], float, dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]]:
    """(params, quality score, samples of the folds `which`) of the virtual lab."""
    params = {**default_params(VIRTUAL_LAB), **settings.generator_params.get(VIRTUAL_LAB, {})}
    _simulate_lab(settings, X, [X], scalar_bounds, cache, n_jobs)
    every_row = make_source(VIRTUAL_LAB, params, settings.random_state, scalar_bounds, cache).fit(X, y)
    real = X.assign(**{str(y.name): y.to_numpy(float)})
    quality = quality_score(real, every_row.sample(settings.lab_m_values[-1]))
    return params, quality, _lab_fold_samples(settings, params, X, y, folds, which, scalar_bounds, cache, n_jobs)


def _simulate_lab(
    settings: AugmentSettings,
    X: pd.DataFrame,
    trainings: Sequence[pd.DataFrame],
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    cache: SimulationCache,
    n_jobs: int | None,
) -> None:
    """The designed runs (they depend on the seed only) and each set of training rows in its corresponding states,
    simulated in one batch; the sources then find them in the cache."""
    runs = design_runs(settings.lab_m_values[-1], list(X.columns), settings.random_state, scalar_bounds=scalar_bounds)
    cache.simulate(pd.concat([runs, *(corresponding_states(t).simulated_inputs(t) for t in trainings)]), n_jobs)


def _lab_fold_samples(
    settings: AugmentSettings,
    params: Mapping[str, Any],
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    which: Sequence[int],
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
    cache: SimulationCache,
    n_jobs: int | None,
) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """The virtual lab's samples of the folds `which`: each fold only fits its calibration on its training rows
    (cheap once they are simulated, so here rather than in a worker)."""
    _simulate_lab(settings, X, [X.iloc[folds[k][0]] for k in which], scalar_bounds, cache, n_jobs)
    seed, m_max = settings.random_state, settings.lab_m_values[-1]
    return {
        (k, VIRTUAL_LAB): _fold_sample(VIRTUAL_LAB, params, seed, X, y, folds[k][0], m_max, scalar_bounds, cache)
        for k in which
    }


@torch_workers()
def run_study(
    X: pd.DataFrame,
    y: pd.Series,
    family: str,
    params: Mapping[str, Any],
    settings: AugmentSettings,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    cache: SimulationCache | None = None,
    features: FeatureMap | None = None,
    groups: Sequence[Any] | None = None,
) -> StudyOutcome:
    """The CV study for one CQA on its training rows (X, y) with the model `family` and `params`.

    Sources learn the raw rows; `features` (the CQA model's feature set) maps real and surrogate rows
    alike before each weighted model is fitted, so the study scores the model that will be used.
    `cache` keeps virtual-lab simulations between studies (the same runs are designed for the same seed).
    `groups`: the profile type of each row (default: read from the profile columns of X), for the
    leave-one-type-out folds."""
    to_model = features.transform if features is not None else np.asarray
    report = progress or (lambda fraction, message: None)
    seed, params = settings.random_state, dict(params)
    seconds: dict[str, float] = {}
    skipped = {
        n: r
        for n in settings.generators
        if n == VIRTUAL_LAB and (r := unavailable_reason(list(X.columns), str(y.name)))
    }
    sources = [n for n in settings.generators if n not in skipped]
    if not sources:
        raise ValueError("no surrogate source can be used for these data: " + "; ".join(skipped.values()))
    sdv = [n for n in sources if n in GENERATORS]
    kfold, by_type = study_folds(X, y, settings, groups)
    folds = kfold + [(train, val) for _, train, val in by_type]  # the decision's evidence (module notes)
    screen = [*range(settings.screened_folds), *range(len(kfold), len(folds))]  # the grid's: same for every candidate

    start = time.perf_counter()
    outcomes = _tuned(settings, sdv, X, y, scalar_bounds, n_jobs) if settings.tune else {}
    gen_params = {n: dict(outcomes[n].params) if n in outcomes else _given(settings, n) for n in sdv}
    seconds["tuning"] = time.perf_counter() - start
    report(0.1, "generators tuned" if settings.tune else "generators at their settings")

    start = time.perf_counter()
    n_kfold = settings.screened_folds
    samples, scored = _sdv_samples(settings, sdv, gen_params, X, y, folds, screen[:n_kfold], scalar_bounds, n_jobs)
    outcomes.update(scored)
    quality = {n: outcomes[n].score for n in sdv}
    tuning = {n: outcomes[n].tried for n in sdv}
    seconds["generators"] = time.perf_counter() - start
    report(0.4, f"generators fitted inside each of the {n_kfold} training folds")

    start = time.perf_counter()
    if VIRTUAL_LAB in sources:
        cache = cache if cache is not None else SimulationCache()
        gen_params[VIRTUAL_LAB], quality[VIRTUAL_LAB], lab = _lab_samples(
            settings, X, y, folds, screen, scalar_bounds, cache, n_jobs
        )
        samples.update(lab)
        tuning[VIRTUAL_LAB] = []
    seconds["simulations"] = time.perf_counter() - start
    report(0.5, "virtual-lab runs simulated" if VIRTUAL_LAB in sources else "no virtual-lab runs")

    start = time.perf_counter()
    Xn, yn = to_model(X.to_numpy(float)), y.to_numpy(float)
    model_rows = _model_rows(to_model, Xn.shape[1])
    samples = {key: model_rows(rows) for key, rows in samples.items()}
    alphas = [a for a in settings.alphas if a > 0]
    search = stand_in_params(family, params, settings.stand_in_estimators)
    screened = [folds[k] for k in screen]

    def grid(which: Sequence[int], names: Sequence[str]) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
        """The sources' samples on the screened folds at positions `which`; an SDV source's on the left-out types'
        folds are drawn when first asked for (only sources with candidates to check there ask)."""
        keys = {(i, n): (screen[i], n) for i in which for n in names}
        missing = sorted({k for k, n in keys.values() if (k, n) not in samples})
        if missing:
            begun, need = time.perf_counter(), [n for n in names if n in GENERATORS]
            more, _ = _sdv_samples(settings, need, gen_params, X, y, folds, missing, scalar_bounds, n_jobs, False)
            samples.update({key: model_rows(rows) for key, rows in more.items()})
            seconds["generators"] += time.perf_counter() - begun
        return {key: samples[kn] for key, kn in keys.items()}

    drawn_before = seconds["generators"]
    scored_folds = _scored(family, search, Xn, yn, screened, n_kfold, grid, sources, settings, alphas, n_jobs, report)
    seconds["models"] = time.perf_counter() - start - (seconds["generators"] - drawn_before)
    report(0.9, "every candidate scored")
    quality = {n: quality[n] for n in sources}  # in the order of the sources
    fitted = {"quality_scores": quality, "generator_params": gen_params, "tuning": tuning, "seconds": seconds}
    outcome = _outcome(settings, sources, skipped, kfold[:n_kfold], by_type, alphas, scored_folds, fitted)
    if search != params or len(screen) < len(folds):
        start = time.perf_counter()
        rest = [k for k in range(len(folds)) if (k, outcome.generator) not in samples]  # its other folds too
        if outcome.generator in GENERATORS:
            g, bounds = [outcome.generator], scalar_bounds
            more, _ = _sdv_samples(settings, g, gen_params, X, y, folds, rest, bounds, n_jobs, with_quality=False)
            samples.update({key: model_rows(rows) for key, rows in more.items()})
        elif outcome.generator == VIRTUAL_LAB:
            lab_params = gen_params[VIRTUAL_LAB]
            more = _lab_fold_samples(settings, lab_params, X, y, folds, rest, scalar_bounds, cache, n_jobs)
            samples.update({key: model_rows(rows) for key, rows in more.items()})
        outcome = _confirmed(outcome, family, params, search, Xn, yn, folds, samples, seed, n_jobs, by_type)
        seconds["full_model"] = time.perf_counter() - start
    report(1.0, f"chosen: {outcome.rule['verdict']}")
    return outcome


def _model_rows(
    to_model: Callable[[np.ndarray], np.ndarray], width: int
) -> Callable[[tuple[np.ndarray, np.ndarray]], tuple[np.ndarray, np.ndarray]]:
    """A source's raw rows in the CQA model's inputs (an empty sample keeps its width)."""
    empty = np.empty((0, width))
    return lambda rows: (to_model(rows[0]) if len(rows[0]) else empty, rows[1])


def study_folds(
    X: pd.DataFrame, y: pd.Series, settings: AugmentSettings, groups: Sequence[Any] | None = None
) -> tuple[Folds, GroupFolds]:
    """The repeated K-fold splits and, unless `settings.types` is off, the leave-one-type-out ones (`type_folds`)."""
    kfold = repeated_folds(len(y), settings.folds, settings.repeats, settings.random_state)
    if not settings.types:
        return kfold, []
    return kfold, type_folds(profile_types_of(X) if groups is None else groups)


def _given(settings: AugmentSettings, name: str) -> dict[str, Any]:
    return dict(settings.generator_params.get(name, generator_kind(name).defaults))


def _scored(
    family: str,
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    n_kfold: int,
    samples: Callable[[Sequence[int], Sequence[str]], Mapping[tuple[int, str], tuple[np.ndarray, np.ndarray]]],
    sources: Sequence[str],
    settings: AugmentSettings,
    alphas: Sequence[float],
    n_jobs: int | None,
    report: Progress,
) -> list[tuple[float, list[int], list[float], dict[str, np.ndarray]]]:
    """Per fold: the real-only MSE, the learning curve (the first `n_kfold` folds only) and, per source, MSE by
    (m, α).

    The K-fold folds (the first `n_kfold`) score every candidate; the left-out types' folds after them only the
    candidates whose K-fold CV MSE is below the real-only one (NaN elsewhere): no rule can choose another, and the
    types' folds hold almost half the grid's fits. `samples(folds, sources)` gives the sources' rows on those folds,
    asked for the types' folds only once the K-fold has said which sources have a candidate left there (a source
    without one is not fitted there at all). `report` hears of every finished job (0.5 to 0.9 of the study)."""
    seed = settings.random_state

    def jobs(which: Sequence[int], wanted: Mapping[str, np.ndarray]) -> dict[tuple[int, str], Any]:
        """One job per fold in `which` and source with a wanted candidate, the most rows × fits first so that the
        workers end together."""
        rows = {n: len(y) + np.array(settings.m_for(n), float)[:, None] for n in sources}
        work = {n: float(np.sum(rows[n] * wanted.get(n, 1.0))) for n in sources}
        names = [n for n in sources if work[n] > 0]
        given = samples(which, names)
        pairs = sorted(((k, n) for k in which for n in names), key=lambda p: -work[p[1]])
        return {
            (k, n): delayed(_source_scores)(
                family, params, X, y, *folds[k], given[k, n], settings.m_for(n), alphas, seed, wanted.get(n)
            )
            for k, n in pairs
        }

    real = [
        delayed(_real_scores)(family, params, X, y, train, val, seed + k, seed, k < n_kfold)
        for k, (train, val) in enumerate(folds)
    ]
    kfold = jobs(range(n_kfold), {})
    done = _reporting([*kfold.values(), *real], n_jobs, report, (0.5, 0.8), "candidates scored on the K-fold")
    scores, real_scores = dict(zip(kfold, done[: len(kfold)], strict=True)), done[len(kfold) :]
    cv_real = np.mean([r[0] for r in real_scores[:n_kfold]])
    wanted = {n: np.mean([scores[k, n] for k in range(n_kfold)], axis=0) < cv_real for n in sources}
    by_type = jobs(range(n_kfold, len(folds)), wanted)
    on_types = _reporting(list(by_type.values()), n_jobs, report, (0.8, 0.9), "gains checked on the left-out types")
    scores.update(zip(by_type, on_types, strict=True))
    nothing = {n: np.full((len(settings.m_for(n)), len(alphas)), np.nan) for n in sources}
    return [(*r, {n: scores.get((k, n), nothing[n]) for n in sources}) for k, r in enumerate(real_scores)]


def _reporting(tasks: list, n_jobs: int | None, report: Progress, span: tuple[float, float], what: str) -> list[Any]:
    """The tasks' results in order, the progress moved along `span` about every tenth of them, so that a long grid
    shows it is moving without a line per job."""
    results, every = [], max(1, len(tasks) // 10)
    for i, result in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(tasks), start=1):
        results.append(result)
        if i % every == 0 or i == len(tasks):
            report(span[0] + (span[1] - span[0]) * i / len(tasks), f"{what}: {i} of {len(tasks)} jobs")
    if not tasks:
        report(span[1], f"{what}: no jobs needed")
    return results


def _full_fold_scores(
    family: str,
    params: dict,
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    val: np.ndarray,
    Xs: np.ndarray,
    ys: np.ndarray,
    alpha: float,
    seed: int,
) -> tuple[float, float]:
    """One fold's MSE of the full model at α = 0 and at the stand-in's choice."""
    scores = []
    for a in (0.0, alpha):
        model = fit_weighted(family, params, X[train], y[train], Xs, ys, a, seed)
        scores.append(float(np.mean((model.predict(X[val]) - y[val]) ** 2)))
    return scores[0], scores[1]


def _confirmed(
    outcome: StudyOutcome,
    family: str,
    params: dict,
    search: dict,
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    samples: Mapping[tuple[int, str], tuple[np.ndarray, np.ndarray]],
    seed: int,
    n_jobs: int | None,
    by_type: GroupFolds = (),
) -> StudyOutcome:
    """The grid's choice scored again with the full model on every fold; kept only if its gain holds there.

    `folds` are all the repeated K-fold ones followed by the left-out types' (`by_type`), whose evidence then
    counts as in the selection. Under the `lowest` rule the choice is kept as it is (that rule asks for no
    evidence) and the full model's scores are only recorded."""
    outcome.rule["stand_in"] = search
    if outcome.generator is None:
        return outcome
    g, m, alpha = outcome.generator, outcome.m, outcome.alpha
    pairs = Parallel(n_jobs=n_jobs)(
        delayed(_full_fold_scores)(family, params, X, y, train, val, *_prefix(samples[k, g], m), alpha, seed)
        for k, (train, val) in enumerate(folds)
    )
    scores, n = np.array(pairs), len(folds) - len(by_type)
    real, chosen = scores[:n, 0], scores[:n, 1]
    gain, se = paired_gain(chosen, real, outcome.rule["folds"])
    holds = gain > se
    confirmation = {"cv_mse_real_only": float(real.mean()), "cv_mse": float(chosen.mean()), "folds": len(folds)}
    evidence = f"{gain:.3g} ± {se:.3g}"
    if len(by_type):
        confirmation["type_gain"] = _mean_log_ratio(scores[n:, 0], scores[n:, 1])
        holds = holds and confirmation["type_gain"] >= 0
        evidence += f"; left-out profile types {np.expm1(-confirmation['type_gain']):+.0%}"
    holds = outcome.rule["name"] == "lowest" or holds
    outcome.rule["confirmation"] = {**confirmation, "gain": gain, "gain_se": se, "holds": holds}
    if holds:
        outcome.rule["verdict"] += (
            f"; the full model confirms it on all {len(folds)} folds: CV MSE {chosen.mean():.4g} against "
            f"{real.mean():.4g} ({evidence})"
        )
    else:
        outcome.generator, outcome.m, outcome.alpha = None, 0, 0.0
        outcome.cv_mse_augmented = outcome.cv_mse_real_only
        outcome.rule["verdict"] = (
            f"{NO_GAIN} (on all {len(folds)} folds the full model does not confirm the grid's gain at m = {m}, "
            f"α = {alpha:g}: {evidence})"
        )
    return outcome


def _prefix(sample: tuple[np.ndarray, np.ndarray], m: int) -> tuple[np.ndarray, np.ndarray]:
    return sample[0][:m], sample[1][:m]


def _outcome(
    settings: AugmentSettings,
    sources: Sequence[str],
    skipped: Mapping[str, str],
    folds: Folds,
    by_type: GroupFolds,
    alphas: Sequence[float],
    scored: Sequence[tuple[float, list[int], list[float], dict[str, np.ndarray]]],
    fitted: Mapping[str, Any],
) -> StudyOutcome:
    """Curves, per-fold scores, the choice under the rule and the scaling law from the fold results.

    `scored` holds the repeated K-fold folds, then the left-out types'; `fitted` holds the sources' quality
    scores, parameters, tuning records and the seconds spent."""
    scored, by_type_scored = scored[: len(folds)], scored[len(folds) :]
    real_only = np.array([s[0] for s in scored])
    sizes = [n for s in scored for n in s[1]]
    errors = [e for s in scored for e in s[2]]
    cv_real = float(real_only.mean())
    curves, fold_curves = _curves(sources, settings, alphas, scored, cv_real)
    types = None
    if by_type:
        type_real = [s[0] for s in by_type_scored]
        type_curves = _curves(sources, settings, alphas, by_type_scored, cv_real)[1]
        types = TypeEvidence(type_curves, type_real)
    k = settings.folds
    floor, exponent = learning_curve(sizes, errors)
    choice = select_configuration(
        curves, cv_real, settings.selection, fold_curves, real_only.tolist(), k, (floor, exponent), types
    )
    best = _best(curves, np.inf)  # the lowest augmented candidate, whether or not it beats α = 0
    gain_se = None
    if best[0] is not None:
        at = [a for a, _ in curves[best[0]][best[1]]].index(best[2])
        gain_se = paired_gain(fold_curves[best[0]][best[1]][at], real_only, k)[1]
    by_source = {
        n: _source_summary(n, curves, fold_curves, real_only, settings, cv_real, floor, exponent, types)
        for n in sources
    }
    by_source.update({n: {"label": source_label(n), "skipped": reason} for n, reason in skipped.items()})
    generator, m, alpha, cv_aug = choice
    theory_at = (generator, m) if generator is not None else best[:2]
    alpha_theory = _law_alpha(curves, cv_real, floor, exponent, *theory_at)
    verdict = (
        NO_GAIN
        if generator is None
        else f"{source_label(generator)} rows help: m = {m}, α = {alpha:g} (CV MSE {cv_aug:.4g} against {cv_real:.4g})"
    )
    rule = {"name": settings.selection, "folds": k, "repeats": settings.repeats, "verdict": verdict}
    if types is not None:
        rule["types"] = [name for name, _, _ in by_type]
        rule["evidence"] = _allowed_summary(curves, fold_curves, real_only, k, types)
        on_grid = [a for a, _ in curves[generator][m]] if generator is not None else []
        if alpha in on_grid:  # the law rule's α may lie between grid points, or lose on the K-fold
            change = np.expm1(-type_gain(types, generator, m, on_grid.index(alpha)))
            if np.isfinite(change):
                rule["verdict"] += f"; on the left-out profile types the MSE changes by {change:+.0%}"
    return StudyOutcome(
        generator=generator,
        m=m,
        alpha=alpha,
        alpha_theory=alpha_theory,
        cv_mse_real_only=cv_real,
        cv_mse_augmented=cv_aug,
        curves=curves,
        fold_curves=fold_curves,
        fold_mse_real_only=real_only.tolist(),
        rule=rule,
        gain_se=gain_se,
        sources=by_source,
        validation_folds=[val.tolist() for _, val in folds],
        type_folds={name: val.tolist() for name, _, val in by_type},
        type_curves=dict(types.curves) if types is not None else {},
        type_mse_real_only=list(types.real_only) if types is not None else [],
        **fitted,
    )


def _curves(
    sources: Sequence[str],
    settings: AugmentSettings,
    alphas: Sequence[float],
    scored: Sequence[tuple[float, list[int], list[float], dict[str, np.ndarray]]],
    cv_real: float,
) -> tuple[dict[str, dict[int, list[list[float]]]], dict[str, dict[int, list[list[float]]]]]:
    """(curves, per-fold curves) of these folds' scores: [[α, mean MSE], ...] and, per α, the per-fold MSEs."""
    real_only = [s[0] for s in scored]
    per_fold = {n: np.stack([s[3][n] for s in scored]) for n in sources}  # (fold, m, α)
    curves, fold_curves = {}, {}
    for n in sources:
        means = per_fold[n].mean(axis=0)
        curves[n] = {
            m: [[0.0, cv_real], *([a, float(e)] for a, e in zip(alphas, means[i], strict=True))]
            for i, m in enumerate(settings.m_for(n))
        }
        fold_curves[n] = {m: [real_only, *per_fold[n][:, i, :].T.tolist()] for i, m in enumerate(settings.m_for(n))}
    return curves, fold_curves


def _allowed_summary(
    curves: Curves, fold_curves: FoldCurves, real_only: Sequence[float], k: int, types: TypeEvidence
) -> dict[str, Any] | None:
    """The lowest-CV candidate the left-out profile types allow, its K-fold gain over α = 0 and its type change."""
    gen, m, alpha, _ = _best(allowed_by_types(curves, fold_curves, types)[0], np.inf)
    if gen is None:
        return None
    i = [a for a, _ in curves[gen][m]].index(alpha)
    gain, se = paired_gain(fold_curves[gen][m][i], real_only, k)
    change = type_gain(types, gen, m, i)
    return {"source": gen, "m": m, "alpha": alpha, "gain": gain, "gain_se": se, "type_gain": change}


def _source_summary(
    name: str,
    curves: Curves,
    fold_curves: FoldCurves,
    real_only: np.ndarray,
    settings: AugmentSettings,
    cv_real: float,
    floor: float,
    exponent: float,
    types: TypeEvidence | None = None,
) -> dict[str, Any]:
    """This source alone under the study's rule: its choice, the noise of its best gain, its spread and its law."""
    own = {name: curves[name]}
    gen, m, alpha, cv = select_configuration(
        own, cv_real, settings.selection, fold_curves, real_only, settings.folds, (floor, exponent), types
    )
    _, best_m, best_alpha, best_cv = _best(own, np.inf)
    gain, se = (0.0, None)
    if best_alpha > 0:
        at = [a for a, _ in curves[name][best_m]].index(best_alpha)
        gain, se = paired_gain(fold_curves[name][best_m][at], real_only, settings.folds)
    spread = {
        mm: [paired_gain(f, real_only, settings.folds)[1] if i else 0.0 for i, f in enumerate(per_alpha)]
        for mm, per_alpha in fold_curves[name].items()
    }
    law_m = m if gen is not None else (best_m or settings.m_for(name)[-1])
    whole = {} if types is None else {"allowed": _allowed_summary(own, fold_curves, real_only, settings.folds, types)}
    return {
        **whole,
        "label": source_label(name),
        "m": m,
        "alpha": alpha,
        "cv_mse": cv,
        "best": {"m": best_m, "alpha": best_alpha, "cv_mse": best_cv, "gain": gain, "gain_se": se},
        "spread": spread,
        "law": {
            "m": law_m,
            "floor": floor,
            "exponent": exponent,
            "alpha_theory": _law_alpha(curves, cv_real, floor, exponent, name, law_m),
        },
    }


def _law_alpha(
    curves: Curves, cv_real: float, floor: float, exponent: float, source: str | None, m: int
) -> float | None:
    """α* of Eq. 4 for (source, m); None without a source or without its α = 1 (surrogate-only) point."""
    if source is None or m not in curves.get(source, {}):
        return None
    surrogate_only = [e for a, e in curves[source][m] if a == 1.0]
    return theoretical_alpha(cv_real, surrogate_only[0], floor, exponent) if surrogate_only else None
