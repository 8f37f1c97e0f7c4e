"""The model zoo: every regression family, its pipeline and its search space, in one registry.

The search spaces are the paper's (Barhate et al., 2025, section 2.4) written as discrete
grids; where the paper gives a range (n_estimators 10-200, learning_rate
0.01-0.2, C 0.1-20) the grid spans it with a few values. The Gaussian process
(`gaussian_process`) is not in the paper: it is here for its standard
deviation, which grows away from the data; its length scales are fitted by
marginal likelihood, so its grid only fixes the Matérn smoothness. Nor is the
committee (`committee`): the average of a forest on the raw columns and a ridge
regression and a GP on the shared descriptors, which carries what linear runs
teach over to cycled ones. Adding a family is one `ModelFamily` entry in `FAMILIES`.

The committee is fitted only when asked for (it is not in `DEFAULT_FAMILIES`): on fresh campaigns it predicts
random runs of the cycled types better than any single family, but its linear members extrapolate outside the
data, and designs optimised on it failed in the virtual lab (`bench/bench_ground_truth.py`).

The average of families (`average`, `core.models.blend`) is not searched: the fit builds it from the best
searched families' chosen configurations and scores it on their validation predictions (`fitting`).

The grey-box family (`lab`, `core.models.lab_residual`: the calibrated virtual lab plus a GP on its residuals) is
fitted by default wherever the data have the simulator's inputs and CQA (`unavailable` says why not elsewhere); it
simulates every row it predicts.

Every pipeline is `StandardScaler` followed by the model, so scaling is learned
on whatever rows the pipeline is fitted on (a training fold, never the
validation fold) and `fit(X, y, model__sample_weight=w)` weights the rows.
The grey box simulates its rows as measured, so an identity step stands in
for its scaler and it scales its own descriptors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.svm import SVR
from xgboost import XGBRegressor

from core.models.blend import FamilyAverage
from core.models.committee import Committee
from core.models.gaussian_process import GaussianProcessModel
from core.models.lab_residual import LabResidual
from core.models.target import split_target
from core.virtual_lab.transfer import unavailable_reason

Params = dict[str, Any]
StagedPredict = Callable[[Any, np.ndarray, Sequence[int]], dict[int, np.ndarray]]
Canonical = Callable[[Params, int], Params]

N_ESTIMATORS = (10, 50, 100, 200)
LEARNING_RATES = (0.01, 0.05, 0.1, 0.2)
BOOSTING_DEPTHS = (3, 5, 7)
SUBSAMPLES = (0.5, 0.75, 1.0)


def _forest_stages(model: RandomForestRegressor, X: np.ndarray, n_values: Sequence[int]) -> dict[int, np.ndarray]:
    """Predictions of the first n trees: tree k is seeded by the k-th draw of the forest's
    random stream, so a forest of n trees is exactly the first n trees of a bigger one."""
    X32 = np.ascontiguousarray(X, dtype=np.float32)  # what the forest's own predict hands its trees
    per_tree = np.array([tree.predict(X32, check_input=False) for tree in model.estimators_])
    running = np.cumsum(per_tree, axis=0)
    return {n: running[n - 1] / n for n in n_values}


def _boosting_stages(model: GradientBoostingRegressor, X: np.ndarray, n_values: Sequence[int]) -> dict[int, np.ndarray]:
    wanted, out = set(n_values), {}
    for n, pred in enumerate(model.staged_predict(X), start=1):
        if n in wanted:
            out[n] = pred
    return out


def _xgboost_stages(model: XGBRegressor, X: np.ndarray, n_values: Sequence[int]) -> dict[int, np.ndarray]:
    return {n: model.predict(X, iteration_range=(0, n)) for n in n_values}


def _forest_canonical(params: Params, n_train: int) -> Params:
    """A depth limit of at least n_train - 1 never binds (a tree on n rows has at most n leaves)."""
    depth = params.get("max_depth")
    if depth is not None and depth >= n_train - 1:
        return {**params, "max_depth": None}
    return params


def _boosting_canonical(params: Params, n_train: int) -> Params:
    """alpha only shapes the huber and quantile losses; with squared error it changes nothing."""
    if "alpha" in params and params.get("loss", "squared_error") == "squared_error":
        return {**params, "alpha": 0.9}
    return params


@dataclass(frozen=True)
class ModelFamily:
    """One regression family.

    `resource` names the parameter whose smaller grid values can be read off a
    single fit with the largest one (`staged_predict`); `canonical` maps a
    configuration to the representative of the configurations that fit the
    very same model on `n_train` rows; `warm_start` says that refitting with a
    larger resource and `warm_start=True` only adds estimators and gives the
    model a fresh fit would; `budget_coupled` names parameters that change how
    many estimators a configuration needs (the learning rate), so the fast
    search compares configurations at a small budget only within equal values.
    None of these change a score: they make the fast search cheaper or wiser.
    """

    name: str
    label: str
    make: Callable[[int], RegressorMixin]
    grid: Mapping[str, tuple[Any, ...]]
    resource: str | None = None
    staged_predict: StagedPredict | None = None
    canonical: Canonical | None = None
    warm_start: bool = False
    budget_coupled: tuple[str, ...] = ()
    native_std: bool = False  # the model gives its own predictive std (used instead of an ensemble)
    # feature sets tried when the fit chooses them ("auto"); None: every one available
    feature_sets: tuple[str, ...] | None = None
    # takes `raw_columns` / `descriptor_columns` (set by the fit on the `both` feature set)
    column_roles: bool = False
    # built by the fit from other families' chosen configurations, never searched (the average of families)
    searched: bool = True
    # simulates every row it predicts (the grey-box family): it sees the rows as measured (no scaler in its pipeline),
    # takes `input_names` and `cqa` (set by the fit), joins no average of families (whose members see standardised
    # rows), and its predictions cost a simulation each
    simulates: bool = False
    # why the family cannot model a CQA of given inputs (None: it can); None: every family can
    unavailable: Callable[[Sequence[str], str], str | None] | None = None


FAMILIES: dict[str, ModelFamily] = {
    f.name: f
    for f in (
        ModelFamily(
            name="rf",
            label="Random forest",
            make=lambda seed: RandomForestRegressor(random_state=seed),
            grid={
                "n_estimators": N_ESTIMATORS,
                "max_depth": (None, 10, 20, 30),
                "min_samples_split": (2, 5, 10),
                "min_samples_leaf": (1, 2, 4),
            },
            resource="n_estimators",
            staged_predict=_forest_stages,
            canonical=_forest_canonical,
            warm_start=True,
        ),
        ModelFamily(
            name="gbt",
            label="Gradient-boosted trees",
            make=lambda seed: GradientBoostingRegressor(random_state=seed),
            grid={
                "n_estimators": N_ESTIMATORS,
                "learning_rate": LEARNING_RATES,
                "max_depth": BOOSTING_DEPTHS,
                "subsample": SUBSAMPLES,
                "alpha": (0.1, 0.5, 0.9),
            },
            resource="n_estimators",
            staged_predict=_boosting_stages,
            canonical=_boosting_canonical,
            warm_start=True,
            budget_coupled=("learning_rate",),
        ),
        ModelFamily(
            name="svr",
            label="Support vector regression",
            make=lambda seed: SVR(),
            grid={"kernel": ("linear", "poly", "rbf", "sigmoid"), "C": (0.1, 1.0, 5.0, 10.0, 20.0)},
        ),
        ModelFamily(
            name="xgb",
            label="XGBoost",
            # One thread per model: parallelism comes from running many fits at once.
            make=lambda seed: XGBRegressor(random_state=seed, n_jobs=1, verbosity=0),
            grid={
                "n_estimators": N_ESTIMATORS,
                "learning_rate": LEARNING_RATES,
                "max_depth": BOOSTING_DEPTHS,
                "subsample": SUBSAMPLES,
                "colsample_bytree": (0.3, 0.7, 1.0),
            },
            resource="n_estimators",
            staged_predict=_xgboost_stages,
            budget_coupled=("learning_rate",),
        ),
        ModelFamily(
            name="gp",
            label="Gaussian process",
            make=lambda seed: GaussianProcessModel(random_state=seed),
            grid={"nu": (2.5,)},
            native_std=True,
            # A stationary kernel needs inputs in which nearby means similar: the shared descriptors. In the raw
            # columns every profile type sits in its own zero-padded corner (and 40 length scales cost time).
            feature_sets=("descriptors",),
        ),
        ModelFamily(
            name="committee",
            label="Committee (forest + ridge + GP)",
            make=lambda seed: Committee(random_state=seed),
            grid={"n_estimators": (100,)},
            feature_sets=("both",),
            column_roles=True,
        ),
        ModelFamily(
            name="lab",
            label="Virtual lab + GP on its residuals",
            make=lambda seed: LabResidual(random_state=seed),
            grid={"nu": (2.5,)},
            native_std=True,
            feature_sets=("raw",),
            simulates=True,
            unavailable=unavailable_reason,
        ),
        ModelFamily(
            name="average",
            label="Average of the best families",
            make=lambda seed: FamilyAverage(random_state=seed),
            grid={},
            searched=False,
        ),
    )
}


DEFAULT_FAMILIES: tuple[str, ...] = tuple(name for name, f in FAMILIES.items() if f.searched and name != "committee")
# the defaults whose predictions cost no simulation: what the speed benchmarks of prediction and design time
DATA_DRIVEN_FAMILIES: tuple[str, ...] = tuple(name for name in DEFAULT_FAMILIES if not FAMILIES[name].simulates)
SEARCHED_FAMILIES: tuple[str, ...] = tuple(name for name, f in FAMILIES.items() if f.searched)


def family(name: str) -> ModelFamily:
    """The registered family called `name`, or a plain error listing the known ones."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}") from None


def build_pipeline(name: str, params: Mapping[str, Any] | None = None, random_state: int = 0) -> Pipeline:
    """StandardScaler + the family's model with `params` set; unfitted.

    A target scale in `params` (`target.TARGET_PARAM`) is not the model's: the caller fits the pipeline on it. The
    grey box keeps it, as it maps its simulated values onto the same scale."""
    fam = family(name)
    model = fam.make(random_state)
    params = dict(params or {}) if fam.simulates else split_target(params)[0]
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        raise ValueError(f"{fam.label} has no hyper-parameter {', '.join(unknown)}")
    model.set_params(**params)
    return Pipeline([("scale", FunctionTransformer() if fam.simulates else StandardScaler()), ("model", model)])


def unavailable(name: str, input_names: Sequence[str], cqa: str) -> str | None:
    """Why family `name` cannot model this CQA of these inputs (None when it can)."""
    check = family(name).unavailable
    return check(input_names, cqa) if check else None


def grid_size(grid: Mapping[str, Sequence[Any]]) -> int:
    return int(np.prod([len(v) for v in grid.values()]))
