"""What moved between two customer tables: per column, and per matched segment.

- **Population stability index** per input column (the model-monitoring measure):
  ``PSI = sum_k (q_k - p_k) ln(q_k / p_k)`` over bins ``k``, ``p`` the earlier table's shares and
  ``q`` the later one's. Numeric columns are cut at the earlier table's deciles (fewer bins when
  a column takes few values); a categorical column's bins are its levels. Empty bins count as
  :data:`FLOOR` so that the index stays finite. Usual reading: below 0.1 stable, 0.1-0.25 worth
  watching, above 0.25 shifted (the config's ``compare.psi_watch`` and ``compare.psi_alert``).
- **Profile drift** of a segment that continues: per numeric column the change of the segment's
  mean in standard deviations of the earlier table (the report's standardised difference), per
  categorical level the change of its share in the segment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seglab.errors import SeglabError

FLOOR = 1e-4
"""The share an empty bin counts as (PSI divides by shares and takes their logarithm)."""


@dataclass(frozen=True)
class Table:
    """One run's cleaned table: feature columns per customer (index: ids) and which one-hot
    columns belong to each categorical input column."""

    features: pd.DataFrame
    categorical: Mapping[str, Sequence[str]]

    @property
    def numeric(self) -> list[str]:
        one_hot = {column for members in self.categorical.values() for column in members}
        return [column for column in self.features.columns if column not in one_hot]


@dataclass(frozen=True)
class SharedColumns:
    """The input columns both tables have, and those only one has."""

    numeric: list[str]
    categorical: list[str]
    only_a: list[str]
    only_b: list[str]


def shared_columns(a: Table, b: Table) -> SharedColumns:
    """The columns two tables share.

    Raises:
        SeglabError: they share no column (two unrelated tables).
    """
    inputs_a = [*a.numeric, *a.categorical]
    inputs_b = [*b.numeric, *b.categorical]
    numeric = [column for column in a.numeric if column in set(b.numeric)]
    categorical = [column for column in a.categorical if column in b.categorical]
    if not numeric and not categorical:
        raise no_shared_column(inputs_a, inputs_b)
    return SharedColumns(numeric, categorical, [c for c in inputs_a if c not in set(inputs_b)],
                         [c for c in inputs_b if c not in set(inputs_a)])


def no_shared_column(columns_a: list[str], columns_b: list[str]) -> SeglabError:
    """The one-line error for two tables without a common column."""
    return SeglabError(f"the two runs' tables share no column (A: {_few(columns_a)}; B: "
                       f"{_few(columns_b)}): compare runs on the same kind of table")


def _few(columns: list[str], shown: int = 5) -> str:
    more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
    return ", ".join(columns[:shown]) + more if columns else "none"


def psi_from_shares(p: np.ndarray, q: np.ndarray) -> float:
    """PSI of two share vectors over the same bins (empty bins count as :data:`FLOOR`)."""
    p, q = np.maximum(p, FLOOR), np.maximum(q, FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def numeric_psi(a: np.ndarray, b: np.ndarray, bins: int = 10) -> float:
    """PSI of a numeric column, binned at ``a``'s quantiles (0 for identical samples)."""
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
    p = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1) / len(a)
    q = np.bincount(np.searchsorted(edges, b, side="right"), minlength=len(edges) + 1) / len(b)
    return psi_from_shares(p, q)


def level_shares(table: Table, column: str, rows: np.ndarray | None = None) -> pd.Series:
    """Share of each level of a categorical column (``rows``: a boolean mask, default all)."""
    members = list(table.categorical[column])
    frame = table.features[members] if rows is None else table.features.loc[rows, members]
    shares = frame.mean(axis=0) if len(frame) else pd.Series(0.0, index=members)
    return shares.rename(index=lambda name: name.removeprefix(f"{column}="))


def column_psi(a: Table, b: Table, columns: SharedColumns, bins: int = 10) -> dict[str, float]:
    """PSI per shared input column, largest first."""
    found = {column: numeric_psi(a.features[column].to_numpy(np.float64),
                                 b.features[column].to_numpy(np.float64), bins)
             for column in columns.numeric}
    for column in columns.categorical:
        p, q = level_shares(a, column), level_shares(b, column)
        levels = p.index.union(q.index)
        found[column] = psi_from_shares(p.reindex(levels, fill_value=0).to_numpy(),
                                        q.reindex(levels, fill_value=0).to_numpy())
    return dict(sorted(((c, round(v, 6)) for c, v in found.items()), key=lambda kv: -kv[1]))


def psi_flag(value: float, watch: float, alert: float) -> str:
    """``shifted`` (>= alert), ``watch`` (>= watch) or ``stable``."""
    return "shifted" if value >= alert else "watch" if value >= watch else "stable"


def profile_drift(a: Table, rows_a: np.ndarray, b: Table, rows_b: np.ndarray,
                  columns: SharedColumns, top: int) -> list[dict[str, Any]]:
    """The ``top`` numeric columns and ``top`` categorical levels that moved most in a segment.

    Args:
        a, b: the two tables.
        rows_a, rows_b: boolean masks of the segment's customers in each table.
        columns: :func:`shared_columns`.
        top: how many of each kind.

    Returns:
        ``{"column", "measure": "sd"|"share", "a", "b", "change"}`` per column or level,
        numeric columns first, each kind by largest absolute change.
    """
    numeric = []
    for column in columns.numeric:
        whole = a.features[column].to_numpy(np.float64)
        spread = whole.std() or 1.0
        mean_a = float(a.features.loc[rows_a, column].mean()) if rows_a.any() else 0.0
        mean_b = float(b.features.loc[rows_b, column].mean()) if rows_b.any() else 0.0
        numeric.append({"column": column, "measure": "sd", "a": mean_a, "b": mean_b,
                        "change": (mean_b - mean_a) / spread})
    levels = []
    for column in columns.categorical:
        p, q = level_shares(a, column, rows_a), level_shares(b, column, rows_b)
        for level in p.index.union(q.index):
            share_a, share_b = float(p.get(level, 0.0)), float(q.get(level, 0.0))
            levels.append({"column": f"{column}={level}", "measure": "share", "a": share_a,
                           "b": share_b, "change": share_b - share_a})
    return [{**entry, **{key: round(entry[key], 4) for key in ("a", "b", "change")}}
            for kind in (numeric, levels)
            for entry in sorted(kind, key=lambda item: -abs(item["change"]))[:top]]
