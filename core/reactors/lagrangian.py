"""Lagrangian-structured dynamics: Euler-Lagrange accelerations with Rayleigh dissipation.

For a Lagrangian L(q, q_dot), a Rayleigh dissipation function R(q, q_dot) and
generalised forces Q, the Euler-Lagrange equations

    d/dt dL/dq_dot - dL/dq = Q - dR/dq_dot

give the accelerations

    q_ddot = H^-1 (dL/dq - M q_dot - dR/dq_dot + Q),
    H = d2L/dq_dot2,  M = d2L/(dq_dot dq).

`euler_lagrange_acceleration` evaluates this with automatic differentiation
for any L and R written for a single sample.

For the reactor network the state x (concentrations, temperatures, coolant
commands, scaled) is taken as the generalised velocity, q_dot = x, so the
learned accelerations are the state derivatives. Nothing in the plant depends
on q = integral of x dt, so the learned Lagrangian depends on q_dot (and the
inputs) only; its Hessian is positive definite by construction (a quadratic
plus non-negative combinations of convex ridge functions), which keeps H
invertible. Reactors are dissipative, which is what R carries; the inputs
(setpoints, feeds, feed conditions) act through R and through Q.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import grad, hessian, jacfwd, vmap

Scalar = Callable[..., torch.Tensor]


def euler_lagrange_acceleration(
    lagrangian: Scalar,
    q: torch.Tensor,
    q_dot: torch.Tensor,
    dissipation: Scalar | None = None,
    force: torch.Tensor | None = None,
    context: torch.Tensor | None = None,
    depends_on_q: bool = True,
) -> torch.Tensor:
    """Accelerations q_ddot for a batch ``(B, d)`` of coordinates and velocities.

    ``lagrangian(q, q_dot[, c])`` and ``dissipation(q, q_dot[, c])`` map one
    sample (``(d,)`` tensors, plus its row of ``context`` when given) to a
    scalar; ``force`` is ``(B, d)`` or None. With ``depends_on_q=False`` the
    q-derivatives of L are known to vanish and are skipped. Differentiable, so
    it can sit inside a training loss.
    """
    args = (q, q_dot) if context is None else (q, q_dot, context)
    h = vmap(hessian(lagrangian, argnums=1))(*args)
    rhs = torch.zeros_like(q_dot)
    if depends_on_q:
        dl_dq = vmap(grad(lagrangian, argnums=0))(*args)
        mixed = vmap(jacfwd(grad(lagrangian, argnums=1), argnums=0))(*args)  # d/dq of dL/dq_dot
        rhs = dl_dq - (mixed @ q_dot.unsqueeze(-1)).squeeze(-1)
    if dissipation is not None:
        rhs = rhs - vmap(grad(dissipation, argnums=1))(*args)
    if force is not None:
        rhs = rhs + force
    return torch.linalg.solve(h, rhs.unsqueeze(-1)).squeeze(-1)


class LagrangianDynamicsNet(nn.Module):
    """State derivative of the network from a learned Lagrangian and dissipation.

    L(q_dot; u) = 1/2 |q_dot|^2 + sum_k w_k softplus(a_k . q_dot + b_k(u)),  w_k >= 0
    R(q_dot; u) = MLP([q_dot, u])  (scalar)
    Q(u)        = linear(u)
    """

    window = 1

    def __init__(self, n_states: int, n_inputs: int, hidden: int = 64, n_ridges: int = 16):
        super().__init__()
        self.n_states = n_states
        self.ridge_directions = nn.Parameter(0.1 * torch.randn(n_ridges, n_states))
        self.ridge_offsets = nn.Linear(n_inputs, n_ridges)
        self.ridge_weights = nn.Parameter(torch.full((n_ridges,), -2.0))
        self.dissipation_net = nn.Sequential(
            nn.Linear(n_states + n_inputs, hidden),
            nn.Softplus(),
            nn.Linear(hidden, hidden),
            nn.Softplus(),
            nn.Linear(hidden, 1),
        )
        self.force = nn.Linear(n_inputs, n_states)

    def lagrangian(self, q: torch.Tensor, q_dot: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        weights = nn.functional.softplus(self.ridge_weights)
        ridges = nn.functional.softplus(self.ridge_directions @ q_dot + self.ridge_offsets(u))
        return 0.5 * (q_dot * q_dot).sum() + (weights * ridges).sum()

    def dissipation(self, q: torch.Tensor, q_dot: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.dissipation_net(torch.cat([q_dot, u])).squeeze(-1)

    def forward(self, states: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        x, u = states[:, -1], inputs[:, -1]
        return euler_lagrange_acceleration(
            self.lagrangian,
            torch.zeros_like(x),
            x,
            self.dissipation,
            force=self.force(u),
            context=u,
            depends_on_q=False,
        )
