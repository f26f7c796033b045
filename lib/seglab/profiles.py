"""Segment profiles: how each cluster differs from the whole customer base, column by column."""

from __future__ import annotations

from collections.abc import Sequence
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
