"""Figures of fitted CQA models: parity, uncertainty (Barhate et al., 2025, Figure 4), model comparison,
permutation importance and partial dependence. Pure functions of tables → go.Figure.

Point traces carry the experiment's row id in `customdata`, so a clicked point
can be traced back to its row in the user's sheet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.models.zoo import FAMILIES

SPLIT_STYLE = {
    "train": {"name": "training", "color": "#4C78A8", "symbol": "circle"},
    "test": {"name": "hold-out", "color": "#E45756", "symbol": "diamond"},
}
CHOSEN_COLOUR, OTHER_COLOUR = "#F58518", "#9DB4D3"


def _label(cqa: str, unit: str) -> str:
    return f"{cqa} ({unit})" if unit else cqa


def _family_label(name: str) -> str:
    return FAMILIES[name].label if name in FAMILIES else name


def parity_figure(table: pd.DataFrame, cqa: str, unit: str = "", k_sigma: float = 1.0) -> go.Figure:
    """Predicted against measured, training and hold-out points, error bars ±k_sigma·std.

    `table` is `CQAFit.prediction_table()`: row, split, measured, predicted, std.
    """
    fig = go.Figure()
    for split, style in SPLIT_STYLE.items():
        part = table[table["split"] == split]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["measured"],
                y=part["predicted"],
                mode="markers",
                name=style["name"],
                marker={"color": style["color"], "symbol": style["symbol"], "size": 9},
                error_y={"type": "data", "array": k_sigma * part["std"], "visible": True, "thickness": 1},
                customdata=part["row"],
                hovertemplate="row %{customdata}<br>measured %{x:.4g}<br>predicted %{y:.4g}"
                f"<extra>{style['name']}</extra>",
            )
        )
    values = pd.concat([table["measured"], table["predicted"]])
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    fig.add_trace(
        go.Scatter(
            x=[lo - pad, hi + pad],
            y=[lo - pad, hi + pad],
            mode="lines",
            name="y = x",
            line={"color": "grey", "dash": "dash"},
            hoverinfo="skip",
        )
    )
    label = _label(cqa, unit)
    sigma = f"±{k_sigma:g}σ" if k_sigma else ""
    fig.update_layout(
        title=f"{cqa}: predicted vs measured {sigma}".strip(),
        xaxis_title=f"measured {label}",
        yaxis_title=f"predicted {label}",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


TYPE_COLOURS = ["#4C78A8", "#F58518", "#54A24B", "#B279A2", "#E45756", "#72B7B2", "#9D755D", "#BAB0AC"]


def type_parity_figure(table: pd.DataFrame, cqa: str, unit: str = "", k_sigma: float = 1.0) -> go.Figure:
    """Predicted against measured with one colour per profile type (hold-out points as diamonds),
    so it is plain at a glance which types the model knows."""
    fig = go.Figure()
    for k, type_name in enumerate(dict.fromkeys(table["profile_type"])):
        for split, style in SPLIT_STYLE.items():
            part = table[(table["profile_type"] == type_name) & (table["split"] == split)]
            if part.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=part["measured"],
                    y=part["predicted"],
                    mode="markers",
                    name=f"{type_name} ({style['name']})",
                    legendgroup=type_name,
                    marker={"color": TYPE_COLOURS[k % len(TYPE_COLOURS)], "symbol": style["symbol"], "size": 9},
                    error_y={"type": "data", "array": k_sigma * part["std"], "visible": True, "thickness": 1},
                    customdata=part["row"],
                    hovertemplate=f"row %{{customdata}} ({type_name})<br>measured %{{x:.4g}}<br>"
                    f"predicted %{{y:.4g}}<extra>{style['name']}</extra>",
                )
            )
    values = pd.concat([table["measured"], table["predicted"]])
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    fig.add_trace(
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", line={"color": "grey", "dash": "dash"})
    )
    label = _label(cqa, unit)
    fig.update_layout(
        title=f"{cqa} per profile type ±{k_sigma:g}σ",
        xaxis_title=f"measured {label}",
        yaxis_title=f"predicted {label}",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def uncertainty_figure(table: pd.DataFrame, cqa: str, unit: str = "", k_sigma: float = 2.0) -> go.Figure:
    """Every experiment's prediction with its ±k_sigma interval beside its measurement (Figure 4 style).

    Experiments are ordered by measured value, training first then hold-out.
    """
    ordered = table.assign(_order=table["split"].map({"train": 0, "test": 1})).sort_values(["_order", "measured"])
    x = [f"{'H' if s == 'test' else 'T'}{r}" for s, r in zip(ordered["split"], ordered["row"], strict=True)]
    fig = go.Figure()
    for split, style in SPLIT_STYLE.items():
        mask = (ordered["split"] == split).to_numpy()
        if not mask.any():
            continue
        part = ordered[mask]
        xs = [v for v, m in zip(x, mask, strict=True) if m]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=part["predicted"],
                mode="markers",
                name=f"predicted ({style['name']}) ±{k_sigma:g}σ",
                marker={"color": style["color"], "symbol": style["symbol"], "size": 8},
                error_y={"type": "data", "array": k_sigma * part["std"], "visible": True, "thickness": 1.5},
                customdata=part["row"],
                hovertemplate="row %{customdata}<br>predicted %{y:.4g}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=ordered["measured"],
            mode="markers",
            name="measured",
            marker={"color": "black", "symbol": "x", "size": 8},
            customdata=ordered["row"],
            hovertemplate="row %{customdata}<br>measured %{y:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=f"{cqa}: predictions with uncertainty",
        xaxis_title="experiment (T = training, H = hold-out; row in sheet)",
        yaxis_title=_label(cqa, unit),
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def model_comparison_figure(metrics: pd.DataFrame) -> go.Figure:
    """CV MSE ± sd of every family, one panel per CQA; the family in use is highlighted.

    `metrics` is `FitResult.metrics_table()` (cqa, family, cv_mse, cv_mse_sd, test_r2, chosen).
    """
    cqas = list(dict.fromkeys(metrics["cqa"]))
    fig = make_subplots(rows=1, cols=max(len(cqas), 1), subplot_titles=cqas)
    for j, cqa in enumerate(cqas, start=1):
        part = metrics[metrics["cqa"] == cqa]
        r2 = ["test R² -" if pd.isna(v) else f"test R² {v:.2f}" for v in part["test_r2"]]
        fig.add_trace(
            go.Bar(
                x=[_family_label(f) for f in part["family"]],
                y=part["cv_mse"],
                error_y={"type": "data", "array": part["cv_mse_sd"], "visible": True},
                marker={"color": [CHOSEN_COLOUR if c else OTHER_COLOUR for c in part["chosen"]]},
                text=r2,
                textposition="outside",
                customdata=part["family"],
                hovertemplate="%{x}<br>CV MSE %{y:.4g}<br>%{text}<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=j,
        )
        fig.update_yaxes(title_text="CV MSE" if j == 1 else None, row=1, col=j)
    fig.update_layout(title="Model comparison (lower CV MSE is better; highlighted: in use)")
    return fig


def importance_figure(table: pd.DataFrame, cqa: str, top: int = 15) -> go.Figure:
    """Permutation importance (rise in MSE when an input is shuffled) of the `top` inputs."""
    part = table.head(top).iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=part["importance"],
            y=part["feature"],
            orientation="h",
            error_x={"type": "data", "array": part["importance_sd"], "visible": True},
            marker={"color": OTHER_COLOUR},
            customdata=part["feature"],
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    fig.update_layout(title=f"{cqa}: permutation importance", xaxis_title="increase in MSE when shuffled")
    return fig


def partial_dependence_figure(table: pd.DataFrame, cqa: str, unit: str = "") -> go.Figure:
    """A line for one input, a filled contour for two; `table` from `partial_dependence_table`."""
    features = [c for c in table.columns if c != "prediction"]
    label = _label(cqa, unit)
    if len(features) == 1:
        (f,) = features
        fig = go.Figure(go.Scatter(x=table[f], y=table["prediction"], mode="lines+markers", name=cqa))
        fig.update_layout(title=f"{cqa}: partial dependence on {f}", xaxis_title=f, yaxis_title=label)
        return fig
    if len(features) != 2:
        raise ValueError("a partial dependence table has one or two input columns")
    fx, fy = features
    grid = table.pivot(index=fy, columns=fx, values="prediction")
    fig = go.Figure(
        go.Contour(
            x=grid.columns.to_numpy(),
            y=grid.index.to_numpy(),
            z=np.asarray(grid.to_numpy()),
            colorbar={"title": {"text": label}},
            contours={"showlabels": True},
        )
    )
    fig.update_layout(title=f"{cqa}: partial dependence on {fx} and {fy}", xaxis_title=fx, yaxis_title=fy)
    return fig
