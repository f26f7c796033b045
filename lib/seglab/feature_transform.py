"""The fitted feature transform in numbers: what 01 did to each column, replayable on new rows.

:func:`seglab.features.build_features` decides the columns and estimates the numbers (centres,
scales, the basket's prior and SVD components, the block weights, PCA); this module holds them
as plain data (``artifacts/feature_model.json``) and applies them to customers the run never saw.
Integer columns are de-quantised with noise drawn from a hash of the customer's own numeric
values (:func:`dequantization_noise`), so a customer gets the same features at the fit and
whenever they are assigned again. A log1p column clips a negative new value to 0 (the fit only
logs columns it saw non-negative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

BASKET_CHUNK_ROWS = 200_000
"""Rows summed at a time for the basket size (no float copy of every basket column at once)."""


def basket_size(frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Items per customer over the basket columns (negative counts read as 0), chunk by chunk."""
    positions = frame.columns.get_indexer(columns)
    return np.concatenate([
        np.clip(frame.iloc[start:start + BASKET_CHUNK_ROWS, positions].to_numpy(np.float32), 0.0,
                None).sum(axis=1, dtype=np.float64)
        for start in range(0, max(len(frame), 1), BASKET_CHUNK_ROWS)]).astype(np.float32)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on ``uint64`` (wrapping arithmetic): a well-spread hash."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hashes(values: np.ndarray, seed: int) -> np.ndarray:
    """One ``uint64`` per row from its values (``float64``, ``-0.0`` read as ``0.0``) and ``seed``."""
    hashes = np.full(len(values), seed, dtype=np.uint64)
    for j in range(values.shape[1]):
        bits = np.ascontiguousarray(values[:, j], dtype=np.float64) + 0.0
        hashes = _mix(hashes ^ bits.view(np.uint64))
    return hashes


def dequantization_noise(hashes: np.ndarray, position: int) -> np.ndarray:
    """The sum of two uniforms on [-0.5, 0.5) (triangular on (-1, 1)) for the column at
    ``position``, drawn from each row's hash: the same row always gets the same noise."""
    draws = [_mix(hashes + np.uint64(2 * position + offset)) for offset in (1, 2)]
    return sum((draw >> np.uint64(11)).astype(np.float64) * 2.0**-53 - 0.5 for draw in draws)


@dataclass(frozen=True)
class NumericStep:
    """One numeric column: optionally de-quantised (and folded at 0), log1p, then
    ``(value - center) / scale``."""

    column: str
    dequantized: bool
    folded: bool
    """De-quantised values are made non-negative again (``abs``): the column was."""
    log1p: bool
    center: float
    scale: float


@dataclass(frozen=True)
class CategoricalStep:
    """One categorical column's one-hot block: centred on ``mean``, times ``factor``."""

    column: str
    indicators: list[str]
    mean: list[float]
    factor: float


@dataclass(frozen=True)
class BasketStep:
    """The basket block: smoothed shares ``(c + prior) / (total + alpha)``, sqrt, SVD, z-score."""

    columns: list[str]
    prior: list[float]
    alpha: float
    components: list[list[float]] | None
    """TruncatedSVD's ``components_`` (``None``: one column, its share is the feature)."""
    mean: list[float]
    std: list[float]

    def apply(self, counts: np.ndarray) -> np.ndarray:
        """The block for ``counts`` (rows x basket columns, negatives read as 0)."""
        counts = np.clip(counts.astype(np.float32), 0.0, None)
        totals = counts.sum(axis=1, keepdims=True, dtype=np.float64)
        prior = np.asarray(self.prior, dtype=np.float32)
        shares = np.sqrt(((counts + prior) / np.maximum(totals + self.alpha, 1e-12)).astype(np.float32))
        if self.components is None:
            return shares
        projected = shares @ np.asarray(self.components, dtype=np.float32).T
        return (projected - np.asarray(self.mean)) / np.asarray(self.std)


@dataclass(frozen=True)
class FeatureTransform:
    """Every number needed to turn prepared columns into the run's feature matrix."""

    names: list[str]
    numeric: list[NumericStep]
    categorical: list[CategoricalStep]
    basket: BasketStep | None
    basket_size: str | None
    """The numeric column computed as items per customer over the basket (``None``: not used)."""
    seed: int
    """Seeds the de-quantisation noise's row hashes."""
    block_scale: float
    """Divisor of the numeric-and-categorical block (its column variances then sum to 1)."""
    basket_scale: float
    """Divisor of the basket block before ``basket_weight``."""
    basket_weight: float
    pca_mean: list[float] | None
    pca_components: list[list[float]] | None

    def input_columns(self) -> list[str]:
        """The prepared columns (numeric, one-hot indicators, basket counts) the transform reads."""
        numeric = [step.column for step in self.numeric if step.column != self.basket_size]
        indicators = [name for step in self.categorical for name in step.indicators]
        return numeric + indicators + (self.basket.columns if self.basket else [])

    def apply(self, frame: pd.DataFrame) -> np.ndarray:
        """The float32 feature matrix of prepared rows (columns named as :meth:`input_columns`)."""
        parts = []
        raw = np.column_stack([
            basket_size(frame, self.basket.columns) if step.column == self.basket_size
            else frame[step.column].to_numpy(np.float32) for step in self.numeric
        ]).astype(np.float64) if self.numeric else np.empty((len(frame), 0))
        hashes = (row_hashes(raw, self.seed) if any(s.dequantized for s in self.numeric)
                  else None)
        for j, step in enumerate(self.numeric):
            values = raw[:, j]
            if step.dequantized:
                values = values + dequantization_noise(hashes, j)
                values = np.abs(values) if step.folded else values
            if step.log1p:
                values = np.log1p(np.maximum(values, 0.0))
            parts.append(((values - step.center) / step.scale)[:, None])
        for step in self.categorical:
            onehot = frame[step.indicators].to_numpy(np.float64)
            parts.append((onehot - np.asarray(step.mean)) * step.factor)
        blocks = [np.hstack(parts) / self.block_scale] if parts else []
        if self.basket is not None:
            block = self.basket.apply(frame[self.basket.columns].to_numpy(np.float32))
            blocks.append(self.basket_weight * block / self.basket_scale)
        matrix = np.hstack(blocks)
        if self.pca_components is not None:
            matrix = (matrix - np.asarray(self.pca_mean)) @ np.asarray(self.pca_components).T
        return matrix.astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``feature_model.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FeatureTransform:
        """Read back :meth:`to_dict`."""
        return cls(**{**raw, "numeric": [NumericStep(**step) for step in raw["numeric"]],
                      "categorical": [CategoricalStep(**step) for step in raw["categorical"]],
                      "basket": BasketStep(**raw["basket"]) if raw["basket"] else None})
