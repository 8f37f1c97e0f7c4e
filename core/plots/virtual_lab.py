"""Figures of one virtual-lab batch: size distributions and trajectories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.virtual_lab.simulator import BatchResult

POPULATION_COLOURS = {"primary": "#4C78A8", "agglomerates": "#F58518", "amorphous": "#9D755D"}


def size_distribution_figure(result: BatchResult) -> go.Figure:
    """Volume density of primary crystals, agglomerates and amorphous particles, with D50 marked."""
    table = result.volume_distribution()
    fig = go.Figure()
    for name, colour in POPULATION_COLOURS.items():
        if table[name].max() > 0:
            fig.add_trace(
                go.Scatter(
                    x=table["size_um"], y=table[name], name=name, mode="lines", line={"color": colour}, fill="tozeroy"
                )
            )
    # A line trace, not add_vline: on a log axis a shape's x is read in decades, so D50 = 15 µm landed at 1e15 µm.
    peak = float(table[[n for n in POPULATION_COLOURS if n in table]].to_numpy().max())
    fig.add_trace(
        go.Scatter(
            x=[result.D50, result.D50],
            y=[0.0, peak],
            mode="lines",
            name=f"D50 {result.D50:.1f} µm",
            line={"color": "black", "dash": "dash"},
        )
    )
    lo, hi = populated_range(table, [n for n in POPULATION_COLOURS if n in table], result.D50)
    fig.update_layout(
        xaxis_title="size (µm)", yaxis_title="volume density (% per µm)", xaxis_type="log", height=380, margin={"t": 30}
    )
    fig.update_xaxes(range=[np.log10(lo), np.log10(hi)])  # a log axis takes its range in decades
    return fig


def populated_range(
    table: pd.DataFrame, populations: list[str], d50: float, fraction: float = 1e-3, pad: float = 1.5
) -> tuple[float, float]:
    """Sizes (µm) where the volume density is above `fraction` of its peak, widened by `pad` and holding D50.

    The simulator's size grid spans many decades beyond any particle; the axis shows where the particles are.
    """
    density = table[populations].sum(axis=1).to_numpy(float)
    sizes = table["size_um"].to_numpy(float)
    populated = sizes[(density > fraction * density.max()) & (sizes > 0)] if density.max() > 0 else sizes[sizes > 0]
    lo, hi = min(populated.min(), d50), max(populated.max(), d50)
    return lo / pad, hi * pad


def trajectory_figure(result: BatchResult) -> go.Figure:
    """Temperature, concentration against solubility, supersaturation and solid masses over the batch."""
    traj = result.trajectory
    hours = traj["time_min"] / 60
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        subplot_titles=(
            "temperature",
            "concentration and solubility",
            "supersaturation",
            "solid (crystalline, amorphous) and crystallinity",
        ),
        specs=[[{}], [{}], [{}], [{"secondary_y": True}]],
    )
    fig.add_trace(go.Scatter(x=hours, y=traj["T"], name="T (°C)", line={"color": "#E45756"}), row=1, col=1)
    fig.add_trace(go.Scatter(x=hours, y=traj["concentration"], name="concentration (mg/g)"), row=2, col=1)
    fig.add_trace(
        go.Scatter(x=hours, y=traj["solubility"], name="solubility (mg/g)", line={"dash": "dot"}), row=2, col=1
    )
    fig.add_trace(go.Scatter(x=hours, y=traj["supersaturation"], name="supersaturation c/c* − 1"), row=3, col=1)
    fig.add_hline(y=0, line_dash="dot", line_color="grey", row=3, col=1)
    fig.add_trace(
        go.Scatter(x=hours, y=traj["crystalline_mass"], name="crystalline (mg/g)", stackgroup="solid"), row=4, col=1
    )
    fig.add_trace(
        go.Scatter(x=hours, y=traj["amorphous_mass"], name="amorphous (mg/g)", stackgroup="solid"), row=4, col=1
    )
    solid = traj["crystalline_mass"] + traj["amorphous_mass"]
    crystallinity = 100 * traj["crystalline_mass"] / solid.where(solid > 0)
    fig.add_trace(
        go.Scatter(x=hours, y=crystallinity, name="crystallinity (%)", line={"color": "black"}),
        row=4,
        col=1,
        secondary_y=True,
    )
    fig.update_xaxes(title_text="time (h)", row=4, col=1)
    fig.update_layout(height=820, margin={"t": 40}, legend={"orientation": "h", "y": -0.08})
    return fig
