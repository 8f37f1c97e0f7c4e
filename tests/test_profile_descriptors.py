import math

import numpy as np
import pandas as pd
import pytest

from core.profiles import (
    SolubilityCurve,
    ThermocycleProfile,
    descriptor_frame,
    descriptor_matrix,
    descriptor_names,
)

# (profile, hand-computed descriptors). Durations are |dT| / rate in minutes.
CASES = [
    (
        ThermocycleProfile((60, 10), (0.1,)),
        {
            "n_cycles": 0,
            "batch_time_min": 500,
            "T_start": 60,
            "T_min": 10,
            "T_end": 10,
            "cooling_amplitude": 50,
            "heating_amplitude": 0,
            "cooling_time_min": 500,
            "heating_time_min": 0,
            "cooling_rate_mean": 0.1,
            "cooling_rate_min": 0.1,
            "cooling_rate_max": 0.1,
            "heating_rate_mean": 0,
            "redissolution_1": 0,
        },
    ),
    (
        ThermocycleProfile((60, 20, 35), (0.2,), (0.5,)),  # cool 200 min, heat 30 min
        {
            "n_cycles": 0,
            "batch_time_min": 230,
            "T_min": 20,
            "T_end": 35,
            "cooling_amplitude": 40,
            "heating_amplitude": 15,
            "heating_time_min": 30,
            "heating_rate_mean": 0.5,
            "redissolution_1": 15,
            "redissolution_2": 0,
        },
    ),
    (
        ThermocycleProfile((60, 25, 45, 10), (0.2, 0.1), (0.8,)),  # 175 + 25 + 350 min
        {
            "n_cycles": 1,
            "batch_time_min": 550,
            "T_min": 10,
            "T_end": 10,
            "cooling_amplitude": 70,
            "heating_amplitude": 20,
            "cooling_time_min": 525,
            "heating_time_min": 25,
            "cooling_rate_mean": 70 / 525,
            "cooling_rate_min": 0.1,
            "cooling_rate_max": 0.2,
            "heating_rate_mean": 0.8,
            "redissolution_1": 20,
        },
    ),
    (
        ThermocycleProfile((60, 30, 40, 20, 30, 15), (0.3, 0.2, 0.1), (1.0, 0.5)),  # 100+10+100+20+150
        {
            "n_cycles": 2,
            "batch_time_min": 380,
            "T_min": 15,
            "T_end": 15,
            "cooling_amplitude": 65,
            "heating_amplitude": 20,
            "cooling_time_min": 350,
            "heating_time_min": 30,
            "cooling_rate_min": 0.1,
            "cooling_rate_max": 0.3,
            "heating_rate_mean": 20 / 30,
            "redissolution_1": 10,
            "redissolution_2": 10,
            "redissolution_3": 0,
        },
    ),
    (
        ThermocycleProfile((60, 40, 50, 30, 40, 20, 30, 10), (0.2, 0.2, 0.2, 0.2), (0.5, 0.5, 0.5)),
        {
            "n_cycles": 3,
            "batch_time_min": 4 * 100 + 3 * 20,
            "T_min": 10,
            "cooling_amplitude": 80,
            "heating_amplitude": 30,
            "cooling_rate_mean": 0.2,
            "redissolution_3": 10,
            "redissolution_4": 0,
        },
    ),
    (
        ThermocycleProfile((65, 40, 55, 30, 45, 22, 35, 15, 25, 5), (0.25, 0.25, 0.25, 0.25, 0.25), (1, 1, 1, 1)),
        {
            "n_cycles": 4,
            "T_start": 65,
            "T_min": 5,
            "T_end": 5,
            "cooling_amplitude": 25 + 25 + 23 + 20 + 20,
            "heating_amplitude": 15 + 15 + 13 + 10,
            "cooling_time_min": 113 / 0.25,
            "heating_time_min": 53,
            "redissolution_1": 15,
            "redissolution_2": 15,
            "redissolution_3": 13,
            "redissolution_4": 10,
        },
    ),
]


@pytest.mark.parametrize(("profile", "expected"), CASES)
def test_descriptors_match_hand_computed_values(profile, expected):
    got = profile.descriptors()
    assert list(got) == descriptor_names(4)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value), name


def test_frame_reads_eq4_zeros_and_blanks_like_the_profiles():
    rows = [p.to_features() for p, _ in CASES]
    frame = pd.DataFrame(rows).assign(initial_concentration=40.0, seed_loading=0.1)
    blanks = frame.replace(0.0, np.nan)  # a spreadsheet leaves unused segments blank
    for X in (frame, blanks):
        out = descriptor_frame(X)
        assert list(out.columns) == ["initial_concentration", "seed_loading", *descriptor_names(4)]
        for i, (profile, _) in enumerate(CASES):
            assert out.iloc[i][descriptor_names(4)].to_dict() == pytest.approx(profile.descriptors())


def test_rows_that_are_not_profiles_give_nan():
    T = np.zeros((2, 10))
    T[0, 0] = 60.0  # only a start temperature
    T[1, :2] = (60.0, 20.0)
    C, H = np.zeros((2, 5)), np.zeros((2, 4))  # second row: the used cooling ramp has no rate
    assert np.isnan(descriptor_matrix(T, C, H)).all()


def test_supersaturation_descriptors_follow_the_solubility_curve():
    curve = SolubilityCurve(((10.0, 20.0), (40.0, 40.0), (70.0, 80.0)))
    assert curve(25.0) == pytest.approx(20 * math.sqrt(2))  # log-linear between points
    assert curve.saturation_temperature(40.0) == pytest.approx(40.0)
    profile = ThermocycleProfile((60, 25, 45, 10), (0.2, 0.1), (0.8,))
    got = profile.descriptors(initial_concentration=40.0, solubility=curve)
    assert got["supersaturation_initial"] == pytest.approx(40.0 / curve(60.0))
    # above T_sat(40) = 40 degC: 60->40 at 0.2 (100 min) and 40->45 at 0.8, 45->40 at 0.1 (50 min)
    assert got["time_above_saturation_min"] == pytest.approx(100 + 5 / 0.8 + 50)
    assert got["redissolved_mass"] == pytest.approx(min(curve(45.0) - curve(25.0), 40.0 - curve(25.0)))


def test_bad_solubility_curves_are_refused_in_plain_words():
    with pytest.raises(ValueError, match="at least two"):
        SolubilityCurve(((20.0, 30.0),))
    with pytest.raises(ValueError, match="must not fall"):
        SolubilityCurve(((20.0, 30.0), (40.0, 10.0)))
