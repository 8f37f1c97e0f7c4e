"""Disturbances of the reactor network as a schedule of timed events.

Kinds and what ``magnitude`` means:

- ``cooling_failure``: heat-transfer coefficient UA of the target reactor is
  multiplied by ``magnitude`` (e.g. 0.3) while the event lasts;
- ``deactivation``: catalyst activity (k0) of the target reactor falls linearly
  from 1 to ``magnitude`` over the event and is restored when it ends
  (catalyst replaced);
- ``feed_concentration`` / ``feed_temperature``: the fresh-feed concentration
  (mol/L) or temperature (K) is ``magnitude`` while the event lasts;
- ``feed_supply``: feed point ``target`` delivers only ``magnitude`` times the
  flow asked for (a pump or supply problem).

``target`` None means every reactor (or every feed point).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from core.reactors.network import NetworkConfig

DISTURBANCE_KINDS = ("cooling_failure", "deactivation", "feed_concentration", "feed_temperature", "feed_supply")


@dataclass(frozen=True)
class Disturbance:
    kind: str
    start_min: float
    end_min: float
    magnitude: float
    target: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in DISTURBANCE_KINDS:
            raise ValueError(f"Unknown disturbance {self.kind!r}; choose one of {', '.join(DISTURBANCE_KINDS)}.")
        if not self.end_min > self.start_min:
            raise ValueError(f"Disturbance {self.kind} must end after it starts.")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Conditions:
    """Disturbance parameters in force at one instant."""

    ua_factor: np.ndarray
    k0_factor: np.ndarray
    feed_conc: float
    feed_temp: float
    supply_factor: np.ndarray

    def model_inputs(self) -> dict:
        """Keyword arguments of the balances (feed flows and setpoints are added by the caller)."""
        return {
            "feed_conc": self.feed_conc,
            "feed_temp": self.feed_temp,
            "ua_factor": self.ua_factor,
            "k0_factor": self.k0_factor,
        }


class DisturbanceSchedule:
    """Evaluates a list of `Disturbance` events at any time (minutes)."""

    def __init__(self, config: NetworkConfig, events: list[Disturbance] | tuple[Disturbance, ...] = ()):
        self.config = config
        self.events = sorted(events, key=lambda e: e.start_min)
        self._starts = np.array([e.start_min for e in self.events])
        self._ends = np.array([e.end_min for e in self.events])
        for event in self.events:
            limit = config.n_feeds if event.kind == "feed_supply" else config.n_reactors
            if event.target is not None and not 0 <= event.target < limit:
                raise ValueError(f"Disturbance {event.kind} targets {event.target}, which does not exist.")

    def at(self, t_min: float) -> Conditions:
        n, n_feeds = self.config.n_reactors, self.config.n_feeds
        ua = np.ones(n)
        k0 = np.ones(n)
        supply = np.ones(n_feeds)
        conc = self.config.feed_concentration_mol_L
        temp = self.config.feed_temperature_K
        for index in np.flatnonzero((self._starts <= t_min) & (t_min < self._ends)):
            event = self.events[index]
            where = slice(None) if event.target is None else event.target
            if event.kind == "cooling_failure":
                ua[where] *= event.magnitude
            elif event.kind == "deactivation":
                progress = (t_min - event.start_min) / (event.end_min - event.start_min)
                k0[where] *= 1.0 - (1.0 - event.magnitude) * progress
            elif event.kind == "feed_concentration":
                conc = event.magnitude
            elif event.kind == "feed_temperature":
                temp = event.magnitude
            else:
                supply[where] *= event.magnitude
        return Conditions(ua, k0, conc, temp, supply)

    def to_list(self) -> list[dict]:
        return [event.to_dict() for event in self.events]
