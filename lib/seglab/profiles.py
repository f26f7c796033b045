"""Segment profiles: how each cluster differs from the whole customer base, column by column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch

import numpy as np
import pandas as pd

NOISE = -1


def profile_columns(frame: pd.DataFrame, count_patterns: Sequence[str]) -> list[str]:
    """Columns a business reader can interpret: every column except the per-category counts."""
    return [
        column
        for column in frame.columns
        if not any(fnmatch(column, pattern) for pattern in count_patterns)
    ]


def segment_sizes(labels: np.ndarray) -> pd.DataFrame:
    """Customers and share per segment (noise included, labelled -1), largest first."""
    values, counts = np.unique(labels, return_counts=True)
    sizes = pd.DataFrame({"segment": values, "customers": counts})
    sizes["share"] = sizes["customers"] / counts.sum()
    return sizes.sort_values("customers", ascending=False, ignore_index=True)


def segment_profiles(table: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Standardised mean difference of every column per segment (rows: segments, noise left out).

    Each value is ``(segment mean - overall mean) / overall standard deviation``: +1 means the
    segment sits one standard deviation above the customer base on that column.
    """
    values = table.to_numpy(dtype=np.float64)
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    overall = values.mean(axis=0)
    segments = sorted(set(np.unique(labels).tolist()) - {NOISE})
    rows = [(values[labels == segment].mean(axis=0) - overall) / spread for segment in segments]
    return pd.DataFrame(rows, index=pd.Index(segments, name="segment"), columns=table.columns)


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


def segment_cards(table: pd.DataFrame, labels: np.ndarray, *, top: int,
                  categorical: Mapping[str, Sequence[str]] | None = None,
                  top_levels: int = 3) -> list[SegmentCard]:
    """A card per segment (noise left out), largest segment first.

    Args:
        table: interpretable columns per customer.
        labels: cluster per customer, -1 = noise.
        top: features shown per card (largest absolute standardised difference first).
        categorical: source categorical column -> its one-hot columns in ``table``, as the
            data stage recorded them (``categorical.json``); every other column is numeric,
            whatever its name.
        top_levels: levels shown per categorical column.

    Returns:
        The cards, each with its summary line.
    """
    groups = {source: [column for column in columns if column in table.columns]
              for source, columns in (categorical or {}).items()}
    groups = {source: columns for source, columns in groups.items() if columns}
    one_hot = [column for members in groups.values() for column in members]
    numeric = [column for column in table.columns if column not in set(one_hot)]
    gaps = segment_profiles(table, labels)
    values = table.astype(np.float64)
    population = values.mean(axis=0)
    ratio_ok = (values.min(axis=0) >= 0) & (population > 0)
    means = values.groupby(labels).mean()
    cards = []
    for segment, customers, share in segment_sizes(labels).itertuples(index=False):
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
