"""Segment profiles: how each cluster differs from the whole customer base, column by column."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NOISE = -1


def profile_columns(frame: pd.DataFrame, basket: Collection[str]) -> list[str]:
    """Columns a business reader can interpret: every column except the basket block's
    per-product counts (the report describes them through the segment's basket)."""
    left_out = set(basket)
    return [column for column in frame.columns if column not in left_out]


def segment_sizes(labels: np.ndarray) -> pd.DataFrame:
    """Customers and share per segment (noise included, labelled -1), largest first."""
    return _sizes(*np.unique(labels, return_counts=True))


def _sizes(segments: np.ndarray, counts: np.ndarray) -> pd.DataFrame:
    sizes = pd.DataFrame({"segment": segments, "customers": counts})
    sizes["share"] = sizes["customers"] / counts.sum()
    return sizes.sort_values("customers", ascending=False, ignore_index=True)


@dataclass(frozen=True)
class PopulationStats:
    """What segment profiles compare with: every profile column over all customers.

    It depends only on the profile table, so 01 computes it once per feature set
    (``profile_stats.json``, cached with the features) and every trial of a sweep reuses it.
    """

    columns: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    """Population standard deviation (``ddof=0``)."""
    minimum: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """The standard deviation that divides a gap: 1 for a constant column (it differs nowhere)."""
        return np.where(self.std == 0, 1.0, self.std)

    @property
    def ratio_ok(self) -> np.ndarray:
        """Columns where a segment's mean over the population's is meaningful (never negative,
        positive mean)."""
        return (self.minimum >= 0) & (self.mean > 0)

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-safe form (``profile_stats.json``)."""
        return {"columns": list(self.columns), "mean": self.mean.tolist(),
                "std": self.std.tolist(), "min": self.minimum.tolist()}

    @classmethod
    def from_dict(cls, saved: Mapping[str, Sequence[Any]]) -> PopulationStats:
        """The statistics :meth:`to_dict` wrote."""
        return cls(tuple(saved["columns"]), np.asarray(saved["mean"], dtype=np.float64),
                   np.asarray(saved["std"], dtype=np.float64),
                   np.asarray(saved["min"], dtype=np.float64))


def population_stats(table: pd.DataFrame) -> PopulationStats:
    """Mean, standard deviation and minimum of every column of the profile table."""
    columns = (table[column].to_numpy(dtype=np.float64) for column in table.columns)
    stats = np.array([(values.mean(), values.std(), values.min()) for values in columns],
                     dtype=np.float64).reshape(len(table.columns), 3)
    return PopulationStats(tuple(table.columns), stats[:, 0], stats[:, 1], stats[:, 2])


@dataclass(frozen=True)
class SegmentProfiles:
    """Per-segment means of the profile columns beside all customers' (noise left out)."""

    sizes: pd.DataFrame
    """Customers and share per segment, noise included (:func:`segment_sizes`)."""
    means: pd.DataFrame
    """Rows: segments; columns: the profile columns."""
    gaps: pd.DataFrame
    """Standardised mean differences, same shape as ``means``."""
    stats: PopulationStats


def segment_profiles(table: pd.DataFrame, labels: np.ndarray,
                     stats: PopulationStats | None = None) -> SegmentProfiles:
    """Per-segment means in one grouped pass over the table, and their standardised gaps.

    The pass sums each column per label (``np.bincount``, in float64): no mask per segment
    and no float64 copy of the table.

    Each gap is ``(segment mean - overall mean) / overall standard deviation``: +1 means the
    segment sits one standard deviation above the customer base on that column.

    Args:
        table: interpretable columns per customer.
        labels: cluster per customer, -1 = noise (no profile of its own, but part of the
            population).
        stats: the table's :func:`population_stats`, when already known (computed here if not).

    Returns:
        Sizes, means and gaps per segment, ordered by segment label.
    """
    stats = population_stats(table) if stats is None else stats
    if tuple(table.columns) != stats.columns:
        raise ValueError(f"population statistics of columns {list(stats.columns)} do not "
                         f"describe a table of columns {list(table.columns)}")
    codes, segments = pd.factorize(np.asarray(labels), sort=True)
    counts = np.bincount(codes, minlength=len(segments))
    sums = np.array([np.bincount(codes, weights=table[column].to_numpy(), minlength=len(segments))
                     for column in table.columns]).reshape(len(table.columns), len(segments))
    means = pd.DataFrame(sums.T / counts[:, None], columns=table.columns,
                         index=pd.Index(segments, name="segment")).drop(index=NOISE,
                                                                        errors="ignore")
    gaps = (means - stats.mean) / stats.spread
    return SegmentProfiles(_sizes(segments, counts), means, gaps, stats)


def distinctive_columns(profiles: pd.DataFrame, top: int) -> list[str]:
    """The ``top`` columns on which segments differ most (largest absolute standardised gap)."""
    if profiles.empty:
        return []
    strength = profiles.abs().max(axis=0).sort_values(ascending=False)
    return strength.index[:top].tolist()


# -- segment cards: what a business reader sees per segment ----------------------------------
NOTABLE_GAP = 0.5
"""A feature enters the summary line when the segment sits this many standard deviations off."""
MOSTLY_SHARE = 0.5
"""A level is what a segment is "mostly" when it holds at least this share of it..."""
MOSTLY_LIFT = 1.2
"""... and this many times its share among all customers."""


@dataclass(frozen=True)
class Trait:
    """One feature where a segment differs from all customers."""

    column: str
    segment_mean: float
    population_mean: float
    lift: float | None
    """``segment_mean / population_mean``; ``None`` where a ratio means nothing (the column
    takes negative values, or its mean is zero)."""
    z: float
    """Standardised difference: ``(segment_mean - population_mean) / population std``."""


@dataclass(frozen=True)
class Level:
    """One level of a categorical column: its share in a segment and among all customers."""

    level: str
    share: float
    population_share: float


@dataclass(frozen=True)
class Mix:
    """How a segment splits over the levels of one categorical column, largest level first."""

    column: str
    levels: tuple[Level, ...]

    @property
    def contrast(self) -> float:
        """Largest gap between a level's share in the segment and among all customers."""
        return max(abs(level.share - level.population_share) for level in self.levels)


@dataclass(frozen=True)
class SegmentCard:
    """Everything one segment's card shows."""

    segment: int
    customers: int
    share: float
    traits: tuple[Trait, ...]
    mix: tuple[Mix, ...]
    summary: str


def segment_cards(segments: SegmentProfiles, *, top: int,
                  categorical: Mapping[str, Sequence[str]] | None = None,
                  top_levels: int = 3) -> list[SegmentCard]:
    """A card per segment (noise left out), largest segment first.

    Args:
        segments: the run's :func:`segment_profiles` (cards reuse its means and gaps).
        top: features shown per card (largest absolute standardised difference first).
        categorical: source categorical column -> its one-hot columns in the profile table, as
            the data stage recorded them (``categorical.json``); every other column is numeric,
            whatever its name.
        top_levels: levels shown per categorical column.

    Returns:
        The cards, each with its summary line.
    """
    columns = segments.means.columns
    groups = {source: [column for column in members if column in columns]
              for source, members in (categorical or {}).items()}
    groups = {source: members for source, members in groups.items() if members}
    one_hot = {column for members in groups.values() for column in members}
    numeric = [column for column in columns if column not in one_hot]
    population = pd.Series(segments.stats.mean, index=columns)
    ratio_ok = pd.Series(segments.stats.ratio_ok, index=columns)
    means, gaps = segments.means, segments.gaps
    cards = []
    for segment, customers, share in segments.sizes.itertuples(index=False):
        if segment == NOISE:
            continue
        strongest = gaps.loc[segment, numeric].abs().sort_values(ascending=False).index[:top]
        traits = tuple(
            Trait(column, float(means.loc[segment, column]), float(population[column]),
                  float(means.loc[segment, column] / population[column])
                  if ratio_ok[column] else None,
                  float(gaps.loc[segment, column]))
            for column in strongest
        )
        mix = tuple(sorted(
            (_mix(source, members, means.loc[segment], population, top_levels)
             for source, members in groups.items()),
            key=lambda item: item.contrast, reverse=True,
        ))
        cards.append(SegmentCard(int(segment), int(customers), float(share), traits, mix,
                                 summary_line(int(customers), float(share), traits, mix)))
    return cards


def _mix(source: str, members: list[str], segment: pd.Series, population: pd.Series,
         top_levels: int) -> Mix:
    levels = sorted(
        (Level(column.removeprefix(f"{source}="), float(segment[column]),
               float(population[column])) for column in members),
        key=lambda level: level.share, reverse=True,
    )
    return Mix(source, tuple(levels[:top_levels]))


def summary_line(customers: int, share: float, traits: Sequence[Trait],
                 mix: Sequence[Mix], *, max_traits: int = 2) -> str:
    """A plain-language line for a segment card.

    For example ``7,940 customers (16%): spend total 2.3x the average, mostly web (channel)``.

    Names the ``max_traits`` strongest features at least :data:`NOTABLE_GAP` standard deviations
    off (as a multiple of the average where that is meaningful), then the categorical level the
    segment is mostly made of, if one stands out.
    """
    phrases = [_trait_phrase(trait) for trait in traits if abs(trait.z) >= NOTABLE_GAP]
    phrases = phrases[:max_traits]
    dominant = [
        (level.share / level.population_share, f"mostly {level.level} ({item.column})")
        for item in mix
        for level in item.levels[:1]
        if level.share >= MOSTLY_SHARE and level.share >= MOSTLY_LIFT * level.population_share
    ]
    if dominant:
        phrases.append(max(dominant)[1])
    described = ", ".join(phrases) or "close to the average customer"
    return f"{customers:,} customers ({share:.0%}): {described}"


def _trait_phrase(trait: Trait) -> str:
    name = trait.column.replace("_", " ")
    if trait.lift is not None:
        return f"{name} {trait.lift:.1f}x the average"
    return f"{'higher' if trait.z > 0 else 'lower'} {name} ({trait.z:+.1f} SD)"
