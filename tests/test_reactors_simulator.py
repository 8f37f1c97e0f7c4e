"""The reactor-network simulator: textbook steady states, balances, Jacobians, integrator accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from core.reactors.control import ClosedLoopModel, PIConfig, SafetyFilter
from core.reactors.integrator import StiffIntegrator
from core.reactors.network import NetworkConfig, NetworkModel, series_parallel, single_reactor
from core.reactors.steady_state import best_steady_state, network_steady_state, single_reactor_steady_states

NETWORK = series_parallel()
MODEL = NetworkModel(NETWORK)
N = MODEL.n
INPUTS = {
    "coolant": np.linspace(290.0, 330.0, N),
    "feeds": np.array([120.0, 90.0]),
    "feed_conc": 1.05,
    "feed_temp": 352.0,
    "ua_factor": np.linspace(0.5, 1.0, N),
    "k0_factor": 0.8,
}


def random_state(rng: np.random.Generator) -> np.ndarray:
    return np.concatenate([rng.uniform(0, 1, N), rng.uniform(0, 1, N), rng.uniform(330, 400, N)])


def test_single_reactor_has_the_textbook_three_steady_states_at_300_K():
    states = single_reactor_steady_states(single_reactor(), coolant_K=300.0)
    temps = [s.temperature_K for s in states]
    assert temps == pytest.approx([324.5, 350.0, 369.7], abs=0.1)
    assert [s.stable for s in states][:2] == [True, False]
    assert states[0].concentration_A_mol_L == pytest.approx(0.877, abs=1e-3)
    # a cold jacket leaves only the low-conversion state
    assert len(single_reactor_steady_states(single_reactor(), coolant_K=290.0)) == 1


def test_simulated_reactor_settles_on_the_low_steady_state():
    model = NetworkModel(single_reactor())
    integrator = StiffIntegrator(model)
    x = np.array([0.5, 0.5, 350.5])
    inputs = {"coolant": np.array([300.0]), "feeds": np.array([100.0]), "feed_conc": 1.0, "feed_temp": 350.0}
    for _ in range(60):
        x = integrator.advance(x, 1.0, inputs)
    assert x[2] == pytest.approx(324.48, abs=0.05)


def test_network_balances_close_at_any_state():
    rng = np.random.default_rng(0)
    x = random_state(rng)
    terms = MODEL.balances(x, MODEL.rhs(x, **INPUTS), **INPUTS)
    assert terms["moles_accumulation"] == pytest.approx(terms["moles_in"] - terms["moles_out"], rel=1e-10)
    energy = terms["energy_in"] - terms["energy_out"] + terms["reaction_heat"] - terms["jacket_heat"]
    assert terms["energy_accumulation"] == pytest.approx(energy, rel=1e-10)
    # all fresh feed leaves through the two tail reactors
    assert MODEL.product_flow(INPUTS["feeds"]) == pytest.approx(INPUTS["feeds"].sum())


def test_moles_of_a_plus_b_integrate_to_feed_minus_product():
    integrator = StiffIntegrator(MODEL, rtol=1e-5, atol_concentration=1e-7, atol_temperature=1e-5)
    x = random_state(np.random.default_rng(1))
    held = MODEL.volume @ (x[:N] + x[N : 2 * N])
    out = MODEL.flows(INPUTS["feeds"]) * MODEL.product_fraction
    dt, flow_out = 0.025, []
    for _ in range(200):  # 5 minutes
        flow_out.append(out @ (x[:N] + x[N : 2 * N]))
        x = integrator.advance(x, dt, INPUTS)
        flow_out[-1] = 0.5 * (flow_out[-1] + out @ (x[:N] + x[N : 2 * N]))
    held_after = MODEL.volume @ (x[:N] + x[N : 2 * N])
    fed = INPUTS["feeds"].sum() * INPUTS["feed_conc"] * 5.0
    assert held_after - held == pytest.approx(fed - dt * np.sum(flow_out), rel=1e-4)


def test_analytic_jacobians_match_finite_differences():
    rng = np.random.default_rng(2)
    x = random_state(rng)
    eps = 1e-6
    numeric = np.stack(
        [(MODEL.rhs(x + eps * e, **INPUTS) - MODEL.rhs(x - eps * e, **INPUTS)) / (2 * eps) for e in np.eye(3 * N)],
        axis=1,
    )
    assert np.abs(MODEL.jacobian(x, **INPUTS) - numeric).max() < 1e-5

    loop = ClosedLoopModel(MODEL, PIConfig.uniform(N, 3.0, 1.0), SafetyFilter())
    z = np.concatenate([x, rng.uniform(285, 330, N), x[2 * N :] + rng.normal(0, 0.5, N), rng.uniform(285, 330, N)])
    dynamics = loop.dynamics(np.full(N, 385.0), INPUTS["feeds"], 1.0, 350.0, 0.7, 1.0)
    numeric = np.stack(
        [(dynamics.rhs(z + eps * e) - dynamics.rhs(z - eps * e)) / (2 * eps) for e in np.eye(6 * N)], axis=1
    )
    assert np.abs(dynamics.jacobian(z) - numeric).max() < 1e-4


def test_rosenbrock_integrator_tracks_a_tight_bdf_solution_through_a_runaway():
    x0 = random_state(np.random.default_rng(3))
    inputs = {**INPUTS, "coolant": np.full(N, 335.0), "ua_factor": 0.3}
    reference = solve_ivp(
        lambda t, x: MODEL.rhs(x, **inputs),
        (0, 20),
        x0,
        method="BDF",
        jac=lambda t, x: MODEL.jacobian(x, **inputs),
        rtol=1e-9,
        atol=1e-9,
        dense_output=True,
    )
    integrator = StiffIntegrator(MODEL, rtol=1e-5, atol_concentration=1e-6, atol_temperature=1e-4)
    x, worst = x0.copy(), 0.0
    for minute in range(1, 21):
        x = integrator.advance(x, 1.0, inputs)
        worst = max(worst, float(np.abs(x[2 * N :] - reference.sol(minute)[2 * N :]).max()))
    assert x[2 * N :].max() > 420.0  # it did run away
    assert worst < 0.1


def test_batched_block_solver_and_single_dense_solver_agree():
    x0, coolant = network_steady_state(MODEL, np.full(N, 385.0), INPUTS["feeds"])
    x0 = x0 + np.concatenate([np.full(2 * N, 0.01), np.full(N, 2.0)])
    inputs = {"coolant": coolant, "feeds": INPUTS["feeds"], "feed_conc": 1.0, "feed_temp": 350.0}
    single = StiffIntegrator(MODEL, max_step=0.25, adaptive=False).advance(x0, 5.0, inputs)
    batch_inputs = {**inputs, "coolant": np.tile(coolant, (3, 1))}
    batched = StiffIntegrator(MODEL, max_step=0.25, adaptive=False).advance(np.tile(x0, (3, 1)), 5.0, batch_inputs)
    assert np.abs(batched - single).max() < 1e-8
    assert np.abs(single - x0).max() > 0.1


def test_network_steady_state_is_a_rest_point_of_the_balances():
    feeds = np.array([130.0, 80.0])
    x, coolant = network_steady_state(MODEL, np.full(N, 385.0), feeds)
    rhs = MODEL.rhs(x, coolant, feeds, NETWORK.feed_concentration_mol_L, NETWORK.feed_temperature_K)
    assert np.abs(rhs).max() < 1e-9
    assert x[N : 2 * N][-1] == pytest.approx(1.0, abs=1e-3)  # near-complete conversion at 385 K


def test_invalid_networks_are_rejected_in_plain_words():
    with pytest.raises(ValueError, match="feed_split"):
        series_parallel(feed_split=(0.7, 0.7))
    with pytest.raises(ValueError, match="number the reactors along the flow"):
        NetworkModel(
            NetworkConfig(
                ((0.0, 0.0), (1.0, 0.0)),
                ((1.0, 0.0),),
                (100.0, 100.0),
                (5e4, 5e4),
                (7.2e10,) * 2,
                nominal_feed_L_min=(100.0,),
            )
        )
    with pytest.raises(ValueError, match="routing"):
        NetworkConfig(((0.0, 0.6), (0.0, 0.0)), ((1.0, 0.0),), (100.0,), (5e4,), (7.2e10,), nominal_feed_L_min=(100.0,))


def test_config_round_trips_through_a_dict():
    assert NetworkConfig.from_dict(NETWORK.to_dict()) == NETWORK


def test_best_steady_state_respects_the_limits_and_beats_the_nominal_feed():
    optimum = best_steady_state(NETWORK, max_temperature_K=395.0, min_coolant_K=288.0)
    assert max(optimum.setpoints_K) <= 395.0 + 1e-6
    _, coolant = network_steady_state(MODEL, np.array(optimum.setpoints_K), np.array(optimum.feeds_L_min))
    assert coolant.min() >= 288.0 - 1e-3
    nominal = 200.0 * 1.0 * 100.0 * 60.0 / 1000.0  # nominal feed at full conversion
    assert nominal < optimum.production_kg_h < 2 * nominal  # the feed ceiling is twice the nominal feed
    assert optimum.production_kg_h < best_steady_state(NETWORK).production_kg_h  # margins cost throughput
