"""Per-CQA data sets and the stratified hold-out split; also the synthetic DoE the model tests share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.doe import Schema
from core.models.datasets import ModelData, cqa_dataset, stratified_holdout
from core.profiles import ThermocycleProfile

# Table 1 of Barhate et al. (2025): set points per profile -> number of runs.
PAPER_MIX = {2: 18, 3: 2, 4: 1, 6: 4, 8: 3, 10: 3}


def _profile(n_temps: int, rng: np.random.Generator) -> ThermocycleProfile:
    temps = [rng.uniform(50, 70)]
    for k in range(1, n_temps):
        if k % 2:  # cooling
            temps.append(rng.uniform(max(5.0, temps[-1] - 40), temps[-1] - 5))
        else:  # heating
            temps.append(rng.uniform(temps[-1] + 3, min(70.0, temps[-1] + 25)))
    n_seg = n_temps - 1
    return ThermocycleProfile(temps, rng.uniform(0.05, 0.3, (n_seg + 1) // 2), rng.uniform(0.5, 1.0, n_seg // 2))


def make_doe_frame(n: int = 31, seed: int = 0, noise: float = 0.03, mix: dict[int, int] | None = None) -> pd.DataFrame:
    """A DoE in canonical columns: the paper's profile mix, smooth nonlinear CQAs with noise,
    DoA measured in about two thirds of the rows and crystallinity in about half."""
    rng = np.random.default_rng(seed)
    n_temps = [k for k, count in (mix or PAPER_MIX).items() for _ in range(count)]
    n_temps = (n_temps + [int(rng.choice([2, 4, 6])) for _ in range(n)])[:n]
    rng.shuffle(n_temps)
    rows = []
    for nt in n_temps:
        p = _profile(nt, rng)
        conc, seed_loading = rng.uniform(24.8, 55.2), rng.uniform(0.05, 0.15)
        cool = float(np.mean(p.cooling_rates))
        d50 = (
            80 + 1.5 * conc - 250 * seed_loading + 40 * p.n_cycles**0.7 - 90 * cool + 10 * np.sin(p.temperatures[0] / 8)
        )
        doa = 20 + 15 * np.tanh(p.n_cycles / 2) + 60 * cool - 0.2 * conc
        cryst = 60 + 5 * np.log1p(p.batch_time_min / 60) + 200 * seed_loading
        rows.append(
            {
                "initial_concentration": conc,
                "seed_loading": seed_loading,
                **p.to_features(),
                "D50": d50 * (1 + noise * rng.normal()),
                "DoA": doa * (1 + noise * rng.normal()),
                "crystallinity": cryst * (1 + noise * rng.normal()),
            }
        )
    frame = pd.DataFrame(rows)
    frame.loc[rng.choice(n, n // 3, replace=False), "DoA"] = np.nan
    frame.loc[rng.choice(n, n // 2, replace=False), "crystallinity"] = np.nan
    return frame


@pytest.fixture
def doe() -> pd.DataFrame:
    return make_doe_frame()


def test_model_data_reads_canonical_frame(doe):
    data = ModelData.from_frame(doe)
    assert data.input_names == Schema.default().input_names
    assert data.cqa_names == ["D50", "DoA", "crystallinity"]
    assert data.profile_types.value_counts()["linear cooling"] == 18
    assert data.profile_types.value_counts()["4 cycles"] == 3


def test_blank_profile_entries_mean_unused_but_other_blanks_are_errors(doe):
    frame = doe.copy()
    frame.loc[frame["T3"] == 0, "T3"] = np.nan
    data = ModelData.from_frame(frame)
    assert (data.inputs["T3"] >= 0).all()
    frame.loc[4, "seed_loading"] = np.nan
    with pytest.raises(ValueError, match="missing seed_loading in row 4"):
        ModelData.from_frame(frame)
    with pytest.raises(ValueError, match="no column C5"):
        ModelData.from_frame(doe.drop(columns="C5"))


def test_each_cqa_uses_only_its_measured_rows(doe):
    data = ModelData.from_frame(doe)
    for cqa in ("D50", "DoA", "crystallinity"):
        ds = cqa_dataset(data, cqa, random_state=1)
        measured = set(doe.index[doe[cqa].notna()])
        assert set(ds.y_train.index) | set(ds.y_test.index) == measured
        assert not set(ds.y_train.index) & set(ds.y_test.index)
        assert not ds.y_train.isna().any() and not ds.y_test.isna().any()
    assert cqa_dataset(data, "crystallinity").n_train + cqa_dataset(data, "crystallinity").n_test == 16


def test_stratified_split_keeps_rare_types_in_training():
    types = pd.Series(
        ["linear cooling"] * 18 + ["linear cool + heat"] * 2 + ["1 cycle"] + ["2 cycles"] * 4 + ["3 cycles"] * 3,
        index=range(100, 128),
    )
    for seed in range(20):
        test = stratified_holdout(types, 0.125, seed)
        assert len(test) == round(0.125 * 28)
        held = types[test]
        assert "1 cycle" not in set(held)  # the only one-cycle run always stays in training
        for name, k in held.value_counts().items():
            assert k <= (types == name).sum() - 1  # every type keeps a row in training
        assert (held == "linear cooling").sum() >= 2  # the big type gets its share
    assert list(stratified_holdout(types, 0.125, 3)) == list(stratified_holdout(types, 0.125, 3))
    assert len({tuple(stratified_holdout(types, 0.125, s)) for s in range(10)}) > 1


def test_split_respects_min_train_and_tiny_sets():
    types = pd.Series(["a", "a", "b", "c"])
    assert len(stratified_holdout(types, 0.15, 0)) == 1  # round(0.6)
    assert len(stratified_holdout(types, 0.15, 0, min_train=4)) == 0
    assert len(stratified_holdout(pd.Series(["a", "b", "c"]), 0.5, 0)) == 0  # no type can spare a row


def test_holdout_file_replaces_the_split(doe):
    data = ModelData.from_frame(doe)
    holdout = ModelData.from_frame(make_doe_frame(n=6, seed=9, mix={2: 3, 6: 3}))
    ds = cqa_dataset(data, "DoA", holdout)
    assert ds.holdout_source == "file"
    assert ds.n_train == doe["DoA"].notna().sum()
    assert ds.n_test == holdout.cqas["DoA"].notna().sum()


# The per-CQA fields of metrics.json as documented in the fit command's issue and README.
METRICS_JSON_FIELDS = {
    "best_model",
    "cv_mse",
    "cv_mse_sd",
    "test_r2",
    "test_mse",
    "test_mse_mean",
    "cv_mse_mean",
    "test_mae",
    "coverage_1sd",
    "coverage_2sd",
    "n_train",
    "n_test",
    "models",
    "features",
    "cv_mse_by_type",
    "selection_score",
    "coverage_by_type",
}
