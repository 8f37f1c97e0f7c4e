"""Plotly figures of the reactor-network workflow (pure functions, no streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.reactors.learning import TrainingPoint
from core.reactors.metrics import production_series
from core.reactors.network import NetworkConfig, NetworkModel

CONTROLLER_COLOURS = {"pid": "#7f7f7f", "learned": "#1f77b4", "oracle": "#2ca02c"}


def network_diagram(config: NetworkConfig, feeds: np.ndarray | None = None) -> go.Figure:
    """Reactors as nodes placed by depth in the flow, arrows for the routing, feeds and product."""
    model = NetworkModel(config)
    n = config.n_reactors
    routing = np.asarray(config.routing)
    depth = np.zeros(n, dtype=int)
    for _ in range(n):  # longest path from a feed point; the routing is a DAG
        for i, j in zip(*np.nonzero(routing), strict=True):
            depth[j] = max(depth[j], depth[i] + 1)
    rows: dict[int, int] = {}
    position = np.zeros((n, 2))
    for i in range(n):
        position[i] = (depth[i], -rows.get(depth[i], 0))
        rows[depth[i]] = rows.get(depth[i], 0) + 1
    for d, count in rows.items():  # centre every column vertically
        position[depth == d, 1] += (count - 1) / 2
    feeds = np.asarray(config.nominal_feed_L_min if feeds is None else feeds, dtype=float)
    flows = model.flows(feeds)
    fig = go.Figure()
    arrows = []
    for i, j in zip(*np.nonzero(routing), strict=True):
        arrows.append((position[i], position[j], f"{routing[i, j] * flows[i]:.0f} L/min"))
    feed_matrix = np.asarray(config.feed_split)
    for f in range(config.n_feeds):
        for i in np.flatnonzero(feed_matrix[f]):
            arrows.append(
                (position[i] - (0.8, 0), position[i], f"feed {f + 1}: {feeds[f] * feed_matrix[f, i]:.0f} L/min")
            )
    for i in np.flatnonzero(model.product_fraction > 1e-9):
        arrows.append((position[i], position[i] + (0.8, 0), "product"))
    for start, end, label in arrows:
        fig.add_annotation(
            x=end[0],
            y=end[1],
            ax=start[0],
            ay=start[1],
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            showarrow=True,
            arrowhead=2,
            arrowwidth=1.5,
            standoff=18,
            startstandoff=18,
            text="",
        )
        fig.add_annotation(
            x=(start[0] + end[0]) / 2,
            y=(start[1] + end[1]) / 2 + 0.12,
            text=label,
            showarrow=False,
            font={"size": 9, "color": "#555"},
        )
    names = config.reactor_names
    fig.add_trace(
        go.Scatter(
            x=position[:, 0],
            y=position[:, 1],
            mode="markers+text",
            marker={"size": 34, "color": "#e8f0fa", "line": {"color": "#1f77b4", "width": 2}},
            text=names,
            customdata=np.arange(n),
            hovertext=[
                f"{names[i]}: V {config.volume_L[i]:.0f} L, UA {config.ua_J_min_K[i]:.0f} J/(min K), "
                f"{flows[i]:.0f} L/min"
                for i in range(n)
            ],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        xaxis={"visible": False, "range": [-1.2, depth.max() + 1.2]},
        yaxis={"visible": False, "scaleanchor": "x"},
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Reactor network",
    )
    return fig


def data_explorer(frame: pd.DataFrame, columns: list[str], split_column: str = "split") -> go.Figure:
    """Time series of chosen columns against hours, with the data splits shaded."""
    hours = frame["time_min"].to_numpy() / 60.0
    fig = go.Figure()
    for column in columns:
        fig.add_trace(go.Scattergl(x=hours, y=frame[column], mode="lines", name=column))
    if split_column in frame.columns:
        shades = {"validation": "rgba(255,165,0,0.12)", "test": "rgba(44,160,44,0.12)"}
        for name, colour in shades.items():
            part = hours[frame[split_column].to_numpy() == name]
            if len(part):
                fig.add_vrect(
                    x0=part.min(),
                    x1=part.max(),
                    fillcolor=colour,
                    line_width=0,
                    annotation_text=name,
                    annotation_position="top left",
                )
    fig.update_layout(xaxis_title="time (h)", height=360, margin={"t": 30}, legend={"orientation": "h"})
    return fig


def training_curves(histories: dict[str, list[TrainingPoint]]) -> go.Figure:
    """Validation loss against wall-clock time, plus the learning rate each run used."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("validation loss", "learning rate"))
    for name, history in histories.items():
        t = [p.time_s for p in history]
        fig.add_trace(
            go.Scatter(x=t, y=[p.val_loss for p in history], mode="lines+markers", name=name, legendgroup=name),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=t, y=[p.lr for p in history], mode="lines", name=name, legendgroup=name, showlegend=False),
            row=1,
            col=2,
        )
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="training time (s)")
    fig.update_layout(height=360, margin={"t": 40})
    return fig


def attention_bars(weights: pd.Series, top: int = 15) -> go.Figure:
    """Largest mean variable-attention weights of the LSTM."""
    shown = weights.sort_values(ascending=False).head(top)[::-1]
    fig = go.Figure(go.Bar(x=shown.to_numpy(), y=shown.index, orientation="h"))
    fig.update_layout(
        title="Which variables the LSTM attends to", xaxis_title="mean attention weight", height=380, margin={"t": 40}
    )
    return fig


def rollout_comparison(
    hours: np.ndarray, actual: np.ndarray, predictions: dict[str, np.ndarray], label: str
) -> go.Figure:
    """One variable: the plant against each model's free-running prediction."""
    fig = go.Figure(go.Scatter(x=hours, y=actual, mode="lines", name="plant", line={"color": "black"}))
    for name, values in predictions.items():
        fig.add_trace(go.Scatter(x=hours, y=values, mode="lines", name=name))
    fig.update_layout(xaxis_title="time (h)", yaxis_title=label, height=340, margin={"t": 30})
    return fig


def closed_loop_trajectories(records: dict[str, pd.DataFrame], config: NetworkConfig, reactor: int = 0) -> go.Figure:
    """Production, one reactor's temperature and the total feed under each controller."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=("production of B (kg/h)", f"T of {config.reactor_names[reactor]} (K)", "total feed (L/min)"),
    )
    for name, record in records.items():
        hours = record["time_min"].to_numpy() / 60.0
        colour = CONTROLLER_COLOURS.get(name)
        style = {"color": colour} if colour else {}
        fig.add_trace(
            go.Scatter(x=hours, y=production_series(config, record), name=name, line=style, legendgroup=name),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=hours, y=record[f"true_T_{reactor + 1}"], name=name, line=style, legendgroup=name, showlegend=False
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=hours,
                y=record[config.feed_names()].sum(axis=1),
                name=name,
                line=style,
                legendgroup=name,
                showlegend=False,
            ),
            row=3,
            col=1,
        )
    fig.add_hline(y=config.max_temperature_K, line_dash="dash", line_color="red", row=2, col=1)
    fig.update_xaxes(title_text="time (h)", row=3, col=1)
    fig.update_layout(height=620, margin={"t": 40})
    return fig
