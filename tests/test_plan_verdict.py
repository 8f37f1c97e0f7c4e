"""The fit-for-purpose verdict on hand-made designs."""

import math

import numpy as np
import pytest

from core.plan.verdict import (
    DISAGREES,
    FIT,
    IMPRECISE,
    NOT_MEASURED,
    UNKNOWN_SPREAD,
    fit_for_purpose,
    parse_replicates,
    replicate_summary,
)


def test_replicate_summary_is_mean_and_sample_sd():
    mean, sd, n = replicate_summary([10.0, 12.0, 14.0])
    assert (mean, sd, n) == (12.0, 2.0, 3)
    assert math.isnan(replicate_summary([5.0])[1])
    assert replicate_summary([])[2] == 0


def test_agreeing_and_precise_model_is_fit_for_purpose():
    v = fit_for_purpose({"D50": (40.0, 1.5), "DoA": (20.0, 2.0)}, {"D50": [39.0, 41.0, 42.0], "DoA": [19, 22, 20]})
    assert v.fit_for_purpose
    assert list(v.table["status"]) == [FIT, FIT]
    assert "fit for purpose" in v.message


def test_a_measurement_far_outside_the_combined_uncertainty_asks_for_experiments():
    # |40 - 50| = 10 > 2 * sqrt(1.5^2 + 1^2/3) ≈ 3.2
    v = fit_for_purpose({"D50": (40.0, 1.5)}, {"D50": [49.0, 50.0, 51.0]})
    assert not v.fit_for_purpose
    assert v.table.loc[0, "status"] == DISAGREES and v.table.loc[0, "z"] > 2
    assert "More experiments are needed" in v.message and "D50" in v.message


def test_agreeing_but_far_less_certain_model_is_not_yet_fit():
    # agrees (|40 - 41| small against σ = 8) but σ = 8 is 8x the replicate sd of 1
    v = fit_for_purpose({"D50": (40.0, 8.0)}, {"D50": [40.0, 41.0, 42.0]})
    assert v.table.loc[0, "status"] == IMPRECISE
    assert v.table.loc[0, "sigma_ratio"] == pytest.approx(8.0)
    assert not v.fit_for_purpose and "uncertainty" in v.message


def test_the_replicates_scatter_counts_once_when_the_model_separates_its_own():
    """σ = 4 of a new run is mostly the run's scatter (σ of the mean 1): against the mean of 4 replicates with sd 2.1,
    |40 - 44.5| = 4.5 lies within 2·sqrt(4² + 2.1²/4) ≈ 8.3 but outside 2·sqrt(1² + 2.1²/4) ≈ 2.9."""
    measured = {"D50": [42.0, 44.0, 45.0, 47.0]}
    blurred = fit_for_purpose({"D50": (40.0, 4.0)}, measured)
    split = fit_for_purpose({"D50": (40.0, 4.0)}, measured, std_of_mean={"D50": 1.0})
    assert blurred.table.loc[0, "status"] != DISAGREES
    assert split.table.loc[0, "status"] == DISAGREES
    assert split.table.loc[0, "z"] == pytest.approx(4.5 / math.sqrt(1 + np.var(measured["D50"], ddof=1) / 4))
    # precision is what the model does not know against the experiment's scatter
    agreeing = fit_for_purpose({"D50": (44.0, 4.0)}, measured, std_of_mean={"D50": 1.0})
    assert agreeing.table.loc[0, "status"] == FIT and agreeing.fit_for_purpose
    assert agreeing.table.loc[0, "sigma_ratio"] == pytest.approx(1.0 / np.std(measured["D50"], ddof=1))


def test_a_single_measurement_is_judged_against_a_new_runs_sigma():
    # |40 - 43| = 3 lies within 2σ = 4 of a new run, though outside twice its σ of the mean (1)
    v = fit_for_purpose({"D50": (40.0, 2.0)}, {"D50": [43.0]}, std_of_mean={"D50": 1.0})
    assert v.table.loc[0, "status"] == UNKNOWN_SPREAD and v.table.loc[0, "z"] == pytest.approx(1.5)


def test_a_single_measurement_cannot_judge_precision_and_unmeasured_cqas_are_skipped():
    v = fit_for_purpose({"D50": (40.0, 2.0), "crystallinity": (90.0, 3.0)}, {"D50": [41.0]})
    status = dict(zip(v.table["cqa"], v.table["status"], strict=True))
    assert status == {"D50": UNKNOWN_SPREAD, "crystallinity": NOT_MEASURED}
    assert not v.fit_for_purpose and "replicate" in v.message


def test_nothing_measured():
    v = fit_for_purpose({"D50": (40.0, 2.0)}, {})
    assert not v.fit_for_purpose and "Nothing measured" in v.message


def test_replicates_are_read_from_text_with_a_plain_message_for_bad_entries():
    assert parse_replicates("41.2, 39.8; 40.5  42") == [41.2, 39.8, 40.5, 42.0]
    assert parse_replicates("  ") == []
    with pytest.raises(ValueError, match='"abc" is not a number'):
        parse_replicates("41, abc")
