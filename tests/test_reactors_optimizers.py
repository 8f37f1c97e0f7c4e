"""Adaptive optimisers: hypergradient Adam and the policy-gradient learning-rate controller."""

from __future__ import annotations

import torch

from core.reactors.optimizers import HypergradientAdam, PolicyGradientController

torch.set_num_threads(1)


def quadratic_run(optimizer_factory, steps: int = 300, noise: float = 0.0):
    torch.manual_seed(0)
    theta = torch.nn.Parameter(torch.tensor([3.0, -2.0, 1.0]))
    scales = torch.tensor([1.0, 4.0, 0.25])
    optimizer, controller = optimizer_factory([theta])
    losses = []
    for _ in range(steps):
        loss = 0.5 * (scales * theta**2).sum() + noise * torch.randn(()) * theta.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(0.5 * (scales * theta.detach() ** 2).sum()))
        if controller is not None:
            controller.observe(losses[-1])
    return optimizer, controller, losses


def test_hypergradient_adam_raises_a_too_small_learning_rate():
    optimizer, _, adaptive = quadratic_run(lambda p: (HypergradientAdam(p, lr=1e-3, hyper_lr=0.02), None))
    assert optimizer.param_groups[0]["lr"] > 1e-2
    _, _, fixed = quadratic_run(lambda p: (torch.optim.Adam(p, lr=1e-3), None))
    assert adaptive[-1] < 0.1 * fixed[-1]


def test_hypergradient_adam_adapts_momentum_within_bounds():
    optimizer, _, _ = quadratic_run(lambda p: (HypergradientAdam(p, lr=0.05, momentum_hyper_lr=0.05), None))
    beta1 = optimizer.param_groups[0]["betas"][0]
    assert beta1 != 0.9
    assert 0.5 <= beta1 <= 0.99


def test_hypergradient_adam_stays_bounded_on_a_noisy_objective():
    optimizer, _, losses = quadratic_run(lambda p: (HypergradientAdam(p, lr=0.05, hyper_lr=0.02), None), noise=2.0)
    lr = optimizer.param_groups[0]["lr"]
    assert 1e-5 <= lr <= 0.1
    assert losses[-1] < losses[0]


def test_policy_gradient_controller_learns_and_moves_the_learning_rate():
    def factory(params):
        optimizer = torch.optim.Adam(params, lr=1e-3)
        return optimizer, PolicyGradientController(optimizer, interval=10, random_state=0)

    optimizer, controller, losses = quadratic_run(factory, steps=400)
    assert len(controller.rewards_) == 39
    assert abs(controller.weights_).sum() > 0
    assert optimizer.param_groups[0]["lr"] != 1e-3
    assert optimizer.param_groups[0]["betas"][0] in (0.8, 0.9, 0.95)
    assert losses[-1] < losses[0]
    # same seed, same decisions
    again_optimizer, again, _ = quadratic_run(factory, steps=400)
    assert again.rewards_ == controller.rewards_
    assert again_optimizer.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_policy_gradient_controller_survives_a_diverging_loss():
    theta = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([theta], lr=1e-3)
    controller = PolicyGradientController(optimizer, interval=2, random_state=0)
    for loss in [1.0, 1.0, float("inf"), float("nan"), 0.5, 0.5, 0.4, 0.4]:
        controller.observe(loss)
    assert torch.isfinite(torch.as_tensor(controller.weights_)).all()
    assert controller.rewards_[0] == -1.0  # a diverged interval is the worst reward, not NaN
