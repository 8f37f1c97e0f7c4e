"""Steady states of one jacketed CSTR: the textbook check of the simulator.

At steady state the mole balance gives CA(T) = q CAf / (q + V k(T)); putting
that into the energy balance leaves one equation in T whose roots are the
steady states (three at a coolant temperature of 300 K for the textbook
reactor: low-conversion, unstable middle and high-conversion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize

from core.reactors.network import NetworkConfig, NetworkModel


@dataclass(frozen=True)
class SteadyState:
    temperature_K: float
    concentration_A_mol_L: float
    stable: bool


def single_reactor_steady_states(
    config: NetworkConfig,
    coolant_K: float = 300.0,
    reactor: int = 0,
    feed_L_min: float | None = None,
) -> list[SteadyState]:
    """All steady states of reactor ``reactor`` fed with fresh feed only, ordered by temperature."""
    single = NetworkModel(
        NetworkConfig.from_dict(
            {
                **config.to_dict(),
                "routing": ((0.0,),),
                "feed_split": ((1.0,),),
                "volume_L": (config.volume_L[reactor],),
                "ua_J_min_K": (config.ua_J_min_K[reactor],),
                "k0_per_min": (config.k0_per_min[reactor],),
                "nominal_feed_L_min": (config.feed_bounds_L_min[0],),
                "names": (),
            }
        )
    )
    q = float(np.sum(config.nominal_feed_L_min)) if feed_L_min is None else feed_L_min
    volume, k0 = single.volume[0], single.k0[0]
    gamma = single.ua[0] / (volume * single.rho_cp)
    cf, tf = config.feed_concentration_mol_L, config.feed_temperature_K

    def concentration(temp: float) -> float:
        return q * cf / (q + volume * k0 * np.exp(-single.e_over_r / temp))

    def energy(temp: float) -> float:
        rate = k0 * np.exp(-single.e_over_r / temp) * concentration(temp)
        return q / volume * (tf - temp) + single.heat_rise * rate + gamma * (coolant_K - temp)

    low = min(tf, coolant_K) - 1.0
    high = max(tf, coolant_K) + single.heat_rise * cf + 1.0
    grid = np.linspace(low, high, 4000)
    values = np.array([energy(t) for t in grid])
    states = []
    for i in np.flatnonzero(np.sign(values[:-1]) != np.sign(values[1:])):
        temp = brentq(energy, grid[i], grid[i + 1], xtol=1e-10)
        ca = concentration(temp)
        states.append(SteadyState(float(temp), float(ca), bool(_is_stable(single, temp, ca, coolant_K, q))))
    return states


def _is_stable(single: NetworkModel, temp: float, ca: float, coolant: float, feed: float) -> bool:
    """Linear stability from the eigenvalues of the reactor's Jacobian."""
    cf = single.config.feed_concentration_mol_L
    x = np.array([ca, cf - ca, temp])
    jac = single.jacobian(x, np.array([coolant]), np.array([feed]), cf, single.config.feed_temperature_K)
    return bool(np.linalg.eigvals(jac).real.max() < 0)


def network_steady_state(
    model: NetworkModel,
    temperatures: np.ndarray,
    feeds: np.ndarray,
    feed_conc: float | None = None,
    feed_temp: float | None = None,
    ua_factor: np.ndarray | float = 1.0,
    k0_factor: np.ndarray | float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """State and coolant temperatures that hold the network at the given reactor temperatures.

    With temperatures fixed the mole balances are linear in the concentrations,
    so the steady state follows from two linear solves; the energy balance then
    gives the coolant temperature each jacket needs. Works for any routing,
    recycles included.
    """
    config = model.config
    cf = config.feed_concentration_mol_L if feed_conc is None else feed_conc
    tf = config.feed_temperature_K if feed_temp is None else feed_temp
    temperatures = np.asarray(temperatures, dtype=float)
    frozen = model.dynamics(temperatures, feeds, cf, tf, ua_factor, k0_factor)
    k = frozen.k0 * np.exp(-model.e_over_r / temperatures)
    transport = frozen.inflow - np.diag(frozen.dilution)
    ca = np.linalg.solve(transport - np.diag(k), -frozen.fresh_a)
    cb = np.linalg.solve(transport, -k * ca)
    heat = transport @ temperatures + frozen.fresh_h + model.heat_rise * k * ca
    coolant = temperatures - heat / frozen.gamma
    return np.concatenate([ca, cb, temperatures]), coolant


@dataclass(frozen=True)
class SteadyOptimum:
    production_kg_h: float
    setpoints_K: tuple[float, ...]
    feeds_L_min: tuple[float, ...]


def best_steady_state(
    config: NetworkConfig,
    max_temperature_K: float | None = None,
    min_coolant_K: float | None = None,
    starts_K: tuple[float, ...] = (380.0, 385.0, 390.0),
) -> SteadyOptimum:
    """Most production of B any steady operation reaches within the limits (nominal disturbances).

    The decision variables are the reactor temperatures and the feeds; the
    coolant each jacket needs follows from the energy balance and must stay
    inside [min_coolant, coolant upper bound]. This is the bound a supervisor
    can approach, not exceed, at these limits.
    """
    model = NetworkModel(config)
    t_max = config.max_temperature_K if max_temperature_K is None else max_temperature_K
    lo = config.coolant_bounds_K[0] if min_coolant_K is None else min_coolant_K
    hi = config.coolant_bounds_K[1]
    n, mw = config.n_reactors, config.product_molar_mass_g_mol

    def evaluate(z: np.ndarray) -> tuple[float, np.ndarray]:
        state, coolant = network_steady_state(model, z[:n], z[n:])
        outflow = model.flows(z[n:]) * model.product_fraction
        return float(outflow @ state[n : 2 * n] * mw * 60.0 / 1000.0), coolant

    constraints = [
        {"type": "ineq", "fun": lambda z: evaluate(z)[1] - lo},
        {"type": "ineq", "fun": lambda z: hi - evaluate(z)[1]},
    ]
    bounds = [(t_max - 40.0, t_max)] * n + [tuple(config.feed_bounds_L_min)] * config.n_feeds
    best = None
    for start in starts_K:
        z0 = np.concatenate([np.full(n, start), np.asarray(config.nominal_feed_L_min, dtype=float)])
        result = minimize(lambda z: -evaluate(z)[0], z0, bounds=bounds, constraints=constraints, method="SLSQP")
        feasible = (evaluate(result.x)[1] >= lo - 1e-3).all() and (evaluate(result.x)[1] <= hi + 1e-3).all()
        if feasible and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise ValueError("No steady operation satisfies these limits.")
    rounded = [round(float(v), 2) for v in best.x]
    return SteadyOptimum(-float(best.fun), tuple(rounded[:n]), tuple(rounded[n:]))
