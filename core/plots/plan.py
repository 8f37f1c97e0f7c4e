"""Figures of the next-experiment planner: proposed runs among the predicted front, and the round history."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.optimize.spec import Objective
from core.plots.design import SYMBOLS, _types, axis_label


def plan_figure(front: pd.DataFrame, runs: pd.DataFrame, objectives: tuple[Objective, ...]) -> go.Figure:
    """The predicted Pareto front per profile type (small markers) and the proposed runs (stars, ±1σ bars)."""
    x, y = objectives[0].quantity, objectives[1].quantity
    fig = go.Figure()
    for k, ptype in enumerate(_types(front)):
        part = front[front["profile_type"] == ptype]
        fig.add_trace(
            go.Scatter(
                x=part[f"{x}_mean"],
                y=part[f"{y}_mean"],
                mode="markers",
                name=f"predicted front: {ptype}",
                marker={"symbol": SYMBOLS[k % len(SYMBOLS)], "size": 7, "opacity": 0.55},
                customdata=part["id"],
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=runs[f"{x}_mean"],
            y=runs[f"{y}_mean"],
            error_x={"type": "data", "array": runs[f"{x}_std"], "thickness": 1},
            error_y={"type": "data", "array": runs[f"{y}_std"], "thickness": 1},
            mode="markers+text",
            text=runs["id"].str.split("-").str[0],
            textposition="top center",
            name="proposed runs (±1σ)",
            marker={"symbol": "star", "size": 15, "color": "crimson", "line": {"width": 1, "color": "black"}},
            customdata=runs["id"],
            hovertemplate="%{customdata} (%{x:.3g}, %{y:.3g})<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title=f"predicted {axis_label(x)} ({objectives[0].sense})",
        yaxis_title=f"predicted {axis_label(y)} ({objectives[1].sense})",
        legend={"orientation": "h", "y": -0.2},
        margin={"t": 30},
    )
    return fig


def history_figure(history: pd.DataFrame) -> go.Figure:
    """Hypervolume of the predicted front and mean σ on it, round by round."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(x=history["round"], y=history["hypervolume"], mode="lines+markers", name="predicted-front HV"),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(x=history["round"], y=history["mean_sigma"], mode="lines+markers", name="mean σ on the front"),
        secondary_y=True,
    )
    fig.update_xaxes(title_text="round", dtick=1)
    fig.update_yaxes(title_text="hypervolume", secondary_y=False)
    fig.update_yaxes(title_text="mean σ (in data spreads)", secondary_y=True)
    fig.update_layout(margin={"t": 30}, legend={"orientation": "h", "y": -0.25})
    return fig
