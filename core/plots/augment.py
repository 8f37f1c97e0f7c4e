"""Figures of the augmentation study (Barhate et al., 2025, Figures 5-6) and of synthetic against real rows.

Pure functions of the study's curves and tables → go.Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.augment.theory import scaling_law_error, theoretical_alpha

REAL_COLOUR, SYNTHETIC_COLOUR = "#4C78A8", "#F58518"
BEFORE_COLOUR, AFTER_COLOUR = "#9DB4D3", "#E45756"


def loss_curves_figure(
    curves: Mapping[int, Sequence[Sequence[float]]],
    chosen_m: int | None = None,
    chosen_alpha: float | None = None,
    title: str = "",
    spread: Mapping[int, Sequence[float]] | None = None,
    law: Mapping[str, Any] | None = None,
) -> go.Figure:
    """Validation (CV) MSE against α, one curve per m, the optimum marked (Figure 5).

    `curves` maps m to [[α, CV MSE], ...] for one source. `spread` (m → per α, the
    standard error of the gain over α = 0) draws the noise band of the marked m:
    a dip inside the band is no evidence. `law` ({"m", "floor", "exponent"})
    draws Eq. 4's predicted curve for that m over the measured one (the style of
    Jain et al.'s Figure 1), from the m's real-only and surrogate-only points.
    """
    fig = go.Figure()
    best_m, best = None, (np.nan, np.inf)
    for m, points in sorted(curves.items()):
        pts = np.asarray(points, float)
        fig.add_scatter(x=pts[:, 0], y=pts[:, 1], mode="lines+markers", name=f"m = {m}", marker={"size": 5})
        k = int(np.argmin(pts[:, 1]))
        if pts[k, 1] < best[1]:
            best_m, best = m, (pts[k, 0], pts[k, 1])
    mark_m = chosen_m if chosen_m in curves else best_m
    real_only = float(np.asarray(next(iter(curves.values())), float)[0, 1]) if curves else None
    if real_only is not None:
        fig.add_hline(y=real_only, line={"color": "grey", "dash": "dot"}, annotation_text="real-only model (α = 0)")
    if spread is not None and mark_m in spread:
        _noise_band(fig, np.asarray(curves[mark_m], float), np.asarray(spread[mark_m], float), mark_m)
    if law is not None and law.get("m") in curves:
        _law_curve(fig, np.asarray(curves[law["m"]], float), law)
    if mark_m is not None:
        pts = np.asarray(curves[mark_m], float)
        alpha = chosen_alpha if chosen_alpha is not None else best[0]
        y = float(np.interp(alpha, pts[:, 0], pts[:, 1]))
        fig.add_scatter(
            x=[alpha],
            y=[y],
            mode="markers",
            name=f"optimum (m = {mark_m}, α = {alpha:g})",
            marker={"symbol": "star", "size": 16, "color": "black"},
        )
    fig.update_layout(title=title or "Validation loss against α", xaxis_title="α (weight of synthetic rows)")
    fig.update_yaxes(title="CV MSE (real validation rows)")
    return fig


def _noise_band(fig: go.Figure, pts: np.ndarray, se: np.ndarray, m: int) -> None:
    x = np.concatenate([pts[:, 0], pts[::-1, 0]])
    y = np.concatenate([pts[:, 1] + se, (pts[:, 1] - se)[::-1]])
    fig.add_scatter(
        x=x,
        y=y,
        fill="toself",
        mode="lines",
        line={"width": 0},
        fillcolor="rgba(120, 120, 120, 0.2)",
        name=f"± one SE of the gain over α = 0 (m = {m})",
    )


def _law_curve(fig: go.Figure, pts: np.ndarray, law: Mapping[str, Any]) -> None:
    ends = dict(zip(pts[:, 0], pts[:, 1], strict=True))
    if 0.0 not in ends or 1.0 not in ends:
        return
    grid = np.linspace(0.0, 1.0, 101)
    predicted = scaling_law_error(grid, ends[0.0], ends[1.0], law["floor"], law["exponent"])
    star = theoretical_alpha(ends[0.0], ends[1.0], law["floor"], law["exponent"])
    fig.add_scatter(
        x=grid,
        y=predicted,
        mode="lines",
        line={"color": "black", "dash": "dash"},
        name=f"scaling law, Eq. 4 (m = {law['m']}, α* = {star:.2f})",
    )


def parity_before_after_figure(
    measured: Sequence[float], before: Sequence[float], after: Sequence[float], cqa: str, row_ids=None
) -> go.Figure:
    """Predicted against measured hold-out values before and after augmentation (Figure 6)."""
    y = np.asarray(measured, float)
    ids = list(row_ids) if row_ids is not None else list(range(len(y)))
    fig = go.Figure()
    for name, pred, colour, symbol in (
        ("real data only", before, BEFORE_COLOUR, "circle"),
        ("augmented", after, AFTER_COLOUR, "diamond"),
    ):
        p = np.asarray(pred, float)
        mse = float(np.mean((p - y) ** 2)) if len(y) else float("nan")
        fig.add_scatter(
            x=y,
            y=p,
            mode="markers",
            name=f"{name} (MSE {mse:.3g})",
            customdata=ids,
            marker={"color": colour, "symbol": symbol, "size": 10},
        )
    values = np.concatenate([y, np.asarray(before, float), np.asarray(after, float)])
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    fig.add_scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x", line={"color": "grey", "dash": "dash"})
    fig.update_layout(title=f"{cqa}: hold-out parity before and after augmentation")
    fig.update_xaxes(title=f"measured {cqa}")
    fig.update_yaxes(title=f"predicted {cqa}")
    return fig


def marginals_figure(real: pd.DataFrame, synthetic: pd.DataFrame, column: str) -> go.Figure:
    """Overlaid histograms (as densities) of one column in real and synthetic rows."""
    fig = go.Figure()
    for name, frame, colour in (("real", real, REAL_COLOUR), ("synthetic", synthetic, SYNTHETIC_COLOUR)):
        fig.add_histogram(
            x=frame[column],
            name=f"{name} ({len(frame)})",
            histnorm="probability density",
            marker_color=colour,
            opacity=0.6,
        )
    fig.update_layout(barmode="overlay", title=f"{column}: real against synthetic", xaxis_title=column)
    fig.update_yaxes(title="density")
    return fig


def pair_figure(real: pd.DataFrame, synthetic: pd.DataFrame, x: str, y: str) -> go.Figure:
    """Real and synthetic rows in the plane of two columns."""
    fig = go.Figure()
    for name, frame, colour, symbol in (
        ("synthetic", synthetic, SYNTHETIC_COLOUR, "x"),
        ("real", real, REAL_COLOUR, "circle"),
    ):
        fig.add_scatter(
            x=frame[x],
            y=frame[y],
            mode="markers",
            name=f"{name} ({len(frame)})",
            marker={"color": colour, "symbol": symbol, "size": 8},
        )
    fig.update_layout(title=f"{y} against {x}: real and synthetic rows", xaxis_title=x, yaxis_title=y)
    return fig
