"""Figures of the DoE data: every experiment's temperature profile and the profile-type mix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go
from plotly.colors import qualitative

from core.doe.dataset import DoEData
from core.profiles import ThermocycleProfile

# One colour per profile type, in Table 1 order, so every screen uses the same legend.
TYPE_ORDER = ["linear cooling", "linear cool + heat", "1 cycle", "2 cycles", "3 cycles", "4 cycles"]
TYPE_COLOURS = ["#4C78A8", "#72B7B2", "#F58518", "#E45756", "#54A24B", "#B279A2"]


def type_colour(type_name: str) -> str:
    if type_name in TYPE_ORDER:
        return TYPE_COLOURS[TYPE_ORDER.index(type_name)]
    return "#9D755D"


def _profile_xy(profile: ThermocycleProfile) -> tuple[list[float], list[float]]:
    table = profile.recipe_table()
    return [0.0, *table["cumulative_min"].tolist()], list(profile.temperatures)


def experiment_profiles_figure(data: DoEData, labels: Sequence[str] | None = None) -> go.Figure:
    """Temperature against time for every experiment, one colour per profile type."""
    fig = go.Figure()
    labels = list(labels) if labels is not None else [f"row {r}" for r in data.frame.index]
    shown: set[str] = set()
    for label, profile in zip(labels, data.profiles(), strict=True):
        t, temp = _profile_xy(profile)
        fig.add_trace(
            go.Scatter(
                x=[x / 60 for x in t],
                y=temp,
                mode="lines+markers",
                marker={"size": 4},
                line={"color": type_colour(profile.type_name), "width": 1.5},
                name=profile.type_name,
                legendgroup=profile.type_name,
                showlegend=profile.type_name not in shown,
                hovertemplate=f"{label}<br>{profile.type_name}<br>%{{x:.2f}} h, %{{y:.1f}} °C<extra></extra>",
            )
        )
        shown.add(profile.type_name)
    fig.update_layout(
        xaxis_title="time (h)",
        yaxis_title="temperature (°C)",
        legend_title="profile type",
        height=420,
        margin={"t": 30},
    )
    return fig


def profile_figure(profile: ThermocycleProfile, title: str = "") -> go.Figure:
    """One temperature profile with its set points labelled T1, T2, ..."""
    t, temp = _profile_xy(profile)
    fig = go.Figure(
        go.Scatter(
            x=[x / 60 for x in t],
            y=temp,
            mode="lines+markers+text",
            text=[f"T{i}" for i in range(1, len(temp) + 1)],
            textposition="top center",
            line={"color": type_colour(profile.type_name)},
            hovertemplate="%{text}: %{y:.1f} °C at %{x:.2f} h<extra></extra>",
        )
    )
    fig.update_layout(
        title=title or f"{profile.type_name}, batch time {profile.batch_time_min / 60:.1f} h",
        xaxis_title="time (h)",
        yaxis_title="temperature (°C)",
        height=350,
        margin={"t": 50},
    )
    return fig


def profiles_overlay_figure(profiles: Mapping[str, ThermocycleProfile], title: str = "") -> go.Figure:
    """Several chosen profiles on one time axis, one colour and dash per id, so near-identical ones stay apart."""
    palette = qualitative.Plotly
    dashes = ("solid", "dash", "dot", "dashdot")
    fig = go.Figure()
    for k, (label, profile) in enumerate(profiles.items()):
        t, temp = _profile_xy(profile)
        fig.add_trace(
            go.Scatter(
                x=[x / 60 for x in t],
                y=temp,
                mode="lines+markers",
                name=label,
                line={"color": palette[k % len(palette)], "dash": dashes[(k // len(palette)) % len(dashes)]},
                hovertemplate=f"{label} ({profile.type_name})<br>%{{x:.2f}} h, %{{y:.2f}} °C<extra></extra>",
            )
        )
    fig.update_layout(
        title=title or f"{len(profiles)} chosen profiles",
        xaxis_title="time (h)",
        yaxis_title="temperature (°C)",
        legend_title="id",
        height=350,
        margin={"t": 50},
    )
    return fig


def profile_mix_figure(data: DoEData) -> go.Figure:
    """How many experiments of each profile type, with the share measured for each CQA."""
    types = data.profile_types()
    order = [t for t in TYPE_ORDER if t in set(types)] + sorted(set(types) - set(TYPE_ORDER))
    fig = go.Figure()
    for cqa in data.schema.cqa_names:
        measured = data.frame[cqa].notna()
        fig.add_trace(go.Bar(x=order, y=[int((measured & (types == t)).sum()) for t in order], name=f"{cqa} measured"))
    fig.add_trace(
        go.Scatter(
            x=order,
            y=[int((types == t).sum()) for t in order],
            mode="markers",
            name="experiments",
            marker={"symbol": "line-ew-open", "size": 30, "color": "black", "line": {"width": 2}},
        )
    )
    fig.update_layout(barmode="group", yaxis_title="experiments", height=320, margin={"t": 30})
    return fig
