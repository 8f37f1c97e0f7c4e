"""Temperature-limit barrier in the training loss of the dynamics models."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from core.reactors.cli import main
from core.reactors.dataset import save_operating_data, split_chronological
from core.reactors.learning import BARRIER_WIDTH_K, DynamicsLearner, limit_barrier
from core.reactors.network import NetworkConfig
from core.reactors.planning import barrier_penalty

torch.set_num_threads(1)


def temperature_columns(config: NetworkConfig) -> list[str]:
    return [f"T_{i + 1}" for i in range(config.n_reactors)]


@pytest.fixture(scope="module")
def record(operating_record) -> pd.DataFrame:
    return operating_record(6.0, 2)


@pytest.fixture(scope="module")
def trained(record, reactor_config, tiny_learner) -> Callable[..., DynamicsLearner]:
    """Node learners on the record, one per barrier weight and temperature limit, each trained once."""
    parts = split_chronological(record)

    @cache
    def fit(barrier_weight: float, limit_K: float = reactor_config.max_temperature_K) -> DynamicsLearner:
        config = dataclasses.replace(reactor_config, max_temperature_K=limit_K)
        learner = DynamicsLearner(
            kind="node", max_steps=60, patience=100, barrier_weight=barrier_weight, **tiny_learner
        )
        return learner.fit(parts["train"], parts["validation"], config)

    return fit


def scaled_tensors(learner: DynamicsLearner, record: pd.DataFrame) -> tuple[torch.Tensor, torch.Tensor]:
    x, u = learner._scaled(*learner._arrays(split_chronological(record)["validation"]))
    return torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(u, dtype=torch.float32)


def plain_rollout_loss(learner: DynamicsLearner, xs, us, index) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The loss without a barrier, written out: mean squared scaled-derivative error over free-running steps."""
    w, steps, gain = learner.window_, learner.rollout_steps, learner._step_gain
    states = torch.stack([xs[i : i + w] for i in index])
    predictions, total = [], 0.0
    for k in range(steps):
        inputs = torch.stack([us[i + k : i + k + w] for i in index])
        predicted = states[:, -1] + gain * learner.net_(states, inputs)
        target = torch.stack([xs[i + w + k] for i in index])
        total = total + (((predicted - target) / gain) ** 2).mean()
        predictions.append(predicted)
        states = torch.cat([states[:, 1:], predicted.unsqueeze(1)], dim=1)
    return total / steps, predictions


def test_barrier_shape_by_hand_and_its_gradient():
    margin = torch.tensor([20.0, 4.0, 2.0, 0.0, -2.0, -4.0], dtype=torch.float64, requires_grad=True)
    values = limit_barrier(margin, width=2.0)
    expected = [np.exp(-50.0), np.exp(-2.0), np.exp(-0.5), 1.0, 2.0, 5.0]
    assert values.detach().numpy() == pytest.approx(expected, rel=1e-12)
    values.sum().backward()
    # d/dm: -m / w^2 * exp(-m^2 / 2w^2) inside, 2m / w^2 beyond
    slopes = [-5.0 * np.exp(-50.0), -np.exp(-2.0), -0.5 * np.exp(-0.5), 0.0, -1.0, -2.0]
    assert margin.grad.numpy() == pytest.approx(slopes, rel=1e-12, abs=1e-30)
    # the planner's NumPy barrier is the same function
    assert barrier_penalty(margin.detach().numpy(), 2.0) == pytest.approx(expected, rel=1e-12)


def test_zero_weight_gives_exactly_the_plain_loss_and_a_weight_adds_the_barrier(trained, record):
    learner = trained(0.0)
    xs, us = scaled_tensors(learner, record)
    index = torch.arange(0, 24, 3)
    plain, predictions = plain_rollout_loss(learner, xs, us, index)
    with torch.no_grad():
        fit, barrier = learner._sequence_loss(xs, us, index)
        assert torch.equal(fit, plain.detach()) and barrier.item() == 0.0
        learner.barrier_weight = 2.5
        try:
            weighted_fit, weighted_barrier = learner._sequence_loss(xs, us, index)
        finally:
            learner.barrier_weight = 0.0
        expected = 2.5 * sum(learner.temperature_barrier(p) for p in predictions) / learner.rollout_steps
    assert torch.equal(weighted_fit, fit)
    assert weighted_barrier.item() == pytest.approx(expected.item(), rel=1e-6) and expected.item() > 0


