"""fit_cqa_models end to end: selection, override, predictor, determinism, persistence, Dask."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster
from sklearn.model_selection import KFold
from test_models_data import METRICS_JSON_FIELDS, make_doe_frame

from core.models import (
    DASK_ENV,
    FitResult,
    RunFormatError,
    compute_backend,
    fit_cqa_models,
    load_run,
    result_from_files,
    run_files,
    save_run,
    scheduler_address,
)
from core.models.cli import _summary

TINY = {
    "families": ("rf", "gbt", "svr"),
    "grids": {
        "rf": {"n_estimators": [5, 15], "min_samples_leaf": [1, 3]},
        "gbt": {"n_estimators": [5, 15], "learning_rate": [0.1, 0.2]},
        "svr": {"kernel": ["linear", "rbf"], "C": [1.0, 10.0]},
    },
    "n_members": 5,
}
# A real scheduler and worker on loopback TCP, inside this process to keep the test light.
LOOPBACK_CLUSTER = {
    "n_workers": 1,
    "threads_per_worker": 2,
    "processes": False,
    "protocol": "tcp",
    "host": "127.0.0.1",
    "dashboard_address": None,
}


def _fit(frame: pd.DataFrame, **kw) -> FitResult:
    return fit_cqa_models(frame, **{**TINY, "n_jobs": 1, **kw})


@pytest.fixture(scope="module")
def doe() -> pd.DataFrame:
    return make_doe_frame()


@pytest.fixture(scope="module")
def result(doe) -> FitResult:
    return _fit(doe)


def _without_times(metrics: dict) -> dict:
    out = json.loads(json.dumps(metrics))
    for m in out.values():
        for fm in m["models"].values():
            fm.pop("fit_time_s")
    return out


def test_metrics_per_cqa_have_the_documented_fields(result, doe):
    metrics = result.metrics_dict()
    assert list(metrics) == ["D50", "DoA", "crystallinity"]
    for cqa, m in metrics.items():
        assert set(m) >= METRICS_JSON_FIELDS
        assert set(m["models"]) == {"rf", "gbt", "svr", "average"}
        assert m["n_train"] + m["n_test"] == doe[cqa].notna().sum()
        assert 0 <= m["coverage_1sd"] <= m["coverage_2sd"] <= 1
        for fm in m["models"].values():
            assert {"cv_mse", "cv_mse_sd", "train_r2", "test_r2", "test_mse", "test_mae", "fit_time_s"} <= set(fm)
    json.dumps(metrics, allow_nan=False)  # plain JSON: no NaN


def test_chosen_family_has_the_lowest_selection_score(result):
    for m in result.metrics.values():
        assert m.selected_by == "cv"
        assert m.selection_score == min(fm.selection_score for fm in m.models.values())
        assert m.models[m.best_model].cv_mse == m.cv_mse


def test_user_choice_overrides_selection(result, doe):
    d50 = result.metrics["D50"]
    other = next(f for f in d50.models if f != d50.best_model)
    changed = result.with_choice("D50", other)
    assert changed.metrics["D50"].best_model == other and changed.metrics["D50"].selected_by == "user"
    assert changed.metrics["DoA"] == result.metrics["DoA"]
    direct = _fit(doe, cqas=["D50"], choice={"D50": other})
    assert direct.metrics["D50"].best_model == other
    with pytest.raises(ValueError, match="'xgb' was not fitted"):
        result.with_choice("D50", "xgb")


def test_predictor_is_vectorised_over_rows_and_cqas(result, doe):
    mean, std = result.predictor().predict(doe, return_std=True)
    assert mean.shape == std.shape == (len(doe), 3)
    assert (std > 0).all()
    d50 = result.fits["D50"].predict(doe)
    assert np.array_equal(mean[:, 0], d50)
    X = doe[result.input_names].to_numpy()
    assert np.array_equal(result.predictor().predict(X, return_std=False), mean)
    frame = result.predictor().predict_frame(doe.iloc[:3])
    assert list(frame.columns) == [
        "D50_mean",
        "D50_std",
        "DoA_mean",
        "DoA_std",
        "crystallinity_mean",
        "crystallinity_std",
    ]
    with pytest.raises(ValueError, match="expected 21 inputs"):
        result.predictor().predict(X[:, :5])


def test_same_seed_same_result_other_seed_other_split(result, doe):
    again = _fit(doe)
    assert _without_times(again.metrics_dict()) == _without_times(result.metrics_dict())
    other = _fit(doe, random_state=1)
    assert list(other.fits["D50"].dataset.y_test.index) != list(result.fits["D50"].dataset.y_test.index)


def test_cqas_with_too_few_rows_are_skipped_with_a_reason(doe):
    frame = doe.copy()
    frame["crystallinity"] = np.nan
    frame.loc[frame.index[:4], "crystallinity"] = [70.0, 71.0, 72.0, 73.0]
    messages = []
    out = _fit(frame, families=("svr",), progress=lambda f, m: messages.append((f, m)))
    assert "crystallinity" in out.skipped and "4 measured rows" in out.skipped["crystallinity"]
    assert set(out.fits) == {"D50", "DoA"}
    fractions = [f for f, _ in messages]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("Support vector regression CV MSE" in m for _, m in messages)


def test_holdout_data_is_the_test_set(doe):
    holdout = make_doe_frame(n=5, seed=8, mix={2: 3, 6: 2})
    out = _fit(doe, families=("svr",), holdout=holdout)
    for cqa, m in out.metrics.items():
        assert m.n_train == doe[cqa].notna().sum()
        assert m.n_test == holdout[cqa].notna().sum()
        # the naive reference: the hold-out MSE of the training rows' mean, and the model's change against it
        measured = holdout[cqa].dropna().to_numpy(float)
        assert m.test_mse_mean == pytest.approx(np.mean((measured - doe[cqa].mean()) ** 2))
        assert m.test_gain_over_mean == pytest.approx(m.test_mse / m.test_mse_mean - 1.0)


def test_gain_over_the_mean_needs_a_holdout(doe):
    m = _fit(doe, families=("svr",), test_fraction=0.0).metrics["D50"]
    assert m.n_test == 0 and m.test_mse_mean is None and m.test_gain_over_mean is None


def test_bad_requests_are_plain_errors(doe):
    with pytest.raises(ValueError, match="unknown search mode 'grid'"):
        _fit(doe, search="grid")
    with pytest.raises(ValueError, match="no CQA yield"):
        _fit(doe, cqas=["yield"])
    with pytest.raises(ValueError, match="unknown model family 'mlp'"):
        _fit(doe, families=("mlp",))


def test_saved_run_reloads_to_the_same_predictions(result, doe, tmp_path):
    out = save_run(result, tmp_path / "run")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["data.csv", "metrics.json", "predictions.csv", "settings.json"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the re-fit reproduces the saved predictions: no warning
        loaded = load_run(out)
    a, b = result.predictor().predict(doe, return_std=True), loaded.predictor().predict(doe, return_std=True)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert loaded.metrics_dict() == json.loads((out / "metrics.json").read_text())
    switched = loaded.with_choice("DoA", "rf")  # other families' parameters survive the round trip
    assert switched.metrics["DoA"].best_model == "rf"
    settings = json.loads((out / "settings.json").read_text())
    settings["cqas"]["D50"]["check"]["mean"][0] += 1.0
    (out / "settings.json").write_text(json.dumps(settings))
    with pytest.warns(UserWarning, match="re-fitted D50 model predicts differently"):
        load_run(out)


def test_broken_runs_are_refused_in_plain_words(result):
    files = run_files(result)
    with pytest.raises(RunFormatError, match=r"missing data\.csv"):
        result_from_files({k: v for k, v in files.items() if k != "data.csv"})
    with pytest.raises(RunFormatError, match=r"settings\.json is not valid JSON"):
        result_from_files({**files, "settings.json": "{"})
    spec = json.loads(files["settings.json"])
    spec["cqas"]["D50"]["family"] = "pickle"
    with pytest.raises(RunFormatError, match="unknown model family 'pickle'"):
        result_from_files({**files, "settings.json": json.dumps(spec)})
    spec = json.loads(files["settings.json"])
    spec["cqas"]["D50"]["params"] = {"C": "lots"}
    with pytest.raises(RunFormatError, match="cannot be rebuilt"):
        result_from_files({**files, "settings.json": json.dumps(spec)})


def test_scheduler_address_comes_from_the_option_or_the_environment(monkeypatch):
    monkeypatch.delenv(DASK_ENV, raising=False)
    assert scheduler_address(None) is None
    monkeypatch.setenv(DASK_ENV, "tcp://127.0.0.1:8786")
    assert scheduler_address(None) == "tcp://127.0.0.1:8786"
    assert scheduler_address("tcp://127.0.0.1:9999") == "tcp://127.0.0.1:9999"


def test_dask_cluster_gives_the_local_result(doe):
    kw = {"cqas": ["DoA"], "families": ("gbt", "svr"), "n_members": 4}
    local = fit_cqa_models(doe, **{**TINY, **kw, "n_jobs": 1})
    with (
        LocalCluster(**LOOPBACK_CLUSTER) as c,
        compute_backend(c.scheduler_address) as where,
    ):
        assert where.startswith("Dask cluster at tcp://127.0.0.1")
        remote = fit_cqa_models(doe, **{**TINY, **kw})
        assert c.scheduler.transition_counter > 0  # the fits really went through the cluster
    assert _without_times(remote.metrics_dict()) == _without_times(local.metrics_dict())
    assert np.array_equal(
        remote.predictor().predict(doe, return_std=True)[1], local.predictor().predict(doe, return_std=True)[1]
    )


def test_cross_validation_scores_the_runs_mean_as_the_model_to_beat(doe):
    frame = doe.copy()
    frame["DoA"] = np.random.default_rng(3).normal(40.0, 5.0, len(frame))  # spread unrelated to the inputs
    result = _fit(frame, cqas=["D50", "DoA"], test_fraction=0.0)
    for cqa, m in result.metrics.items():
        y = frame[cqa].to_numpy(float)
        folds = KFold(3, shuffle=True, random_state=1).split(y)  # the folds families are compared on (seed + 1)
        assert m.cv_mse_mean == pytest.approx(np.mean([np.mean((y[te] - y[tr].mean()) ** 2) for tr, te in folds]))
    d50, doa = result.metrics["D50"], result.metrics["DoA"]
    assert d50.mean_caution("D50", 3) is None and "D50: in cross-validation" not in _summary(result)
    assert doa.mean_caution("DoA", 3) in _summary(result)
    assert "DoA: in cross-validation the model does not clearly beat the mean" in _summary(result)


def test_the_mean_caution_names_both_errors_and_is_quiet_otherwise(doe):
    m = _fit(doe, cqas=["D50"], families=("svr",), test_fraction=0.0).metrics["D50"]
    clear = replace(m, cv_mse=9.0, cv_mse_sd=2.0, cv_mse_mean=12.0)
    assert clear.mean_caution("D50", 4) is None  # better by 3, one standard error is 1
    assert replace(clear, cv_mse_sd=8.0).mean_caution("D50", 4) is not None  # within one standard error (4)
    assert replace(clear, cv_mse_mean=None).mean_caution("D50", 4) is None  # a run saved before the baseline
    caution = replace(clear, cv_mse=12.5).mean_caution("D50", 4)
    assert caution.startswith("D50: ") and "CV MSE 12.5 ± 1 against 12" in caution
