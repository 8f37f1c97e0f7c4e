"""The weighted-ERM study: which generator, how many synthetic rows m and which α, without leakage.

For every K-fold split of the training rows, each generator is fitted on the
training fold only and sampled once; the first m rows serve every m (nested
prefixes) and every α. Validation folds hold real rows only. The candidate
with the lowest mean CV MSE wins, and α = 0 (the real-only model) is always a
candidate, so augmentation is chosen only when it helps.

With ~20 training rows the fold-to-fold noise of the CV MSE is as large as
most gains, and the lowest of a few hundred noisy candidates is biased low.
The `one_se` selection rule therefore takes the winner's generator and m and
then the smallest α whose CV MSE is within one standard error of the winner's
(the standard error of the winner's paired per-fold differences from the
real-only model); when that is α = 0, no augmentation is chosen.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from core.augment.generators import GENERATORS, SyntheticGenerator, generator_kind, tune_generator
from core.augment.theory import learning_curve, theoretical_alpha
from core.augment.weights import fit_weighted
from core.models.features import FeatureMap
from core.models.search import cv_folds

Progress = Callable[[float, str], None]
DEFAULT_M = (5, 10, 15, 20, 25)
DEFAULT_ALPHAS = tuple(round(0.05 * k, 2) for k in range(21))
LEARNING_CURVE_FRACTIONS = (0.4, 0.55, 0.7, 0.85)
SELECTION_RULES = ("lowest", "one_se")
Curves = Mapping[str, Mapping[int, Sequence[Sequence[float]]]]  # generator -> m -> [[α, CV MSE], ...]
FoldCurves = Mapping[str, Mapping[int, Sequence[Sequence[float]]]]  # generator -> m -> per α, the per-fold MSEs


@dataclass(frozen=True)
class AugmentSettings:
    """Everything that, with the data and the chosen model, determines a study; serialises to JSON."""

    generators: tuple[str, ...] = tuple(GENERATORS)
    m_values: tuple[int, ...] = DEFAULT_M
    alphas: tuple[float, ...] = DEFAULT_ALPHAS
    folds: int = 3
    tune: bool = True
    generator_params: dict[str, dict[str, Any]] = field(default_factory=dict)  # used as given when tune is False
    selection: str = "lowest"
    random_state: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "generators", tuple(self.generators))
        object.__setattr__(self, "m_values", tuple(sorted({int(m) for m in self.m_values})))
        object.__setattr__(self, "alphas", tuple(sorted({0.0, *(float(a) for a in self.alphas)})))
        for name in [*self.generators, *self.generator_params]:
            generator_kind(name)
        if not self.generators:
            raise ValueError("choose at least one generator")
        if not self.m_values or self.m_values[0] < 1:
            raise ValueError("m values must be positive whole numbers")
        if self.alphas[0] < 0.0 or self.alphas[-1] > 1.0:
            raise ValueError("α values must lie between 0 and 1")
        if self.folds < 2:
            raise ValueError("cross-validation needs at least 2 folds")
        if self.selection not in SELECTION_RULES:
            raise ValueError(f"unknown selection rule {self.selection!r}; choose one of {', '.join(SELECTION_RULES)}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {**d, "generators": list(self.generators), "m_values": list(self.m_values), "alphas": list(self.alphas)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AugmentSettings:
        unknown = sorted(set(d) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown augmentation setting {', '.join(unknown)}")
        return cls(**d)


@dataclass
class StudyOutcome:
    """CV results of one CQA: curves, the winner, the quality of each generator and the theoretical α."""

    generator: str | None  # None: augmentation did not help (α = 0 chosen)
    m: int
    alpha: float
    alpha_theory: float | None
    cv_mse_real_only: float
    cv_mse_augmented: float
    quality_scores: dict[str, float]
    generator_params: dict[str, dict[str, Any]]
    tuning: dict[str, list[dict[str, Any]]]
    curves: dict[str, dict[int, list[list[float]]]]  # generator -> m -> [[α, CV MSE], ...]
    seconds: dict[str, float]
    fold_curves: dict[str, dict[int, list[list[float]]]] = field(default_factory=dict)  # per α, per-fold MSEs
    fold_mse_real_only: list[float] = field(default_factory=list)


def select_configuration(
    curves: Curves,
    real_only: float,
    rule: str = "lowest",
    fold_curves: FoldCurves | None = None,
    fold_real_only: Sequence[float] = (),
) -> tuple[str | None, int, float, float]:
    """(generator, m, α, CV MSE) by `rule` (see the module notes); α = 0 wins every tie."""
    if rule not in SELECTION_RULES:
        raise ValueError(f"unknown selection rule {rule!r}; choose one of {', '.join(SELECTION_RULES)}")
    if rule == "one_se" and fold_curves is None:
        raise ValueError("the one_se rule needs the per-fold CV scores")
    best: tuple[str | None, int, float, float] = (None, 0, 0.0, real_only)
    for gen, by_m in curves.items():
        for m, points in by_m.items():
            for alpha, mse in points:
                if alpha > 0 and mse < best[3]:
                    best = (gen, int(m), float(alpha), float(mse))
    gen, m, alpha, mse = best
    if rule == "lowest" or gen is None:
        return best
    points = curves[gen][m]
    per_fold = np.asarray(fold_curves[gen][m], float)
    at_best = next(i for i, (a, _) in enumerate(points) if a == alpha)
    gain = per_fold[at_best] - np.asarray(fold_real_only, float)
    threshold = mse + gain.std(ddof=1) / np.sqrt(len(gain))
    if real_only <= threshold:
        return None, 0, 0.0, real_only
    a, e = min(((a, e) for a, e in points if a > 0 and e <= threshold), key=lambda p: p[0])
    return gen, int(m), float(a), float(e)


def _fold_mse(
    family: str,
    params: dict,
    X_real: np.ndarray,
    y_real: np.ndarray,
    X_syn: np.ndarray,
    y_syn: np.ndarray,
    alpha: float,
    X_val: np.ndarray,
    y_val: np.ndarray,
    seed: int,
) -> float:
    model = fit_weighted(family, params, X_real, y_real, X_syn, y_syn, alpha, seed)
    return float(np.mean((model.predict(X_val) - y_val) ** 2))


def _fold_sample(
    name: str,
    params: Mapping[str, Any],
    seed: int,
    X: pd.DataFrame,
    y: pd.Series,
    train: np.ndarray,
    m: int,
    scalar_bounds: Mapping[str, tuple[float, float]] | None,
) -> tuple[np.ndarray, np.ndarray]:
    """m rows (inputs, CQA) from the generator fitted on the training fold's rows only."""
    gen = SyntheticGenerator(name, dict(params), seed, scalar_bounds=scalar_bounds)
    synthetic = gen.fit(X.iloc[train], y.iloc[train]).sample(m)
    return synthetic[list(X.columns)].to_numpy(float), synthetic[str(y.name)].to_numpy(float)


