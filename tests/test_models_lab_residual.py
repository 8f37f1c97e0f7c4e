"""The grey-box family: the calibrated virtual lab plus a GP on its residuals, fitted on the rows given only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_models_data import make_doe_frame

import core.optimize.spec as spec_module
from core.augment.simulated import design_runs
from core.cli import main
from core.doe import load_doe
from core.models import ModelData, fit_cqa_models, load_run, save_run
from core.models import lab_residual as lab_module
from core.models.features import FeatureMap
from core.models.lab_residual import LabResidual
from core.models.target import TARGET_PARAM, LogScale
from core.models.zoo import build_pipeline, unavailable
from core.virtual_lab import simulate_rows
from core.virtual_lab.transfer import SimulationCache, calibration_fit, corresponding_states

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample() -> tuple[ModelData, ModelData]:
    return tuple(  # type: ignore[return-value]
        ModelData.from_doe(load_doe((SAMPLE / f"{name}.csv").read_bytes(), filename=f"{name}.csv").data)
        for name in ("doe", "holdout")
    )


def _rows(data: ModelData, cqa: str) -> tuple[np.ndarray, np.ndarray]:
    measured = data.cqas[cqa].notna().to_numpy()
    return data.inputs.to_numpy(float)[measured], data.cqas[cqa].to_numpy(float)[measured]


def test_baseline_is_the_simulator_calibrated_on_the_rows_given(sample):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    model = LabResidual(doe.input_names, "D50").fit(X[:20], y[:20])
    frame = pd.DataFrame(X[:20], columns=doe.input_names)
    states = corresponding_states(frame)
    simulated = SimulationCache().simulate(states.simulated_inputs(frame))["D50"].to_numpy(float)
    a, b = model.calibrated_.calibration
    assert (a, b) == calibration_fit(y[:20], simulated, "affine")
    np.testing.assert_allclose(model.calibrated_.baseline, a + b * simulated)
    # deterministic: the same rows and seed give the same predictions
    again = LabResidual(doe.input_names, "D50").fit(X[:20], y[:20])
    np.testing.assert_array_equal(model.predict(X[20:]), again.predict(X[20:]))


@pytest.mark.parametrize("cqa", ["D50", "DoA"])
def test_physics_carries_to_cycled_runs_the_gp_alone_does_not(sample, cqa):
    doe, _ = sample
    X, y = _rows(doe, cqa)
    runs = design_runs(40, doe.input_names, random_state=3)  # spread over the design space, like designs
    runs = runs[runs["H1"] > 0]  # the cycled ones: 32 of 40
    truth = simulate_rows(runs)[cqa].to_numpy(float)  # the sample's own lab, without measurement noise
    grey = LabResidual(doe.input_names, cqa).fit(X, y).predict(runs.to_numpy(float))
    descriptors = FeatureMap(doe.input_names, "descriptors").transform  # what the gp family sees
    gp = build_pipeline("gp").fit(descriptors(X), y).predict(descriptors(runs.to_numpy(float)))
    assert np.mean((grey - truth) ** 2) < 0.2 * np.mean((gp - truth) ** 2)


def test_fits_that_differ_only_in_row_weights_calibrate_once_with_the_same_predictions(sample):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    weights = [np.where(np.arange(len(y)) < 10, w, 1.0) for w in (0.5, 2.0)]
    lab_module.calibrated_rows.clear()
    shared = [LabResidual(doe.input_names, "D50", max_iter=10).fit(X, y, sample_weight=w) for w in weights]
    assert len(lab_module.calibrated_rows) == 1
    assert shared[0].calibrated_ is shared[1].calibrated_
    for w, model in zip(weights, shared, strict=True):
        lab_module.calibrated_rows.clear()
        fresh = LabResidual(doe.input_names, "D50", max_iter=10).fit(X, y, sample_weight=w)
        np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
    LabResidual(doe.input_names, "DoA", max_iter=10).fit(X, y)  # another CQA: calibrated on its own
    assert len(lab_module.calibrated_rows) == 2


def test_its_pipeline_sees_the_rows_as_measured_and_takes_sample_weights(sample):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    params = {"input_names": doe.input_names, "cqa": "D50"}
    plain = build_pipeline("lab", params).fit(X, y)
    np.testing.assert_array_equal(plain[0].transform(X), X)
    weights = np.where(np.arange(len(y)) % 2 == 0, 5.0, 0.2)
    weighted = build_pipeline("lab", params).fit(X, y, model__sample_weight=weights)
    assert not np.allclose(weighted.predict(X), plain.predict(X))


def test_loo_and_held_out_predictions_agree_with_conditioning_on_the_other_rows(sample):
    doe, _ = sample
    X, y = _rows(doe, "DoA")
    model = LabResidual(doe.input_names, "DoA").fit(X, y)
    mean, std = model.loo()
    for i in (0, 7):
        keep = np.arange(len(y)) != i
        m, s = model.conditioned_predict(X[keep], y[keep], X[[i]])
        assert m[0] == pytest.approx(mean[i]) and s[0] == pytest.approx(std[i])
    far = X[:1].copy()
    far[0, 0] *= 1.6  # a concentration far beyond the DoE's
    assert model.predict(far, return_std=True)[1][0] > np.median(std)


def test_a_row_the_simulator_cannot_run_falls_back_to_the_calibration_at_the_median(sample, monkeypatch):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    model = LabResidual(doe.input_names, "D50").fit(X, y)
    real = lab_module._simulations.simulate

    def failing(inputs, n_jobs=1):
        out = real(inputs, n_jobs)
        out.iloc[0] = np.nan
        return out

    monkeypatch.setattr(lab_module._simulations, "simulate", failing)
    mean, std = model.predict(X[:3], return_std=True)
    assert np.isfinite(mean).all() and np.isfinite(std).all()
    (a, b), fallback = model.calibrated_.calibration, model.calibrated_.fallback
    gp_mean = model.gp_.predict(model._descriptors(X[:1]))
    assert mean[0] == pytest.approx(a + b * fallback + gp_mean[0])


def test_the_family_needs_the_simulators_inputs_and_cqas():
    names = ["initial_concentration", "seed_loading", "T1", "T2", "C1"]
    assert unavailable("lab", names, "D50") is None
    assert "needs exactly the inputs" in unavailable("lab", [*names, "stirring"], "D50")
    assert "simulates" in unavailable("lab", names, "yield")
    assert unavailable("gp", [*names, "stirring"], "yield") is None
    with pytest.raises(ValueError, match="simulates"):
        LabResidual(names, "yield").fit(np.ones((4, 5)), np.ones(4))


def test_fit_leaves_it_out_with_the_reason_where_it_cannot_run():
    frame = make_doe_frame(n=24, seed=3).assign(stirring=lambda f: np.linspace(100, 300, len(f)))
    data = ModelData.from_frame(frame, input_names=[*ModelData.from_frame(frame).input_names, "stirring"])
    messages = []
    result = fit_cqa_models(
        data, ["D50"], families=("gp", "lab"), n_members=3, n_jobs=1, progress=lambda f, m: messages.append(m)
    )
    assert "lab" not in result.fits["D50"].metrics.models
    assert any("left out (the virtual lab needs exactly the inputs" in m for m in messages)
    alone = fit_cqa_models(data, ["D50"], families=("lab",), n_jobs=1)
    assert not alone.fits and "the virtual lab needs exactly the inputs" in alone.skipped["D50"]


@pytest.fixture(scope="module")
def grey_box_run(sample):
    doe, _ = sample
    frame = pd.concat([doe.inputs, doe.cqas], axis=1)
    return fit_cqa_models(frame, ["D50", "DoA"], families=("gp", "svr", "lab"), n_members=3, n_jobs=1)


def test_chosen_grey_box_survives_the_run_directory_and_joins_no_average(sample, grey_box_run, tmp_path):
    doe, holdout = sample
    result = grey_box_run
    fit = result.fits["D50"]
    assert fit.chosen == "lab"  # on data from the virtual lab itself its physics validates best
    average = fit.metrics.models["average"]  # of gp and svr: the grey box needs its rows as measured
    assert [name for name, _, _ in average.params["members"]] in (["gp", "svr"], ["svr", "gp"])
    params = fit.metrics.models["lab"].params
    assert params["input_names"] == doe.input_names and params["cqa"] == "D50"
    X = holdout.inputs
    mean, std = result.predictor().predict(X, return_std=True)
    assert np.isfinite(mean).all() and (std > 0).all()
    # the residual GP's white noise is the run's own scatter where its likelihood tells it from the signal
    of_mean, noise = fit.ensemble.std_of_mean(X.to_numpy(float)), fit.ensemble.noise_std(X.to_numpy(float))
    if np.isnan(fit.ensemble.model_[-1].noise_variance()):
        assert np.isnan(noise).all()
        np.testing.assert_array_equal(of_mean, std[:, 0])
    else:
        np.testing.assert_allclose(std[:, 0] ** 2, of_mean**2 + noise**2)
        assert (noise > 0).all() and (of_mean < std[:, 0]).all()
    save_run(result, tmp_path)
    np.testing.assert_allclose(load_run(tmp_path).predictor().predict(X), mean)


def test_simulation_cache_forgets_the_oldest_rows_beyond_its_limit(sample):
    doe, _ = sample
    cache = SimulationCache(limit=3)
    rows = doe.inputs.iloc[:5]
    first = cache.simulate(rows)
    assert len(cache) == 3 and cache.missing(rows.iloc[:2]) == 2 and cache.missing(rows.iloc[2:]) == 0
    pd.testing.assert_frame_equal(cache.simulate(rows), first)


def test_simulates_all_asks_of_every_cqa_named_and_ignores_other_quantities(grey_box_run):
    predictor = grey_box_run.predictor()
    assert predictor.simulates_all(["D50", "batch_time_min"])
    assert not predictor.simulates_all(["batch_time_min"]) and not predictor.simulates_all([])
    gp_only = fit_cqa_models(make_doe_frame(n=24, seed=1), ["D50"], families=("gp",), n_jobs=1).predictor()
    assert not gp_only.simulates_all(["D50"])


def test_a_simulating_model_gets_the_smaller_design_budget(grey_box_run, tmp_path, monkeypatch, capsys):
    assert grey_box_run.predictor().simulates
    assert not fit_cqa_models(make_doe_frame(n=24, seed=1), ["D50"], families=("gp",), n_jobs=1).predictor().simulates
    monkeypatch.setattr(spec_module, "SIMULATING_BUDGET", (8, 2))  # the default's path, at a test's size
    run = save_run(grey_box_run, tmp_path / "run")
    out = tmp_path / "pareto.csv"
    assert main(["optimize", str(run), "--cycles", "0", "2", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "simulates every design it predicts: population 8, 2 generations" in err
    # the models of both objectives simulate re-dissolution: the start stays tied to the line, the heat-ups are free
    assert grey_box_run.predictor().simulates_all(["D50", "DoA"])
    assert "seeding as the experiments: T1 within" in err and "heat-ups peak" not in err
    points = pd.read_csv(out)
    assert set(points["n_cycles"]) == {0, 2} and np.isfinite(points[["D50_mean", "DoA_std"]]).all().all()


def test_on_a_target_scale_the_simulated_values_are_calibrated_on_it_too(sample):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    log = LogScale(0.0)
    model = LabResidual(doe.input_names, "D50", target_limits=[0.0, None]).fit(X[:20], log.forward(y[:20]))
    frame = pd.DataFrame(X[:20], columns=doe.input_names)
    simulated = SimulationCache().simulate(corresponding_states(frame).simulated_inputs(frame))["D50"].to_numpy(float)
    a, b = model.calibrated_.calibration
    assert (a, b) == calibration_fit(log.forward(y[:20]), np.log(simulated), "affine")  # a power law in D50_sim
    np.testing.assert_allclose(model.calibrated_.baseline, a + b * np.log(simulated))
    # the grey box's pipeline keeps the scale its caller fits it on; the other families' pipelines drop it
    params = {"input_names": doe.input_names, "cqa": "D50", TARGET_PARAM: [0.0, None]}
    assert build_pipeline("lab", params)[-1].target_limits == [0.0, None]


def test_sigma_grows_where_the_calibration_is_carried_beyond_the_training_rows_simulated_values(sample, monkeypatch):
    doe, _ = sample
    X, y = _rows(doe, "D50")
    model = LabResidual(doe.input_names, "D50").fit(X, y)
    line = model.calibrated_.line
    simulated = model.calibrated_.simulated
    assert line.n == len(y) and line.mean == pytest.approx(simulated.mean())
    assert line.variance(np.array([line.mean]))[0] == pytest.approx(line.residual_variance / len(y))
    near_mean, near_std = model.predict(X[:1], return_std=True)
    real = lab_module._simulations.simulate

    def larger(inputs, n_jobs=1):  # the simulator puts this profile at five times the size it gave before
        out = real(inputs, n_jobs)
        return out.assign(D50=out["D50"] * 5)

    monkeypatch.setattr(lab_module._simulations, "simulate", larger)
    far_mean, far_std = model.predict(X[:1], return_std=True)
    gp_std = model.gp_.predict(model._descriptors(X[:1]), return_std=True)[1][0]
    far_simulated = 5 * simulated[0]
    assert far_mean[0] > near_mean[0] and far_std[0] > 3 * near_std[0]
    assert far_std[0] ** 2 == pytest.approx(gp_std**2 + line.variance(np.array([far_simulated]))[0])
