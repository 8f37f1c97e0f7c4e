"""Weighted ERM arithmetic, the leak-free study, selection, final refit and persistence."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

import core.augment.sources as sources_module
from core.augment.generators import SyntheticGenerator
from core.augment.persistence import load_augment, load_predictor, save_augment
from core.augment.result import AugmentResult, CQAAugment, augment_fit, augmented_ensemble, final_synthetic_rows
from core.augment.study import (
    NO_GAIN,
    AugmentSettings,
    TypeEvidence,
    paired_gain,
    repeated_folds,
    run_study,
    select_configuration,
    study_folds,
    type_folds,
    type_gain,
)
from core.augment.theory import learning_curve, scaling_law_error, theoretical_alpha
from core.augment.weights import erm_weights, fit_weighted
from core.doe import load_doe
from core.models import build_pipeline, fit_cqa_models, save_run
from core.models.target import TARGET_PARAM, LogitScale

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
GC = {"gaussian_copula": {"default_distribution": "norm"}}
SMALL = AugmentSettings(
    generators=("gaussian_copula",),
    m_values=(5, 10),
    alphas=(0.5, 1.0),
    folds=3,
    repeats=2,
    tune=False,
    generator_params=GC,
    screen_repeats=2,  # the grid on every fold; the screen has its own test
    stand_in_estimators=None,  # the full model on every candidate; the stand-in has its own tests
)
HELPED = {"C": 1.0, "kernel": "linear"}  # an SVR that surrogate rows help on these data


@cache
def fit_result():
    data, holdout = load_doe(SAMPLE / "doe.csv").data, load_doe(SAMPLE / "holdout.csv").data
    return fit_cqa_models(data, ["D50"], holdout=holdout, families=("svr",), n_members=4, random_state=0)


def train_rows():
    ds = fit_result().fits["D50"].dataset
    return ds.X_train, ds.y_train


def test_weights_follow_eq1_and_sum_to_the_weighted_rows():
    w_real, w_syn = erm_weights(20, 5, 0.3)
    assert w_real.sum() + w_syn.sum() == pytest.approx(25)
    assert w_syn[0] / w_real[0] == pytest.approx((0.3 / 5) / (0.7 / 20))
    w_real, w_syn = erm_weights(20, 5, 0.0)
    assert np.all(w_syn == 0) and w_real.sum() == pytest.approx(20)
    w_real, w_syn = erm_weights(20, 5, 1.0)
    assert np.all(w_real == 0) and w_syn.sum() == pytest.approx(5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        erm_weights(20, 5, 1.5)


def test_alpha_zero_is_exactly_the_real_only_model():
    X, y = train_rows()
    rng = np.random.default_rng(0)
    X_syn, y_syn = rng.normal(size=(10, X.shape[1])), rng.normal(size=10)
    params = {"n_estimators": 20}
    plain = build_pipeline("rf", params, 0).fit(X.to_numpy(float), y.to_numpy(float))
    weighted = fit_weighted("rf", params, X, y, X_syn, y_syn, 0.0, 0)
    np.testing.assert_array_equal(weighted.predict(X.to_numpy(float)), plain.predict(X.to_numpy(float)))
    mixed = fit_weighted("rf", params, X, y, X_syn, y_syn, 0.5, 0)
    assert not np.array_equal(mixed.predict(X.to_numpy(float)), plain.predict(X.to_numpy(float)))


def test_a_configuration_on_the_logit_scale_is_weighed_on_that_scale():
    """The study must score the model the augmented ensemble will be: fitted on the logit, predicting as measured."""
    X, _ = train_rows()
    rng = np.random.default_rng(1)
    share = np.clip(90 + 12 * rng.random(len(X)), 0, 100)  # a percentage piled at its upper limit
    X_syn, y_syn = rng.normal(size=(10, X.shape[1])), np.full(10, 99.0)
    params = {"C": 10.0, "epsilon": 0.1, TARGET_PARAM: [0.0, 100.0]}
    model = fit_weighted("svr", params, X, share, X_syn, y_syn, 0.0, 0)
    scale = LogitScale(0.0, 100.0)
    on_logit = build_pipeline("svr", {"C": 10.0, "epsilon": 0.1}, 0).fit(X.to_numpy(float), scale.forward(share))
    far = X.to_numpy(float) * 5  # far from the data, where a fit as measured leaves the limits
    np.testing.assert_allclose(model.predict(far), scale.inverse(on_logit.predict(far)))
    assert ((model.predict(far) >= 0) & (model.predict(far) <= 100)).all()


class RecordingGenerator(SyntheticGenerator):
    seen: ClassVar[list[set]] = []  # fold-by-fold, the rows each generator was fitted on

    def fit(self, X, y):
        RecordingGenerator.seen.append(set(X.index))
        return super().fit(X, y)


def test_generators_never_see_validation_rows(monkeypatch):
    X, y = train_rows()
    RecordingGenerator.seen = []
    monkeypatch.setattr(sources_module, "SyntheticGenerator", RecordingGenerator)
    run_study(X, y, "svr", {}, SMALL)
    kfold, by_type = study_folds(X, y, SMALL)
    folds = kfold + [(train, val) for _, train, val in by_type]  # the left-out profile types' folds too
    assert len(by_type) >= 2 and len(RecordingGenerator.seen) == len(folds)
    for seen, (train, val) in zip(RecordingGenerator.seen, folds, strict=True):
        assert seen == set(X.index[train])
        assert seen.isdisjoint(X.index[val])


class FarOffGenerator(RecordingGenerator):
    """Rows whose CQA is far from any real one: no candidate can beat the real-only model."""

    def sample(self, n_rows):
        rows = super().sample(n_rows)
        return rows.assign(D50=rows["D50"] + 1e4)


def test_a_source_without_a_kfold_gain_is_never_fitted_on_the_left_out_types(monkeypatch):
    X, y = train_rows()
    RecordingGenerator.seen = []
    monkeypatch.setattr(sources_module, "SyntheticGenerator", FarOffGenerator)
    study = run_study(X, y, "svr", HELPED, SMALL)
    kfold, by_type = study_folds(X, y, SMALL)
    assert len(by_type) >= 2 and study.generator is None
    assert RecordingGenerator.seen == [set(X.index[train]) for train, _ in kfold]  # the K-fold's folds only
    for per_alpha in study.type_curves["gaussian_copula"].values():
        assert all(np.isnan(scores).all() for scores in per_alpha[1:])  # no candidate scored on a left-out type


def test_the_grid_is_screened_on_the_first_repeat_and_the_choice_decided_on_every_fold(monkeypatch):
    X, y = train_rows()
    RecordingGenerator.seen = []
    monkeypatch.setattr(sources_module, "SyntheticGenerator", RecordingGenerator)
    params = HELPED
    settings = replace(SMALL, screen_repeats=1, selection="lowest")  # `lowest` always asks for a decision
    study = run_study(X, y, "svr", params, settings)
    kfold, by_type = study_folds(X, y, settings)
    screen = kfold[:3] + [(train, val) for _, train, val in by_type]
    assert study.validation_folds == [val.tolist() for _, val in kfold[:3]]
    for per_alpha in study.fold_curves["gaussian_copula"].values():
        assert all(len(scores) == 3 for scores in per_alpha)
    assert study.generator == "gaussian_copula"
    # the chosen source is drawn on the second repeat's folds too, and only on training rows
    assert len(RecordingGenerator.seen) == len(screen) + 3
    for seen, (train, _) in zip(RecordingGenerator.seen, screen + kfold[3:], strict=True):
        assert seen == set(X.index[train])
    decision = study.rule["confirmation"]
    assert decision["folds"] == len(kfold) + len(by_type)
    Xn, yn = X.to_numpy(float), y.to_numpy(float)
    plain = [
        np.mean((build_pipeline("svr", params, 0).fit(Xn[t], yn[t]).predict(Xn[v]) - yn[v]) ** 2) for t, v in kfold
    ]
    assert decision["cv_mse_real_only"] == pytest.approx(np.mean(plain), rel=1e-12)
    assert study.cv_mse_real_only == pytest.approx(np.mean(plain[:3]), rel=1e-12)


def test_study_curves_selection_and_determinism():
    X, y = train_rows()
    a = run_study(X, y, "svr", HELPED, SMALL)
    b = run_study(X, y, "svr", HELPED, SMALL)
    assert a.curves == b.curves and a.alpha_theory == b.alpha_theory
    assert set(a.curves["gaussian_copula"]) == {5, 10}
    for points in a.curves["gaussian_copula"].values():
        assert [p[0] for p in points] == [0.0, 0.5, 1.0]
        assert points[0][1] == a.cv_mse_real_only
    # α = 0 of the study is the plain CV MSE of the real-only model
    folds = repeated_folds(len(y), SMALL.folds, SMALL.repeats, SMALL.random_state)
    Xn, yn = X.to_numpy(float), y.to_numpy(float)
    plain = [
        np.mean((build_pipeline("svr", HELPED, 0).fit(Xn[t], yn[t]).predict(Xn[v]) - yn[v]) ** 2) for t, v in folds
    ]
    assert a.cv_mse_real_only == pytest.approx(np.mean(plain), rel=1e-12)
    best = min(e for pts in a.curves["gaussian_copula"].values() for _, e in pts)
    assert select_configuration(a.curves, a.cv_mse_real_only, "lowest")[3] == best
    types = TypeEvidence(a.type_curves, a.type_mse_real_only)
    chosen = select_configuration(
        a.curves, a.cv_mse_real_only, "one_se", a.fold_curves, a.fold_mse_real_only, 3, types=types
    )
    assert (a.generator, a.m, a.alpha, a.cv_mse_augmented) == chosen
    assert a.rule["name"] == "one_se" and (a.rule["folds"], a.rule["repeats"]) == (3, 2)
    assert a.rule["types"] == list(a.type_folds) and a.rule["evidence"]["source"] == "gaussian_copula"
    assert (a.rule["verdict"] == NO_GAIN) == (a.generator is None)
    assert 0.0 <= a.alpha_theory <= 1.0
    # the per-fold scores behind every curve point average to it
    for m, points in a.curves["gaussian_copula"].items():
        means = [np.mean(f) for f in a.fold_curves["gaussian_copula"][m]]
        assert means == pytest.approx([e for _, e in points], rel=1e-12)


def test_every_candidate_is_scored_on_the_same_repeated_folds():
    X, y = train_rows()
    params = {"C": 10.0, "kernel": "rbf"}
    study = run_study(X, y, "svr", params, SMALL)
    folds = repeated_folds(len(y), SMALL.folds, SMALL.repeats, SMALL.random_state)
    assert len(folds) == 6 and study.validation_folds == [val.tolist() for _, val in folds]
    # the repeats are different partitions, each covering every row once
    first, second = (sorted(map(tuple, study.validation_folds[r * 3 : r * 3 + 3])) for r in range(2))
    assert first != second and sorted(i for f in first for i in f) == list(range(len(y)))
    Xn, yn = X.to_numpy(float), y.to_numpy(float)
    gc = study.generator_params["gaussian_copula"]
    for k in (0, 4):  # a candidate's k-th score is that of fold k: rebuilt here from fold k alone
        train, val = folds[k]
        rows = SyntheticGenerator("gaussian_copula", gc, SMALL.random_state + k).fit(X.iloc[train], y.iloc[train])
        rows = rows.sample(10)
        for m, alpha_index, alpha in ((5, 1, 0.5), (10, 2, 1.0)):
            model = fit_weighted("svr", params, Xn[train], yn[train], rows.iloc[:m, :-1], rows.iloc[:m, -1], alpha)
            mse = np.mean((model.predict(Xn[val]) - yn[val]) ** 2)
            assert study.fold_curves["gaussian_copula"][m][alpha_index][k] == pytest.approx(mse, rel=1e-10)
        plain = build_pipeline("svr", params, 0).fit(Xn[train], yn[train])
        assert study.fold_mse_real_only[k] == pytest.approx(np.mean((plain.predict(Xn[val]) - yn[val]) ** 2))
    for per_alpha in study.fold_curves["gaussian_copula"].values():
        assert per_alpha[0] == study.fold_mse_real_only and all(len(f) == 6 for f in per_alpha)


def test_parallel_study_gives_the_same_numbers_as_a_serial_one():
    X, y = train_rows()
    params = {"C": 10.0, "kernel": "rbf"}
    serial = run_study(X, y, "svr", params, SMALL, n_jobs=1)
    heard: list[tuple[float, str]] = []
    parallel = run_study(X, y, "svr", params, SMALL, n_jobs=2, progress=lambda *a: heard.append(a))
    assert serial.curves == parallel.curves and serial.quality_scores == parallel.quality_scores
    # the grid's jobs move the progress between the simulations (0.5) and the end of the scoring (0.9)
    fractions = [f for f, _ in heard]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    grid = [(f, m) for f, m in heard if "jobs" in m]
    assert grid[0][0] > 0.5 and grid[-1][0] == pytest.approx(0.9)
    assert any(m.startswith("candidates scored on the K-fold") for _, m in grid)
    assert any(m.startswith("gains checked on the left-out types") for _, m in grid)


def test_one_standard_error_rule_shrinks_alpha_or_drops_a_noisy_gain():
    curves = {"g": {5: [[0.0, 2.0], [0.2, 1.8], [0.5, 1.5], [1.0, 3.0]]}}
    real = [1.9, 2.0, 2.1]
    steady = {"g": {5: [real, [1.7, 1.8, 1.9], [1.4, 1.5, 1.6], [3.0, 3.0, 3.0]]}}
    # a gain of 0.5 on every fold: SE 0, so the winner stands
    assert select_configuration(curves, 2.0, "one_se", steady, real) == ("g", 5, 0.5, 1.5)
    # gains 0.2 / 0.3 / 1.0: SE = sd 0.436 · sqrt(1/3 + 1/2) = 0.398, so α = 0.2 (CV 1.8 <= 1.5 + 0.398) is enough
    noisy = {"g": {5: [real, [1.7, 1.8, 1.9], [1.7, 1.7, 1.1], [3.0, 3.0, 3.0]]}}
    assert paired_gain(noisy["g"][5][2], real, 3) == pytest.approx(
        (0.5, np.std([0.2, 0.3, 1.0], ddof=1) * np.sqrt(5 / 6))
    )
    assert select_configuration(curves, 2.0, "one_se", noisy, real) == ("g", 5, 0.2, 1.8)
    # gains of 1.9 / 0 / -0.4: SE 0.71 puts the real-only model within one SE, so augmentation is dropped
    wild = {"g": {5: [real, [1.7, 1.8, 1.9], [0.0, 2.0, 2.5], [3.0, 3.0, 3.0]]}}
    assert select_configuration(curves, 2.0, "one_se", wild, real) == (None, 0, 0.0, 2.0)
    assert select_configuration(curves, 2.0, "lowest", wild, real) == ("g", 5, 0.5, 1.5)
    with pytest.raises(ValueError, match="per-fold"):
        select_configuration(curves, 2.0, "one_se")
    # the law rule: the same decision, α from Eq. 4 at the winner's source and m (real 2.0, surrogate-only 3.0)
    law = (1.0, 1.0)
    assert select_configuration(curves, 2.0, "law", wild, real, law=law) == (None, 0, 0.0, 2.0)
    chosen = select_configuration(curves, 2.0, "law", steady, real, law=law)
    assert chosen[:3] == ("g", 5, round(theoretical_alpha(2.0, 3.0, *law), 3)) == ("g", 5, 0.333)
    assert chosen[3] == pytest.approx(np.interp(0.333, [0.0, 0.2, 0.5, 1.0], [2.0, 1.8, 1.5, 3.0]))
    with pytest.raises(ValueError, match="learning curve"):
        select_configuration(curves, 2.0, "law", steady, real)
    with pytest.raises(ValueError, match="unknown selection rule"):
        select_configuration(curves, 2.0, "median")


def _repeated(gains: np.ndarray, real: np.ndarray) -> list[list[float]]:
    return (real - gains).tolist()


def test_default_rule_keeps_alpha_zero_when_gains_are_within_fold_noise():
    """5 x 3 folds: a mean gain of 0.1 with fold-to-fold scatter 0.3 is noise; with scatter 0.05 it is not."""
    assert AugmentSettings().selection == "one_se" and (AugmentSettings().folds, AugmentSettings().repeats) == (5, 3)
    rng = np.random.default_rng(3)
    real = rng.uniform(1.5, 2.5, 15)
    noise = rng.standard_normal(15)
    noise = (noise - noise.mean()) / noise.std(ddof=1)  # exactly mean 0, sd 1
    for scatter, expected in ((0.3, None), (0.05, "g")):
        folds = {
            "g": {10: [real.tolist(), _repeated(0.02 + scatter * noise, real), _repeated(0.1 + scatter * noise, real)]}
        }
        curves = {"g": {10: [[a, float(np.mean(f))] for a, f in zip((0.0, 0.3, 0.6), folds["g"][10], strict=True)]}}
        chosen = select_configuration(curves, float(real.mean()), "one_se", folds, real.tolist(), folds=5)
        assert chosen[0] == expected
        if expected:  # the clear gain keeps the smallest α within one SE of the best
            _, se = paired_gain(folds["g"][10][2], real, 5)
            assert se == pytest.approx(0.05 * np.sqrt(1 / 15 + 1 / 4))
            assert chosen[1:3] == (10, 0.6)  # α = 0.3 gains 0.02, more than one SE (0.029) short of the best
    # the plain SE of 15 repeated folds (0.3 / sqrt 15 = 0.077) would have let the noisy gain through
    noisy_gain, noisy_se = paired_gain(_repeated(0.1 + 0.3 * noise, real), real, 5)
    assert noisy_gain == pytest.approx(0.1)
    assert 0.3 / np.sqrt(15) < noisy_gain < noisy_se


def test_selection_keeps_alpha_zero_unless_augmentation_helps():
    curves = {"g": {5: [[0.0, 2.0], [0.5, 2.0], [1.0, 3.0]]}, "h": {10: [[0.0, 2.0], [0.5, 2.5]]}}
    assert select_configuration(curves, 2.0, "lowest") == (None, 0, 0.0, 2.0)
    curves["h"][10].append([0.7, 1.5])
    assert select_configuration(curves, 2.0, "lowest") == ("h", 10, 0.7, 1.5)


def test_theoretical_alpha_formula_floor_and_exponent():
    assert theoretical_alpha(3.0, 1.0) == pytest.approx(0.75)
    assert theoretical_alpha(3.0, 1.0, floor=0.5) == pytest.approx(2.5 / 3.0)
    # β = 0.5 squares the excess errors: 2.5² / (2.5² + 0.5²)
    assert theoretical_alpha(3.0, 1.0, floor=0.5, exponent=0.5) == pytest.approx(6.25 / 6.5)
    sizes = np.array([5, 8, 12, 20, 30], float)
    floor, exponent = learning_curve(sizes, 2.0 + 10 * sizes**-0.7)
    assert floor == pytest.approx(2.0, abs=1e-3) and exponent == pytest.approx(0.7, abs=1e-3)
    assert learning_curve(sizes, 2.0 + 0.01 * sizes) == (0.0, 1.0)  # error grows with n: nothing to fit
    # one point per fold at each size: the curve is fitted to the fold means
    means = 2.0 + 10 * sizes**-0.7
    folds = np.concatenate([sizes, sizes]), np.concatenate([means + 0.5, means - 0.5])
    assert learning_curve(*folds) == pytest.approx(learning_curve(sizes, means))


def test_theoretical_alpha_minimises_the_scaling_law_and_matches_its_ends():
    real, synthetic, floor, exponent = 3.0, 1.4, 0.6, 0.7
    grid = np.linspace(0, 1, 100001)
    predicted = scaling_law_error(grid, real, synthetic, floor, exponent)
    assert grid[np.argmin(predicted)] == pytest.approx(theoretical_alpha(real, synthetic, floor, exponent), abs=1e-4)
    # α = 0 is the real-only error, α = 1 the synthetic-only error
    assert predicted[0] == pytest.approx(real) and predicted[-1] == pytest.approx(synthetic)


@pytest.mark.parametrize(
    ("real", "synthetic", "floor", "exponent"),
    [(3.0, 1.4, 0.6, 0.7), (2.0, 5.0, 0.0, 1.0), (4.0, 4.5, 1.0, 1.6), (1.2, 0.9, 0.3, 0.35)],
)
def test_closed_form_alpha_is_the_numeric_minimiser_of_eq4(real, synthetic, floor, exponent):
    numeric = minimize_scalar(
        lambda a: float(scaling_law_error(a, real, synthetic, floor, exponent)),
        bounds=(0.0, 1.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert theoretical_alpha(real, synthetic, floor, exponent) == pytest.approx(numeric.x, abs=1e-6)
    # Eq. 4 term by term: R* + [α² E_s^(1/β) + (1-α)² E_o^(1/β)]^β
    alpha = 0.3
    expected = (
        floor
        + (alpha**2 * (synthetic - floor) ** (1 / exponent) + 0.7**2 * (real - floor) ** (1 / exponent)) ** exponent
    )
    assert float(scaling_law_error(alpha, real, synthetic, floor, exponent)) == pytest.approx(expected)


def test_augmented_model_round_trips_through_the_run_directory(tmp_path):
    fit = fit_result()
    result = augment_fit(fit, ["D50"], SMALL)
    aug = result.cqas["D50"]
    assert aug.test_mse_before == pytest.approx(fit.fits["D50"].metrics.test_mse)
    # force an augmented configuration so the swap-in path is exercised whatever the study chose
    rows = final_synthetic_rows(fit.fits["D50"], "gaussian_copula", GC["gaussian_copula"], 10, 0)
    forced = AugmentResult(
        result.settings,
        {"D50": replace(aug, generator="gaussian_copula", m=10, alpha=0.5)},
        {"D50": rows},
        {"D50": augmented_ensemble(fit.fits["D50"], rows, 0.5, fit.settings.to_dict())},
    )
    save_run(fit, tmp_path)
    save_augment(forced, tmp_path)
    loaded_fit, predictor = load_predictor(tmp_path)
    X = fit.fits["D50"].dataset.X_test
    expected = forced.predictor(fit).predict(X, return_std=True)
    got = predictor.predict(X, return_std=True)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-9)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-9)
    assert not np.allclose(got[0], fit.predictor().predict(X, return_std=False))
    assert load_augment(tmp_path, loaded_fit).cqas["D50"].alpha == 0.5


def test_the_verdict_says_plainly_when_the_real_only_model_is_kept_and_shows_the_numbers():
    source = {
        "label": "Gaussian copula",
        "m": 0,
        "alpha": 0.0,
        "best": {"m": 10, "alpha": 0.4, "cv_mse": 1.9, "gain": 0.1, "gain_se": 0.25},
    }
    kept = CQAAugment(
        None, 0, 0.0, 0.3, 2.0, 2.0, None, None, None, None, {}, {}, {}, {}, {},
        rule={"name": "one_se", "verdict": NO_GAIN}, gain_se=0.25, sources={"gaussian_copula": source},
    )  # fmt: skip
    text = kept.evidence()
    assert text.startswith("synthetic data does not help these data; the real-only model is kept")
    assert "m = 10, α = 0.4" in text and "0.1 ± 0.25" in text and "α* = 0.30" in text and "0.10 away" in text
    helped = replace(kept, generator="gaussian_copula", m=10, alpha=0.2, rule={"verdict": "Gaussian copula rows help"})
    assert "for the chosen α = 0.2, 0.10 away" in helped.evidence()
    # with left-out profile types the evidence is that of the best candidate they allow, with the types' change
    allowed = {"source": "gaussian_copula", "m": 10, "alpha": 0.4, "gain": 0.05, "gain_se": 0.08, "type_gain": 0.2}
    text = replace(kept, rule={"name": "one_se", "verdict": NO_GAIN, "evidence": allowed}).evidence()
    assert "does not make the left-out profile types worse" in text and "0.05 ± 0.08" in text and "by -18%" in text
    # with none allowed among the candidates that gain on the K-fold, the text says why the gain is not used
    vetoed = replace(kept, rule={"name": "one_se", "verdict": NO_GAIN, "types": ["2 cycles"], "evidence": None})
    assert "Every candidate with a K-fold gain makes the left-out profile types worse." in vetoed.evidence()
    assert "left-out" not in kept.evidence()  # no left-out types, nothing to say about them
    # older augment.json files (without rule, gain_se, sources) still load
    old = {k: v for k, v in kept.to_dict().items() if k not in ("rule", "gain_se", "sources")}
    assert CQAAugment.from_dict(old).sources == {} and CQAAugment.from_dict(kept.to_dict()) == kept


def test_left_out_type_folds_never_validate_a_type_they_train_on():
    groups = np.array(["linear"] * 6 + ["2 cycles"] * 3 + ["linear"] * 2 + ["3 cycles"] * 2 + ["1 cycle"])
    folds = type_folds(groups)
    # the best-covered type stays in every training side; a type seen once cannot be left out
    assert [name for name, _, _ in folds] == ["2 cycles", "3 cycles"]
    for name, train, val in folds:
        assert set(groups[val]) == {name} and name not in set(groups[train])
        assert sorted([*train, *val]) == list(range(len(groups)))
    assert type_folds(["linear"] * 5 + ["1 cycle"]) == []  # nothing to leave out
    X, y = train_rows()
    assert study_folds(X, y, replace(SMALL, types=False))[1] == []


def test_left_out_types_score_the_candidates_that_beat_real_only_on_the_same_folds():
    X, y = train_rows()
    params = HELPED
    study = run_study(X, y, "svr", params, SMALL)
    kfold, by_type = study_folds(X, y, SMALL)
    types = fit_result().fits["D50"].dataset.types_train.to_numpy()
    assert study.type_folds == {name: val.tolist() for name, _, val in by_type} and len(by_type) >= 2
    for name, val in study.type_folds.items():  # the whole type and nothing else is validated
        assert set(types[val]) == {name} and (types == name).sum() == len(val)
    assert max(set(types), key=list(types).count) not in study.type_folds
    scored = {}
    for m, per_alpha in study.type_curves["gaussian_copula"].items():
        assert per_alpha[0] == study.type_mse_real_only and all(len(f) == len(by_type) for f in per_alpha)
        for i, (_, cv) in enumerate(study.curves["gaussian_copula"][m][1:], start=1):
            on_types = ~np.isnan(per_alpha[i])
            assert on_types.all() == on_types.any() == (cv < study.cv_mse_real_only)  # only those that beat α = 0
            scored[m, i] = bool(on_types.all())
    assert set(scored.values()) == {True, False}  # both kinds occur here
    Xn, yn = X.to_numpy(float), y.to_numpy(float)
    gc = study.generator_params["gaussian_copula"]
    m, i = next(key for key, on_types in scored.items() if on_types)
    alpha = SMALL.alphas[i]
    for g in (0, len(by_type) - 1):  # a candidate's score on a left-out type, rebuilt from that fold alone
        _, train, val = by_type[g]
        seed = SMALL.random_state + len(kfold) + g
        rows = SyntheticGenerator("gaussian_copula", gc, seed).fit(X.iloc[train], y.iloc[train]).sample(10)
        model = fit_weighted("svr", params, Xn[train], yn[train], rows.iloc[:m, :-1], rows.iloc[:m, -1], alpha)
        assert study.type_curves["gaussian_copula"][m][i][g] == pytest.approx(
            np.mean((model.predict(Xn[val]) - yn[val]) ** 2), rel=1e-10
        )
        plain = build_pipeline("svr", params, 0).fit(Xn[train], yn[train])
        assert study.type_mse_real_only[g] == pytest.approx(np.mean((plain.predict(Xn[val]) - yn[val]) ** 2))


def _hand_made(kfold_gain: float, type_factor: list[float]):
    """Curves of one candidate (α = 0.5) with a steady K-fold gain and its left-out types' MSE times a factor."""
    rng = np.random.default_rng(5)
    real = rng.uniform(1.5, 2.5, 15)
    cand = real - kfold_gain + 0.02 * rng.standard_normal(15)
    type_real = [3.0, 6.0, 9.0]
    type_cand = [t * f for t, f in zip(type_real, type_factor, strict=True)]
    curves = {"g": {10: [[0.0, float(real.mean())], [0.5, float(cand.mean())]]}}
    fold_curves = {"g": {10: [real.tolist(), cand.tolist()]}}
    types = TypeEvidence({"g": {10: [type_real, type_cand]}}, type_real)
    return curves, fold_curves, real, types


