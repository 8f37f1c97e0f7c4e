"""Hyper-parameter search of one model family on one CQA, exhaustive or fast.

Both modes score configurations by K-fold cross-validated MSE on the same
shared folds, so their numbers are directly comparable.

* ``exhaustive`` is scikit-learn's GridSearchCV over the family's grid: it
  reproduces the paper's procedure.
* ``fast`` searches the same grid and returns a score that GridSearchCV would
  have computed for the same configuration, for far fewer model fits:

  1. the resource parameter (n_estimators) is not searched: one fit with a
     budget scores every smaller grid value from staged predictions;
  2. configurations that fit the very same model (`ModelFamily.canonical`,
     e.g. a depth limit that cannot bind on so few rows) are scored once;
  3. successive halving: the configurations (a seeded sample of at most
     `max_configs` when the grid is larger) are scored with a small budget,
     the best 1/eta go on to the next budget (each at least eta times the last)
     and only those reach the full number of estimators. A small learning
     rate needs many trees, so configurations are only ranked against others
     with the same learning rate (`ModelFamily.budget_coupled`): slow
     learners are not dropped for being slow;
  4. warm starts: a forest or boosted model that goes on to a bigger budget
     keeps its trees and only grows the missing ones (scikit-learn replays the
     random stream, so the result is the model a fresh fit would give);
  5. shared folds: each fold is standardised once (on its training rows, as
     the pipeline does) and reused by every configuration.

All model fits go through joblib, so `joblib.parallel_config` (local processes
or a Dask cluster) decides where they run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.model_selection import GridSearchCV, KFold, ParameterGrid
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core.models.scaleout import one_thread_per_fit
from core.models.target import TARGET_PARAM, TargetScale, on_scale, split_target
from core.models.zoo import Params, build_pipeline, family

SEARCH_MODES = ("fast", "exhaustive")
Folds = list[tuple[np.ndarray, np.ndarray]]
Record = tuple[Params, np.ndarray]  # a configuration and its validation MSE on each fold


def cv_folds(n_rows: int, folds: int, random_state: int) -> Folds:
    """Shuffled K-fold splits shared by every family and both search modes."""
    if folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if n_rows < folds:
        raise ValueError(f"{n_rows} training rows cannot be split into {folds} folds")
    splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
    return [(train, test) for train, test in splitter.split(np.zeros((n_rows, 1)))]


def mean_baseline_mse(y: np.ndarray, folds: Folds) -> float:
    """K-fold MSE of predicting each validation fold by its training rows' mean: the naive model to beat."""
    return float(np.mean([np.mean((y[te] - y[tr].mean()) ** 2) for tr, te in folds]))


GroupFolds = list[tuple[str, np.ndarray, np.ndarray]]  # (group name, training rows, validation rows)


def group_folds(groups: Sequence[Any], min_rows: int = 2) -> GroupFolds:
    """Leave-one-group-out splits (e.g. one profile type at a time) for groups with at least `min_rows` rows.

    A type seen once cannot be scored as a group of its own and stays in every
    training side; so does everything when fewer than two rows would remain.
    """
    groups = np.asarray(groups)
    out = []
    for g in pd.unique(groups):
        held = groups == g
        if held.sum() >= min_rows and (~held).sum() >= 2:
            out.append((str(g), np.flatnonzero(~held), np.flatnonzero(held)))
    return out


def split_predictions(
    name: str, params: Params, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, random_state: int
) -> np.ndarray:
    """Prediction (as measured) of each `test` row by one configuration fitted on the `train` rows."""
    _, target = split_target(params)
    y_fit = target.forward(y[train]) if target else y[train]
    with one_thread_per_fit():
        pipe = build_pipeline(name, params, random_state).fit(X[train], y_fit)
    pred = pipe.predict(X[test])
    return target.inverse(pred) if target else pred


def split_errors(
    name: str, params: Params, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, random_state: int
) -> np.ndarray:
    """Squared validation error of each `test` row (as measured), one configuration fitted on the `train` rows."""
    return (y[test] - split_predictions(name, params, X, y, train, test, random_state)) ** 2


def split_mse(
    name: str, params: Params, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, random_state: int
) -> float:
    """Validation MSE of one configuration fitted on the `train` rows and scored on the `test` rows."""
    return float(np.mean(split_errors(name, params, X, y, train, test, random_state)))


@dataclass
class SearchOutcome:
    """Best configuration of one family and every configuration that was scored."""

    family: str
    mode: str
    best_params: Params
    cv_mse: float
    cv_mse_sd: float
    table: pd.DataFrame  # one row per scored configuration: parameters, cv_mse, cv_mse_sd
    n_fits: int
    seconds: float


