"""The virtual-lab source: feasible designed runs, a calibration fitted on training rows only, cached simulations."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

import core.augment.sources as sources_module
from core.augment.simulated import VirtualLabSource, design_runs
from core.augment.study import AugmentSettings, run_study, study_folds
from core.doe import load_doe
from core.profiles import TABLE2_BOUNDS, ThermocycleProfile
from core.virtual_lab import ModelParameters
from core.virtual_lab.transfer import SimulationCache, calibration_fit, corresponding_states

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
LAB = AugmentSettings(
    generators=("virtual_lab",), lab_m_values=(4, 8), alphas=(0.5, 1.0), folds=3, repeats=2, tune=False
)


@cache
def rows() -> tuple[pd.DataFrame, pd.Series]:
    """20 rows of the sample DoE as model inputs (unused set points 0) and their D50."""
    frame = load_doe(SAMPLE / "doe.csv").data.frame.iloc[:20]
    inputs = [c for c in frame.columns if c not in ("D50", "DoA", "crystallinity", "run_id", "notes")]
    return frame[inputs].fillna(0.0).reset_index(drop=True), frame["D50"].reset_index(drop=True)


def test_every_designed_run_is_feasible_and_prefixes_are_nested():
    X, _ = rows()
    runs = design_runs(40, list(X.columns), random_state=3)
    assert list(runs.columns) == list(X.columns) and len(runs) == 40
    cycles = []
    for rec in runs.to_dict("records"):
        profile = ThermocycleProfile.from_features(rec)
        assert profile.violations(TABLE2_BOUNDS) == []
        assert 24.8 <= rec["initial_concentration"] <= 55.2 and 0.05 <= rec["seed_loading"] <= 0.15
        cycles.append(profile.n_cycles)
    assert np.bincount(cycles).tolist() == [8, 8, 8, 8, 8]  # every profile type in equal share
    pd.testing.assert_frame_equal(design_runs(13, list(X.columns), 3), runs.iloc[:13])
    assert not design_runs(13, list(X.columns), 4).equals(runs.iloc[:13])


def test_calibration_maps_the_simulated_cqa_onto_the_training_rows():
    y_sim = np.array([10.0, 20.0, 30.0, 40.0])
    assert calibration_fit(2.0 + 1.5 * y_sim, y_sim, "affine") == pytest.approx((2.0, 1.5))
    assert calibration_fit(2.0 + 1.5 * y_sim, y_sim, "shift") == pytest.approx((2.0 + 0.5 * 25.0, 1.0))
    assert calibration_fit(2.0 + 1.5 * y_sim, y_sim, "none") == (0.0, 1.0)
    assert calibration_fit(-20.0 * y_sim, y_sim, "affine")[1] == 0.25  # a slope that says noise, not scale, is capped
    # a run the simulator puts in another regime does not move the fit
    x = np.array([30.0, 32.0, 35.0, 38.0, 40.0, 14.0])
    y = np.concatenate([2.0 + 1.5 * x[:5], [36.0]])
    assert calibration_fit(y, x, "affine") == pytest.approx((2.0, 1.5))
    # least squares takes the same line from exact runs, and follows the run off the trend
    assert calibration_fit(2.0 + 1.5 * y_sim, y_sim, "least_squares") == pytest.approx((2.0, 1.5))
    assert calibration_fit(y, x, "least_squares")[1] < 1.0


def test_samples_are_feasible_calibrated_simulations_and_nothing_is_simulated_twice():
    X, y = rows()
    lab = SimulationCache()
    source = VirtualLabSource(random_state=1, cache=lab).fit(X, y)
    assert len(lab) == len(X)
    sample = source.sample(6)
    assert len(lab) == len(X) + 6
    # the designed runs' temperatures, at the real concentration corresponding to the simulated one; runs whose
    # real concentration falls outside the design space are left out
    runs = design_runs(6, list(X.columns), random_state=1)
    real_c0 = source.states_.to_real(runs["initial_concentration"].to_numpy())
    kept = (real_c0 >= 24.8) & (real_c0 <= 55.2)
    assert 0 < len(sample) == kept.sum()
    np.testing.assert_allclose(sample["initial_concentration"], real_c0[kept])
    temperatures = [c for c in X.columns if c != "initial_concentration"]
    pd.testing.assert_frame_equal(sample[temperatures], runs.loc[kept, temperatures].reset_index(drop=True))
    simulated = lab.simulate(runs)["D50"].to_numpy()[kept]
    a, b = source.calibration_
    np.testing.assert_allclose(sample["D50"], a + b * simulated)
    assert b != 1.0 or a != 0.0
    for rec in sample.to_dict("records"):
        assert ThermocycleProfile.from_features(rec).violations(TABLE2_BOUNDS) == []
    pd.testing.assert_frame_equal(source.sample(3), sample.iloc[: kept[:3].sum()])
    assert len(lab) == len(X) + 6  # prefixes come from the cache


def test_designed_runs_reach_real_concentrations_as_far_as_the_training_rows_do():
    X, y = rows()
    richer = X.assign(initial_concentration=X["initial_concentration"] * 1.6)  # a more soluble compound
    top = richer["initial_concentration"].max()
    source = VirtualLabSource(random_state=1).fit(richer, y)
    assert source.concentration_range_ == (24.8, pytest.approx(top))
    c0 = source.sample(32)["initial_concentration"]
    assert 55.2 < c0.max() <= top


def test_runs_are_exchanged_at_the_same_distance_from_saturation():
    """Runs seeded on a line T1 = -40 + 25·ln C0: taken as 3.5 K below the compound's saturation (the designed runs'
    convention), each is simulated at the concentration that saturates at that temperature in the simulator."""
    lab = ModelParameters()
    c0 = np.linspace(26.0, 54.0, 8)
    X = pd.DataFrame({"initial_concentration": c0, "T1": -40.0 + 25.0 * np.log(c0)})
    states = corresponding_states(X)
    assert (states.intercept, states.slope) == pytest.approx((-40.0, 25.0))
    simulated = states.to_simulated(c0)
    saturation = np.log(simulated / lab.solubility_a) / lab.solubility_b
    np.testing.assert_allclose(saturation, X["T1"] + 3.5, atol=0.25)  # on the 0.5 K grid
    np.testing.assert_allclose(states.to_real(lab.solubility(X["T1"].to_numpy() + 3.5)), c0, rtol=1e-9)
    # start temperatures that do not rise with the concentration say nothing about saturation: no exchange
    scattered = X.assign(T1=[25.0, 60.0, 20.0, 45.0, 30.0, 70.0, 50.0, 55.0])
    assert np.polyfit(np.log(c0), scattered["T1"], 1)[0] > 0  # the least-squares line still rises a little
    for unrelated in (X.assign(T1=40.0), scattered, X.iloc[:2]):
        states = corresponding_states(unrelated)
        assert not states.active and states.to_simulated(c0) is c0


def test_runs_seeded_far_off_the_others_line_do_not_move_the_exchange():
    """A DoE seeded 1-6 K below saturation, then planned runs that explore hot and cold starts: the line stays the
    DoE's, which is the least-squares line over all of its runs."""
    rng = np.random.default_rng(0)
    c0 = rng.uniform(25.0, 55.0, 30)
    doe = pd.DataFrame({"initial_concentration": c0, "T1": -40.0 + 25.0 * np.log(c0) + rng.uniform(-2.5, 2.5, 30)})
    states = corresponding_states(doe)
    slope, intercept = np.polyfit(np.log(c0), doe["T1"], 1)
    assert (states.intercept, states.slope) == (pytest.approx(intercept, abs=1e-12), pytest.approx(slope, abs=1e-12))
    planned_c0 = rng.uniform(25.0, 55.0, 14)
    planned = pd.DataFrame(
        {"initial_concentration": planned_c0, "T1": -40.0 + 25.0 * np.log(planned_c0) + rng.choice([-12.0, 18.0], 14)}
    )
    assert corresponding_states(pd.concat([doe, planned], ignore_index=True)) == states


