"""Figures of design results: Pareto fronts, crystallinity along the fronts, predicted against measured."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.plots.doe import TYPE_ORDER

SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "star", "x", "pentagon"]
UNITS = {"D50": "µm", "DoA": "%", "crystallinity": "%", "batch_time_min": "min"}


def axis_label(name: str) -> str:
    unit = UNITS.get(name)
    return f"{name} ({unit})" if unit else name


def _types(points: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(points["profile_type"]))
    return [t for t in TYPE_ORDER if t in present] + [t for t in present if t not in TYPE_ORDER]


def _hover(points: pd.DataFrame) -> list[str]:
    temps = [c for c in points.columns if c[:1] == "T" and c[1:].isdigit()]
    out = []
    for _, r in points.iterrows():
        setpoints = " → ".join(f"{r[c]:.1f}" for c in temps if r[c] > 0)
        domain = ""
        if "in_domain" in r:
            where = "within" if r["in_domain"] else "outside"
            domain = f"<br>{where} the applicability domain (score {r['domain_score']:.2f})"
        out.append(
            f"{r['id']} ({r['profile_type']})<br>C0 {r['initial_concentration']:.1f} mg/g, "
            f"seed {r['seed_loading']:.3f}<br>T: {setpoints} °C<br>batch {r['batch_time_min'] / 60:.1f} h{domain}"
        )
    return out


def _symbols(part: pd.DataFrame, symbol: str) -> str | list[str]:
    """The type's symbol, hollow for points outside the models' applicability domain."""
    if "in_domain" not in part:
        return symbol
    return [symbol if inside else f"{symbol}-open" for inside in part["in_domain"]]


def _legend_entry(name: str, symbol: str, group: str | None = None) -> go.Scatter:
    """A legend item with no points: the legend shows each type's filled symbol, whichever points it has, and
    what a hollow marker means; clicking it still shows or hides its group."""
    colour = "black" if symbol.endswith("-open") else "lightgrey"  # an open symbol is drawn in its colour alone
    marker = {"symbol": symbol, "size": 10, "color": colour, "line": {"width": 1, "color": "black"}}
    return go.Scatter(x=[None], y=[None], mode="markers", name=name, legendgroup=group, marker=marker)


def pareto_figure(
    points: pd.DataFrame,
    x: str = "DoA",
    y: str = "D50",
    colour: str | None = "crystallinity",
    selected: Iterable[str] = (),
) -> go.Figure:
    """Pareto points, one symbol per profile type, coloured by a predicted CQA; ids ride in customdata.

    Points outside the applicability domain (column `in_domain`, when present) are drawn hollow.
    """
    fig = go.Figure()
    colour_col = f"{colour}_mean" if colour and f"{colour}_mean" in points else None
    cmin = points[colour_col].min() if colour_col else None
    cmax = points[colour_col].max() if colour_col else None
    for k, type_name in enumerate(_types(points)):
        part = points[points["profile_type"] == type_name].sort_values(f"{x}_mean" if f"{x}_mean" in points else x)
        fig.add_trace(_legend_entry(type_name, SYMBOLS[k % len(SYMBOLS)], type_name))
        fig.add_trace(
            go.Scatter(
                x=part[f"{x}_mean"] if f"{x}_mean" in part else part[x],
                y=part[f"{y}_mean"] if f"{y}_mean" in part else part[y],
                mode="markers",
                name=type_name,
                legendgroup=type_name,
                showlegend=False,
                customdata=part["id"],
                hovertext=_hover(part),
                hovertemplate="%{hovertext}<extra></extra>",
                marker={
                    "symbol": _symbols(part, SYMBOLS[k % len(SYMBOLS)]),
                    "size": 10,
                    "line": {"width": 1, "color": "black"},
                    **(
                        {
                            "color": part[colour_col],
                            "colorscale": "Viridis",
                            "cmin": cmin,
                            "cmax": cmax,
                            "colorbar": {"title": f"predicted {axis_label(colour)}", "x": 1.02},
                            "showscale": k == 0,
                        }
                        if colour_col
                        else {}
                    ),
                },
            )
        )
    if "in_domain" in points and not points["in_domain"].all():
        fig.add_trace(_legend_entry("outside the applicability domain", "circle-open"))
    chosen = points[points["id"].isin(set(selected))]
    if not chosen.empty:
        fig.add_trace(
            go.Scatter(
                x=chosen[f"{x}_mean"] if f"{x}_mean" in chosen else chosen[x],
                y=chosen[f"{y}_mean"] if f"{y}_mean" in chosen else chosen[y],
                mode="markers",
                name="selected",
                customdata=chosen["id"],
                hoverinfo="skip",
                marker={"symbol": "circle-open", "size": 20, "color": "red", "line": {"width": 3}},
            )
        )
    fig.update_layout(
        xaxis_title=f"predicted {axis_label(x)}",
        yaxis_title=f"predicted {axis_label(y)}",
        legend={"title": "profile type", "orientation": "h", "y": -0.2},
        height=520,
        dragmode="zoom",  # Streamlit selects a clicked point only outside box/lasso mode; those stay in the modebar
        margin={"t": 30},
    )
    return fig


def crystallinity_front_figure(points: pd.DataFrame, along: str = "D50", cqa: str = "crystallinity") -> go.Figure:
    """A CQA with its ±1σ band along each front (Barhate et al., 2025, Figure 8)."""
    fig = go.Figure()
    for k, type_name in enumerate(_types(points)):
        part = points[points["profile_type"] == type_name].sort_values(f"{along}_mean")
        fig.add_trace(
            go.Scatter(
                x=part[f"{along}_mean"],
                y=part[f"{cqa}_mean"],
                error_y={"type": "data", "array": part[f"{cqa}_std"], "thickness": 1},
                mode="markers+lines",
                marker={"symbol": SYMBOLS[k % len(SYMBOLS)]},
                name=type_name,
                customdata=part["id"],
            )
        )
    fig.update_layout(
        xaxis_title=f"predicted {axis_label(along)}",
        yaxis_title=f"predicted {axis_label(cqa)} ± 1σ",
        height=420,
        margin={"t": 30},
    )
    return fig


def predicted_vs_measured_figure(comparison: pd.DataFrame) -> go.Figure:
    """Table-3 style comparison: per CQA, the prediction ± std beside the measurement (± its uncertainty).

    `comparison` has columns cqa, predicted_mean, predicted_std, measured, measured_std (may be NaN).
    """
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=comparison["cqa"],
            y=comparison["predicted_mean"],
            error_y={"type": "data", "array": comparison["predicted_std"]},
            name="model prediction ± 1σ",
        )
    )
    fig.add_trace(
        go.Bar(
            x=comparison["cqa"],
            y=comparison["measured"],
            error_y={"type": "data", "array": np.nan_to_num(comparison.get("measured_std", 0.0))},
            name="measured",
        )
    )
    fig.update_layout(barmode="group", yaxis_title="value (units of each CQA)", height=380, margin={"t": 30})
    return fig


def ground_truth_figure(check: pd.DataFrame, cqa: str) -> go.Figure:
    """Simulated against predicted (±1σ) for each design; the diagonal is a perfect prediction."""
    fig = go.Figure(
        go.Scatter(
            x=check[f"{cqa}_simulated"],
            y=check[f"{cqa}_predicted"],
            error_y={"type": "data", "array": check[f"{cqa}_std"]},
            mode="markers",
            customdata=check["id"],
            text=check["profile_type"],
            hovertemplate="%{customdata} (%{text})<br>simulated %{x:.2f}<br>predicted %{y:.2f}<extra></extra>",
            name="designs",
        )
    )
    values = pd.concat([check[f"{cqa}_simulated"], check[f"{cqa}_predicted"]]).dropna()
    if len(values):
        lo, hi = float(values.min()), float(values.max())
        fig.add_trace(
            go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "grey"}, name="y = x")
        )
    fig.update_layout(
        xaxis_title=f"virtual lab {axis_label(cqa)}",
        yaxis_title=f"predicted {axis_label(cqa)} ± 1σ",
        height=380,
        margin={"t": 30},
    )
    return fig
