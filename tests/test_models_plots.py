"""Inspection tables and the model figures: what they show comes from the fitted models."""

from __future__ import annotations

import numpy as np
import pytest
from test_models_data import make_doe_frame

from core.models import FitResult, fit_cqa_models, partial_dependence_table, permutation_importance_table
from core.plots.models import (
    CHOSEN_COLOUR,
    importance_figure,
    model_comparison_figure,
    parity_figure,
    partial_dependence_figure,
    type_parity_figure,
    uncertainty_figure,
)


@pytest.fixture(scope="module")
def result() -> FitResult:
    frame = make_doe_frame(n=40, seed=3)
    frame["D50"] = 2.0 * frame["initial_concentration"]  # D50 depends on one input only
    return fit_cqa_models(
        frame,
        ["D50", "DoA"],
        families=("svr", "gbt"),
        grids={"svr": {"kernel": ["linear"], "C": [1.0, 10.0]}, "gbt": {"n_estimators": [10, 30]}},
        n_members=4,
        n_jobs=1,
    )


def test_importance_finds_the_only_input_that_matters(result):
    table = permutation_importance_table(result.fits["D50"], n_repeats=3)
    assert table["feature"].iloc[0] == "initial_concentration"
    assert table["importance"].iloc[0] > 100 * max(table["importance"].iloc[1], 1e-9)
    assert sorted(table["feature"]) == sorted(result.fits["D50"].ensemble.feature_map_.names)


def test_partial_dependence_follows_the_model(result):
    one = partial_dependence_table(result.fits["D50"], "initial_concentration", grid_points=6)
    assert list(one.columns) == ["initial_concentration", "prediction"] and len(one) == 6
    assert np.all(np.diff(one["prediction"]) > 0)  # D50 = 2 x concentration rises along the grid
    two = partial_dependence_table(result.fits["D50"], ["initial_concentration", "seed_loading"], grid_points=5)
    assert len(two) == 25
    assert two.groupby("initial_concentration")["prediction"].std().max() < 0.5  # flat in seed loading
    with pytest.raises(ValueError, match="no input called T99"):
        partial_dependence_table(result.fits["D50"], "T99")


def test_parity_figure_shows_train_and_test_with_error_bars(result):
    fit = result.fits["DoA"]
    table = fit.prediction_table()
    fig = parity_figure(table, "DoA", "%", k_sigma=2.0)
    train, test, diagonal = fig.data
    assert train.name == "training" and test.name == "hold-out" and diagonal.name == "y = x"
    assert list(train.customdata) == fit.dataset.X_train.index.tolist()
    assert list(test.customdata) == fit.dataset.X_test.index.tolist()
    np.testing.assert_allclose(train.error_y.array, 2.0 * table.loc[table.split == "train", "std"])
    assert fig.layout.xaxis.title.text == "measured DoA (%)"


def test_uncertainty_figure_puts_every_measurement_beside_its_interval(result):
    table = result.fits["DoA"].prediction_table()
    fig = uncertainty_figure(table, "DoA", k_sigma=2.0)
    predicted = [t for t in fig.data if t.name.startswith("predicted")]
    measured = next(t for t in fig.data if t.name == "measured")
    assert sum(len(t.y) for t in predicted) == len(measured.y) == len(table)
    assert sorted(measured.y) == sorted(table["measured"])
    assert all(t.error_y.array is not None for t in predicted)


def test_model_comparison_highlights_the_model_in_use(result):
    metrics = result.metrics_table()
    fig = model_comparison_figure(metrics)
    assert len(fig.data) == 2  # one panel per CQA
    for bar, cqa in zip(fig.data, ["D50", "DoA"], strict=True):
        part = metrics[metrics.cqa == cqa]
        np.testing.assert_allclose(bar.y, part["cv_mse"])
        chosen = list(part["chosen"]).index(True)
        assert bar.marker.color[chosen] == CHOSEN_COLOUR
        assert list(bar.customdata) == list(part["family"])


def test_importance_and_partial_dependence_figures(result):
    fit = result.fits["D50"]
    table = permutation_importance_table(fit, n_repeats=2)
    fig = importance_figure(table, "D50", top=5)
    assert list(fig.data[0].y)[-1] == "initial_concentration" and len(fig.data[0].y) == 5
    line = partial_dependence_figure(partial_dependence_table(fit, "seed_loading", grid_points=4), "D50", "µm")
    assert line.data[0].type == "scatter" and len(line.data[0].x) == 4
    two = partial_dependence_table(fit, ("initial_concentration", "seed_loading"), grid_points=4)
    contour = partial_dependence_figure(two, "D50", "µm")
    assert contour.data[0].type == "contour" and np.asarray(contour.data[0].z).shape == (4, 4)


def test_type_parity_figure_has_one_colour_per_profile_type(result):
    table = result.fits["DoA"].prediction_table()
    fig = type_parity_figure(table, "DoA", "%")
    points = [t for t in fig.data if t.name != "y = x"]
    assert sum(len(t.x) for t in points) == len(table)
    colours = {t.legendgroup: t.marker.color for t in points}
    assert set(colours) == set(table["profile_type"]) and len(set(colours.values())) == len(colours)
