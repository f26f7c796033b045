"""Two segmentations of the same customers, week after week: matching, transitions, migration.

The vocabulary is MONIC's (Spiliopoulou et al., KDD 2006): a segment of the earlier run A
*survives* in the later run B, *splits* into several of B's, is *merged* with others into one of
B's, *vanishes*; a segment of B with no predecessor is *new*. Everything is measured on the
customers both runs hold (their contingency table). Two shares of a cell ``(x, y)`` decide:

- ``row share`` ``|x ∩ y| / |x|``: the part of A's segment ``x`` that went to ``y``;
- ``column share`` ``|x ∩ y| / |y|``: the part of B's segment ``y`` that came from ``x``.

With the thresholds of :class:`Thresholds` (config section ``compare``):

- **split**: ``x`` sends at least ``part_share`` of its customers to each of two or more of B's
  segments that each came mostly (``core_share``) from ``x``, together at least ``core_share``;
- **merged**: two or more of A's segments each went mostly (``core_share``) to ``y``, and
  together make at least ``core_share`` of it; a small segment absorbed by a large one counts
  (MONIC's absorption: the size of a source does not matter, where it went does);
- **survived**: ``x`` and ``y`` are paired by the optimal one-to-one matching (Jaccard overlap,
  ``scipy.optimize.linear_sum_assignment``), and both shares are at least ``core_share``, and
  neither takes part in a split or merge;
- **vanished** / **new**: a segment of A / B in none of the above; when at least ``core_share``
  of a vanished segment went to one of B's segments (absorbed), or of a new segment came from one
  of A's (split off), that segment is named as ``mostly``.

Noise (``-1``) is never a segment here; it appears in the migration like any label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from seglab.profiles import NOISE

UNLIKE_ANY = -2
"""A's label for a customer that A's model placed in no segment and flagged as unlike any
(only when B's customers are assigned with A's model)."""
Kind = Literal["survived", "split", "merged", "vanished", "new"]
KINDS: tuple[Kind, ...] = ("survived", "split", "merged", "vanished", "new")


@dataclass(frozen=True)
class Thresholds:
    """When an overlap counts (documented in :mod:`seglab.compare`; config ``compare``)."""

    core_share: float = 0.5
    part_share: float = 0.2
    """The least share of a segment that makes a part of a split."""


@dataclass(frozen=True)
class Transition:
    """One MONIC transition: A's segments ``a`` became B's segments ``b``.

    ``overlap``: survived: the Jaccard overlap of the pair; split: the share of ``a`` found in
    the parts; merged: the share of ``b`` that came from the merged segments; vanished / new: 0.
    """

    kind: Kind
    a: tuple[int, ...]
    b: tuple[int, ...]
    overlap: float
    mostly: int | None = None
    """Vanished: the B segment holding at least ``core_share`` of its customers (absorbed);
    new: the A segment at least ``core_share`` of its customers came from (split off);
    split: the part holding at least ``core_share`` of the segment; merged: the source making
    at least ``core_share`` of the merged segment. ``None`` where no one dominates."""

    def to_dict(self) -> dict[str, Any]:
        found = {"kind": self.kind, "a": list(self.a), "b": list(self.b),
                 "overlap": round(self.overlap, 4)}
        return found if self.mostly is None else {**found, "mostly": self.mostly}


@dataclass(frozen=True)
class Matching:
    """How B's segments relate to A's on the shared customers."""

    table: pd.DataFrame
    """Contingency table: rows A's labels, columns B's labels (noise included), counts."""
    pairs: dict[int, int]
    """The optimal one-to-one matching, A's segment -> B's segment (pairs with any overlap)."""
    transitions: list[Transition]
    links: list[dict[str, Any]]
    """The many-to-one links: every pair of segments where at least ``part_share`` of either
    side is in the other, with ``share_of_a``, ``share_of_b`` and ``jaccard``."""

    @property
    def successors(self) -> dict[int, set[int]]:
        """A's segment -> B's segments its customers may be in without having moved."""
        found: dict[int, set[int]] = {}
        for step in self.transitions:
            if step.kind in ("survived", "split", "merged"):
                for x in step.a:
                    found.setdefault(x, set()).update(step.b)
        return found

    @property
    def survivors(self) -> dict[int, int]:
        """B's segment -> the A segment it continues (and whose name it keeps): a survivor's
        match, a split's part holding most of the segment, a merge's source making most of it."""
        heirs = {step.b[0]: step.a[0] for step in self.transitions if step.kind == "survived"}
        for step in self.transitions:
            if step.kind == "split" and step.mostly is not None:
                heirs[step.mostly] = step.a[0]
            elif step.kind == "merged" and step.mostly is not None:
                heirs[step.b[0]] = step.mostly
        return heirs

    def count(self, kind: Kind) -> int:
        return sum(step.kind == kind for step in self.transitions)


def contingency(labels_a: pd.Series, labels_b: pd.Series,
                segments_a: Iterable[int] = ()) -> pd.DataFrame:
    """Customers per (A label, B label) on the customers both series hold (indexed by id).

    Args:
        labels_a: A's label per customer id.
        labels_b: B's label per customer id.
        segments_a: A's segments to keep as rows even when no customer of ``labels_a`` has them
            (B's customers assigned with A's model may land in none of a segment).

    Returns:
        Counts; rows A's labels, columns B's labels, every label present on either side kept.
    """
    shared = labels_a.index.intersection(labels_b.index)
    a = labels_a.loc[shared].to_numpy()
    b = labels_b.loc[shared].to_numpy()
    table = pd.crosstab(pd.Series(a, name="a"), pd.Series(b, name="b"))
    rows = np.union1d(table.index.to_numpy(), np.unique([*labels_a.to_numpy(), *segments_a]))
    columns = np.union1d(table.columns.to_numpy(), np.unique(labels_b.to_numpy()))
    table = table.reindex(index=rows, columns=columns, fill_value=0).astype(np.int64)
    return table.rename_axis(index="a", columns="b")


def match(table: pd.DataFrame, thresholds: Thresholds = Thresholds()) -> Matching:
    """Pair B's segments with A's and name every transition.

    Args:
        table: :func:`contingency`.
        thresholds: when an overlap counts.

    Returns:
        The matching, with one transition per surviving pair, split, merge, vanished and new
        segment.
    """
    segments = table.loc[table.index >= 0, table.columns >= 0]
    counts = segments.to_numpy(dtype=np.float64)
    size_a = table.loc[segments.index].sum(axis=1).to_numpy(dtype=np.float64)
    size_b = table[segments.columns].sum(axis=0).to_numpy(dtype=np.float64)
    rows = np.divide(counts, size_a[:, None], out=np.zeros_like(counts), where=size_a[:, None] > 0)
    cols = np.divide(counts, size_b[None, :], out=np.zeros_like(counts), where=size_b[None, :] > 0)
    union = size_a[:, None] + size_b[None, :] - counts
    jaccard = np.divide(counts, union, out=np.zeros_like(counts), where=union > 0)
    a_ids, b_ids = segments.index.to_numpy(), segments.columns.to_numpy()
    pairs = _one_to_one(jaccard, a_ids, b_ids)
    core, part = thresholds.core_share, thresholds.part_share
    transitions: list[Transition] = []
    for i, x in enumerate(a_ids):  # splits: parts that came mostly from x
        parts = np.flatnonzero((rows[i] >= part) & (cols[i] >= core))
        if len(parts) >= 2 and rows[i, parts].sum() >= core:
            transitions.append(Transition("split", (int(x),), tuple(int(b_ids[j]) for j in parts),
                                          float(rows[i, parts].sum()),
                                          _mostly(rows[i, parts], b_ids[parts], core)))
    for j, y in enumerate(b_ids):  # merges: sources that went mostly to y, whatever their size
        sources = np.flatnonzero(rows[:, j] >= core)
        if len(sources) >= 2 and cols[sources, j].sum() >= core:
            transitions.append(Transition("merged", tuple(int(a_ids[i]) for i in sources),
                                          (int(y),), float(cols[sources, j].sum()),
                                          _mostly(cols[sources, j], a_ids[sources], core)))
    taken_a = {x for step in transitions for x in step.a}
    taken_b = {y for step in transitions for y in step.b}
    index_a = {int(x): i for i, x in enumerate(a_ids)}
    index_b = {int(y): j for j, y in enumerate(b_ids)}
    for x, y in pairs.items():
        i, j = index_a[x], index_b[y]
        if x not in taken_a and y not in taken_b and rows[i, j] >= core and cols[i, j] >= core:
            transitions.append(Transition("survived", (x,), (y,), float(jaccard[i, j])))
            taken_a.add(x)
            taken_b.add(y)
    transitions += [Transition("vanished", (int(x),), (), 0.0, _mostly(rows[i], b_ids, core))
                    for i, x in enumerate(a_ids) if int(x) not in taken_a]
    transitions += [Transition("new", (), (int(y),), 0.0, _mostly(cols[:, j], a_ids, core))
                    for j, y in enumerate(b_ids) if int(y) not in taken_b]
    order = {kind: rank for rank, kind in enumerate(KINDS)}
    transitions.sort(key=lambda step: (order[step.kind], step.a, step.b))
    links = [{"a": int(a_ids[i]), "b": int(b_ids[j]), "share_of_a": round(float(rows[i, j]), 4),
              "share_of_b": round(float(cols[i, j]), 4), "jaccard": round(float(jaccard[i, j]), 4)}
             for i, j in zip(*np.nonzero((rows >= part) | (cols >= part)), strict=True)]
    return Matching(table, pairs, transitions, links)


def _mostly(shares: np.ndarray, labels: np.ndarray, core: float) -> int | None:
    """The label holding at least ``core`` of the shares, if one does."""
    if not len(shares) or shares.max() < core:
        return None
    return int(labels[int(np.argmax(shares))])


def _one_to_one(jaccard: np.ndarray, a_ids: np.ndarray, b_ids: np.ndarray) -> dict[int, int]:
    """The one-to-one pairing of largest total Jaccard overlap (pairs with no overlap dropped)."""
    if jaccard.size == 0:
        return {}
    rows, cols = linear_sum_assignment(jaccard, maximize=True)
    return {int(a_ids[i]): int(b_ids[j]) for i, j in zip(rows, cols, strict=True)
            if jaccard[i, j] > 0}


def migration(matching: Matching) -> pd.DataFrame:
    """Every non-empty cell of the contingency table: customers and their share of A's label.

    Returns:
        Columns ``a``, ``b``, ``customers``, ``share_of_a`` and ``moved`` (the customer's B
        segment is not one that continues their A segment; noise to noise is not a move),
        largest first.
    """
    table = matching.table
    long = table.stack().rename("customers").reset_index()
    long = long[long["customers"] > 0].copy()
    sizes = table.sum(axis=1)
    long["share_of_a"] = long["customers"] / long["a"].map(sizes).to_numpy()
    successors = matching.successors
    long["moved"] = [not (a == b == NOISE or b in successors.get(a, ()))
                     for a, b in zip(long["a"], long["b"], strict=True)]
    return long.sort_values("customers", ascending=False, ignore_index=True)


def moved_share(moves: pd.DataFrame) -> float:
    """Share of the shared customers whose segment changed, after matching (0 when none)."""
    total = moves["customers"].sum()
    return float(moves.loc[moves["moved"], "customers"].sum() / total) if total else 0.0