def run_study(
    X: pd.DataFrame,
    y: pd.Series,
    family: str,
    params: Mapping[str, Any],
    settings: AugmentSettings,
    scalar_bounds: Mapping[str, tuple[float, float]] | None = None,
    n_jobs: int | None = None,
    progress: Progress | None = None,
    features: FeatureMap | None = None,
) -> StudyOutcome:
    """The CV study for one CQA on its training rows (X, y) with the model `family` and `params`.

    Generators learn the raw rows; `features` (the CQA model's feature set) maps real and synthetic
    rows alike before each weighted model is fitted, so the study scores the model that will be used.
    """
    to_model = features.transform if features is not None else np.asarray
    report = progress or (lambda fraction, message: None)
    seed, params = settings.random_state, dict(params)
    seconds = {"tuning": 0.0, "generators": 0.0, "models": 0.0}
    gen_params, quality, tuning = {}, {}, {}
    n_steps = len(settings.generators) * (settings.folds + (1 if settings.tune else 0)) + 2
    step = 0
    parallel = Parallel(n_jobs=n_jobs)
    # Generators are independent of each other and of the folds: fit them side by side, reporting as each ends.
    start = time.perf_counter()
    grids = {
        n: None if settings.tune else [settings.generator_params.get(n, dict(generator_kind(n).defaults))]
        for n in settings.generators
    }
    outcomes = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(tune_generator)(n, X, y, grids[n], seed, scalar_bounds) for n in settings.generators
    )
    for name, outcome in zip(settings.generators, outcomes, strict=True):
        gen_params[name], quality[name], tuning[name] = outcome.params, outcome.score, outcome.tried
        if settings.tune:
            step += 1
            report(step / n_steps, f"{generator_kind(name).label}: quality {outcome.score:.3f} (tuned)")
    seconds["tuning"] = time.perf_counter() - start

    Xv_all, yv_all = to_model(X.to_numpy(float)), y.to_numpy(float)
    folds = cv_folds(len(y), settings.folds, seed)
    m_max = settings.m_values[-1]
    start = time.perf_counter()
    fold_generators = [(k, name) for k in range(len(folds)) for name in settings.generators]
    samples = dict(
        zip(
            fold_generators,
            parallel(
                delayed(_fold_sample)(name, gen_params[name], seed + k, X, y, folds[k][0], m_max, scalar_bounds)
                for k, name in fold_generators
            ),
            strict=True,
        )
    )
    seconds["generators"] = time.perf_counter() - start
    step += 1
    report(step / n_steps, "generators fitted inside every training fold")
    alphas = [a for a in settings.alphas if a > 0]
    real_only = np.zeros(len(folds))
    per_fold = {g: {m: np.zeros((len(folds), len(alphas))) for m in settings.m_values} for g in settings.generators}
    curve_sizes: list[float] = []
    curve_errors: list[float] = []
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for k, (train, val) in enumerate(folds):
        Xr, yr, Xv, yv = Xv_all[train], yv_all[train], Xv_all[val], yv_all[val]
        order = rng.permutation(len(train))
        sizes = sorted({max(3, round(f * len(train))) for f in LEARNING_CURVE_FRACTIONS} - {len(train)})
        empty = np.empty((0, Xr.shape[1]))
        subsets = [order[:s] for s in sizes] + [np.arange(len(train))]  # the full fold in its own order
        base = parallel(
            delayed(_fold_mse)(family, params, Xr[idx], yr[idx], empty, empty[:, 0], 0.0, Xv, yv, seed)
            for idx in subsets
        )
        real_only[k] = base[-1]
        curve_sizes += [*sizes, len(train)]
        curve_errors += base
        for name in settings.generators:
            Xs, ys = samples[k, name]
            Xs = to_model(Xs) if len(Xs) else np.empty((0, Xr.shape[1]))
            jobs = [(m, a) for m in settings.m_values for a in alphas]
            scores = parallel(
                delayed(_fold_mse)(family, params, Xr, yr, Xs[:m], ys[:m], a, Xv, yv, seed) for m, a in jobs
            )
            for (m, a), mse in zip(jobs, scores, strict=True):
                per_fold[name][m][k, alphas.index(a)] = mse
            step += 1
            report(step / n_steps, f"fold {k + 1}/{len(folds)}: weighted models on {generator_kind(name).label} rows")
    seconds["models"] = time.perf_counter() - start

    cv_real = float(real_only.mean())
    curves = {
        g: {
            m: [[0.0, cv_real], *([a, float(e)] for a, e in zip(alphas, by_m[m].mean(axis=0), strict=True))]
            for m in settings.m_values
        }
        for g, by_m in per_fold.items()
    }
    fold_curves = {
        g: {m: [real_only.tolist(), *by_m[m].T.tolist()] for m in settings.m_values} for g, by_m in per_fold.items()
    }
    generator, m, alpha, cv_aug = select_configuration(
        curves, cv_real, settings.selection, fold_curves, real_only.tolist()
    )
    alpha_theory = _alpha_theory(curves, curve_sizes, curve_errors, cv_real, generator, m)
    step += 1
    report(1.0, f"chosen: {generator or 'no augmentation'} m={m} α={alpha:g} (CV MSE {cv_aug:.4g})")
    return StudyOutcome(
        generator,
        m,
        alpha,
        alpha_theory,
        cv_real,
        cv_aug,
        quality,
        gen_params,
        tuning,
        curves,
        seconds,
        fold_curves,
        real_only.tolist(),
    )


def _alpha_theory(
    curves: Curves,
    sizes: Sequence[float],
    errors: Sequence[float],
    cv_real: float,
    generator: str | None,
    m: int,
) -> float | None:
    """α* for the chosen (generator, m), or for the best augmented one when α = 0 won; None without α = 1."""
    if generator is None:
        generator, m, _, _ = min(
            ((g, mm, a, e) for g, by_m in curves.items() for mm, pts in by_m.items() for a, e in pts if a > 0),
            key=lambda c: c[3],
            default=(None, 0, 0.0, 0.0),
        )
    if generator is None:
        return None
    synthetic_only = [e for a, e in curves[generator][m] if a == 1.0]
    if not synthetic_only:
        return None
    return theoretical_alpha(cv_real, synthetic_only[0], *learning_curve(sizes, errors))
