"""Vectorised stiff integrator for the network balances.

Runaway reactors have time constants of seconds while the plant is sampled
every minute, so explicit schemes need tiny steps. ROS2 is a two-stage
Rosenbrock method: second order, L-stable, one matrix inverse per step, and a
steady state of the ODE is an exact fixed point of the scheme. Its embedded
first-order solution gives a local error estimate for step-size control. One
step size is shared by the whole batch (scenarios, candidate plans), which is
what makes the true-model optimiser and the 1,000 h data set cheap.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg

from core.reactors.network import NetworkModel, assemble_jacobian

if TYPE_CHECKING:
    from core.reactors.control import ClosedLoopModel

GAMMA = 1.0 + 1.0 / np.sqrt(2.0)


class StiffIntegrator:
    """Adaptive ROS2 over sampling intervals with inputs held constant.

    Works for any model with ``n``, ``state_size`` and ``dynamics(**inputs)``
    returning an object with ``rhs(x)``, ``rhs_blocks(x)`` (right-hand side
    and per-reactor Jacobian blocks), ``inflow`` and ``coupled`` (see
    `_block_solver`). The default tolerances keep temperatures within about a
    tenth of a kelvin of a tight BDF solution on average, under the sensor
    noise.

    Parameters: ``rtol`` relative tolerance; ``atol_concentration`` (mol/L)
    and ``atol_temperature`` (K) absolute tolerances; ``max_step`` (min);
    ``adaptive`` False takes fixed steps of ``max_step`` without error control
    (only for smooth problems: an ignition needs the error control). The last
    accepted step size is kept in ``step_`` and reused by the next call, so a
    plant that sits near steady state is advanced in few steps.
    """

    def __init__(
        self,
        model: NetworkModel | ClosedLoopModel,
        rtol: float = 2e-3,
        atol_concentration: float = 1e-3,
        atol_temperature: float = 0.1,
        max_step: float = 1.0,
        adaptive: bool = True,
    ):
        self.model = model
        self.rtol = rtol
        n = model.n
        # states are two concentration blocks followed by temperature-like blocks (K)
        self.atol = np.concatenate(
            [np.full(2 * n, atol_concentration), np.full(model.state_size - 2 * n, atol_temperature)]
        )
        self.max_step = max_step
        self.adaptive = adaptive
        self.step_ = max_step if not adaptive else max_step / 4
        self.n_steps_ = 0
        self.n_rejected_ = 0

    def _ros2(self, x: np.ndarray, h: float, inputs: dict) -> tuple[np.ndarray, np.ndarray]:
        dynamics = self.model.dynamics(**inputs)
        f0, blocks = dynamics.rhs_blocks(x)
        if x.ndim == 1:  # one network: a dense LU is cheaper than substitution in Python
            jac = assemble_jacobian(blocks, dynamics.inflow, dynamics.coupled)
            lu = scipy.linalg.lu_factor(np.eye(len(x)) - GAMMA * h * jac, check_finite=False)
            solve = partial(scipy.linalg.lu_solve, lu, check_finite=False)
        else:
            solve = _block_solver(blocks, dynamics.inflow, dynamics.coupled, GAMMA * h)
        k1 = solve(f0)
        f1 = dynamics.rhs(x + h * k1)
        k2 = solve(f1 - 2.0 * k1)
        x_new = x + h * (1.5 * k1 + 0.5 * k2)
        error = 0.5 * h * (k1 + k2)  # second- minus first-order solution
        return x_new, error

    def advance(self, x: np.ndarray, duration: float, inputs: dict) -> np.ndarray:
        """State after ``duration`` minutes; ``inputs`` are the keyword arguments of `NetworkModel.rhs`."""
        x = np.array(x, dtype=float)
        t = 0.0
        h = min(self.step_, self.max_step)
        n2 = 2 * self.model.n
        while t < duration - 1e-12:
            h_try = min(h, duration - t)
            with np.errstate(over="ignore", invalid="ignore"):
                x_new, error = self._ros2(x, h_try, inputs)
            scale = self.atol + self.rtol * np.maximum(np.abs(x), np.abs(x_new))
            ratio = error / scale
            err = float(np.sqrt(np.mean(ratio**2, axis=-1)).max()) if np.isfinite(ratio).all() else np.inf
            if err <= 1.0 or not self.adaptive:
                t += h_try
                x = np.where(np.isfinite(x_new), x_new, x)
                x[..., :n2] = np.maximum(x[..., :n2], 0.0)
                x[..., n2:] = np.maximum(x[..., n2:], 200.0)
                self.n_steps_ += 1
                if self.adaptive and h_try == h:  # a step shortened to hit the interval end says nothing about h
                    h = min(self.max_step, h * min(4.0, max(0.2, 0.9 / np.sqrt(max(err, 1e-12)))))
            else:
                self.n_rejected_ += 1
                h = h_try * (max(0.1, 0.9 / np.sqrt(err)) if np.isfinite(err) else 0.1)
        self.step_ = h
        return x


def _block_solver(blocks: np.ndarray, inflow: np.ndarray, coupled: int, gh: float):
    """Solver for (I - gh J) y = r when J is block lower-triangular over reactors.

    ``blocks`` (..., n, k, k) are the per-reactor Jacobian blocks; reactor i
    receives ``inflow[..., i, j]`` from upstream reactors j < i on its first
    ``coupled`` variables. Forward substitution reactor by reactor replaces a
    dense (k n) x (k n) inverse by n inverses of k x k.
    """
    *batch, n, k, _ = blocks.shape
    inverse = np.linalg.inv(np.eye(k) - gh * blocks)
    inflow = np.broadcast_to(inflow, (*np.broadcast_shapes(tuple(batch), inflow.shape[:-2]), n, n))

    def solve(r: np.ndarray) -> np.ndarray:
        r = np.swapaxes(r.reshape(*r.shape[:-1], k, n), -1, -2)  # (..., n, k)
        y = np.empty(np.broadcast_shapes(r.shape, inverse.shape[:-1]))
        for i in range(n):
            rhs = r[..., i, :]
            if i:
                rhs = rhs.copy()
                rhs[..., :coupled] += gh * (inflow[..., i, None, :i] @ y[..., :i, :coupled])[..., 0, :]
            y[..., i, :] = (inverse[..., i, :, :] @ rhs[..., None])[..., 0]
        return np.swapaxes(y, -1, -2).reshape(*y.shape[:-2], k * n)

    return solve