def test_temperature_barrier_is_zero_far_inside_and_grows_past_the_limit(trained, reactor_config):
    learner = trained(0.0)
    s, limit = learner.scaler_, reactor_config.max_temperature_K
    columns = [learner.state_names_.index(name) for name in temperature_columns(reactor_config)]
    # charge of a one-width temperature error in the fit term, per reactor
    unit = (BARRIER_WIDTH_K / (learner.dt_ * s.derivative_scale[columns])) ** 2
    n_states = len(learner.state_names_)

    def barrier_at(temperature_K: float) -> float:
        physical = s.state_mean.copy()
        physical[columns] = temperature_K
        scaled = torch.as_tensor((physical - s.state_mean) / s.state_scale, dtype=torch.float64)[None]
        return learner.temperature_barrier(scaled).item()

    assert barrier_at(limit - 20.0) < 1e-18
    assert barrier_at(limit - 2.0) == pytest.approx(np.exp(-0.5) * unit.sum() / n_states, rel=1e-9)
    assert barrier_at(limit) == pytest.approx(unit.sum() / n_states, rel=1e-9)
    assert barrier_at(limit + 4.0) == pytest.approx(5.0 * unit.sum() / n_states, rel=1e-9)
    assert barrier_at(limit + 8.0) > barrier_at(limit + 4.0)


def test_barrier_gradient_pushes_hot_predictions_down_through_the_network(trained, record, reactor_config):
    learner = trained(0.0)
    s = learner.scaler_
    physical = np.tile(s.state_mean, (3, 1))
    columns = [learner.state_names_.index(name) for name in temperature_columns(reactor_config)]
    physical[:, columns] = reactor_config.max_temperature_K + 3.0
    scaled = torch.as_tensor((physical - s.state_mean) / s.state_scale, dtype=torch.float32).requires_grad_()
    learner.temperature_barrier(scaled).backward()
    assert (scaled.grad[:, columns] > 0).all()  # lower temperatures lower the barrier
    others = [i for i in range(len(learner.state_names_)) if i not in columns]
    assert (scaled.grad[:, others] == 0).all()

    xs, us = scaled_tensors(learner, record)
    learner.barrier_weight = 1.0
    try:
        learner.net_.zero_grad()
        sum(learner._sequence_loss(xs, us, torch.arange(8))).backward()
        with_barrier = [p.grad.clone() for p in learner.net_.parameters()]
        learner.barrier_weight = 0.0
        learner.net_.zero_grad()
        sum(learner._sequence_loss(xs, us, torch.arange(8))).backward()
    finally:
        learner.barrier_weight = 0.0
    assert all(torch.isfinite(g).all() for g in with_barrier)
    assert any(not torch.equal(a, p.grad) for a, p in zip(with_barrier, learner.net_.parameters(), strict=True))


def test_training_with_a_barrier_lowers_predictions_past_a_limit_the_data_cross(trained, record, reactor_config):
    # a plant limit of 385 K: the recorded temperatures pass it, so an unpenalised fit predicts past it too
    limit = 385.0
    test = split_chronological(record)["test"]
    assert (test[temperature_columns(reactor_config)].to_numpy() > limit).mean() > 0.15

    def overshoot(learner: DynamicsLearner) -> float:
        states = test[learner.state_names_].to_numpy()
        inputs = test[learner.input_names_].to_numpy()
        w, horizon = learner.window_, 10
        starts = range(w - 1, len(test) - horizon, 5)
        history = np.stack([states[i - w + 1 : i + 1] for i in starts])
        applied = np.stack([inputs[i - w + 1 : i + horizon] for i in starts])
        temperatures = learner.rollout(history, applied, horizon)[
            ..., [learner.state_names_.index(t) for t in temperature_columns(reactor_config)]
        ]
        return float(np.maximum(temperatures - limit, 0.0).mean())

    plain, barrier = trained(0.0, limit), trained(1.0, limit)
    assert all(point.val_barrier == 0.0 for point in plain.history_)
    assert all(0.0 < point.val_barrier < point.val_loss for point in barrier.history_)
    assert overshoot(barrier) < 0.5 * overshoot(plain)


def test_barrier_weight_is_saved_loaded_and_checked(tmp_path, trained, record, reactor_config):
    learner = trained(1.0)
    assert learner.get_params()["barrier_weight"] == 1.0
    learner.save(tmp_path)
    loaded = DynamicsLearner.load(tmp_path, "node")
    assert loaded.get_params() == learner.get_params()
    # a model saved before the barrier existed loads with no barrier
    meta = json.loads((tmp_path / "node.json").read_text())
    del meta["params"]["barrier_weight"]
    (tmp_path / "node.json").write_text(json.dumps(meta))
    assert DynamicsLearner.load(tmp_path, "node").barrier_weight == 0.0

    parts = split_chronological(record)
    with pytest.raises(ValueError, match="barrier weight must be zero or a positive number"):
        DynamicsLearner(kind="node", barrier_weight=-1.0).fit(parts["train"], parts["validation"], reactor_config)


def test_cli_trains_with_a_barrier_weight(tmp_path, capsys, record, reactor_config):
    data = save_operating_data(record, {"config": reactor_config.to_dict()}, tmp_path / "ops.csv")
    models = tmp_path / "models"
    args = ["train", str(data), "--model", "node", "--out", str(models), "--max-steps", "10", "--rollout-steps", "2"]
    assert main([*args, "--barrier-weight", "0.5", "--quiet"]) == 0
    assert json.loads((models / "node.json").read_text())["params"]["barrier_weight"] == 0.5
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main([*args, "--barrier-weight", "-1"])
    assert "must be zero or positive" in capsys.readouterr().err
