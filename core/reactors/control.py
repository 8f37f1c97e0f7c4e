"""Regulatory layer: decentralised PI temperature loops and the coolant safety filter.

Each reactor's temperature is held at its setpoint by a PI loop that moves the
coolant supply temperature. The loops run fast compared with the one-minute
sampling of the plant, so they are modelled in continuous time and integrated
together with the balances (`ClosedLoopModel`); the integral state ``I`` is in
kelvin of coolant, so at steady state the coolant temperature equals ``I``.

Anti-windup is back-calculation: the integral tracks the coolant temperature
actually applied (after saturation and after the safety filter), so a loop
that sat at its limit recovers without overshoot.

The safety filter caps the coolant temperature as the reactor approaches its
limit: above ``T_max - trip_margin`` the allowed coolant temperature falls
linearly and reaches the coldest coolant at ``T_max - trip_margin + band``.
Lowering the coolant temperature is always the safe move (dT/dTc > 0), so the
filter needs no model. A slower interlock (`FeedLimiter`) cuts a train's feed
while one of its reactors runs hotter than ``T_max - feed_cut_margin``, for
the case where even the coldest coolant cannot hold the temperature.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.reactors.network import NetworkModel, assemble_jacobian
from core.reactors.steady_state import network_steady_state


@dataclass(frozen=True)
class PIConfig:
    """Gains of the temperature loops: coolant K per K of error, integral and tracking times in minutes."""

    gain: tuple[float, ...]
    integral_time_min: tuple[float, ...]

    @classmethod
    def uniform(cls, n_reactors: int, gain: float = 4.0, integral_time_min: float = 2.0) -> PIConfig:
        return cls((gain,) * n_reactors, (integral_time_min,) * n_reactors)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PIConfig:
        return cls(tuple(data["gain"]), tuple(data["integral_time_min"]))


@dataclass(frozen=True)
class SafetyFilter:
    """Run-time protection against over-temperature (see module docstring)."""

    enabled: bool = True
    trip_margin_K: float = 8.0
    band_K: float = 4.0
    feed_cut_margin_K: float = 4.0
    feed_cut_per_K: float = 0.05
    hysteresis_K: float = 2.0
    feed_recovery_factor: float = 1.02

    def to_dict(self) -> dict:
        return asdict(self)


class ClosedLoopModel:
    """Balances of the network plus jackets, sensors, PI loops and safety filter, as one ODE.

    State ``z = [CA, CB, T, Tj, Tm, I]`` (6n): concentrations, reactor, jacket
    and measured temperatures and the loops' integral states. The coolant
    supply temperature the loops command is algebraic (`coolant`); the jacket
    follows it with the lag ``jacket_time_min`` and the sensor follows the
    reactor with ``sensor_time_min``, which is what limits the useful gain.
    Inputs are the temperature setpoints, feed flows and the disturbance
    parameters of `NetworkModel.rhs`.
    """

    def __init__(self, network: NetworkModel, pi: PIConfig, safety: SafetyFilter | None = None):
        self.network = network
        self.config = network.config
        self.n = network.n
        self.state_size = 6 * network.n
        self.gain = np.asarray(pi.gain, dtype=float)
        self.integral_time = np.asarray(pi.integral_time_min, dtype=float)
        if self.gain.shape != (self.n,) or self.integral_time.shape != (self.n,):
            raise ValueError(f"PI gains and integral times need one value per reactor ({self.n}).")
        if (self.gain <= 0).any() or (self.integral_time <= 0).any():
            raise ValueError("PI gains and integral times must be positive.")
        self.safety = safety or SafetyFilter(enabled=False)
        self._lo, self._hi = (float(b) for b in self.config.coolant_bounds_K)
        self._trip = self.config.max_temperature_K - self.safety.trip_margin_K

    def dynamics(self, setpoints, feeds, feed_conc, feed_temp, ua_factor=1.0, k0_factor=1.0) -> ClosedLoopInputs:
        return ClosedLoopInputs(self, setpoints, feeds, feed_conc, feed_temp, ua_factor, k0_factor)

    def coolant(self, z: np.ndarray, setpoints: np.ndarray) -> np.ndarray:
        """Coolant supply temperature the loops command in state ``z``."""
        return self._coolant(z, np.asarray(setpoints, dtype=float))[0]

    def _coolant(self, z: np.ndarray, setpoints: np.ndarray):
        """Command, unsaturated PI output, and derivatives of the command by Tm and I."""
        n = self.n
        measured = z[..., 4 * n : 5 * n]
        unsat = self.gain * (setpoints - measured) + z[..., 5 * n :]
        command = np.clip(unsat, self._lo, self._hi)
        d_di = (command == unsat) * 1.0
        d_dm = -self.gain * d_di
        if self.safety.enabled and (measured > self._trip).any():
            frac = (measured - self._trip) / self.safety.band_K
            cap = self._hi - (self._hi - self._lo) * np.clip(frac, 0.0, 1.0)
            capped = cap < command
            command = np.where(capped, cap, command)
            d_dm = np.where(capped, (frac < 1) * (-(self._hi - self._lo) / self.safety.band_K), d_dm)
            d_di = np.where(capped, 0.0, d_di)
        return command, unsat, d_dm, d_di

    def initial_state(self, network_state: np.ndarray, coolant: np.ndarray) -> np.ndarray:
        """Closed-loop state at rest: jacket at the coolant temperature, sensor reading the reactor."""
        temp = network_state[..., 2 * self.n :]
        return np.concatenate([network_state, coolant, temp, coolant], axis=-1)


class ClosedLoopInputs:
    """Closed-loop right-hand side and Jacobian at fixed setpoints and disturbances."""

    def __init__(self, model: ClosedLoopModel, setpoints, feeds, feed_conc, feed_temp, ua_factor, k0_factor):
        self.model = model
        self.setpoints = np.asarray(setpoints, dtype=float)
        self.frozen = model.network.dynamics(0.0, feeds, feed_conc, feed_temp, ua_factor, k0_factor)
        self.jacket_rate = 1.0 / model.config.jacket_time_min
        self.sensor_rate = 1.0 / model.config.sensor_time_min

    coupled = 3

    @property
    def inflow(self) -> np.ndarray:
        return self.frozen.inflow

    def rhs(self, z: np.ndarray, coolant: tuple | None = None) -> np.ndarray:
        model, n = self.model, self.model.n
        command, unsat, _, _ = coolant or model._coolant(z, self.setpoints)
        temp, jacket, measured = z[..., 2 * n : 3 * n], z[..., 3 * n : 4 * n], z[..., 4 * n : 5 * n]
        self.frozen.coolant = jacket
        d_state = self.frozen.rhs(z[..., : 3 * n])
        d_jacket = self.jacket_rate * (command - jacket)
        d_measured = self.sensor_rate * (temp - measured)
        d_integral = (model.gain * (self.setpoints - measured) + command - unsat) / model.integral_time
        return np.concatenate([d_state, d_jacket, d_measured, d_integral], axis=-1)

    def local_blocks(self, z: np.ndarray, coolant: tuple | None = None) -> np.ndarray:
        """Per-reactor 6 x 6 Jacobian blocks in the order (CA, CB, T, Tj, Tm, I)."""
        model, n = self.model, self.model.n
        _, _, d_dm, d_di = coolant or model._coolant(z, self.setpoints)
        self.frozen.coolant = z[..., 3 * n : 4 * n]
        inner = self.frozen.local_blocks(z[..., : 3 * n])
        blocks = np.zeros((*inner.shape[:-2], 6, 6))
        blocks[..., :3, :3] = inner
        blocks[..., 2, 3] = self.frozen.gamma
        blocks[..., 3, 3] = -self.jacket_rate
        blocks[..., 3, 4] = self.jacket_rate * d_dm
        blocks[..., 3, 5] = self.jacket_rate * d_di
        blocks[..., 4, 2] = self.sensor_rate
        blocks[..., 4, 4] = -self.sensor_rate
        blocks[..., 5, 4] = d_dm / model.integral_time
        blocks[..., 5, 5] = (d_di - 1.0) / model.integral_time
        return blocks

    def rhs_blocks(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coolant = self.model._coolant(z, self.setpoints)
        return self.rhs(z, coolant), self.local_blocks(z, coolant)

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        return assemble_jacobian(self.local_blocks(z), self.inflow, self.coupled)


def is_operable(
    loop: ClosedLoopModel,
    setpoints: np.ndarray,
    feeds: np.ndarray,
    feed_conc: float | None = None,
    feed_temp: float | None = None,
    coolant_margin_K: float = 2.0,
) -> bool:
    """Whether the loops can hold these setpoints at these feeds (nominal disturbances).

    True when the coolant each reactor needs at steady state lies inside the
    coolant range (with a margin) and the linearised closed loop is stable.
    """
    config = loop.config
    cf = config.feed_concentration_mol_L if feed_conc is None else feed_conc
    tf = config.feed_temperature_K if feed_temp is None else feed_temp
    state, coolant = network_steady_state(loop.network, setpoints, feeds, cf, tf)
    lo, hi = config.coolant_bounds_K
    if (coolant < lo + coolant_margin_K).any() or (coolant > hi - coolant_margin_K).any():
        return False
    jac = loop.dynamics(setpoints, feeds, cf, tf).jacobian(loop.initial_state(state, coolant))
    return bool(np.linalg.eigvals(jac).real.max() < 0)


class FeedLimiter:
    """Per-minute interlock on the feed flows (the slow half of the safety filter).

    A feed point is cut when one of the reactors that only it supplies is
    hotter than ``T_max - feed_cut_margin``, or hotter than the filter's trip
    temperature while its coolant is already at the coldest: then no cooling
    is left in reserve. A cut takes ``feed_cut_per_K`` of the flow per kelvin
    of excess (at least one kelvin's worth, at most half) from the flow
    delivered a minute ago. Once the reactors are ``hysteresis_K`` below the
    threshold and their loops have authority again, the ceiling recovers by
    ``feed_recovery_factor`` per minute up to the feed bound.
    """

    def __init__(self, network: NetworkModel, safety: SafetyFilter):
        self.safety = safety
        config = network.config
        self.lower, self.upper = config.feed_bounds_L_min
        self.coolant_floor = config.coolant_bounds_K[0] + 0.5
        # reactors fed by exactly one feed point; the shared tail cannot tell which feed to cut
        served = network.flow_gain.T > 1e-12
        self.own = served & (served.sum(axis=0) == 1)
        self.threshold = config.max_temperature_K - safety.feed_cut_margin_K
        self.trip = config.max_temperature_K - safety.trip_margin_K
        self.ceiling_ = np.full(config.n_feeds, self.upper)
        self.delivered_ = np.full(config.n_feeds, self.upper)

    def apply(self, feeds: np.ndarray, temperatures: np.ndarray, coolant: np.ndarray) -> np.ndarray:
        """Feeds allowed this minute, from the requested feeds and measured temperatures and coolant commands."""
        feeds = np.asarray(feeds, dtype=float)
        if not self.safety.enabled:
            return feeds
        hottest = np.where(self.own, temperatures, -np.inf).max(axis=1)
        exhausted = (self.own & (coolant <= self.coolant_floor) & (temperatures > self.trip)).any(axis=1)
        excess = hottest - self.threshold
        cut = (excess > 0) | exhausted
        factor = np.maximum(0.5, 1.0 - self.safety.feed_cut_per_K * np.maximum(excess, 1.0))
        relaxed = (excess < -self.safety.hysteresis_K) & ~exhausted
        self.ceiling_ = np.where(
            cut,
            np.minimum(self.ceiling_, self.delivered_) * factor,
            np.minimum(self.ceiling_ * np.where(relaxed, self.safety.feed_recovery_factor, 1.0), self.upper),
        )
        self.ceiling_ = np.maximum(self.ceiling_, self.lower)
        self.delivered_ = np.minimum(feeds, self.ceiling_)
        return self.delivered_
