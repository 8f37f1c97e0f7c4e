"""The reactor screen's analysis without Streamlit: training settings, tables and rollout index arithmetic."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from core.reactors.analysis import (
    MODEL_LABELS,
    RolloutRange,
    accuracy_table,
    closed_loop_table,
    disturbance_table,
    held_back_note,
    optimizer_table,
    rollout_range,
    rollouts,
    train_learner,
)
from core.reactors.dataset import split_chronological
from core.reactors.learning import DynamicsLearner

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def parts(operating_record) -> dict[str, pd.DataFrame]:
    return split_chronological(operating_record(4.0, 3))


@pytest.fixture(scope="module")
def learner(parts, reactor_config) -> Callable[..., DynamicsLearner]:
    """Learners trained with the screen's settings at 20 steps, one per kind and optimiser, each trained once."""

    @cache
    def fit(kind: str, optimizer: str = "adam") -> DynamicsLearner:
        return train_learner(parts, reactor_config, kind, steps=20, optimizer=optimizer, rollout=2, seed=0)

    return fit


def test_training_follows_the_screen_settings_and_its_seed(learner, parts, reactor_config):
    node = learner("node")
    assert node.eval_every == 10 and node.patience == 1000 and node.rollout_steps == 2
    again = train_learner(parts, reactor_config, "node", steps=20, optimizer="adam", rollout=2, seed=0)
    assert [p.val_loss for p in again.history_] == [p.val_loss for p in node.history_]


def test_rollout_range_leaves_room_for_the_history_window(learner):
    span = RolloutRange(n_rows=24, window=4)
    assert (span.first_start, span.longest) == (3, 19)
    assert span.last_start(5) == 18  # the last predicted row is row 23, the last of the split
    assert span.last_start(30) == 3  # never before the first start
    learners = {"node": learner("node"), "lstm": learner("lstm")}
    assert rollout_range(24, learners).window == learners["lstm"].window_ > learners["node"].window_ == 1


def test_rollouts_read_only_the_history_window_and_the_applied_inputs(learner, parts):
    test = parts["test"].reset_index(drop=True)
    learners = {"node": learner("node"), "lstm": learner("lstm")}
    span, horizon = rollout_range(len(test), learners), 5
    start = span.first_start + 2
    axis, measured, predicted = rollouts(test, learners, "T_3", start, horizon)
    assert np.allclose(axis * 60, test["time_min"].to_numpy()[start + 1 : start + 1 + horizon])
    assert np.allclose(measured, test["T_3"].to_numpy()[start + 1 : start + 1 + horizon])
    assert list(predicted) == [MODEL_LABELS["node"], MODEL_LABELS["lstm"]]
    assert all(series.shape == (horizon,) and np.isfinite(series).all() for series in predicted.values())

    # States after the start and anything outside the window and horizon must not change a prediction.
    spoiled = test.copy()
    window = span.window
    states = learners["node"].state_names_
    spoiled.loc[start + 1 :, states] = np.nan
    spoiled.loc[: start - window, :] = np.nan
    spoiled.loc[start + horizon :, learners["node"].input_names_] = np.nan
    _, _, again = rollouts(spoiled, learners, "T_3", start, horizon)
    for label, series in predicted.items():
        assert np.allclose(again[label], series)


def test_accuracy_table_shows_the_rollouts_the_report_has_beside_persistence(learner):
    node = learner("node")
    report = {
        "model": {"one_step": {"temperature_K": 0.4}, "rollout_1h": {"temperature_K": 2.5}},
        "persistence": {"rollout_1h": {"temperature_K": 3.0}},
    }
    row = accuracy_table({"node": (node, report)}).iloc[0]
    assert row["model"] == MODEL_LABELS["node"]
    assert (row["one-step T error (K)"], row["1 h T error (K)"], row["1 h persistence (K)"]) == (0.4, 2.5, 3.0)
    assert row["training time (s)"] == node.train_time_s_
    assert not any(column.startswith("10 h") for column in row.index)


def test_optimizer_table_times_every_optimiser_to_the_loss_all_of_them_reached(learner):
    runs = {name: learner("node", name) for name in ("adam", "hypergradient")}
    table = optimizer_table(runs).set_index("optimiser")
    target = max(run.best_val_loss_ for run in runs.values())
    for name, run in runs.items():
        first = next(point for point in run.history_ if point.val_loss <= target)
        assert table.loc[name, "seconds to reach the common target"] == first.time_s
        assert table.loc[name, "best validation loss"] == run.best_val_loss_
        assert table.loc[name, "final learning rate"] == run.history_[-1].lr


def test_closed_loop_table_orders_the_supervisors_and_gives_the_share_in_percent():
    metrics = {
        "throughput_kg_h": 100.0,
        "utilization_pct": 80.0,
        "capacity_pct": 70.0,
        "stability_sd": 0.5,
        "violations": 0,
        "max_temperature_K": 399.0,
        "decision_time_ms": 12.0,
        "optimum_kg_h": 125.0,
        "share_of_optimum": 0.8,
    }
    learned = metrics | {"held_decisions": 3}
    table = closed_loop_table({"oracle": metrics, "pid": metrics | {"share_of_optimum": 0.5}, "learned": learned})
    assert list(table["supervisor"]) == ["pid", "learned", "oracle"]  # the PI baseline first
    held = table["decisions with a feed held back"]
    assert held[1] == 3 and pd.isna(held[0])  # only planners are held back
    table = closed_loop_table({"oracle": metrics, "pid": metrics | {"share_of_optimum": 0.5}})
    assert list(table["supervisor"]) == ["pid", "oracle"]  # absent supervisors left out
    assert list(table["share of optimum (%)"]) == pytest.approx([50.0, 80.0])
    assert table.loc[0, "steady-state optimum (kg/h)"] == 125.0 and table.loc[0, "max T (K)"] == 399.0


def test_held_back_note_counts_the_learned_optimiser_s_held_decisions():
    assert held_back_note({"pid": {}, "learned": {"held_decisions": 0}}) is None
    assert held_back_note({"pid": {}}) is None
    note = held_back_note({"learned": {"held_decisions": 4}}, limit_K=12.0)
    assert note.startswith("In 4 of its decisions") and "12 K" in note


def test_disturbance_table_gives_the_events_in_hours():
    events = [{"kind": "feed_temperature", "target": 2, "magnitude": 5.0, "start_min": 90.0, "end_min": 200.0}]
    table = disturbance_table(events)
    assert list(table.columns) == ["kind", "target", "magnitude", "start_h", "end_h"]
    assert (table.loc[0, "start_h"], table.loc[0, "end_h"]) == (1.5, 3.33)
