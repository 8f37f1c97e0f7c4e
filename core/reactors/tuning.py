"""Tuning of the PI temperature loops on the true simulator.

A fair PI baseline needs well-tuned loops. Candidate (gain, integral time)
pairs that make the linearised closed loop unstable at a test feed level are
dropped (levels where no candidate is stable are not judged); the rest are
simulated side by side (one batch) through a setpoint step followed by a
combined disturbance (heat-transfer loss and a richer feed). The cost per
reactor is the integral of absolute error plus a small charge on coolant
travel. Each reactor takes the candidate with the smallest worst-case regret
over the feed levels (cost divided by the best cost any candidate reached at
that level), so a level where every loop saturates does not decide the choice.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from core.reactors.control import ClosedLoopModel, PIConfig, SafetyFilter
from core.reactors.integrator import StiffIntegrator
from core.reactors.network import NetworkConfig, NetworkModel
from core.reactors.steady_state import network_steady_state


@dataclass(frozen=True)
class PITuning:
    pi: PIConfig
    candidates: list[tuple[float, float]]
    regret: list[list[float]]  # candidate x reactor, worst over feed levels; 1 = best possible

    def to_dict(self) -> dict:
        return {"pi": self.pi.to_dict(), "candidates": self.candidates, "regret": self.regret}


def tune_pi(
    config: NetworkConfig,
    setpoints: np.ndarray,
    feed_levels: tuple[float, ...] = (0.6, 1.0, 1.2),
    gains: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
    integral_times_min: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    step_K: float = 3.0,
    duration_min: float = 40.0,
    coolant_travel_weight: float = 0.01,
    sample_min: float = 0.25,
) -> PITuning:
    """Pick gain and integral time per reactor (feed levels are multiples of the nominal feed)."""
    network = NetworkModel(config)
    n = network.n
    setpoints = np.asarray(setpoints, dtype=float)
    levels = [level * np.asarray(config.nominal_feed_L_min, dtype=float) for level in feed_levels]
    grid = list(itertools.product(gains, integral_times_min))
    growth = np.array([_growth_rates(network, c, setpoints, levels) for c in grid])  # candidate x level
    judged = (growth < 0).any(axis=0)  # levels where some candidate is stable
    candidates = [c for c, g in zip(grid, growth, strict=True) if (g[judged] < 0).all()]
    if not candidates:
        raise ValueError("No candidate gain keeps the temperature loops stable; widen the candidate grid.")
    batch = len(candidates)
    pi = PIConfig(
        gain=tuple(float(g) for g, _ in candidates for _ in range(n)),
        integral_time_min=tuple(float(t) for _, t in candidates for _ in range(n)),
    )
    model = _BatchedPI(network, pi, batch)
    regret = np.zeros((batch, n))
    for feeds in levels:
        cost = _test_cost(model, config, setpoints, feeds, step_K, duration_min, coolant_travel_weight, sample_min)
        cost = np.where(np.isfinite(cost), cost, np.inf)
        regret = np.maximum(regret, cost / cost.min(axis=0))
    best = regret.argmin(axis=0)
    tuned = PIConfig(
        gain=tuple(float(candidates[b][0]) for b in best),
        integral_time_min=tuple(float(candidates[b][1]) for b in best),
    )
    return PITuning(tuned, [tuple(map(float, c)) for c in candidates], regret.tolist())


class _BatchedPI(ClosedLoopModel):
    """Closed loop whose batch members each use their own (gain, integral time) pair."""

    def __init__(self, network: NetworkModel, pi: PIConfig, batch: int):
        n = network.n
        super().__init__(network, PIConfig.uniform(n), SafetyFilter(enabled=False))
        self.gain = np.asarray(pi.gain).reshape(batch, n)
        self.integral_time = np.asarray(pi.integral_time_min).reshape(batch, n)


def _test_cost(model, config, setpoints, feeds, step_K, duration_min, travel_weight, sample_min) -> np.ndarray:
    """IAE plus coolant travel per candidate and reactor for one feed level."""
    network, n = model.network, model.n
    batch = model.gain.shape[0]
    state, coolant = network_steady_state(network, setpoints, feeds)
    lo, hi = config.coolant_bounds_K
    z = np.tile(model.initial_state(state, np.clip(coolant, lo, hi)), (batch, 1))
    integrator = StiffIntegrator(model, max_step=sample_min)
    error_integral = np.zeros((batch, n))
    travel = np.zeros((batch, n))
    previous_coolant = np.tile(coolant, (batch, 1))
    half = duration_min / 2
    for t in np.arange(0.0, duration_min, sample_min):
        disturbed = t >= half
        target = setpoints + (step_K if sample_min <= t < half else 0.0)
        inputs = {
            "setpoints": np.tile(target, (batch, 1)),
            "feeds": feeds,
            "feed_conc": config.feed_concentration_mol_L * (1.1 if disturbed else 1.0),
            "feed_temp": config.feed_temperature_K,
            "ua_factor": 0.8 if disturbed else 1.0,
        }
        z = integrator.advance(z, sample_min, inputs)
        error_integral += np.abs(z[:, 2 * n : 3 * n] - target) * sample_min
        coolant_now = model.coolant(z, inputs["setpoints"])
        travel += np.abs(coolant_now - previous_coolant)
        previous_coolant = coolant_now
    return error_integral + travel_weight * travel


def _growth_rates(network: NetworkModel, candidate: tuple[float, float], setpoints, levels) -> list[float]:
    """Largest real part of the linearised closed loop's eigenvalues at each feed level.

    A level where a loop saturates at steady state counts as stable for every
    candidate: the loops cannot act there, so it says nothing about the gains.
    """
    n = network.n
    lo, hi = network.config.coolant_bounds_K
    rates = []
    for feeds in levels:
        state, coolant = network_steady_state(network, setpoints, feeds)
        if ((coolant <= lo) | (coolant >= hi)).any():
            rates.append(-np.inf)
            continue
        model = ClosedLoopModel(network, PIConfig.uniform(n, *candidate))
        conditions = (network.config.feed_concentration_mol_L, network.config.feed_temperature_K)
        jac = model.dynamics(setpoints, feeds, *conditions).jacobian(model.initial_state(state, coolant))
        rates.append(float(np.linalg.eigvals(jac).real.max()))
    return rates
