"""Optimisers that adapt their learning rate and momentum while training.

`HypergradientAdam` is Adam whose learning rate and first-moment coefficient
(its momentum) follow their own gradients (hypergradient descent, Baydin et
al. 2018). The loss after a step depends on the learning rate through the
step just taken, so d loss / d lr = -g_t . u_(t-1), with u the previous Adam
direction; likewise the momentum enters through the first moment,
d m / d beta1 = m_(t-2) - g_(t-1). Both updates use the cosine between the
vectors rather than the raw product, which makes them independent of the
loss scale: the learning rate is multiplied by (1 + hyper_lr * cos) and beta1
moves by momentum_hyper_lr * cos.

`PolicyGradientController` is the seed's alternative: a small softmax policy
(REINFORCE with a running-mean baseline) that every few steps picks a
multiplier for the learning rate and a momentum value, rewarded by the
relative fall of the training loss since its last choice.
"""

from __future__ import annotations

import math

import numpy as np
import torch


class HypergradientAdam(torch.optim.Optimizer):
    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        hyper_lr: float = 1e-3,
        momentum_hyper_lr: float = 1e-3,
        lr_bounds: tuple[float, float] = (1e-5, 0.1),
        momentum_bounds: tuple[float, float] = (0.5, 0.99),
    ):
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "hyper_lr": hyper_lr,
            "momentum_hyper_lr": momentum_hyper_lr,
            "lr_bounds": lr_bounds,
            "momentum_bounds": momentum_bounds,
        }
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            beta1, beta2 = group["betas"]
            states = [self.state[p] for p in params]
            if states[0]:
                # hypergradients of the loss now with respect to the last step's lr and beta1
                grads = torch.cat([p.grad.reshape(-1) for p in params])
                direction = torch.cat([s["direction"].reshape(-1) for s in states])
                moment_shift = torch.cat([s["moment_shift"].reshape(-1) for s in states])
                cos_lr = _cosine(grads, direction)
                cos_momentum = _cosine(grads, moment_shift)
                lo, hi = group["lr_bounds"]
                group["lr"] = float(np.clip(group["lr"] * (1.0 + group["hyper_lr"] * cos_lr), lo, hi))
                lo, hi = group["momentum_bounds"]
                beta1 = float(np.clip(beta1 + group["momentum_hyper_lr"] * cos_momentum, lo, hi))
                group["betas"] = (beta1, beta2)
            for p, state in zip(params, states, strict=True):
                g = p.grad
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                previous_m = state["m"].clone()
                state["m"].mul_(beta1).add_(g, alpha=1 - beta1)
                state["v"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
                denom = (state["v"] / (1 - beta2**t)).sqrt_().add_(group["eps"])
                direction = state["m"] / (1 - beta1**t) / denom
                # d(theta_new)/d(beta1) = -lr * (m_prev - g) / denom: the loss falls along +cos
                state["moment_shift"] = (previous_m - g) / denom
                state["direction"] = direction
                p.add_(direction, alpha=-group["lr"])
        return loss


def _clipped_log_ratio(previous: float, current: float, limit: float = 1.0) -> float:
    if not math.isfinite(current):
        return -limit
    return float(np.clip(math.log(max(previous, 1e-12) / max(current, 1e-12)), -limit, limit))


def _cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    norm = float(a.norm() * b.norm())
    return float(a @ b) / norm if norm > 0 else 0.0


class PolicyGradientController:
    """REINFORCE agent that sets the learning rate and momentum of a torch optimiser.

    Call `observe(loss)` after every optimiser step. Every ``interval`` steps
    the agent is rewarded with log(previous mean loss / current mean loss),
    updates its softmax policy, and picks a new action: a learning-rate
    multiplier from ``lr_factors`` and a momentum from ``momenta``. The policy
    state is the recent loss trend and the log learning rate relative to the
    start.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        interval: int = 20,
        lr_factors: tuple[float, ...] = (0.8, 1.0, 1.25),
        momenta: tuple[float, ...] = (0.8, 0.9, 0.95),
        policy_lr: float = 0.1,
        lr_bounds: tuple[float, float] = (1e-5, 0.1),
        random_state: int = 0,
    ):
        self.optimizer = optimizer
        self.interval = interval
        self.actions = [(f, m) for f in lr_factors for m in momenta]
        self.policy_lr = policy_lr
        self.lr_bounds = lr_bounds
        self.rng = np.random.default_rng(random_state)
        self.weights_ = np.zeros((len(self.actions), 3))
        self.baseline_ = 0.0
        self.initial_lr = optimizer.param_groups[0]["lr"]
        self._losses: list[float] = []
        self._previous_mean: float | None = None
        self._last: tuple[np.ndarray, int] | None = None
        self.rewards_: list[float] = []

    def _features(self, trend: float) -> np.ndarray:
        lr = self.optimizer.param_groups[0]["lr"]
        return np.array([1.0, trend, math.log(lr / self.initial_lr)])

    def _policy(self, features: np.ndarray) -> np.ndarray:
        logits = self.weights_ @ features
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def observe(self, loss: float) -> None:
        self._losses.append(float(loss))
        if len(self._losses) < self.interval:
            return
        mean = float(np.mean(self._losses))
        self._losses = []
        if not math.isfinite(mean):
            mean = math.inf
        # the relative fall of the loss, clipped so one diverging interval cannot wreck the policy
        trend = 0.0 if self._previous_mean is None else _clipped_log_ratio(self._previous_mean, mean)
        if self._last is not None:
            features, action = self._last
            reward = trend
            self.rewards_.append(reward)
            probs = self._policy(features)
            advantage = reward - self.baseline_
            grad_log = -np.outer(probs, features)
            grad_log[action] += features
            self.weights_ += self.policy_lr * advantage * grad_log
            self.baseline_ = 0.9 * self.baseline_ + 0.1 * reward
        self._previous_mean = mean if math.isfinite(mean) else self._previous_mean
        features = self._features(trend)
        action = int(self.rng.choice(len(self.actions), p=self._policy(features)))
        factor, momentum = self.actions[action]
        lo, hi = self.lr_bounds
        for group in self.optimizer.param_groups:
            group["lr"] = float(np.clip(group["lr"] * factor, lo, hi))
            if "betas" in group:
                group["betas"] = (momentum, group["betas"][1])
            elif "momentum" in group:
                group["momentum"] = momentum
        self._last = (features, action)