class RecordingLab(VirtualLabSource):
    seen: ClassVar[list[tuple[set, set]]] = []

    def fit(self, X, y):
        RecordingLab.seen.append((set(X.index), set(y.index)))
        return super().fit(X, y)


@pytest.mark.parametrize("selection", ["one_se", "lowest"])
def test_the_virtual_lab_never_sees_validation_rows(monkeypatch, selection):
    settings = replace(LAB, selection=selection, alphas=(0.1, 0.3))
    X, y = rows()
    X, y = X.set_axis([f"r{i}" for i in range(len(X))]), y.set_axis([f"r{i}" for i in range(len(y))])
    RecordingLab.seen = []
    monkeypatch.setattr(sources_module, "VirtualLabSource", RecordingLab)
    lab = SimulationCache()
    study = run_study(X, y, "svr", {}, settings, cache=lab)
    kfold, by_type = study_folds(X, y, settings)
    # the grid's folds (the first repeat and the left-out profile types), then the other repeats if it is chosen
    folds = kfold[: LAB.screened_folds] + [(train, val) for _, train, val in by_type]
    if selection == "lowest":  # a rule that takes the lowest CV score takes the lab's rows here
        assert study.generator == "virtual_lab"
        folds += kfold[LAB.screened_folds :]
    fold_fits = RecordingLab.seen[1:]  # the first fit, on every row, only scores the source's quality
    assert len(kfold) == LAB.folds * LAB.repeats and len(by_type) >= 1 and len(fold_fits) == len(folds)
    for (seen_X, seen_y), (train, val) in zip(fold_fits, folds, strict=True):
        assert seen_X == seen_y == set(X.index[train])
        assert seen_X.isdisjoint(X.index[val])
    # the designed runs are simulated once for all folds; the folds share most training-row simulations too
    design = design_runs(8, list(X.columns), LAB.random_state)
    assert lab.missing(design) == 0
    assert len(lab) < len(design) + sum(len(train) for train, _ in folds)
    assert set(study.curves["virtual_lab"]) == {4, 8}
    assert study.sources["virtual_lab"]["label"].startswith("virtual lab")


def test_the_virtual_lab_is_skipped_with_a_reason_for_a_cqa_it_does_not_simulate():
    X, y = rows()
    with pytest.raises(ValueError, match="simulates D50, DoA, crystallinity, not purity"):
        run_study(X, y.rename("purity"), "svr", {}, LAB)
    both = AugmentSettings(
        generators=("gaussian_copula", "virtual_lab"),
        m_values=(5,),
        alphas=(1.0,),
        folds=2,
        repeats=1,
        tune=False,
        generator_params={"gaussian_copula": {"default_distribution": "norm"}},
    )
    study = run_study(X, y.rename("purity"), "svr", {}, both)
    assert set(study.curves) == {"gaussian_copula"}
    assert "not purity" in study.sources["virtual_lab"]["skipped"]
