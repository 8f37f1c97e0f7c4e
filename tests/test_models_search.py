"""Model zoo and hyper-parameter search: every family, exact fast scores, no leakage across folds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from test_models_data import make_doe_frame

from core.models.datasets import ModelData
from core.models.fitting import select_family
from core.models.metrics import FamilyMetrics
from core.models.search import _rungs, cv_folds, search_family
from core.models.zoo import FAMILIES, SEARCHED_FAMILIES, build_pipeline, grid_size


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    data = ModelData.from_frame(make_doe_frame(n=24, seed=2))
    return data.inputs.to_numpy(float), data.cqas["D50"].to_numpy(float)


SMALL = {
    "rf": {"n_estimators": [5, 20], "max_depth": [None, 3], "min_samples_leaf": [1, 3]},
    "gbt": {"n_estimators": [5, 20], "learning_rate": [0.1, 0.2], "subsample": [0.7, 1.0], "alpha": [0.1, 0.9]},
    "xgb": {"n_estimators": [5, 20], "max_depth": [2, 4], "colsample_bytree": [0.5, 1.0]},
    "svr": {"kernel": ["linear", "rbf"], "C": [1.0, 10.0]},
}


def test_registry_holds_the_paper_spaces():
    assert set(FAMILIES) == {"rf", "gbt", "svr", "xgb", "gp", "committee", "lab", "average"}
    assert set(SEARCHED_FAMILIES) == set(FAMILIES) - {"average"}
    assert FAMILIES["gp"].native_std and not FAMILIES["rf"].native_std
    assert FAMILIES["rf"].grid["max_depth"] == (None, 10, 20, 30)
    assert FAMILIES["gbt"].grid["alpha"] == (0.1, 0.5, 0.9)
    assert FAMILIES["xgb"].grid["colsample_bytree"] == (0.3, 0.7, 1.0)
    assert FAMILIES["svr"].grid["kernel"] == ("linear", "poly", "rbf", "sigmoid")
    for name in ("rf", "gbt", "xgb"):
        assert min(FAMILIES[name].grid["n_estimators"]) == 10 and max(FAMILIES[name].grid["n_estimators"]) == 200
    assert grid_size(FAMILIES["rf"].grid) == 144


@pytest.mark.parametrize("name", [n for n in SEARCHED_FAMILIES if not FAMILIES[n].simulates])  # lab: its own tests
def test_every_family_fits_predicts_and_takes_sample_weights(name, xy):
    X, y = xy
    params = {"n_estimators": 10} if FAMILIES[name].resource else {}
    plain = build_pipeline(name, params, random_state=0).fit(X, y)
    assert plain.predict(X).shape == (len(y),)
    assert list(plain.named_steps) == ["scale", "model"]
    weights = np.where(np.arange(len(y)) % 2 == 0, 5.0, 0.2)
    weighted = build_pipeline(name, params, random_state=0).fit(X, y, model__sample_weight=weights)
    assert not np.allclose(weighted.predict(X), plain.predict(X))


def test_unknown_family_and_parameter_are_plain_errors():
    with pytest.raises(ValueError, match="unknown model family 'knn'"):
        build_pipeline("knn")
    with pytest.raises(ValueError, match="no hyper-parameter depth"):
        build_pipeline("rf", {"depth": 3})


@pytest.mark.parametrize("name", ["rf", "gbt", "xgb"])
def test_fast_search_scores_equal_grid_search_scores(name, xy):
    """Staged predictions reproduce GridSearchCV's score of each configuration exactly."""
    X, y = xy
    folds = cv_folds(len(y), 3, random_state=0)
    fast = search_family(name, X, y, folds, mode="fast", grid=SMALL[name], n_jobs=1, eta=2)
    full = search_family(name, X, y, folds, mode="exhaustive", grid=SMALL[name], n_jobs=1)
    assert fast.n_fits < full.n_fits
    keys = list(SMALL[name])
    exhaustive = {tuple(r[k] for k in keys): r["cv_mse"] for r in full.table.to_dict("records")}
    for r in fast.table.to_dict("records"):
        assert r["cv_mse"] == pytest.approx(exhaustive[tuple(r[k] for k in keys)], rel=1e-9)
    assert fast.cv_mse >= full.cv_mse - 1e-9 * full.cv_mse  # fast scores a subset of the same grid


