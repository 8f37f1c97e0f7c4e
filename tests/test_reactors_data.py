"""Operating data: generator, disturbances, chronological split, files on disk and bad input."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from core.reactors.control import PIConfig
from core.reactors.dataset import (
    ReactorDataError,
    label_splits,
    load_operating_data,
    save_operating_data,
    split_chronological,
)
from core.reactors.disturbances import Disturbance, DisturbanceSchedule
from core.reactors.network import series_parallel
from core.reactors.plant import hidden_columns, input_columns, state_columns
from core.reactors.scenarios import evaluation_scenarios, generate_operating_data, random_schedule

CONFIG = series_parallel()
PI = PIConfig((2.0, 2.0, 4.0, 4.0, 2.0, 2.0, 4.0, 4.0, 4.0, 4.0), (0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 1.0, 1.0, 1.0))


@cache
def three_hours() -> tuple[pd.DataFrame, dict]:
    return generate_operating_data(CONFIG, 3.0, random_state=5, pi=PI)


def test_generator_logs_every_minute_with_all_columns_and_is_reproducible():
    frame, metadata = three_hours()
    assert len(frame) == 180
    assert frame["time_min"].tolist() == list(range(180))
    expected = ["time_min", *state_columns(CONFIG), *input_columns(CONFIG), *hidden_columns(CONFIG)]
    assert list(frame.columns) == expected
    again, _ = generate_operating_data(CONFIG, 3.0, random_state=5, pi=PI)
    pd.testing.assert_frame_equal(frame, again)
    assert metadata["pi"] == PI.to_dict() and metadata["hours"] == 3.0
    # the operators moved the setpoints: the data excite the dynamics
    assert frame["Tsp_1"].nunique() > 10 and frame["F_1"].std() > 1.0


def test_disturbance_schedule_combines_events():
    schedule = DisturbanceSchedule(
        CONFIG,
        [
            Disturbance("cooling_failure", 10, 20, 0.4, 2),
            Disturbance("deactivation", 0, 100, 0.5),
            Disturbance("feed_concentration", 5, 50, 1.2),
            Disturbance("feed_supply", 0, 30, 0.8, 1),
        ],
    )
    now = schedule.at(15.0)
    assert now.ua_factor[2] == pytest.approx(0.4) and now.ua_factor[0] == 1.0
    assert now.k0_factor == pytest.approx(np.full(CONFIG.n_reactors, 1 - 0.5 * 0.15))
    assert now.feed_conc == 1.2 and now.supply_factor.tolist() == [1.0, 0.8]
    later = schedule.at(60.0)
    assert later.ua_factor[2] == 1.0 and later.feed_conc == CONFIG.feed_concentration_mol_L
    with pytest.raises(ValueError, match="does not exist"):
        DisturbanceSchedule(CONFIG, [Disturbance("cooling_failure", 0, 1, 0.5, 99)])
    with pytest.raises(ValueError, match="Unknown disturbance"):
        Disturbance("meteor", 0, 1, 1.0)


def test_random_schedule_covers_the_campaign_with_every_kind():
    schedule = random_schedule(CONFIG, 1000.0, random_state=0)
    kinds = {event.kind for event in schedule.events}
    assert kinds == {"cooling_failure", "deactivation", "feed_concentration", "feed_temperature", "feed_supply"}
    assert max(e.end_min for e in schedule.events if e.kind == "deactivation") >= 1000 * 60
    scenarios = evaluation_scenarios(CONFIG, 12.0)
    assert set(scenarios) == {"feed upset", "cooling failure", "deactivation and supply"}


def test_split_is_chronological_80_10_10():
    frame = pd.DataFrame({"time_min": np.arange(1000.0)})
    parts = split_chronological(frame)
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [800, 100, 100]
    assert parts["train"]["time_min"].max() < parts["validation"]["time_min"].min()
    assert parts["validation"]["time_min"].max() < parts["test"]["time_min"].min()
    labelled = label_splits(frame)
    assert labelled["split"].iloc[[0, 799, 800, 900, 999]].tolist() == ["train", "train", "validation", "test", "test"]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_operating_data_round_trips_with_its_sidecar(tmp_path, suffix):
    frame, metadata = three_hours()
    path = save_operating_data(frame, metadata, tmp_path / f"ops{suffix}")
    assert (tmp_path / "ops.meta.json").exists()
    data = load_operating_data(path)
    assert data.config == CONFIG
    assert np.allclose(data.frame[state_columns(CONFIG)].to_numpy(), frame[state_columns(CONFIG)].to_numpy())
    assert [len(p) for p in data.split().values()] == [144, 18, 18]


def test_bad_operating_data_is_reported_in_plain_words(tmp_path):
    frame, metadata = three_hours()
    with pytest.raises(ReactorDataError, match="No data file"):
        load_operating_data(tmp_path / "missing.csv")
    with pytest.raises(ReactorDataError, match=r"\.csv or \.parquet"):
        save_operating_data(frame, metadata, tmp_path / "ops.xlsx")
    frame.drop(columns=["T_3", "CA_1"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(ReactorDataError, match="lacks 2 of the"):
        load_operating_data(tmp_path / "short.csv")
    broken = frame.copy().astype({"T_1": object})
    broken.loc[7, "T_1"] = "n/a"
    broken.to_csv(tmp_path / "broken.csv", index=False)
    with pytest.raises(ReactorDataError, match="1 rows with blank or non-numeric values"):
        load_operating_data(tmp_path / "broken.csv")
    frame.iloc[::-1].to_csv(tmp_path / "backwards.csv", index=False)
    with pytest.raises(ReactorDataError, match="must increase"):
        load_operating_data(tmp_path / "backwards.csv")
    (tmp_path / "notes.csv").write_text("just,a\nnote")
    with pytest.raises(ReactorDataError, match="lacks"):
        load_operating_data(tmp_path / "notes.csv")
