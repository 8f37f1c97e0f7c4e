"""Operating scenarios: the long operating record for learning, and the test scenarios for control.

The operating record imitates plant history: the operators move setpoints and
feeds between regimes every few hours, small setpoint and feed moves excite
the dynamics in between, and disturbances (cooling failures, catalyst
deactivation with periodic replacement, feed concentration, temperature and
supply changes) arrive at random. Everything runs through the true `Plant`
with its tuned PI loops and safety filter, sampled once a minute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.progress import Progress
from core.reactors.control import PIConfig, SafetyFilter, is_operable
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.network import NetworkConfig
from core.reactors.plant import Plant, SensorNoise
from core.reactors.tuning import tune_pi

RULE_MARGIN_K = 15.0


def rule_based_setpoints(config: NetworkConfig, margin_K: float = RULE_MARGIN_K) -> np.ndarray:
    """The operators' rule: every reactor a fixed margin below the temperature limit."""
    return np.full(config.n_reactors, config.max_temperature_K - margin_K)


def default_pi(config: NetworkConfig) -> PIConfig:
    """PI loops tuned on the true simulator around the rule-based operating point."""
    return tune_pi(config, rule_based_setpoints(config)).pi


def random_schedule(config: NetworkConfig, hours: float, random_state: int = 0) -> DisturbanceSchedule:
    """Random disturbances over ``hours`` with rates typical of a long campaign."""
    rng = np.random.default_rng(random_state)
    horizon = hours * 60.0
    events: list[Disturbance] = []

    def poisson_starts(mean_gap_h: float) -> np.ndarray:
        count = rng.poisson(hours / mean_gap_h)
        return np.sort(rng.uniform(0.0, horizon, count))

    for start in poisson_starts(50.0):
        duration = rng.uniform(60.0, 360.0)
        events.append(
            Disturbance(
                "cooling_failure", start, start + duration, rng.uniform(0.3, 0.8), int(rng.integers(config.n_reactors))
            )
        )
    for start in poisson_starts(80.0):
        duration = rng.uniform(60.0, 300.0)
        events.append(
            Disturbance(
                "feed_supply", start, start + duration, rng.uniform(0.6, 0.9), int(rng.integers(config.n_feeds))
            )
        )
    events += _piecewise(rng, horizon, "deactivation", (100.0, 250.0), lambda: rng.uniform(0.5, 0.85))
    events += _piecewise(rng, horizon, "feed_concentration", (10.0, 40.0), lambda: rng.uniform(0.85, 1.15))
    events += _piecewise(rng, horizon, "feed_temperature", (15.0, 50.0), lambda: rng.uniform(340.0, 360.0))
    return DisturbanceSchedule(config, events)


def _piecewise(rng, horizon: float, kind: str, gap_h: tuple[float, float], level) -> list[Disturbance]:
    """Back-to-back events of random length covering the whole horizon."""
    events, start = [], 0.0
    while start < horizon:
        end = start + 60.0 * rng.uniform(*gap_h)
        events.append(Disturbance(kind, start, end, float(level())))
        start = end
    return events


def generate_operating_data(
    config: NetworkConfig,
    hours: float,
    random_state: int = 0,
    pi: PIConfig | None = None,
    safety: SafetyFilter | None = None,
    noise: SensorNoise | None = None,
    schedule: DisturbanceSchedule | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Simulate ``hours`` of plant history sampled every minute.

    Returns the logged frame (see `core.reactors.plant` for the columns) and the
    metadata needed to reproduce it and to train on it.
    """
    if hours <= 0:
        raise ValueError("The number of hours to simulate must be positive.")
    rng = np.random.default_rng(random_state)
    pi = pi or default_pi(config)
    schedule = schedule or random_schedule(config, hours, random_state)
    plant = Plant(config, pi, safety, schedule, noise, random_state=random_state)
    n, nominal = config.n_reactors, np.asarray(config.nominal_feed_L_min, dtype=float)
    lo_feed, hi_feed = config.feed_bounds_L_min
    t_max = config.max_temperature_K
    setpoints, feeds = rule_based_setpoints(config), nominal.copy()
    plant.reset(setpoints, feeds)
    minutes = round(hours * 60)
    next_regime, next_move = 0, 0
    base_setpoints, base_feeds = setpoints, feeds
    for minute in range(minutes):
        if minute >= next_regime:
            base_setpoints, base_feeds = _operable_regime(plant, rng)
            next_regime = minute + int(rng.uniform(120, 480))
        if minute >= next_move:
            setpoints = np.minimum(base_setpoints + rng.uniform(-3.0, 3.0, n), t_max - 1.0)
            feeds = np.clip(base_feeds * rng.uniform(0.92, 1.08, len(nominal)), lo_feed, hi_feed)
            next_move = minute + int(rng.uniform(5, 20))
        plant.step(setpoints, feeds)
        if progress and minute % 600 == 0:
            progress(minute / minutes, f"simulated {minute / 60:.0f} of {hours:g} h")
    if progress:
        progress(1.0, f"simulated {hours:g} h")
    metadata = {
        "config": config.to_dict(),
        "pi": pi.to_dict(),
        "safety": plant.safety.to_dict(),
        "noise": plant.noise.to_dict(),
        "disturbances": schedule.to_list(),
        "hours": hours,
        "sample_min": plant.sample_min,
        "random_state": random_state,
    }
    return plant.record(), metadata


def _operable_regime(plant: Plant, rng: np.random.Generator, attempts: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Random setpoints and feeds that the loops can hold (operators stay inside the envelope)."""
    config = plant.config
    n, nominal = config.n_reactors, np.asarray(config.nominal_feed_L_min, dtype=float)
    t_max = config.max_temperature_K
    for _ in range(attempts):
        setpoints = rng.uniform(t_max - 30.0, t_max - 2.0, n)
        feeds = rng.uniform(0.6, 1.9, len(nominal)) * nominal
        if is_operable(plant.loop, setpoints, feeds):
            return setpoints, feeds
    return rule_based_setpoints(config), nominal


def evaluation_scenarios(config: NetworkConfig, hours: float = 12.0) -> dict[str, DisturbanceSchedule]:
    """The disturbance scenarios every controller is judged on (times scale with ``hours``)."""
    h = hours * 60.0
    first_tail = config.n_reactors - 1
    return {
        "feed upset": DisturbanceSchedule(
            config,
            [
                Disturbance("feed_concentration", 0.25 * h, 0.75 * h, 1.12),
                Disturbance("feed_temperature", 0.5 * h, h, 356.0),
            ],
        ),
        "cooling failure": DisturbanceSchedule(
            config,
            [
                Disturbance("cooling_failure", 0.15 * h, 0.65 * h, 0.5, 0),
                Disturbance("cooling_failure", 0.4 * h, 0.85 * h, 0.7, min(5, first_tail)),
            ],
        ),
        "deactivation and supply": DisturbanceSchedule(
            config,
            [
                Disturbance("deactivation", 0.0, h + 1.0, 0.6),
                Disturbance("feed_supply", 0.3 * h, 0.6 * h, 0.8, config.n_feeds - 1),
            ],
        ),
    }