def search_family(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    *,
    mode: str = "fast",
    grid: Mapping[str, Sequence[Any]] | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    eta: int = 3,
    max_configs: int = 36,
    target_limits: Sequence[float | None] | None = None,
) -> SearchOutcome:
    """Search `grid` (default: the family's paper grid) for the lowest cross-validated MSE.

    Fast mode only: `eta` is the halving factor and `max_configs` caps how many
    configurations start the halving (a seeded sample when the grid has more).
    `target_limits` [lo, hi] (hi None for a floor only): the models are fitted on the logit (log) scale
    (`core.models.target`), scored as measured, and every configuration carries the limits.
    """
    if mode not in SEARCH_MODES:
        raise ValueError(f"unknown search mode {mode!r}; choose {' or '.join(SEARCH_MODES)}")
    grid = {k: list(v) for k, v in (grid or family(name).grid).items()}
    target = {TARGET_PARAM: list(target_limits)} if target_limits is not None else {}
    if family(name).simulates:  # the grey box maps its simulated values onto the target scale itself
        grid.update({k: [v] for k, v in target.items()})
    _, scale = split_target(target)
    start = time.perf_counter()
    if mode == "exhaustive":
        records, n_fits = _grid_search(name, X, y, folds, grid, random_state, n_jobs, scale)
    else:
        records, n_fits = _fast_search(name, X, y, folds, grid, random_state, n_jobs, eta, max_configs, scale)
    records = [({**params, **target}, mse) for params, mse in records]
    seconds = time.perf_counter() - start
    means = [fold_mse.mean() for _, fold_mse in records]
    best_params, best_mse = records[int(np.argmin(means))]  # first of equals, as GridSearchCV ranks ties
    table = pd.DataFrame([{**p, "cv_mse": m.mean(), "cv_mse_sd": m.std()} for p, m in records], dtype=object).astype(
        {"cv_mse": float, "cv_mse_sd": float}
    )
    return SearchOutcome(name, mode, best_params, float(best_mse.mean()), float(best_mse.std()), table, n_fits, seconds)


def _grid_search(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    grid: dict[str, list],
    random_state: int,
    n_jobs: int | None,
    target: TargetScale | None,
) -> tuple[list[Record], int]:
    estimator = on_scale(build_pipeline(name, random_state=random_state), target)
    prefix = "model__" if target is None else "regressor__model__"
    search = GridSearchCV(
        estimator,
        {f"{prefix}{k}": v for k, v in grid.items()},
        scoring="neg_mean_squared_error",
        cv=folds,
        refit=False,
        n_jobs=n_jobs,
        error_score="raise",
    )
    with one_thread_per_fit():
        search.fit(X, y)
    res = search.cv_results_
    fold_mse = -np.column_stack([res[f"split{k}_test_score"] for k in range(len(folds))])
    records = [
        ({k.removeprefix(prefix): v for k, v in p.items()}, mse) for p, mse in zip(res["params"], fold_mse, strict=True)
    ]
    return records, len(records) * len(folds)


def _fast_search(
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    grid: dict[str, list],
    random_state: int,
    n_jobs: int | None,
    eta: int,
    max_configs: int,
    target: TargetScale | None = None,
) -> tuple[list[Record], int]:
    """Successive halving over the grid: score every configuration on every fold at a small budget of the family's
    resource (e.g. trees), keep the best 1/`eta` of each group sharing budget-coupled parameters, and rescore the
    survivors at the next budget (warm-started where the model allows) up to the full one. With more than
    `max_configs` configurations, a seeded sample of each group starts.

    Returns the per-fold MSEs of every (configuration, budget) scored, in grid order, and the number of fits.
    A family without a resource in the grid is scored once at its only budget, i.e. an exhaustive search.
    """
    fam = family(name)
    resource = fam.resource if fam.resource in grid else None
    budgets = sorted(grid.pop(resource)) if resource else [None]
    n_train = max(len(train) for train, _ in folds)
    configs = _unique_configs(grid, fam.canonical, n_train)
    build_pipeline(name, configs[0], random_state)  # unknown parameters fail here, in plain words
    groups = _groups(configs, fam.budget_coupled)
    survivors = list(range(len(configs)))
    if resource and len(configs) > max_configs:
        rng, per_group = np.random.default_rng(random_state), max(1, max_configs // len(groups))
        survivors = []
        for g in groups:
            survivors += g if len(g) <= per_group else rng.choice(g, size=per_group, replace=False).tolist()
        survivors.sort()
    scaled = _scaled_folds(X, y, folds, target, fam.simulates)
    scored: dict[tuple[int, Any], np.ndarray] = {}  # (config index, budget) -> per-fold MSE
    grown: dict[tuple[int, int], Any] = {}  # (config, fold) -> model to warm-start at the next budget
    rungs = _rungs(budgets, eta)
    n_fits = 0
    with Parallel(n_jobs=n_jobs) as parallel:
        for i, budget in enumerate(rungs):
            stages = [b for b in budgets if b is None or b <= budget]
            tasks = [(c, k) for c in survivors for k in range(len(folds))]
            results = parallel(
                delayed(_score_fold)(
                    name, configs[c], resource, budget, stages, scaled[k], random_state, grown.get((c, k))
                )
                for c, k in tasks
            )
            n_fits += len(tasks)
            grown = {task: model for task, (_, model) in zip(tasks, results, strict=True) if model is not None}
            per_config = {
                c: np.array([r for (cc, _), (r, _) in zip(tasks, results, strict=True) if cc == c]) for c in survivors
            }
            for c, mse in per_config.items():  # mse: (folds, stages)
                for j, b in enumerate(stages):
                    scored[(c, b)] = mse[:, j]
            if i < len(rungs) - 1:
                best_so_far = {c: per_config[c].mean(axis=0).min() for c in survivors}
                kept = []
                for group in groups:
                    alive = sorted((c for c in group if c in best_so_far), key=lambda c: best_so_far[c])
                    kept += alive[: math.ceil(len(alive) / eta)]
                survivors = sorted(kept)  # grid order, so ties resolve as in the exhaustive search
    records = [
        ({**configs[c], resource: b} if resource else dict(configs[c]), mse)
        for (c, b), mse in sorted(scored.items(), key=lambda item: (item[0][0], budgets.index(item[0][1])))
    ]
    return records, n_fits


ScaledFold = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, TargetScale | None]


