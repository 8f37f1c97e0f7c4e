import pandas as pd

from core.doe import Schema
from core.optimize.run import optimize_profiles
from core.optimize.spec import DesignSpec
from core.plots.design import crystallinity_front_figure, pareto_figure, predicted_vs_measured_figure
from tests.conftest import surrogate


def points() -> pd.DataFrame:
    return optimize_profiles(
        surrogate, Schema.default(), DesignSpec(n_temperatures=(2, 6), pop_size=12, n_gen=4)
    ).points


def test_pareto_figure_one_trace_per_type_ids_in_customdata_one_colour_bar():
    pts = points()
    fig = pareto_figure(pts, selected=[pts["id"].iloc[0]])
    by_name = {t.name: t for t in fig.data if t.customdata is not None}
    assert set(by_name) == {"linear cooling", "2 cycles", "selected"}
    assert sorted(by_name["2 cycles"].customdata) == sorted(pts.loc[pts["n_temperatures"] == 6, "id"])
    assert sum(bool(t.marker.showscale) for t in fig.data) == 1
    assert list(by_name["selected"].customdata) == [pts["id"].iloc[0]]
    assert fig.layout.xaxis.title.text == "predicted DoA (%)"
    assert by_name["linear cooling"].marker.symbol != by_name["2 cycles"].marker.symbol


def test_crystallinity_front_has_error_bars_from_std():
    pts = points()
    fig = crystallinity_front_figure(pts)
    trace = next(t for t in fig.data if t.name == "2 cycles")
    part = pts[pts["n_temperatures"] == 6].sort_values("D50_mean")
    assert list(trace.error_y.array) == list(part["crystallinity_std"])


def test_predicted_vs_measured_bars():
    table = pd.DataFrame(
        {
            "cqa": ["D50", "DoA"],
            "predicted_mean": [22.9, 64.6],
            "predicted_std": [6.6, 5.3],
            "measured": [17.5, 64.5],
            "measured_std": [0.3, 12.7],
        }
    )
    fig = predicted_vs_measured_figure(table)
    assert list(fig.data[0].y) == [22.9, 64.6] and list(fig.data[1].error_y.array) == [0.3, 12.7]


def test_the_legend_shows_each_type_filled_and_explains_hollow_markers():
    pts = points()
    pts["in_domain"] = pts["n_temperatures"] == 2  # linear runs inside, every 2-cycle point outside
    pts["domain_score"] = (~pts["in_domain"]).astype(float) * 3.0
    fig = pareto_figure(pts)
    data = {t.name: t for t in fig.data if t.customdata is not None}
    legend = {t.name: t for t in fig.data if t.showlegend is not False and t.customdata is None}
    assert set(legend) == {"linear cooling", "2 cycles", "outside the applicability domain"}
    assert set(data["2 cycles"].marker.symbol) == {f"{legend['2 cycles'].marker.symbol}-open"}
    assert legend["outside the applicability domain"].marker.symbol.endswith("-open")
    assert all(data[n].legendgroup == legend[n].legendgroup == n for n in ("linear cooling", "2 cycles"))
    inside = pareto_figure(pts.assign(in_domain=True))
    assert "outside the applicability domain" not in {t.name for t in inside.data}
