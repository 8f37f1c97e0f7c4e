import numpy as np
import pandas as pd
import pytest

from core.profiles import (
    Bounds,
    Segment,
    ThermocycleProfile,
    check_features,
    profile_columns,
    profile_type_name,
)

FOUR_CYCLES = ThermocycleProfile(
    (65, 40, 55, 30, 45, 22, 35, 15, 25, 5), (0.3, 0.2, 0.15, 0.1, 0.05), (1.0, 0.8, 0.8, 0.5)
)
PROFILES = [
    ThermocycleProfile((60, 10), (0.1,)),
    ThermocycleProfile((60, 20, 35), (0.1,), (0.5,)),
    ThermocycleProfile((60, 25, 45, 10), (0.2, 0.1), (0.7,)),
    ThermocycleProfile((61.5, 33.3, 47.7, 21.1, 38.9, 7.3), (0.17, 0.23, 0.05), (0.55, 0.95)),
    FOUR_CYCLES,
]


def test_columns_follow_the_eq_2_4_numbering():
    assert profile_columns(1) == ["T1", "T2", "T3", "T4", "C1", "C2", "H1"]
    assert len(profile_columns(4)) == 19


@pytest.mark.parametrize(
    ("n_temps", "name"),
    [
        (2, "linear cooling"),
        (3, "linear cool + heat"),
        (4, "1 cycle"),
        (6, "2 cycles"),
        (10, "4 cycles"),
        (5, "1 cycle + heat"),
    ],
)
def test_type_names(n_temps, name):
    assert profile_type_name(n_temps) == name


@pytest.mark.parametrize("profile", PROFILES)
def test_feature_round_trip_is_exact(profile):
    assert ThermocycleProfile.from_features(profile.to_features()) == profile


@pytest.mark.parametrize("profile", PROFILES)
def test_segment_and_recipe_round_trips_are_exact(profile):
    assert ThermocycleProfile.from_segments(profile.segments()) == profile
    assert ThermocycleProfile.from_recipe_table(profile.recipe_table()) == profile


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("resolution", [0.1, 1.0, 7.0])
def test_setpoint_round_trip_is_exact(profile, resolution):
    assert ThermocycleProfile.from_setpoints(profile.setpoints(resolution)) == profile


def test_setpoints_hit_every_breakpoint_and_follow_the_rates():
    profile = PROFILES[2]
    series = profile.setpoints(1.0)
    table = profile.recipe_table()
    for end_time, end_T in zip(table["cumulative_min"], table["end_T"], strict=True):
        hit = series.loc[np.isclose(series["time_min"], end_time), "T_setpoint"]
        assert hit.tolist() == [end_T]
    first = series[series["time_min"] <= 35 / 0.2]
    assert np.allclose(np.diff(first["T_setpoint"]) / np.diff(first["time_min"]), -0.2)
    assert series["time_min"].iloc[-1] == pytest.approx(profile.batch_time_min)


def test_batch_time_and_cycles():
    profile = ThermocycleProfile((60, 20, 45, 10), (0.1, 0.25), (0.5,))
    assert profile.batch_time_min == pytest.approx(40 / 0.1 + 25 / 0.5 + 35 / 0.25)
    assert profile.n_cycles == 1
    assert FOUR_CYCLES.n_cycles == 4
    assert FOUR_CYCLES.type_name == "4 cycles"


def test_recipe_table_columns_and_cumulative_time():
    table = FOUR_CYCLES.recipe_table()
    assert list(table["kind"]) == ["cool", "heat"] * 4 + ["cool"]
    assert table["cumulative_min"].iloc[-1] == pytest.approx(FOUR_CYCLES.batch_time_min)
    assert (table["duration_min"] > 0).all()


def test_unused_cells_may_be_blank_or_zero():
    base = PROFILES[2].to_features()
    blank = {k: (np.nan if v == 0 else v) for k, v in base.items()}
    missing = {k: v for k, v in base.items() if v != 0}
    assert ThermocycleProfile.from_features(blank) == ThermocycleProfile.from_features(missing) == PROFILES[2]


def test_order_violations_name_the_equation():
    heating_down = ThermocycleProfile((60, 20, 15, 10), (0.1, 0.1), (0.7,))
    cooling_up = ThermocycleProfile((20, 30), (0.1,))
    assert any("Eq. 2" in m for m in heating_down.order_violations())
    assert any("Eq. 3" in m for m in cooling_up.order_violations())
    assert not FOUR_CYCLES.order_violations()


def test_bound_violations_use_the_given_bounds():
    too_hot = ThermocycleProfile((80, 10), (0.1,))
    assert [c for c, _ in too_hot.bound_violations()] == ["T1"]
    assert too_hot.is_feasible(Bounds(T=(0, 90)))
    slow_heat = ThermocycleProfile((60, 20, 30, 10), (0.1, 0.1), (0.3,))
    assert [c for c, _ in slow_heat.bound_violations()] == ["H1"]
    assert not slow_heat.is_feasible()


def test_check_features_reports_eq_4_breaks():
    row = PROFILES[2].to_features()
    assert check_features(row) == []
    gap = dict(row, T3=0.0)
    assert tuple(c for c, _ in check_features(gap) if c.startswith("T")) == ("T4",)
    no_rate = dict(row, C2=0.0)
    assert [c for c, _ in check_features(no_rate)] == ["C2"]
    stray_rate = dict(row, H2=0.8)
    assert [c for c, _ in check_features(stray_rate)] == ["H2"]
    assert [c for c, _ in check_features({"T1": 50.0, "C1": 0.1})] == ["T2", "C1"]


def test_constructor_rejects_inconsistent_rates():
    with pytest.raises(ValueError, match="cooling"):
        ThermocycleProfile((60, 20, 40), (0.1,), ())
    with pytest.raises(ValueError):
        ThermocycleProfile((60,), ())


def test_from_segments_requires_continuity():
    with pytest.raises(ValueError, match="continuous"):
        ThermocycleProfile.from_segments([Segment(60, 20, 0.1), Segment(25, 40, 0.5)])


def test_setpoints_must_increase_in_time():
    with pytest.raises(ValueError):
        ThermocycleProfile.from_setpoints(pd.DataFrame({"time_min": [0, 0], "T_setpoint": [60, 50]}))