def test_the_left_out_types_veto_a_candidate_that_loses_on_them():
    """A clear K-fold gain (0.3 on every fold) is not enough when the left-out types get 30 % worse."""
    curves, fold_curves, real, types = _hand_made(0.3, [1.3, 1.3, 1.3])
    cv = float(real.mean())
    assert select_configuration(curves, cv, "one_se", fold_curves, real, 5)[0] == "g"  # K-fold alone
    assert select_configuration(curves, cv, "one_se", fold_curves, real, 5, types=types) == (None, 0, 0.0, cv)
    assert select_configuration(curves, cv, "law", fold_curves, real, 5, (1.0, 1.0), types)[0] is None
    # a second candidate the types allow wins instead, though its CV MSE is higher
    vetoed = curves["g"][10][1]
    curves["g"][10].append([0.8, vetoed[1] + 0.05])
    fold_curves["g"][10].append([e + 0.05 for e in fold_curves["g"][10][1]])
    types.curves["g"][10].append([t * 0.9 for t in types.real_only])
    assert select_configuration(curves, cv, "one_se", fold_curves, real, 5, types=types) == (
        "g",
        10,
        0.8,
        vetoed[1] + 0.05,
    )


def test_gains_on_the_left_out_types_alone_do_not_make_augmentation_pay():
    """The types 80 % better, the folds a little worse: a type left out is a setting the final model never faces."""
    curves, fold_curves, real, types = _hand_made(-0.02, [0.2, 0.2, 0.2])
    assert type_gain(types, "g", 10, 1) == pytest.approx(np.log(5))
    assert select_configuration(curves, float(real.mean()), "one_se", fold_curves, real, 5, types=types)[0] is None


def test_the_rule_picks_augmentation_when_the_folds_gain_clearly_and_the_types_do_not_lose():
    curves, fold_curves, real, types = _hand_made(0.3, [0.7, 0.75, 0.8])
    cv = float(real.mean())
    chosen = select_configuration(curves, cv, "one_se", fold_curves, real, 5, types=types)
    assert chosen == ("g", 10, 0.5, curves["g"][10][1][1])
    gain, se = paired_gain(fold_curves["g"][10][1], real, 5)
    assert gain == pytest.approx(0.3, abs=0.02) and gain > se
    assert type_gain(types, "g", 10, 1) == pytest.approx(np.mean(np.log([1 / 0.7, 1 / 0.75, 1 / 0.8])))
