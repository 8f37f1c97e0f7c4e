"""The small rules with one owner each: profile ramp counts, scalar inputs, feature rows, run-directory files."""

import numpy as np
import pandas as pd
import pytest

from core.augment import AugmentResult, AugmentSettings, CQAAugment
from core.augment.persistence import augment_files, save_augment
from core.doe import Schema
from core.models.fitting import FitSettings
from core.models.persistence import run_files, save_run
from core.profiles import ThermocycleProfile
from tests.conftest import tiny_fit

TWO_CYCLES = ThermocycleProfile((60, 30, 45, 20, 35, 10), (0.5, 0.2, 0.1), (0.8, 0.4))


@pytest.mark.parametrize(
    "n, cool, heat, cycles", [(2, 1, 0, 0), (3, 1, 1, 0), (4, 2, 1, 1), (6, 3, 2, 2), (7, 3, 3, 2)]
)
def test_ramps_alternate_from_cooling(n, cool, heat, cycles):
    assert ThermocycleProfile.ramp_counts(n) == (cool, heat)
    assert ThermocycleProfile.cycles_of(n) == cycles
    names = ThermocycleProfile.variable_names(n)
    assert names == [f"T{i}" for i in range(1, n + 1)] + [f"C{i}" for i in range(1, cool + 1)] + [
        f"H{i}" for i in range(1, heat + 1)
    ]


def test_ramp_counts_work_on_arrays():
    cool, heat = ThermocycleProfile.ramp_counts(np.array([2, 3, 6]))
    assert cool.tolist() == [1, 1, 3] and heat.tolist() == [0, 1, 2]


def test_a_profile_round_trips_through_its_values():
    assert len(TWO_CYCLES.values()) == len(ThermocycleProfile.variable_names(6))
    assert ThermocycleProfile.from_values(TWO_CYCLES.values(), 6) == TWO_CYCLES
    assert TWO_CYCLES.n_cycles == 2


def test_the_schema_names_its_scalar_inputs_and_builds_a_feature_row():
    schema = Schema.default()
    assert schema.scalar_inputs == ["initial_concentration", "seed_loading"]
    row = schema.feature_row(TWO_CYCLES, {"initial_concentration": 40.0, "seed_loading": 0.1})
    assert list(row) == schema.input_names
    assert row["initial_concentration"] == 40.0 and row["T6"] == 10 and row["H2"] == 0.4
    assert all(row[c] == 0.0 for c in ("T7", "C4", "H3"))


def test_the_fit_settings_build_their_ensemble():
    settings = FitSettings(uq="bootstrap", n_members=4, random_state=7)
    ensemble = settings.ensemble("rf", {"n_estimators": 5}, "raw", ["a", "b"])
    assert (ensemble.method, ensemble.n_members, ensemble.random_state) == ("bootstrap", 4, 7)
    assert ensemble.params == {"n_estimators": 5} and ensemble.input_names == ["a", "b"]


def test_runs_and_augmentations_are_written_as_their_files(tmp_path):
    fit = tiny_fit()
    save_run(fit, tmp_path / "run")
    assert {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "run").iterdir()} == run_files(fit)
    entry = CQAAugment("gaussian_copula", 2, 0.5, None, 2.0, 1.8, None, None, None, None, {}, {}, {}, {}, {})
    augmentation = AugmentResult(AugmentSettings(), {"D50": entry}, {"D50": pd.DataFrame({"D50": [1.0, 2.0]})})
    save_augment(augmentation, tmp_path / "run")
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "run").iterdir()}
    assert written == run_files(fit) | augment_files(augmentation)