def test_fast_search_scores_equivalent_configurations_once(xy):
    X, y = xy
    folds = cv_folds(len(y), 3, random_state=0)
    # A depth limit of 100 cannot bind on 16 rows: it is the same forest as no limit.
    grid = {"n_estimators": [5], "max_depth": [None, 100]}
    fast = search_family("rf", X, y, folds, mode="fast", grid=grid, n_jobs=1)
    full = search_family("rf", X, y, folds, mode="exhaustive", grid=grid, n_jobs=1)
    assert fast.n_fits == 3 and full.n_fits == 6
    assert full.table.cv_mse.nunique() == 1 and fast.cv_mse == pytest.approx(full.cv_mse)
    # GBT's alpha only matters for huber/quantile losses.
    fast = search_family("gbt", X, y, folds, mode="fast", grid={"n_estimators": [5], "alpha": [0.1, 0.5]}, n_jobs=1)
    assert fast.n_fits == 3


def test_fast_search_starts_from_a_seeded_sample_of_large_grids(xy):
    X, y = xy
    folds = cv_folds(len(y), 3, random_state=0)
    grid = {"n_estimators": [5, 15], "learning_rate": [0.05, 0.1, 0.2], "max_depth": [2, 3, 4]}  # 9 configurations
    a = search_family("gbt", X, y, folds, mode="fast", grid=grid, n_jobs=1, max_configs=6, random_state=1)
    b = search_family("gbt", X, y, folds, mode="fast", grid=grid, n_jobs=1, max_configs=6, random_state=1)
    assert a.n_fits == (6 + 3) * 3  # 2 per learning rate at 5 trees, the best of each goes on to 15
    assert a.table.equals(b.table) and a.best_params == b.best_params
    assert len(a.table.drop_duplicates(["learning_rate", "max_depth"])) == 6


def test_halving_ranks_configurations_within_their_learning_rate(xy):
    X, y = xy
    folds = cv_folds(len(y), 3, random_state=0)
    grid = {"n_estimators": [5, 15], "learning_rate": [0.01, 0.3], "max_depth": [2, 3, 4]}
    out = search_family("xgb", X, y, folds, mode="fast", grid=grid, n_jobs=1, eta=3)
    first = out.table[out.table["n_estimators"] == 5]
    slow, quick = first[first["learning_rate"] == 0.01], first[first["learning_rate"] == 0.3]
    assert slow["cv_mse"].min() > quick["cv_mse"].max()  # at 5 trees every slow learner trails ...
    finalists = out.table[out.table["n_estimators"] == 15]
    assert sorted(finalists["learning_rate"]) == [0.01, 0.3]  # ... yet one of them still reaches the final budget


def test_successive_halving_budgets():
    assert _rungs([10, 50, 100, 200], 3) == [10, 50, 200]
    assert _rungs([10, 50, 100, 200], 2) == [10, 50, 100, 200]
    assert _rungs([200], 3) == [200]
    assert _rungs([None], 3) == [None]


def test_scaling_is_learned_on_training_folds_only(xy):
    """The CV score equals per-fold scaling and differs from scaling fitted on every row."""
    X, y = xy
    X = X.copy()
    X[0, 0] = X[:, 0].mean() + 40 * X[:, 0].std()  # an outlier that moves the global scaler
    folds = cv_folds(len(y), 3, random_state=0)
    grid = {"kernel": ["rbf"], "C": [10.0]}
    for mode in ("fast", "exhaustive"):
        score = search_family("svr", X, y, folds, mode=mode, grid=grid, n_jobs=1).cv_mse
        per_fold, leaky = [], []
        global_scaler = StandardScaler().fit(X)
        for train, test in folds:
            model = build_pipeline("svr", {"C": 10.0}).fit(X[train], y[train])
            per_fold.append(np.mean((y[test] - model.predict(X[test])) ** 2))
            svr = build_pipeline("svr", {"C": 10.0})[-1].fit(global_scaler.transform(X[train]), y[train])
            leaky.append(np.mean((y[test] - svr.predict(global_scaler.transform(X[test]))) ** 2))
        assert score == pytest.approx(np.mean(per_fold), rel=1e-12)
        assert abs(score - np.mean(leaky)) > 1e-3 * score


