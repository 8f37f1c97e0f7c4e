"""The true economic optimum of the network, solved as a nonlinear program (CasADi + IPOPT).

For fixed disturbances the best a supervisor can hold is a steady state. The
program chooses every reactor's temperature, coolant temperature and
concentrations and the feed requests to maximise the product leaving the
network, subject to the steady-state balances of `core.reactors.network`
(equalities) and, as hard bounds, the temperature limit, the coolant range
and the feed-pump range. The disturbances in force (heat-transfer and
catalyst factors, feed concentration and temperature, supply factors) are
parameters, so one compiled solver serves every disturbance state. The
problem is nonconvex (Arrhenius kinetics, several steady states per
reactor), so it is solved from several starts, each a consistent steady
state (`network_steady_state`) at a uniform temperature level (three near
the limit and the feed temperature) and feed.

`scenario_optimum` integrates the optimum over a disturbance schedule: the
throughput bound of a scenario. `SteadyStateTracker` holds the optimum in
closed loop: at every decision it solves the program for the disturbances in
force (optionally the worst heat transfer of the next minutes: foresight)
with a back-off from the limits, and hands the optimal temperatures and feeds
to the PI loops as setpoints. `VerifiedTracker`, the comparison's oracle,
does so at several back-offs and keeps the most productive one that a
simulation of the true closed loop finds safe.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property

import casadi as ca
import numpy as np

from core.reactors.disturbances import Conditions, DisturbanceSchedule
from core.reactors.network import NetworkConfig, NetworkModel
from core.reactors.planning import TrueModelPredictor, production_rate_kg_h
from core.reactors.plant import ramp_profile
from core.reactors.steady_state import network_steady_state

TEMPERATURE_SCALE = 100.0  # K/min residuals are ~100x the mol/(L min) ones
PRODUCTION_SCALE = 1000.0  # kg/h


@dataclass(frozen=True)
class NetworkOptimum:
    """One steady-state optimum: production, reactor and coolant temperatures, feed requests."""

    production_kg_h: float
    temperatures_K: np.ndarray
    coolant_K: np.ndarray
    feeds_L_min: np.ndarray
    starts_converged: int


class SteadyStateProgram:
    """The parametric steady-state NLP of one network (built once, solved for any disturbance state)."""

    def __init__(self, config: NetworkConfig, start_margins_K: tuple[float, ...] = (2.0, 15.0, 30.0)):
        self.config = config
        self.model = NetworkModel(config)
        self.start_margins_K = start_margins_K
        self.n, self.n_feeds = config.n_reactors, config.n_feeds

    @cached_property
    def _functions(self) -> tuple[ca.Function, ca.Function]:
        """IPOPT solver of the program and the balance residuals (to check what it returns)."""
        m, n, nf = self.model, self.n, self.n_feeds
        z = ca.SX.sym("z", 4 * n + nf)
        conc_a, conc_b, temp, coolant, feeds = z[:n], z[n : 2 * n], z[2 * n : 3 * n], z[3 * n : 4 * n], z[4 * n :]
        p = ca.SX.sym("p", 2 * n + 2 + nf)
        ua, k0f, cf, tf, supply = p[:n], p[n : 2 * n], p[2 * n], p[2 * n + 1], p[2 * n + 2 :]
        delivered = supply * feeds
        flows = ca.mtimes(ca.DM(m.flow_gain), delivered)
        fresh = ca.mtimes(ca.DM(m.feed_matrix), delivered) / ca.DM(m.volume)
        inflow = ca.DM(m.routing.T) * ca.repmat(flows.T, n, 1) / ca.repmat(ca.DM(m.volume), 1, n)
        dilution = flows / ca.DM(m.volume)
        rate = ca.DM(m.k0) * k0f * ca.exp(-m.e_over_r / temp) * conc_a
        gamma = ca.DM(m.ua) * ua / (ca.DM(m.volume) * m.rho_cp)

        def mix(v):
            return ca.mtimes(inflow, v) - dilution * v

        balances = ca.vertcat(
            mix(conc_a) + fresh * cf - rate,
            mix(conc_b) + rate,
            (mix(temp) + fresh * tf + m.heat_rise * rate + gamma * (coolant - temp)) / TEMPERATURE_SCALE,
        )
        product = ca.dot(flows * ca.DM(m.product_fraction), conc_b) * self._kg_h_per_mol_min
        nlp = {"x": z, "p": p, "f": -product / PRODUCTION_SCALE, "g": balances}
        options = {"ipopt.print_level": 0, "print_time": False, "ipopt.sb": "yes", "ipopt.max_iter": 300}
        residual = ca.Function("balances", [z, p], [balances])
        return ca.nlpsol("steady_state_optimum", "ipopt", nlp, options), residual

    @property
    def _kg_h_per_mol_min(self) -> float:
        return self.config.product_molar_mass_g_mol * 60.0 / 1000.0

    def solve(
        self,
        conditions: Conditions | None = None,
        max_temperature_K: float | None = None,
        min_coolant_K: float | None = None,
        initial: NetworkOptimum | None = None,
        near: tuple[np.ndarray, np.ndarray, float, float] | None = None,
        min_temperature_K: float = 250.0,
    ) -> NetworkOptimum:
        """Best steady state at these disturbances and limits (defaults: nominal disturbances, the hard limits).

        ``near = (temperatures, feeds, dT, dF)`` restricts the search to within
        dT kelvin and dF L/min of the given point (a trust region).
        """
        config, n = self.config, self.n
        conditions = conditions or DisturbanceSchedule(config).at(0.0)
        t_cap = config.max_temperature_K if max_temperature_K is None else max_temperature_K
        c_lo = config.coolant_bounds_K[0] if min_coolant_K is None else min_coolant_K
        c_hi = config.coolant_bounds_K[1]
        f_lo, f_hi = config.feed_bounds_L_min
        if c_lo >= c_hi:
            raise ValueError(f"The coolant floor ({c_lo:.0f} K) must lie below its upper bound ({c_hi:.0f} K).")
        feed = [conditions.feed_conc, conditions.feed_temp]
        params = np.concatenate([conditions.ua_factor, conditions.k0_factor, feed, conditions.supply_factor])
        lower = np.concatenate(
            [np.zeros(2 * n), np.full(n, min_temperature_K), np.full(n, c_lo), np.full(self.n_feeds, f_lo)]
        )
        upper = np.concatenate(
            [np.full(2 * n, np.inf), np.full(n, t_cap), np.full(n, c_hi), np.full(self.n_feeds, f_hi)]
        )
        if near is not None:
            temps, feeds, d_temp, d_feed = near
            t_part, f_part = slice(2 * n, 3 * n), slice(4 * n, None)
            lower[t_part] = np.maximum(lower[t_part], np.asarray(temps) - d_temp)
            upper[t_part] = np.minimum(upper[t_part], np.asarray(temps) + d_temp)
            lower[f_part] = np.maximum(lower[f_part], np.asarray(feeds) - d_feed)
            upper[f_part] = np.minimum(upper[f_part], np.asarray(feeds) + d_feed)
            if (lower > upper).any():
                raise ValueError("The trust region lies outside the limits.")
        best, converged = None, 0
        for start in self._starts(conditions, lower, upper, initial):
            result = self._functions[0](x0=start, p=params, lbx=lower, ubx=upper, lbg=0.0, ubg=0.0)
            z = self._feasible(np.asarray(result["x"]).ravel(), params, lower, upper)
            if z is None:
                continue
            converged += 1
            value = -float(result["f"]) * PRODUCTION_SCALE
            if best is None or value > best[0]:
                best = (value, z)
        if best is None:
            raise ValueError("No steady operation satisfies these limits at these disturbances.")
        value, z = best
        return NetworkOptimum(value, z[2 * n : 3 * n], z[3 * n : 4 * n], z[4 * n :], converged)

    def _starts(
        self, conditions: Conditions, lower: np.ndarray, upper: np.ndarray, initial: NetworkOptimum | None
    ) -> list[np.ndarray]:
        """Consistent steady states at uniform temperature levels, full and nominal feeds (and a warm start)."""
        config, n = self.config, self.n
        t_lo, t_hi, f_lo, f_hi = lower[2 * n : 3 * n], upper[2 * n : 3 * n], lower[4 * n :], upper[4 * n :]
        feeds = [f_hi, np.clip(np.asarray(config.nominal_feed_L_min, dtype=float), f_lo, f_hi)]
        temps = [np.maximum(t_hi - margin, t_lo) for margin in self.start_margins_K]
        temps.append(np.clip(np.full(n, conditions.feed_temp), t_lo, t_hi))  # the low-conversion branch
        levels = [(t, f) for t in temps for f in feeds]
        if initial is not None:
            levels.insert(0, (np.clip(initial.temperatures_K, t_lo, t_hi), np.clip(initial.feeds_L_min, f_lo, f_hi)))
        starts = []
        for temps, f in levels:
            state, coolant = network_steady_state(
                self.model, temps, f * conditions.supply_factor, **conditions.model_inputs()
            )
            lo, hi = config.coolant_bounds_K
            starts.append(np.concatenate([np.maximum(state[: 2 * n], 0.0), temps, np.clip(coolant, lo, hi), f]))
        return starts

    def _feasible(self, z: np.ndarray, params: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
        """The returned point inside its bounds if it satisfies them and the balances, else None.

        IPOPT's status alone is not trusted, and it may sit a hair outside a bound.
        """
        slack = 1e-6 * (1.0 + np.abs(z))
        if not np.isfinite(z).all() or (z < lower - slack).any() or (z > upper + slack).any():
            return None
        z = np.clip(z, lower, upper)
        residual = np.asarray(self._functions[1](z, params)).ravel()
        return z if np.abs(residual).max() < 1e-6 else None


def condition_segments(schedule: DisturbanceSchedule, minutes: int, every_min: int = 10) -> list[tuple[float, float]]:
    """(start, length) pieces of [0, minutes) cut at every event boundary and every ``every_min`` minutes.

    Disturbances are constant within a piece except deactivation, which only
    falls; its value at the start of a piece is the most favourable one.
    """
    cuts = {0.0, float(minutes), *np.arange(0.0, minutes, every_min).tolist()}
    for event in schedule.events:
        cuts |= {t for t in (event.start_min, event.end_min) if 0.0 < t < minutes}
    cuts = sorted(cuts)
    return [(a, b - a) for a, b in itertools.pairwise(cuts)]


def scenario_optimum(
    program: SteadyStateProgram, schedule: DisturbanceSchedule, minutes: int, every_min: int = 10
) -> float:
    """Time-averaged steady-state optimum (kg/h) at the hard limits over a disturbance schedule."""
    total, previous = 0.0, None
    for start, length in condition_segments(schedule, minutes, every_min):
        previous = program.solve(schedule.at(start), initial=previous)
        total += previous.production_kg_h * length
    return total / minutes


class SteadyStateTracker:
    """Closed-loop oracle: hold the steady-state optimum for the disturbances in force, with a back-off.

    ``temperature_margin_K`` keeps the setpoints out of the safety filter's
    band (8 K) and ``coolant_headroom_K`` leaves the loops cooling in reserve
    for a disturbance; ``max_move_K`` and ``max_feed_move_L_min`` keep each
    decision near the present operating point (a path of feasible steady
    states: a jump across the network's multiple steady states ignites
    reactors on the way), and ``temperature_window_K`` keeps setpoints in the
    learned planner's window (T_max - 35 K and up), which excludes the
    high-production but fragile points with a first reactor on its middle
    branch. The back-off is measured in `bench/bench_reactors.py`.
    ``foresight_min`` > 0 lets the oracle see the heat-transfer factors of the
    coming minutes and plan for the worst of them: what knowing a cooling
    failure in advance is worth.
    """

    name = "oracle"

    def __init__(
        self,
        plant,
        program: SteadyStateProgram | None = None,
        temperature_margin_K: float = 8.0,
        coolant_headroom_K: float = 10.0,
        foresight_min: int = 0,
        max_move_K: float = 5.0,
        max_feed_move_L_min: float = 25.0,
        temperature_window_K: float = 35.0,
    ):
        self.temperature_window_K = temperature_window_K
        self.plant = plant
        self.max_move_K = max_move_K
        self.max_feed_move_L_min = max_feed_move_L_min
        self.program = program or SteadyStateProgram(plant.config)
        self.temperature_margin_K = temperature_margin_K
        self.coolant_headroom_K = coolant_headroom_K
        self.foresight_min = foresight_min
        self.optimum_: NetworkOptimum | None = None

    def conditions(self) -> Conditions:
        """Disturbances to plan for: feeds as if fully delivered (a lost supply returns without warning)."""
        plant = self.plant
        now = plant.conditions()
        ahead = [plant.schedule.at(plant.t_min + k) for k in range(1, self.foresight_min + 1)]
        worst_ua = np.min([c.ua_factor for c in (now, *ahead)], axis=0)
        return Conditions(worst_ua, now.k0_factor, now.feed_conc, now.feed_temp, np.ones_like(now.supply_factor))

    def decide(self) -> tuple[np.ndarray, np.ndarray]:
        """The optimum near the present point; relaxed step by step when nothing there is feasible.

        Relaxations, in order: anywhere in the window with the back-off, then
        anywhere at the hard limits; if even that fails (a heat-transfer loss
        no steady state survives), hold the setpoints at the least feed.
        """
        return self._decide(self.temperature_margin_K, self.coolant_headroom_K)

    def _decide(self, temperature_margin_K: float, coolant_headroom_K: float) -> tuple[np.ndarray, np.ndarray]:
        plant, config = self.plant, self.plant.config
        backed_off = (
            config.max_temperature_K - temperature_margin_K,
            config.coolant_bounds_K[0] + coolant_headroom_K,
        )
        conditions = self.conditions()
        floor = config.max_temperature_K - self.temperature_window_K
        near = (plant.setpoints_, plant.feed_requests_, self.max_move_K, self.max_feed_move_L_min)
        for limits, region, lowest in (
            (backed_off, near, floor),
            (backed_off, None, floor),
            ((None, None), None, 250.0),
        ):
            try:
                self.optimum_ = self.program.solve(conditions, *limits, self.optimum_, region, lowest)
            except ValueError:
                continue
            return self.optimum_.temperatures_K.copy(), self.optimum_.feeds_L_min.copy()
        return plant.setpoints_.copy(), np.full(config.n_feeds, config.feed_bounds_L_min[0])


class VerifiedTracker(SteadyStateTracker):
    """The tracker at several back-offs, each checked on the true closed-loop model before it is used.

    Every decision solves the program at each (temperature margin, coolant
    headroom) of ``backoffs``, simulates the true closed loop (ramps, loops,
    coolant safety filter) over ``horizon_min`` from the true state for each
    solution and for holding the present plan, and takes the most productive
    one whose predicted temperatures stay below the feed interlock's threshold;
    if none does, the most cautious. The oracle thereby finds how close to the
    limits it can run from where the plant is, instead of one fixed back-off.
    """

    def __init__(
        self,
        plant,
        program: SteadyStateProgram | None = None,
        backoffs: tuple[tuple[float, float], ...] = ((4.0, 6.0), (6.0, 8.0), (8.0, 10.0), (10.0, 15.0)),
        horizon_min: int = 30,
        **kwargs,
    ):
        super().__init__(plant, program, **kwargs)
        self.backoffs = backoffs
        self.horizon_min = horizon_min
        self.predictor = TrueModelPredictor(plant, foresight=self.foresight_min > 0)
        self.cap_K = plant.config.max_temperature_K - plant.safety.feed_cut_margin_K

    def decide(self) -> tuple[np.ndarray, np.ndarray]:
        plant, n = self.plant, self.plant.n
        plans = []
        for margin, headroom in self.backoffs:
            plans.append(np.concatenate(self._decide(margin, headroom)))
        plans.append(np.concatenate([plant.setpoints_, plant.feed_requests_]))
        plans = np.array(plans)
        temps, cbs, _ = self.predictor.predict(plans[:, :n], plans[:, n:], self.horizon_min)
        ramp = plant.feed_ramp_L_min2 * plant.sample_min
        delivered = ramp_profile(plant.feed_requests_, plans[:, n:], ramp, self.horizon_min)
        delivered = delivered * plant.conditions().supply_factor
        production = production_rate_kg_h(self.program.model, cbs, delivered).mean(axis=1)
        safe = temps.max(axis=(1, 2)) <= self.cap_K
        choice = int(np.argmax(np.where(safe, production, -np.inf))) if safe.any() else len(self.backoffs) - 1
        return plans[choice, :n].copy(), plans[choice, n:].copy()
