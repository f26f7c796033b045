"""Segment profiles and sizes: known answers on a hand-made table."""

import json

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
    gaps = profiles.segment_profiles(frame, labels).gaps
    assert list(gaps.index) == [0, 1], "noise is not a segment"
    spend = frame["spend"]
    expected = (spend[labels == 0].mean() - spend.mean()) / spend.std(ddof=0)
    assert gaps.loc[0, "spend"] == pytest.approx(expected)
    assert gaps.loc[0, "spend"] > 0 > gaps.loc[1, "spend"]
    assert (gaps["flat"] == 0).all(), "a constant column differs nowhere"


def test_distinctive_columns_rank_by_largest_gap(table):
    gaps = profiles.segment_profiles(*table).gaps
    assert profiles.distinctive_columns(gaps, 1) == ["spend"]


def test_sizes_include_noise_and_sum_to_one(table):
    sizes = profiles.segment_sizes(table[1])
    assert set(sizes["segment"]) == {-1, 0, 1}
    assert sizes["share"].sum() == pytest.approx(1.0)


def test_profile_columns_leave_out_counts(table):
    basket = [c for c in table[0].columns if c.startswith("cat_")]
    assert profiles.profile_columns(table[0], basket) == ["spend", "flat"]


@pytest.fixture
def shop() -> tuple[pd.DataFrame, np.ndarray]:
    """Segment 0 spends 3x the others and buys on the web; segment 1 is average; 2 noise rows."""
    labels = np.array([0] * 4 + [1] * 4 + [-1] * 2)
    frame = pd.DataFrame({
        "spend": [30.0, 30, 30, 30, 10, 10, 10, 10, 10, 10],
        "score": [-1.0, -1, -1, -1, 1, 1, 1, 1, 0, 0],
        "channel=web": [1.0, 1, 1, 1, 0, 1, 0, 0, 0, 0],
        "channel=store": [0.0, 0, 0, 0, 1, 0, 1, 1, 1, 1],
    })
    return frame, labels


CHANNEL = {"channel": ["channel=web", "channel=store"]}


def test_cards_carry_lift_z_and_mix(shop):
    frame, labels = shop
    cards = profiles.segment_cards(profiles.segment_profiles(frame, labels), top=2,
                                   categorical=CHANNEL)
    assert [card.segment for card in cards] == [0, 1], "noise has no card"
    first = cards[0]
    assert first.customers == 4 and first.share == pytest.approx(0.4)
    spend = next(trait for trait in first.traits if trait.column == "spend")
    assert spend.lift == pytest.approx(30 / 18)
    assert spend.z == pytest.approx((30 - 18) / frame["spend"].std(ddof=0))
    score = next(trait for trait in first.traits if trait.column == "score")
    assert score.lift is None, "a ratio of a column with negative values means nothing"
    assert all("=" not in trait.column for trait in first.traits), "one-hot columns go to the mix"
    (channel,) = first.mix
    assert channel.column == "channel" and channel.levels[0].level == "web"
    assert channel.levels[0].share == 1.0 and channel.levels[0].population_share == pytest.approx(0.5)


def test_summary_line_reads_like_a_sentence(shop):
    first, second = profiles.segment_cards(profiles.segment_profiles(*shop), top=2,
                                           categorical=CHANNEL)
    assert first.summary.startswith("4 customers (40%): ")
    assert "spend 1.7x the average" in first.summary
    assert first.summary.endswith("mostly web (channel)")
    assert "higher score (+" in second.summary  # no ratio for score: standard deviations instead
    assert second.summary.endswith("mostly store (channel)")  # 75% vs 50% overall


def test_a_level_common_everywhere_is_not_what_a_segment_is_mostly():
    common = profiles.Mix("device", (profiles.Level("mobile", 0.6, 0.55),))
    assert "mostly" not in profiles.summary_line(10, 0.1, [], [common])


def test_summary_of_an_average_segment():
    assert profiles.summary_line(1_234, 0.5, [], []) == "1,234 customers (50%): close to the average customer"


@pytest.fixture
def random_table() -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric columns of every kind beside one-hot levels; non-contiguous labels with noise."""
    rng = np.random.default_rng(7)
    n_rows = 2_000
    web = rng.random(n_rows) < 0.3
    frame = pd.DataFrame({
        "spend": rng.gamma(2.0, 50.0, n_rows),
        "balance": rng.normal(0.0, 3.0, n_rows),  # negative values: no ratio
        "visits": rng.poisson(4, n_rows),  # an integer column
        "flat": np.full(n_rows, 2.5),  # constant: a zero spread
        "channel=web": web.astype(np.float32),
        "channel=store": (~web).astype(np.float32),
    })
    labels = rng.choice([-1, 3, 7, 12, 40], size=n_rows, p=[0.1, 0.4, 0.3, 0.15, 0.05])
    return frame, labels


def _masked_profiles(frame: pd.DataFrame, labels: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The former computation: all-customer statistics, then one boolean mask per segment."""
    values = frame.to_numpy(dtype=np.float64)
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    segments = sorted(set(labels.tolist()) - {profiles.NOISE})
    means = np.array([values[labels == segment].mean(axis=0) for segment in segments])
    gaps = (means - values.mean(axis=0)) / spread
    return (pd.DataFrame(means, index=segments, columns=frame.columns),
            pd.DataFrame(gaps, index=segments, columns=frame.columns))


def test_profiles_from_cached_stats_equal_the_masked_computation(random_table) -> None:
    frame, labels = random_table
    saved = json.loads(json.dumps(profiles.population_stats(frame).to_dict()))
    segments = profiles.segment_profiles(frame, labels, profiles.PopulationStats.from_dict(saved))
    means, gaps = _masked_profiles(frame, labels)
    assert list(segments.gaps.index) == [3, 7, 12, 40], "noise has no profile, labels kept"
    np.testing.assert_allclose(segments.means.to_numpy(), means.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(segments.gaps.to_numpy(), gaps.to_numpy(), rtol=1e-9, atol=1e-12)
    assert (segments.gaps["flat"] == 0).all()
    assert segments.sizes["customers"].sum() == len(labels), "noise counted in the sizes"


def test_cards_from_cached_stats_equal_cards_computed_from_the_table(random_table) -> None:
    frame, labels = random_table
    saved = json.loads(json.dumps(profiles.population_stats(frame).to_dict()))
    cached = profiles.segment_cards(
        profiles.segment_profiles(frame, labels, profiles.PopulationStats.from_dict(saved)),
        top=3, categorical=CHANNEL)
    fresh = profiles.segment_cards(profiles.segment_profiles(frame, labels), top=3,
                                   categorical=CHANNEL)
    assert [card.segment for card in cached] == [3, 7, 12, 40], "largest first, noise left out"
    means, gaps = _masked_profiles(frame, labels)
    for card, other in zip(cached, fresh, strict=True):
        assert card.summary == other.summary and card.mix == other.mix
        for trait in card.traits:
            assert trait.segment_mean == pytest.approx(means.loc[card.segment, trait.column])
            assert trait.z == pytest.approx(gaps.loc[card.segment, trait.column])
            assert trait.population_mean == pytest.approx(frame[trait.column].mean())
        balance = [trait for trait in card.traits if trait.column == "balance"]
        assert all(trait.lift is None for trait in balance), "negative values: no ratio"


def test_stats_of_other_columns_are_refused(random_table) -> None:
    frame, labels = random_table
    stats = profiles.population_stats(frame.drop(columns="flat"))
    with pytest.raises(ValueError, match="do not describe"):
        profiles.segment_profiles(frame, labels, stats)
