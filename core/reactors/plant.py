"""The true plant: network, regulatory loops, safety filter, disturbances and sensors.

`Plant` is stepped one sampling interval at a time by whatever decides the
setpoints and feeds (a data-generation schedule, the rule-based baseline or
an optimiser). Each step logs one row for the start of the interval: what the
sensors read, what was applied over the interval and, in ``true_*`` and
factor columns, the truth that models never see.

Column names (reactor i = 1..n, feed point f = 1..n_feeds):
  measured state   CA_i, CB_i (mol/L), T_i (K), Tc_i (commanded coolant, K)
  inputs           Tsp_i (K), F_f (delivered feed, L/min), CAf (mol/L), Tf (K)
  hidden truth     true_CA_i, true_CB_i, true_T_i, ua_factor_i, k0_factor_i, F_request_f
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from core.reactors.control import ClosedLoopModel, FeedLimiter, PIConfig, SafetyFilter
from core.reactors.disturbances import DisturbanceSchedule
from core.reactors.integrator import StiffIntegrator
from core.reactors.network import NetworkConfig, NetworkModel
from core.reactors.steady_state import network_steady_state


@dataclass(frozen=True)
class SensorNoise:
    """Standard deviation of measurement noise."""

    temperature_K: float = 0.2
    concentration_mol_L: float = 0.005

    def to_dict(self) -> dict:
        return asdict(self)


def state_columns(config: NetworkConfig) -> list[str]:
    """Measured state the models learn: concentrations, temperatures and coolant commands."""
    return config.state_names() + config.coolant_names()


def input_columns(config: NetworkConfig) -> list[str]:
    """Inputs the models are given: setpoints, delivered feeds and measured feed conditions."""
    return [f"Tsp_{i + 1}" for i in range(config.n_reactors)] + config.feed_names() + ["CAf", "Tf"]


def hidden_columns(config: NetworkConfig) -> list[str]:
    n = config.n_reactors
    return (
        [f"true_{name}" for name in config.state_names()]
        + [f"ua_factor_{i + 1}" for i in range(n)]
        + [f"k0_factor_{i + 1}" for i in range(n)]
        + [f"F_request_{f + 1}" for f in range(config.n_feeds)]
    )


def ramp_profile(current: np.ndarray, target: np.ndarray, max_change: float, steps: int) -> np.ndarray:
    """Values applied in each of the next ``steps`` intervals when moving toward ``target``.

    ``current`` and ``target`` are ``(..., d)``; the result is ``(..., steps, d)``.
    """
    k = np.arange(1, steps + 1)[:, None]
    delta = np.asarray(target, dtype=float) - np.asarray(current, dtype=float)
    moved = np.clip(delta[..., None, :], -max_change * k, max_change * k)
    return np.asarray(current, dtype=float)[..., None, :] + moved


class Plant:
    """Closed-loop true simulator stepped every ``sample_min`` minutes.

    Setpoints and feed requests move toward their targets at most
    ``setpoint_ramp_K_min`` (K/min) and ``feed_ramp_L_min2`` (L/min per
    minute), as the plant's setpoint ramps and flow controllers would.
    """

    def __init__(
        self,
        config: NetworkConfig,
        pi: PIConfig,
        safety: SafetyFilter | None = None,
        schedule: DisturbanceSchedule | None = None,
        noise: SensorNoise | None = None,
        sample_min: float = 1.0,
        setpoint_ramp_K_min: float = 2.0,
        feed_ramp_L_min2: float = 10.0,
        random_state: int = 0,
    ):
        self.config = config
        self.setpoint_ramp_K_min = setpoint_ramp_K_min
        self.feed_ramp_L_min2 = feed_ramp_L_min2
        self.network = NetworkModel(config)
        self.safety = safety if safety is not None else SafetyFilter()
        self.loop = ClosedLoopModel(self.network, pi, self.safety)
        self.schedule = schedule or DisturbanceSchedule(config)
        self.noise = noise if noise is not None else SensorNoise()
        self.sample_min = sample_min
        self.rng = np.random.default_rng(random_state)
        self.integrator = StiffIntegrator(self.loop)
        self.limiter = FeedLimiter(self.network, self.safety)
        self.t_min = 0.0
        self.state_: np.ndarray | None = None
        self.setpoints_: np.ndarray | None = None
        self.feed_requests_: np.ndarray | None = None
        self._rows: list[np.ndarray] = []
        self._reading: np.ndarray | None = None
        self.columns = ["time_min", *state_columns(config), *input_columns(config), *hidden_columns(config)]

    def reset(self, setpoints: np.ndarray, feeds: np.ndarray | None = None, t_min: float = 0.0) -> None:
        """Start at the steady state that the loops hold at these setpoints and feeds."""
        feeds = np.asarray(self.config.nominal_feed_L_min if feeds is None else feeds, dtype=float)
        conditions = self.schedule.at(t_min)
        state, coolant = network_steady_state(
            self.network, setpoints, feeds * conditions.supply_factor, **conditions.model_inputs()
        )
        lo, hi = self.config.coolant_bounds_K
        self.state_ = self.loop.initial_state(state, np.clip(coolant, lo, hi))
        self.setpoints_ = np.asarray(setpoints, dtype=float).copy()
        self.feed_requests_ = feeds.copy()
        self.t_min = t_min
        self._rows = []
        self._reading = None

    @property
    def n(self) -> int:
        return self.config.n_reactors

    def true_network_state(self) -> np.ndarray:
        return self.state_[: 3 * self.n].copy()

    def observe(self) -> np.ndarray:
        """Sensor readings of CA, CB and T now (noisy; the same readings until the next step)."""
        if self._reading is None:
            n = self.n
            sd = np.concatenate([np.full(2 * n, self.noise.concentration_mol_L), np.full(n, self.noise.temperature_K)])
            reading = self.state_[: 3 * n] + sd * self.rng.standard_normal(3 * n)
            reading[: 2 * n] = np.maximum(reading[: 2 * n], 0.0)
            self._reading = reading
        return self._reading.copy()

    def conditions(self):
        """Disturbance parameters in force now (the truth; only the oracle may look)."""
        return self.schedule.at(self.t_min)

    def history(self, columns: list[str], rows: int) -> np.ndarray:
        """The last ``rows`` logged rows of the given columns (fewer at the start)."""
        index = [self.columns.index(c) for c in columns]
        recent = self._rows[-rows:] if rows > 0 else []
        return np.array(recent)[:, index] if recent else np.empty((0, len(columns)))

    def step(self, setpoints: np.ndarray, feeds: np.ndarray) -> np.ndarray:
        """Move toward the target setpoints and feeds for one interval; return the logged row for its start."""
        if self.state_ is None:
            raise RuntimeError("Call reset() before step().")
        lo, hi = self.config.feed_bounds_L_min
        dt = self.sample_min
        setpoints = ramp_profile(self.setpoints_, setpoints, self.setpoint_ramp_K_min * dt, 1)[0]
        requested = ramp_profile(self.feed_requests_, np.clip(feeds, lo, hi), self.feed_ramp_L_min2 * dt, 1)[0]
        self.setpoints_, self.feed_requests_ = setpoints, requested
        conditions = self.schedule.at(self.t_min)
        measured = np.concatenate([self.observe(), self.loop.coolant(self.state_, setpoints)])
        n = self.n
        allowed = self.limiter.apply(requested, measured[2 * n : 3 * n], measured[3 * n :])
        delivered = allowed * conditions.supply_factor
        row = np.concatenate(
            [
                [self.t_min],
                measured,
                setpoints,
                delivered,
                [conditions.feed_conc, conditions.feed_temp],
                self.state_[: 3 * self.n],
                conditions.ua_factor,
                conditions.k0_factor,
                requested,
            ]
        )
        inputs = {"setpoints": setpoints, "feeds": delivered, **conditions.model_inputs()}
        self.state_ = self.integrator.advance(self.state_, self.sample_min, inputs)
        self.t_min += self.sample_min
        self._reading = None
        self._rows.append(row)
        return row

    def record(self) -> pd.DataFrame:
        """Everything logged since the last reset, one row per interval."""
        data = np.array(self._rows) if self._rows else np.empty((0, len(self.columns)))
        return pd.DataFrame(data, columns=self.columns)