def _scaled_folds(
    X: np.ndarray, y: np.ndarray, folds: Folds, target: TargetScale | None = None, simulates: bool = False
) -> list[ScaledFold]:
    """Each fold standardised once with a scaler fitted on its training rows, exactly as the
    pipeline would do it (`simulates`: not at all, as the grey-box family's pipeline does not), and shared by
    every configuration scored on that fold. The training targets are on the modelling scale, the validation
    targets as measured."""
    out = []
    for train, test in folds:
        scaler = (FunctionTransformer() if simulates else StandardScaler()).fit(X[train])
        y_train = target.forward(y[train]) if target else y[train]
        out.append((scaler.transform(X[train]), y_train, scaler.transform(X[test]), y[test], target))
    return out


def _groups(configs: list[Params], coupled: Sequence[str]) -> list[list[int]]:
    """Indices of the configurations that share the values of the budget-coupled parameters."""
    groups: dict[tuple, list[int]] = {}
    for i, params in enumerate(configs):
        groups.setdefault(tuple(params.get(k) for k in coupled), []).append(i)
    return list(groups.values())


def _unique_configs(grid: dict[str, list], canonical: Any, n_train: int) -> list[Params]:
    out: list[Params] = []
    seen: set[str] = set()
    for params in ParameterGrid(grid) if grid else [{}]:
        params = canonical(dict(params), n_train) if canonical else dict(params)
        key = repr(sorted(params.items(), key=lambda kv: kv[0]))  # values may be lists (column indices)
        if key not in seen:
            seen.add(key)
            out.append(params)
    return out


def _rungs(budgets: Sequence[Any], eta: int) -> list[Any]:
    """Budgets for successive halving: the smallest, then each at least eta times the last, ending at the largest."""
    if budgets == [None]:
        return [None]
    rungs = [budgets[0]]
    for b in budgets[1:-1]:
        if b >= eta * rungs[-1]:
            rungs.append(b)
    if budgets[-1] != rungs[-1]:
        rungs.append(budgets[-1])
    return rungs


def _score_fold(
    name: str,
    params: Params,
    resource: str | None,
    budget: Any,
    stages: Sequence[Any],
    fold: ScaledFold,
    random_state: int,
    grown: Any = None,
) -> tuple[list[float], Any]:
    """Validation MSE of `params` on one standardised fold at every budget in `stages`, from one fit.

    `grown` is this configuration's model from the previous budget: a family
    that can warm-start only adds the missing estimators to it. Also returns
    the model when it can be grown further, else None.
    """
    X_train, y_train, X_val, y_val, target = fold
    back = target.inverse if target else np.asarray
    fam = family(name)
    if grown is not None:
        model = grown.set_params(**{resource: budget})
    else:
        model = fam.make(random_state).set_params(**({**params, resource: budget} if resource else params))
        if fam.warm_start:
            model.set_params(warm_start=True)
    with one_thread_per_fit():
        model.fit(X_train, y_train)
    if resource:
        preds = fam.staged_predict(model, X_val, stages)
        return [float(np.mean((y_val - back(preds[b])) ** 2)) for b in stages], (model if fam.warm_start else None)
    return [float(np.mean((y_val - back(model.predict(X_val))) ** 2))], None
