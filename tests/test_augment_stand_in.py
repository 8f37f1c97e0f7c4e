"""The stand-in that scores the study's grid, the full model's confirmation and the one-SE rule's α shrink."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from core.augment.stand_in import stand_in_params
from core.augment.study import (
    NO_GAIN,
    AugmentSettings,
    _confirmed,
    repeated_folds,
    run_study,
    select_configuration,
    study_folds,
)
from core.augment.weights import fit_weighted
from core.doe import load_doe

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
FOREST = {"n_estimators": 12, "max_depth": None, "min_samples_leaf": 2}
SMALL = AugmentSettings(
    generators=("gaussian_copula",),
    m_values=(5, 10),
    alphas=(0.5, 1.0),
    folds=3,
    repeats=2,
    generator_params={"gaussian_copula": {"default_distribution": "norm"}},
    selection="lowest",
    stand_in_estimators=3,
    screen_repeats=2,  # the grid on every fold, as the confirmation
)


@cache
def rows():
    frame = load_doe(SAMPLE / "doe.csv").data.frame
    inputs = ["initial_concentration", "seed_loading", "T1", "T2", "T3", "C1", "C2", "H1"]
    return frame[inputs].fillna(0.0), frame["D50"]


def test_the_stand_in_keeps_every_parameter_but_the_budget():
    gbt = {"n_estimators": 200, "learning_rate": 0.05, "max_depth": 7, "subsample": 0.75}
    assert stand_in_params("gbt", gbt, 20) == {**gbt, "n_estimators": 20}
    assert stand_in_params("rf", {"max_depth": 10}, 20) == {"max_depth": 10, "n_estimators": 20}  # default 100 trees
    assert stand_in_params("rf", {"n_estimators": 10}, 20) == {"n_estimators": 10}  # already small: the full model
    assert stand_in_params("xgb", {"max_depth": 3}, 20) == {"max_depth": 3, "n_estimators": 20}  # default None: 100
    assert stand_in_params("gbt", gbt, None) == gbt
    assert stand_in_params("svr", {"C": 5.0, "kernel": "rbf"}, 20) == {"C": 5.0, "kernel": "rbf", "tol": 1e-2}
    assert stand_in_params("svr", {"tol": 1e-4}, 20) == {"tol": 1e-3}  # ten times its own tolerance
    assert stand_in_params("svr", {"C": 5.0}, None) == {"C": 5.0}
    assert stand_in_params("gp", {"nu": 2.5}, 20) == {"nu": 2.5, "n_restarts_optimizer": 0, "max_iter": 10}
    assert stand_in_params("gp", {"max_iter": 5}, 20) == {"max_iter": 5, "n_restarts_optimizer": 0}  # already short
    grey_box = {"input_names": ["initial_concentration"], "cqa": "D50"}
    assert stand_in_params("lab", grey_box, 20) == {**grey_box, "n_restarts_optimizer": 0, "max_iter": 10}
    average = {"members": [["gbt", gbt, None], ["svr", {"C": 5.0}, [0, 1]]]}
    assert stand_in_params("average", average, 20) == {
        "members": [["gbt", {**gbt, "n_estimators": 20}, None], ["svr", {"C": 5.0, "tol": 1e-2}, [0, 1]]]
    }
    with pytest.raises(ValueError, match="at least one"):
        stand_in_params("rf", {}, 0)
    with pytest.raises(ValueError, match="at least one"):
        AugmentSettings(stand_in_estimators=0)


def test_the_stand_in_scores_the_grid_and_the_full_model_rescores_the_choice_on_the_same_folds():
    X, y = rows()
    study = run_study(X, y, "rf", FOREST, SMALL)
    assert study.rule["stand_in"] == {**FOREST, "n_estimators": 3}
    folds = repeated_folds(len(y), SMALL.folds, SMALL.repeats, SMALL.random_state)
    Xn, yn = X.to_numpy(float), y.to_numpy(float)

    def cv(params: dict) -> float:
        return float(np.mean([np.mean((fit_weighted("rf", params, Xn[t], yn[t], Xn[:0], yn[:0], 0.0).predict(
            Xn[v]) - yn[v]) ** 2) for t, v in folds]))  # fmt: skip

    assert study.cv_mse_real_only == pytest.approx(cv(study.rule["stand_in"]), rel=1e-12)  # the curves: stand-in
    assert study.generator is not None  # the lowest rule augments whenever a candidate beats α = 0
    confirmation = study.rule["confirmation"]
    assert confirmation["cv_mse_real_only"] == pytest.approx(cv(FOREST), rel=1e-12)  # the full model, same folds
    assert confirmation["holds"] and "the full model confirms it on all" in study.rule["verdict"]
    assert "type_gain" in confirmation  # the left-out profile types were rescored too
    # the same study with the full model on every fold: no stand-in, no confirmation
    full = run_study(X, y, "rf", FOREST, replace(SMALL, stand_in_estimators=None))
    assert "stand_in" not in full.rule and full.cv_mse_real_only == pytest.approx(confirmation["cv_mse_real_only"])


def test_a_gain_the_full_model_does_not_confirm_keeps_the_real_only_model():
    X, y = rows()
    study = run_study(X, y, "rf", FOREST, SMALL)
    folds = repeated_folds(len(y), SMALL.folds, SMALL.repeats, SMALL.random_state)
    # surrogate rows with nonsense targets: whatever the stand-in said, the full model gets worse with them
    Xn, yn = X.to_numpy(float), y.to_numpy(float)
    junk = {(k, study.generator): (Xn, -50 * yn) for k in range(len(folds))}
    study.rule["name"] = "one_se"
    kept = _confirmed(study, "rf", FOREST, {**FOREST, "n_estimators": 3}, Xn, yn, folds, junk, 0, 1)
    assert (kept.generator, kept.m, kept.alpha) == (None, 0, 0.0)
    assert kept.cv_mse_augmented == kept.cv_mse_real_only
    assert not kept.rule["confirmation"]["holds"] and kept.rule["confirmation"]["gain"] < 0
    assert kept.rule["verdict"].startswith(NO_GAIN) and "does not confirm" in kept.rule["verdict"]
    # the same with the left-out profile types: the junk loses there too, and the whole evidence says so
    study = run_study(X, y, "rf", FOREST, replace(SMALL, selection="one_se", stand_in_estimators=3))
    study.generator, study.m, study.alpha = "gaussian_copula", 5, 0.5
    kfold, by_type = study_folds(X, y, SMALL)
    folds = kfold + [(train, val) for _, train, val in by_type]
    junk = {(k, "gaussian_copula"): (Xn, -50 * yn) for k in range(len(folds))}
    kept = _confirmed(study, "rf", FOREST, {**FOREST, "n_estimators": 3}, Xn, yn, folds, junk, 0, 1, by_type)
    assert kept.generator is None and kept.rule["confirmation"]["type_gain"] < 0
    assert "left-out profile types +" in kept.rule["verdict"]


def test_the_one_se_rule_does_not_shrink_alpha_to_a_gain_that_is_not_established():
    """α = 0.2 is within one SE of the best on average but its own gain (0.38 ± 0.73) is noise: α = 0.5 is kept."""
    real = [2.0, 2.0, 2.0, 2.0]
    curves = {"g": {5: [[0.0, 2.0], [0.2, 1.62], [0.5, 1.63], [0.8, 1.5], [1.0, 3.0]]}}
    per_fold = {
        "g": {
            5: [
                real,
                [0.6, 2.6, 1.0, 2.28],  # gain 0.38, scattered
                [1.6, 1.65, 1.62, 1.65],  # gain 0.37, steady
                [1.3, 1.7, 1.4, 1.6],  # gain 0.5 ± 0.14, the best
                [3.0, 3.0, 3.0, 3.0],
            ]
        }
    }
    assert select_configuration(curves, 2.0, "one_se", per_fold, real, folds=4) == ("g", 5, 0.5, 1.63)
    # with the scatter gone α = 0.2 is established and the usual shrink takes it
    per_fold["g"][5][1] = [1.6, 1.64, 1.62, 1.62]
    assert select_configuration(curves, 2.0, "one_se", per_fold, real, folds=4) == ("g", 5, 0.2, 1.62)
