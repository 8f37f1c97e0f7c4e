"""Designs predicted beyond every measured value are flagged, whatever the applicability domain says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.optimize.response_range import MARGIN, beyond_measured, measured_ranges, summary


@pytest.fixture
def measured() -> pd.DataFrame:
    return pd.DataFrame(
        {"D50": [20.0, 40.0, 60.0], "DoA": [10.0, np.nan, 30.0], "crystallinity": [np.nan, 90.0, np.nan]}
    )


def test_ranges_skip_cqas_measured_fewer_than_twice(measured):
    assert measured_ranges(measured) == {"D50": (20.0, 60.0), "DoA": (10.0, 30.0)}


def test_a_prediction_is_beyond_only_past_the_margin_at_either_end(measured):
    slack = MARGIN * 40.0  # D50's measured range is 20-60 µm
    points = pd.DataFrame(
        {
            "D50_mean": [60.0 + slack - 0.1, 60.0 + slack + 0.1, 20.0 - slack - 0.1, 300.0],
            "DoA_mean": [20.0, 20.0, 20.0, 6.0],  # 4 points below DoA's 10-30 %, within its margin of 5
        }
    )
    flags = beyond_measured(points, measured_ranges(measured))
    assert flags.tolist() == ["", "D50", "D50", "D50"]
    points.loc[3, "DoA_mean"] = 30.0 + MARGIN * 20.0 + 1.0
    assert beyond_measured(points, measured_ranges(measured)).iloc[3] == "D50, DoA"


def test_the_summary_names_the_farthest_prediction_and_is_silent_when_nothing_is_beyond(measured):
    ranges = measured_ranges(measured)
    points = pd.DataFrame({"D50_mean": [50.0, 316.0, 150.0], "DoA_mean": [20.0, 20.0, 20.0]})
    assert summary(points.iloc[:1], ranges) is None
    note = summary(points, ranges)
    assert note.startswith("2 of 3 designs") and "D50 up to 316 where the runs measured 20–60" in note
    assert "DoA" not in note
