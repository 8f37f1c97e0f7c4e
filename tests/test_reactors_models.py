"""Dynamics models: Euler-Lagrange mechanics, training on a small record, rollouts, persistence."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from core.reactors.dataset import split_chronological
from core.reactors.dynamics_models import MODEL_KINDS
from core.reactors.lagrangian import LagrangianDynamicsNet, euler_lagrange_acceleration
from core.reactors.learning import DynamicsLearner
from core.reactors.model_evaluation import model_caveats, model_report, persistence_rollout, rollout_errors

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def splits(operating_record) -> dict[str, pd.DataFrame]:
    return split_chronological(operating_record(8.0, 1))


@pytest.fixture(scope="module")
def trained(splits, reactor_config, tiny_learner) -> Callable[..., DynamicsLearner]:
    """Learners trained on the small record, one per kind and step count, each trained once."""

    @cache
    def fit(kind: str, steps: int = 80) -> DynamicsLearner:
        learner = DynamicsLearner(kind=kind, max_steps=steps, patience=100, random_state=0, **tiny_learner)
        return learner.fit(splits["train"], splits["validation"], reactor_config)

    return fit


def test_euler_lagrange_reproduces_a_damped_oscillator():
    m, k, c = 2.0, 3.0, 0.5  # m q'' = -k q - c q'
    q, q_dot = torch.randn(6, 1), torch.randn(6, 1)
    acceleration = euler_lagrange_acceleration(
        lambda q, v: 0.5 * m * (v * v).sum() - 0.5 * k * (q * q).sum(), q, q_dot, lambda q, v: 0.5 * c * (v * v).sum()
    )
    assert torch.allclose(acceleration, -(k * q + c * q_dot) / m, atol=1e-6)


def test_euler_lagrange_handles_coupled_coordinates_and_forces():
    # two masses on springs joined by a third spring, with a force on the first
    m1, m2, k1, k2, k12 = 1.0, 2.0, 3.0, 5.0, 7.0

    def lagrangian(q, v):
        kinetic = 0.5 * m1 * v[0] ** 2 + 0.5 * m2 * v[1] ** 2
        return kinetic - 0.5 * k1 * q[0] ** 2 - 0.5 * k2 * q[1] ** 2 - 0.5 * k12 * (q[0] - q[1]) ** 2

    q, q_dot = torch.randn(4, 2), torch.randn(4, 2)
    force = torch.tensor([[1.5, 0.0]]).repeat(4, 1)
    acceleration = euler_lagrange_acceleration(lagrangian, q, q_dot, force=force)
    expected_first = (-k1 * q[:, 0] - k12 * (q[:, 0] - q[:, 1]) + 1.5) / m1
    expected_second = (-k2 * q[:, 1] + k12 * (q[:, 0] - q[:, 1])) / m2
    assert torch.allclose(acceleration, torch.stack([expected_first, expected_second], dim=1), atol=1e-5)


def test_lagrangian_mass_matrix_is_positive_definite():
    torch.manual_seed(0)
    net = LagrangianDynamicsNet(n_states=5, n_inputs=3, hidden=8, n_ridges=4)
    with torch.no_grad():
        net.ridge_weights.fill_(3.0)
    hessian = torch.func.hessian(net.lagrangian, argnums=1)(torch.zeros(5), torch.randn(5), torch.randn(3))
    assert torch.linalg.eigvalsh(hessian).min() >= 1.0 - 1e-6
    out = net(torch.randn(7, 1, 5), torch.randn(7, 1, 3))
    assert out.shape == (7, 5) and torch.isfinite(out).all()


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_each_model_trains_and_reduces_its_loss(kind, trained):
    learner = trained(kind)
    history = learner.history_
    assert [point.step for point in history] == list(range(10, 90, 10))
    assert history[-1].train_loss < 0.8 * history[0].train_loss
    losses = [point.val_loss for point in history]
    assert min(losses) < losses[0]
    assert learner.best_val_loss_ == pytest.approx(min(losses))


def test_rollout_shapes_and_physical_units(trained, splits):
    learner = trained("node")
    test = splits["test"]
    states = test[learner.state_names_].to_numpy()[None, :1]
    inputs = test[learner.input_names_].to_numpy()[None, :10]
    predicted = learner.rollout(states, inputs, 10)
    assert predicted.shape == (1, 10, 40)
    temps = predicted[0, :, 20:30]
    assert (temps > 330).all() and (temps < 430).all()


def test_rollout_errors_are_zero_for_a_perfect_predictor(trained, splits):
    learner = trained("node")
    test = splits["test"]
    states = test[learner.state_names_].to_numpy()

    def oracle(history, inputs, horizon):
        starts = [int(np.flatnonzero((states == h[-1]).all(axis=1))[0]) for h in history]
        return np.stack([states[s + 1 : s + horizon + 1] for s in starts])

    assert rollout_errors(learner, test, 10, n_starts=4, predictor=oracle).temperature_K == 0.0
    assert rollout_errors(learner, test, 10, n_starts=4, predictor=persistence_rollout).temperature_K > 0.0


def test_lstm_attention_weights_are_distributions_over_variables_and_lags(trained, splits):
    learner = trained("lstm")
    variables, lags = learner.attention(splits["test"])
    assert len(variables) == 40 + 14 and variables.sum() == pytest.approx(1.0, abs=1e-5)
    assert list(lags.index) == ["t-3", "t-2", "t-1", "t-0"] and lags.sum() == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="Only the LSTM"):
        trained("node").attention(splits["test"])


@pytest.mark.parametrize("kind", ["lstm", "lagrangian"])
def test_saved_model_predicts_the_same_after_loading(tmp_path, kind, trained, splits):
    learner = trained(kind)
    learner.save(tmp_path)
    loaded = DynamicsLearner.load(tmp_path, kind)
    test = splits["test"]
    w = learner.window_
    states = test[learner.state_names_].to_numpy()[None, :w]
    inputs = test[learner.input_names_].to_numpy()[None, : w + 4]
    assert np.allclose(loaded.rollout(states, inputs, 5), learner.rollout(states, inputs, 5), atol=1e-5)
    assert loaded.history_ == learner.history_


def test_model_report_compares_with_persistence(trained, splits):
    report = model_report(trained("node"), splits["test"])
    assert set(report["model"]["one_step"]) == {
        "temperature_K",
        "concentration_mol_L",
        "coolant_K",
        "scaled",
        "n_windows",
    }
    assert "rollout_1h" not in report["model"]  # the tiny test split is shorter than an hour
    assert model_caveats(report) == []  # nothing to judge the model by


def _report(model: dict[str, float], persistence: dict[str, float]) -> dict:
    return {"model": {"model": "lstm", "rollout_1h": model}, "persistence": {"rollout_1h": persistence}}


def test_a_model_no_better_than_persistence_gets_a_caveat_per_quantity():
    persistence = {"temperature_K": 3.4, "concentration_mol_L": 0.03, "coolant_K": 6.8, "scaled": 0.8}
    good = {"temperature_K": 1.0, "concentration_mol_L": 0.01, "coolant_K": 2.4, "scaled": 0.5}
    assert model_caveats(_report(good, persistence)) == []
    (caveat,) = model_caveats(_report({**good, "coolant_K": 7.0}, persistence))
    assert caveat.startswith("The lstm model predicts the coolant commands 1 h ahead no better than holding them")
    assert "7 K against 6.8 K" in caveat
    worse = {**good, "temperature_K": 3.4, "concentration_mol_L": 0.05}
    assert [c.split(" 1 h")[0] for c in model_caveats(_report(worse, persistence))] == [
        "The lstm model predicts the reactor temperatures",
        "The lstm model predicts the concentrations",
    ]


def test_bad_settings_and_data_are_refused_in_plain_words(splits, reactor_config):
    with pytest.raises(ValueError, match="Unknown model"):
        DynamicsLearner(kind="transformer").fit(splits["train"], splits["validation"], reactor_config)
    with pytest.raises(ValueError, match="Unknown optimiser"):
        DynamicsLearner(optimizer="sgd").fit(splits["train"], splits["validation"], reactor_config)
    with pytest.raises(ValueError, match="rows; at least"):
        DynamicsLearner(window=8, rollout_steps=8).fit(splits["train"], splits["validation"].iloc[:10], reactor_config)
    with pytest.raises(ValueError, match="lack 1 required columns"):
        DynamicsLearner(kind="node").fit(splits["train"].drop(columns="T_4"), splits["validation"], reactor_config)
