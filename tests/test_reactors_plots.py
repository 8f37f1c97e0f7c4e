"""Plotly figures of the reactor-network workflow."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.reactors.learning import TrainingPoint
from core.reactors.network import series_parallel
from core.reactors.plots import (
    attention_bars,
    closed_loop_trajectories,
    data_explorer,
    network_diagram,
    rollout_comparison,
    training_curves,
)

CONFIG = series_parallel()


def test_network_diagram_places_every_reactor_by_flow_depth():
    fig = network_diagram(CONFIG)
    nodes = fig.data[0]
    assert list(nodes.text) == [f"R{i + 1}" for i in range(10)]
    assert list(nodes.x) == [0, 1, 2, 3, 0, 1, 2, 3, 4, 5]
    assert nodes.y[0] != nodes.y[4]  # the two trains run side by side
    labels = [a.text for a in fig.layout.annotations if a.text]
    assert "feed 1: 100 L/min" in labels and "product" in labels and "200 L/min" in labels


def test_data_explorer_shades_validation_and_test():
    frame = pd.DataFrame(
        {"time_min": np.arange(100.0), "T_1": 380.0, "split": ["train"] * 80 + ["validation"] * 10 + ["test"] * 10}
    )
    fig = data_explorer(frame, ["T_1"])
    assert len(fig.data) == 1 and len(fig.layout.shapes) == 2


def test_training_rollout_attention_and_trajectory_figures():
    history = [TrainingPoint(s, s / 10, 1.0 / s, 1.2 / s, 1e-3, 0.9) for s in (10, 20, 30)]
    assert len(training_curves({"adam": history, "hypergradient": history}).data) == 4
    assert len(rollout_comparison(np.arange(5.0), np.ones(5), {"node": np.ones(5)}, "T_1").data) == 2
    weights = pd.Series(np.linspace(0, 1, 20), index=[f"v{i}" for i in range(20)])
    assert list(attention_bars(weights, top=3).data[0].y) == ["v17", "v18", "v19"]
    record = pd.DataFrame({"time_min": np.arange(3.0), "F_1": 100.0, "F_2": 100.0})
    for i in range(10):
        record[f"true_CB_{i + 1}"] = 0.9
        record[f"true_T_{i + 1}"] = 385.0
    fig = closed_loop_trajectories({"pid": record, "oracle": record}, CONFIG, reactor=4)
    assert len(fig.data) == 6 and fig.data[0].y[0] == 200 * 0.9 * 0.1 * 60
