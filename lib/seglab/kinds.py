"""What each column is, decided from its values, with the evidence (``features.json`` records it).

Every feature column of a prepared table gets one kind before any transform:

==============  ================================================================================
kind            evidence (measured on at most ``features.stats_sample`` rows)
==============  ================================================================================
identifier      integers, every value distinct, spanning no more than twice the row count
                (a second customer number): dropped
binary          exactly two values (flags, booleans)
categorical     text or category levels, one-hot encoded by the input contract
date            a datetime column, turned into days before the table's latest date
count           non-negative integers with more than two values (orders, items, visits)
basket          a count column in a basket block: mostly zero (at least
                :data:`BASKET_ZERO_SHARE`), unbounded (few non-zero values sit at the column's
                maximum: pixels and Likert items pile up at a ceiling, purchases do not), on
                the block's scale (its typical non-zero count within :data:`BASKET_SCALE_RATIO`
                of the block's median), and at least :data:`BASKET_MIN_COLUMNS` such columns
continuous      everything else, with its skewness
==============  ================================================================================

A basket block is a composition: what share of a customer's purchases went to each product.
The features stage represents it as such (smoothed shares, square root, i.e. the Hellinger
geometry) with the basket size as a feature of its own, instead of as independent numbers.

``features.kinds`` (``{glob: kind}``) overrides any decision, and ``features.count_columns``
(globs) names basket columns outright; an override is recorded as the evidence.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

Kind = Literal["identifier", "binary", "categorical", "date", "count", "basket", "continuous"]
OVERRIDABLE: tuple[str, ...] = ("identifier", "binary", "count", "basket", "continuous")
"""Kinds ``features.kinds`` may give a numeric column (categorical and date come from the
column's type in the file)."""

BASKET_ZERO_SHARE = 0.5
"""A basket column is zero for at least this share of customers."""
BASKET_MIN_COLUMNS = 5
"""Fewest sparse count columns that make a basket block (fewer are plain counts)."""
BASKET_CEILING_SHARE = 0.05
"""Columns whose pooled non-zero values sit at their common maximum this often have a ceiling
(pixels, Likert items): a bounded intensity, not purchase counts."""
BASKET_SCALE_RATIO = 10.0
"""A basket column's median non-zero count is within this factor of the block's median."""


@dataclass(frozen=True)
class ColumnKind:
    """One column's kind and the numbers it was decided from."""

    column: str
    kind: Kind
    levels: int
    """Distinct values (capped at 1,000 for continuous columns)."""
    zero_share: float
    integer: bool
    skew: float
    ceiling_share: float
    """Share of the non-zero values equal to the column's maximum."""
    typical_nonzero: float
    """Median of the non-zero values."""
    reason: str
    override: str | None = None
    """The ``features.kinds`` pattern or ``features.count_columns`` hint that set the kind."""


@dataclass(frozen=True)
class TableKinds:
    """The kind of every feature column of a table."""

    columns: dict[str, ColumnKind]

    def of(self, kind: str) -> list[str]:
        """Columns of one kind, in table order."""
        return [name for name, column in self.columns.items() if column.kind == kind]

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain data for ``features.json``."""
        return {name: asdict(column) for name, column in self.columns.items()}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Mapping[str, Any]]) -> TableKinds:
        """Read back :meth:`to_dict`."""
        return cls({name: ColumnKind(**values) for name, values in raw.items()})

    def frame(self) -> pd.DataFrame:
        """One row per column: kind, evidence and how to override it (notebook 01, data check)."""
        rows = [{**asdict(column), "override with": f"features.kinds: {{{column.column!r}: KIND}}"}
                for column in self.columns.values()]
        return pd.DataFrame(rows).set_index("column")

    def render(self) -> str:
        """A plain-text table for ``seglab data check``."""
        counts = pd.Series([c.kind for c in self.columns.values()]).value_counts()
        lines = ["column kinds: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()),
                 f"  {'column':<28} {'kind':<11} evidence"]
        lines += [f"  {c.column[:28]:<28} {c.kind:<11} {c.reason}" for c in self.columns.values()]
        lines.append("  override a decision with features.kinds: {GLOB: KIND} "
                     f"({', '.join(OVERRIDABLE)})")
        return "\n".join(lines)


def column_kinds(frame: pd.DataFrame, categorical: Mapping[str, Sequence[str]], *,
                 dates: Sequence[str] = (), booleans: Sequence[str] = (),
                 overrides: Mapping[str, Kind] | None = None,
                 basket_hints: Sequence[str] = (), sample: int = 20_000,
                 seed: int = 0) -> TableKinds:
    """Decide every column's kind from its values.

    Args:
        frame: the prepared feature table (numeric, one-hot ``col=level`` columns).
        categorical: source categorical column -> its one-hot columns in ``frame``.
        dates: columns the input contract turned from datetimes into days.
        booleans: columns the file stores as booleans (flags, never basket counts).
        overrides: ``features.kinds``, glob -> kind, applied last (the first matching glob wins).
        basket_hints: ``features.count_columns`` globs: these columns are basket columns.
        sample: rows the evidence is measured on.
        seed: seeds the row sample.

    Returns:
        The kinds, keyed by column in table order; one-hot columns appear once, under their
        source column's name.
    """
    onehot = {c for columns in categorical.values() for c in columns}
    rows = _sample(len(frame), sample, seed)
    decided: dict[str, ColumnKind] = {}
    sampled: dict[str, np.ndarray] = {}
    for name in frame.columns:
        if name in onehot:
            continue
        sampled[name] = frame[name].to_numpy()[rows].astype(np.float64)
        decided[name] = _numeric_kind(name, sampled[name], len(rows), is_date=name in dates,
                                      is_boolean=name in booleans)
    decided = _find_basket(decided, sampled, set(booleans))
    for source, columns in categorical.items():
        decided[source] = ColumnKind(source, "categorical", len(columns), 0.0, False, 0.0, 0.0,
                                     0.0, f"text levels, one-hot ({len(columns)} levels)")
    decided = _apply_hints(decided, basket_hints)
    decided = _apply_overrides(decided, overrides or {})
    order = [c for c in frame.columns if c in decided] + [c for c in categorical]
    return TableKinds({name: decided[name] for name in dict.fromkeys(order)})


def _sample(n_rows: int, size: int, seed: int) -> np.ndarray:
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def _numeric_kind(name: str, values: np.ndarray, n_rows: int, *, is_date: bool,
                  is_boolean: bool) -> ColumnKind:
    distinct = np.unique(values)
    integer = bool(np.all(values == np.round(values)))
    nonzero = values[values != 0]
    zero_share = 1.0 - len(nonzero) / max(len(values), 1)
    top = float(values.max()) if len(values) else 0.0
    ceiling = float(np.mean(nonzero == top)) if len(nonzero) else 0.0
    typical = float(np.median(nonzero)) if len(nonzero) else 0.0
    skew = skewness(values)
    evidence = {"levels": min(len(distinct), 1000), "zero_share": round(zero_share, 4),
                "integer": integer, "skew": round(skew, 3), "ceiling_share": round(ceiling, 4),
                "typical_nonzero": round(typical, 4)}
    if is_date:
        return ColumnKind(name, "date", **evidence, reason="datetime, as days before the latest")
    if is_boolean:
        return ColumnKind(name, "binary", **evidence, reason="boolean in the file")
    if len(distinct) == 2:
        return ColumnKind(name, "binary", **evidence, reason="two values")
    span = float(distinct[-1] - distinct[0]) + 1
    if integer and len(distinct) == n_rows and n_rows >= 50 and span <= 2 * n_rows:
        return ColumnKind(name, "identifier", **evidence,
                          reason=f"{n_rows:,} distinct integers over a range of {span:,.0f}")
    if integer and distinct[0] >= 0:
        return ColumnKind(name, "count", **evidence,
                          reason=f"non-negative integers, {len(distinct)} values, "
                                 f"{zero_share:.0%} zero")
    return ColumnKind(name, "continuous", **evidence, reason=f"skewness {skew:.2f}")


def _find_basket(decided: dict[str, ColumnKind], sampled: Mapping[str, np.ndarray],
                 booleans: set[str]) -> dict[str, ColumnKind]:
    """Promote the sparse, unbounded count columns on one scale to a basket block."""
    sparse = [c for c in decided.values() if c.column not in booleans
              and _countable(c, sampled[c.column]) and c.zero_share >= BASKET_ZERO_SHARE]
    if len(sparse) < BASKET_MIN_COLUMNS:
        return decided
    scale = float(np.median([c.typical_nonzero for c in sparse]))
    members = [c for c in sparse
               if scale / BASKET_SCALE_RATIO <= c.typical_nonzero <= scale * BASKET_SCALE_RATIO]
    if len(members) < BASKET_MIN_COLUMNS or _has_ceiling(members, decided, sampled):
        return decided
    reason = (f"one of {len(members)} sparse counts on one scale (median non-zero {scale:g})"
              ": {zero:.0%} zero, {ceiling:.1%} at its maximum")
    for column in members:
        decided[column.column] = _with(column, "basket", reason.format(
            zero=column.zero_share, ceiling=column.ceiling_share))
    return decided


def _countable(column: ColumnKind, values: np.ndarray) -> bool:
    """A count, or a 0/1 column (a product bought at most once in the sample)."""
    return column.kind == "count" or (column.kind == "binary" and values.min() == 0
                                      and values.max() == 1)


def _has_ceiling(members: Sequence[ColumnKind], decided: Mapping[str, ColumnKind],
                 sampled: Mapping[str, np.ndarray]) -> bool:
    """Whether the candidates belong to a bounded scale: together with every count column in
    their range, their non-zero values pile up at the range's top (an image's edge pixels are
    sparse, but its centre pixels saturate at the same maximum)."""
    top = max(float(sampled[c.column].max()) for c in members)
    family = [name for name, c in decided.items()
              if c.kind == "count" and float(sampled[name].max()) <= top]
    nonzero = np.concatenate([sampled[name][sampled[name] != 0] for name in family])
    return bool(len(nonzero)) and float(np.mean(nonzero == top)) >= BASKET_CEILING_SHARE


def _apply_hints(decided: dict[str, ColumnKind], patterns: Sequence[str]) -> dict[str, ColumnKind]:
    for name, column in decided.items():
        pattern = _first_match(name, patterns)
        if pattern is not None and column.kind != "categorical":
            decided[name] = _with(column, "basket", "named by features.count_columns",
                                  override=f"features.count_columns: {pattern}")
    return decided


def _apply_overrides(decided: dict[str, ColumnKind],
                     overrides: Mapping[str, Kind]) -> dict[str, ColumnKind]:
    for name, column in decided.items():
        pattern = _first_match(name, list(overrides))
        if pattern is None or column.kind in ("categorical", "date"):
            continue
        decided[name] = _with(column, overrides[pattern], "set by features.kinds",
                              override=f"features.kinds: {pattern}")
    return decided


def _with(column: ColumnKind, kind: Kind, reason: str, override: str | None = None) -> ColumnKind:
    values = asdict(column)
    values.update(kind=kind, reason=reason, override=override or column.override)
    return ColumnKind(**values)


def _first_match(name: str, patterns: Sequence[str]) -> str | None:
    return next((p for p in patterns if fnmatch.fnmatchcase(str(name), p)), None)


def skewness(values: np.ndarray) -> float:
    """Sample skewness (0 for a constant column)."""
    centred = values - values.mean()
    spread = centred.std()
    return float((centred**3).mean() / spread**3) if spread > 0 else 0.0
