"""Segment profiles and sizes: known answers on a hand-made table."""

import numpy as np
import pandas as pd
import pytest

from seglab import profiles


@pytest.fixture
def table() -> tuple[pd.DataFrame, np.ndarray]:
    labels = np.array([0, 0, 0, 1, 1, 1, -1, -1])
    frame = pd.DataFrame({
        "spend": [10.0, 12.0, 11.0, 1.0, 2.0, 1.5, 5.0, 6.0],
        "flat": [1.0] * 8,
        "cat_001": [3, 0, 1, 0, 0, 0, 0, 0],
    })
    return frame, labels


def test_profiles_are_standardised_differences(table):
    frame, labels = table
    gaps = profiles.segment_profiles(frame, labels)
    assert list(gaps.index) == [0, 1], "noise is not a segment"
    spend = frame["spend"]
    expected = (spend[labels == 0].mean() - spend.mean()) / spend.std(ddof=0)
    assert gaps.loc[0, "spend"] == pytest.approx(expected)
    assert gaps.loc[0, "spend"] > 0 > gaps.loc[1, "spend"]
    assert (gaps["flat"] == 0).all(), "a constant column differs nowhere"


def test_distinctive_columns_rank_by_largest_gap(table):
    gaps = profiles.segment_profiles(*table)
    assert profiles.distinctive_columns(gaps, 1) == ["spend"]


def test_sizes_include_noise_and_sum_to_one(table):
    sizes = profiles.segment_sizes(table[1])
    assert set(sizes["segment"]) == {-1, 0, 1}
    assert sizes["share"].sum() == pytest.approx(1.0)


def test_profile_columns_leave_out_counts(table):
    assert profiles.profile_columns(table[0], ["cat_*"]) == ["spend", "flat"]
