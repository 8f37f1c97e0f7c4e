"""Regulatory layer: PI loops with anti-windup, tuning, the safety filter and the plant wrapper."""

from __future__ import annotations

import numpy as np
import pytest

from core.reactors.control import ClosedLoopModel, FeedLimiter, PIConfig, SafetyFilter, is_operable
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.network import NetworkModel, series_parallel
from core.reactors.plant import Plant, SensorNoise, ramp_profile
from core.reactors.tuning import tune_pi

CONFIG = series_parallel()
N = CONFIG.n_reactors
PI = PIConfig((2.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0), (0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0))
START = (np.full(N, 385.0), np.array([100.0, 100.0]))


def run(plant: Plant, setpoints, feeds, minutes: int):
    plant.reset(*START)
    for _ in range(minutes):
        plant.step(setpoints, feeds)
    return plant.record()


def max_true_temperature(record) -> float:
    return float(record[[f"true_T_{i + 1}" for i in range(N)]].to_numpy().max())


def test_loops_track_a_setpoint_step():
    record = run(Plant(CONFIG, PI, noise=SensorNoise(0.0, 0.0)), np.full(N, 390.0), START[1], 40)
    assert record["true_T_1"].iloc[-1] == pytest.approx(390.0, abs=0.05)
    assert record["true_T_10"].iloc[-1] == pytest.approx(390.0, abs=0.05)
    # the setpoint ramp (2 K/min) is what the loops saw
    assert record["Tsp_1"].iloc[:4].tolist() == pytest.approx([387.0, 389.0, 390.0, 390.0])


def test_safety_filter_keeps_the_true_plant_below_the_limit():
    """Setpoints above the limit and the feed pushed to its maximum: only the filter stands in the way."""
    setpoints, feeds = np.full(N, CONFIG.max_temperature_K + 10.0), np.full(2, CONFIG.feed_bounds_L_min[1])
    protected = run(Plant(CONFIG, PI, SafetyFilter(enabled=True)), setpoints, feeds, 90)
    unprotected = run(Plant(CONFIG, PI, SafetyFilter(enabled=False)), setpoints, feeds, 90)
    assert max_true_temperature(protected) <= CONFIG.max_temperature_K
    assert max_true_temperature(unprotected) > CONFIG.max_temperature_K + 5.0
    assert protected["F_1"].iloc[-1] < unprotected["F_1"].iloc[-1]  # the interlock cut the feed


def test_anti_windup_integral_tracks_the_applied_coolant_while_saturated():
    schedule = DisturbanceSchedule(CONFIG, [Disturbance("cooling_failure", 0.0, 30.0, 0.5, 0)])
    plant = Plant(CONFIG, PI, SafetyFilter(enabled=False), schedule, SensorNoise(0.0, 0.0))
    record = run(plant, START[0], START[1], 30)
    lo = CONFIG.coolant_bounds_K[0]
    assert record["Tc_1"].iloc[-1] == pytest.approx(lo)
    integral = plant.state_[5 * N]
    assert integral == pytest.approx(lo, abs=1.0)  # no wind-up far below the coldest coolant
    for _ in range(20):  # the failure is over: the loop recovers within minutes
        plant.step(*START)
    assert plant.state_[2 * N] == pytest.approx(385.0, abs=0.5)


def test_feed_limiter_cuts_a_hot_train_and_recovers():
    limiter = FeedLimiter(NetworkModel(CONFIG), SafetyFilter())
    feeds = np.array([150.0, 150.0])
    temps = np.full(N, 385.0)
    coolant = np.full(N, 320.0)
    assert limiter.apply(feeds, temps, coolant) == pytest.approx(feeds)
    temps[0] = CONFIG.max_temperature_K
    cut = limiter.apply(feeds, temps, coolant)
    assert cut[0] < 150.0 and cut[1] == pytest.approx(150.0)
    temps[0] = 380.0
    later = [limiter.apply(feeds, temps, coolant)[0] for _ in range(30)]
    assert later[-1] == pytest.approx(150.0) and later[0] < later[-1]


def test_tuning_prefers_a_stable_loop_and_is_deterministic():
    kwargs = {"gains": (0.5, 4.0, 40.0), "integral_times_min": (1.0,), "feed_levels": (1.0,), "duration_min": 16.0}
    first = tune_pi(CONFIG, np.full(N, 385.0), **kwargs)
    second = tune_pi(CONFIG, np.full(N, 385.0), **kwargs)
    assert first.pi == second.pi
    assert (40.0, 1.0) not in first.candidates  # the linearised loop is unstable at that gain
    assert first.pi.gain[0] == 4.0  # a sluggish loop loses to a well-damped one


def test_operability_check_flags_saturated_and_unstable_operation():
    loop = ClosedLoopModel(NetworkModel(CONFIG), PI)
    assert is_operable(loop, np.full(N, 385.0), np.array([100.0, 100.0]))
    assert not is_operable(loop, np.full(N, 385.0), np.array([200.0, 200.0]))  # R1 would need sub-280 K coolant


def test_ramp_profile_moves_at_the_rate_limit():
    path = ramp_profile(np.array([100.0, 200.0]), np.array([125.0, 190.0]), 10.0, 4)
    assert path[:, 0].tolist() == [110.0, 120.0, 125.0, 125.0]
    assert path[:, 1].tolist() == [190.0, 190.0, 190.0, 190.0]


def test_plant_noise_is_reproducible_and_hidden_truth_is_logged():
    a = run(Plant(CONFIG, PI, random_state=3), *START, 5)
    b = run(Plant(CONFIG, PI, random_state=3), *START, 5)
    assert a.equals(b)
    assert (a["T_1"] - a["true_T_1"]).abs().max() > 0.0
    assert {"ua_factor_1", "k0_factor_10", "F_request_2"} <= set(a.columns)