def test_exhaustive_search_is_gridsearchcv(xy):
    X, y = xy
    folds = cv_folds(len(y), 3, random_state=0)
    out = search_family("svr", X, y, folds, mode="exhaustive", grid=SMALL["svr"], n_jobs=1)
    ref = GridSearchCV(
        build_pipeline("svr"),
        {f"model__{k}": v for k, v in SMALL["svr"].items()},
        cv=folds,
        scoring="neg_mean_squared_error",
    ).fit(X, y)
    assert out.cv_mse == pytest.approx(-ref.best_score_)
    assert {f"model__{k}": v for k, v in out.best_params.items()} == ref.best_params_
    assert out.n_fits == 12 and len(out.table) == 4


def test_cv_folds_are_seeded_and_checked():
    a, b = cv_folds(12, 3, 5), cv_folds(12, 3, 5)
    assert all((x[1] == y[1]).all() for x, y in zip(a, b, strict=True))
    assert sorted(np.concatenate([t for _, t in a]).tolist()) == list(range(12))
    with pytest.raises(ValueError, match="cannot be split into 3 folds"):
        cv_folds(2, 3, 0)


def _metrics(name: str, cv_mse: float) -> FamilyMetrics:
    return FamilyMetrics(name, {}, cv_mse, 0.0, None, None, None, None, None, None, 0.0, 0)


def test_selection_picks_lowest_cv_mse():
    assert select_family({"rf": _metrics("rf", 3.0), "gbt": _metrics("gbt", 1.5), "svr": _metrics("svr", 2.0)}) == "gbt"
    assert select_family({"rf": _metrics("rf", 1.0), "gbt": _metrics("gbt", 1.0)}) == "rf"


def _with_errors(name: str, score: float, errors: list[float]) -> FamilyMetrics:
    m = _metrics(name, score)
    m.selection_score, m.validation_errors = score, errors
    return m


def test_the_committee_stays_unless_a_family_beats_it_beyond_noise():
    rng = np.random.default_rng(0)
    committee = rng.uniform(0.5, 1.5, 30).tolist()
    noisy = (np.asarray(committee) * rng.uniform(0.2, 1.6, 30)).tolist()  # lower score, but not clearly lower
    clear = (np.asarray(committee) * 0.5).tolist()
    lucky = _with_errors("gbt", 0.5, noisy)
    assert np.mean(noisy) < np.mean(committee)
    assert select_family({"committee": _with_errors("committee", 1.0, committee), "gbt": lucky}) == "committee"
    assert (
        select_family({"committee": _with_errors("committee", 1.0, committee), "gbt": _with_errors("gbt", 0.5, clear)})
        == "gbt"
    )
    assert select_family({"rf": _with_errors("rf", 1.0, committee), "gbt": lucky}) == "gbt"  # no committee fitted
    assert (
        select_family({"committee": _with_errors("committee", 1.0, []), "gbt": _with_errors("gbt", 0.5, [])}) == "gbt"
    )


def test_the_average_of_families_competes_by_its_score_alone():
    rng = np.random.default_rng(1)
    average = rng.uniform(0.5, 1.5, 30).tolist()
    svr = _with_errors("svr", 0.5, (np.asarray(average) * rng.uniform(0.2, 1.6, 30)).tolist())
    assert select_family({"average": _with_errors("average", 1.0, average), "svr": svr}) == "svr"
    assert select_family({"average": _with_errors("average", 0.4, average), "svr": svr}) == "average"
