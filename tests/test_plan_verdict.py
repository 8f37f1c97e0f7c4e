"""The fit-for-purpose verdict on hand-made designs."""

import math

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
