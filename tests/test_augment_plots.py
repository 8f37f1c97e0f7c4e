"""Figures of the augmentation study: loss curves with the optimum, parity before/after, real vs synthetic."""

import pandas as pd
import pytest

from core.plots.augment import loss_curves_figure, marginals_figure, pair_figure, parity_before_after_figure

CURVES = {5: [[0.0, 4.0], [0.5, 3.0], [1.0, 5.0]], 10: [[0.0, 4.0], [0.5, 2.5], [1.0, 6.0]]}


def test_loss_curves_have_one_line_per_m_and_mark_the_optimum():
    fig = loss_curves_figure(CURVES)
    assert [t.name for t in fig.data[:2]] == ["m = 5", "m = 10"]
    star = fig.data[-1]
    assert (star.x[0], star.y[0]) == (0.5, 2.5) and "m = 10" in star.name
    chosen = loss_curves_figure(CURVES, chosen_m=5, chosen_alpha=0.5).data[-1]
    assert (chosen.x[0], chosen.y[0]) == (0.5, 3.0)


def test_parity_reports_each_models_mse():
    fig = parity_before_after_figure([1.0, 2.0], [1.0, 4.0], [1.0, 2.0], "D50", ["a", "b"])
    assert fig.data[0].name == "real data only (MSE 2)" and fig.data[1].name == "augmented (MSE 0)"
    assert list(fig.data[0].customdata) == ["a", "b"]


def test_real_and_synthetic_views_show_both_sets():
    real = pd.DataFrame({"T1": [50.0, 60.0], "D50": [20.0, 30.0]})
    syn = pd.DataFrame({"T1": [55.0, 52.0, 58.0], "D50": [22.0, 25.0, 28.0]})
    hist = marginals_figure(real, syn, "T1")
    assert [t.name for t in hist.data] == ["real (2)", "synthetic (3)"]
    pair = pair_figure(real, syn, "T1", "D50")
    assert list(pair.data[0].x) == pytest.approx([55.0, 52.0, 58.0])
    assert list(pair.data[1].y) == pytest.approx([20.0, 30.0])


def test_loss_curves_show_the_noise_band_and_the_scaling_law_over_the_measured_curve():
    spread = {5: [0.0, 0.4, 0.6], 10: [0.0, 0.2, 0.3]}
    law = {"m": 10, "floor": 1.0, "exponent": 1.0}
    fig = loss_curves_figure(CURVES, chosen_m=10, chosen_alpha=0.5, spread=spread, law=law)
    band = next(t for t in fig.data if t.fill == "toself")
    assert "m = 10" in band.name
    assert list(band.y) == pytest.approx([4.0, 2.7, 6.3, 5.7, 2.3, 4.0])  # curve + SE, then curve - SE reversed
    predicted = next(t for t in fig.data if t.name.startswith("scaling law"))
    # from the m = 10 ends: real-only 4, surrogate-only 6, floor 1 -> α* = 3 / (3 + 5)
    assert "α* = 0.38" in predicted.name
    assert predicted.y[0] == pytest.approx(4.0) and predicted.y[-1] == pytest.approx(6.0)
    assert min(predicted.y) == pytest.approx(1.0 + 3 * 5 / 8, abs=1e-3)
    assert fig.layout.shapes[0].y0 == 4.0  # the real-only level
