"""Feature selection and scaling ahead of the embedding (reference: data.md section 4.3).

The preprocessing *is* the feature-selection story for sparse customer tables:

1. drop excluded columns, categorical one-hots (unless ``include_categorical``) and numeric
   columns that are almost always zero;
2. numeric block: drop a column whose |Spearman rho| with an earlier kept column is above
   ``correlation_threshold`` (redundant copies) and a column whose largest |rho| with every
   other column is below ``isolation_threshold`` (junk that shares no structure); de-quantise
   integer columns (ties fragment a UMAP graph into a lattice), ``log1p`` skewed non-negative
   columns, then robust or standard scaling;
3. count block (``count_columns``): empirical-Bayes smoothed shares, square root (Hellinger),
   TruncatedSVD. Sparse counts are never z-scored: that lets rare columns dominate the kNN graph;
4. block weighting: each block scaled to total variance 1, sparse blocks times ``count_weight``;
5. optional PCA.

Statistics (correlations, skewness, quantiles) are estimated on ``stats_sample`` rows. The
count block is processed ``CHUNK_ROWS`` rows at a time and its SVD fitted on at most
``SVD_FIT_ROWS`` rows, so millions of customers never need a dense float copy of every count
column (``docs/performance.md``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.decomposition import PCA, TruncatedSVD

from seglab.config import FeaturesConfig
from seglab.errors import DataError
from seglab.progress import progress

CHUNK_ROWS = 200_000
"""Rows of the count block transformed at a time (bounds memory on millions of rows)."""
SVD_FIT_ROWS = 200_000
"""The count block's TruncatedSVD is fitted on at most this many rows, then applied to all."""


@dataclass(frozen=True)
class FeatureSet:
    """The matrix handed to the embedding and what happened to every input column."""

    matrix: np.ndarray
    """float32 ``(n_rows, n_features_used)``."""
    names: list[str]
    """One per matrix column, e.g. ``avg_order_value``, ``counts_svd_1``, ``pca_1``."""
    dropped: dict[str, str]
    """Input column -> reason it is not used."""
    n_features_in: int


def build_features(frame: pd.DataFrame, cfg: FeaturesConfig, *, seed: int,
                   categorical: Sequence[str] = ()) -> FeatureSet:
    """Turn a prepared numeric table into the matrix for UMAP.

    Args:
        frame: numeric feature columns only (no id or label column), no missing values.
        cfg: the ``features`` config section.
        seed: seeds the statistics sample, the de-quantisation noise and the SVD/PCA.
        categorical: columns that are one-hot indicators of categorical inputs.

    Returns:
        The feature matrix, its column names and the dropped columns with reasons.

    Raises:
        DataError: when no usable feature column is left.
    """
    rng = np.random.default_rng(seed)
    dropped: dict[str, str] = {}
    excluded = _matching(frame.columns, cfg.exclude)
    dropped.update(dict.fromkeys(excluded, "excluded"))
    remaining = [c for c in frame.columns if c not in excluded]
    onehot = [c for c in remaining if c in set(categorical)]
    if not cfg.include_categorical:
        dropped.update(dict.fromkeys(onehot, "categorical"))
        remaining = [c for c in remaining if c not in dropped]
        onehot = []
    counts = [c for c in _matching(remaining, cfg.count_columns) if c not in onehot]
    numeric = [c for c in remaining if c not in set(onehot) | set(counts)]

    stats_rows = _sample_rows(len(frame), cfg.stats_sample, rng)
    numeric = _drop_sparse(frame, numeric, cfg.min_nonzero_fraction, dropped)
    counts = _drop_sparse(frame, counts, 0.0, dropped)
    numeric = _select_numeric(frame.iloc[stats_rows][numeric], cfg, dropped)

    blocks: list[tuple[np.ndarray, list[str], float]] = []
    if numeric:
        matrix = _numeric_block(frame[numeric], cfg, stats_rows, rng)
        blocks.append((matrix, numeric, 1.0))
    if counts:
        matrix, names = _count_block(frame, counts, cfg, seed)
        blocks.append((matrix, names, cfg.count_weight))
    if onehot:
        blocks.append((frame[onehot].to_numpy(np.float64), list(onehot), cfg.count_weight))
    if not blocks:
        raise DataError("no feature column left after selection: check features.exclude, "
                        "features.count_columns and the dropped-column reasons in 01_exploration")

    matrix = np.hstack([weight * _unit_variance(block) for block, _, weight in blocks])
    names = [name for _, block_names, _ in blocks for name in block_names]
    if cfg.pca_components is not None:
        matrix, names = _pca(matrix, cfg.pca_components, seed)
    return FeatureSet(matrix=matrix.astype(np.float32), names=names, dropped=dropped,
                      n_features_in=frame.shape[1])


def pca_variance(matrix: np.ndarray, max_components: int = 50) -> pd.DataFrame:
    """Explained variance of the leading principal components.

    Args:
        matrix: rows x features (e.g. the standardised raw columns).
        max_components: at most this many components (also capped by the matrix shape).

    Returns:
        Columns ``component`` (1-based), ``explained_variance_ratio`` and ``cumulative``.
    """
    n_components = min(max_components, *matrix.shape)
    ratio = PCA(n_components=n_components).fit(matrix).explained_variance_ratio_
    return pd.DataFrame({"component": np.arange(1, n_components + 1),
                         "explained_variance_ratio": ratio,
                         "cumulative": np.cumsum(ratio)})


def components_needed(variance: pd.DataFrame, fraction: float) -> int | None:
    """Components a :func:`pca_variance` table needs to explain ``fraction`` of the variance,
    or ``None`` when even all its components explain less."""
    reached = np.flatnonzero(variance["cumulative"].to_numpy() >= fraction)
    return int(variance["component"].iloc[reached[0]]) if len(reached) else None


def _matching(columns: Sequence[str], patterns: Sequence[str]) -> list[str]:
    return [c for c in columns if any(fnmatch.fnmatchcase(str(c), p) for p in patterns)]


def _sample_rows(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _drop_sparse(frame: pd.DataFrame, columns: list[str], min_fraction: float,
                 dropped: dict[str, str]) -> list[str]:
    nonzero = [np.count_nonzero(frame[column].to_numpy()) / max(len(frame), 1) for column in columns]
    for column, fraction in zip(columns, nonzero, strict=True):
        if fraction <= min_fraction:
            dropped[column] = f"sparse ({fraction:.2%} non-zero)"
    return [c for c in columns if c not in dropped]


def _select_numeric(sample: pd.DataFrame, cfg: FeaturesConfig,
                    dropped: dict[str, str]) -> list[str]:
    """Correlation filter in column order, then the isolation filter among the survivors."""
    columns = list(sample.columns)
    if len(columns) < 2:
        return columns
    rho = np.abs(np.atleast_2d(spearmanr(sample.to_numpy(np.float64)).statistic))
    rho = np.nan_to_num(rho, nan=0.0)
    kept: list[int] = []
    for j in range(len(columns)):
        twins = [i for i in kept if rho[i, j] > cfg.correlation_threshold]
        if twins:
            first = twins[0]
            dropped[columns[j]] = f"correlated with {columns[first]} (rho {rho[first, j]:.2f})"
        else:
            kept.append(j)
    if cfg.derived_tolerance is not None:
        kept = _drop_derived(sample.to_numpy(np.float64), columns, kept, cfg.derived_tolerance,
                             dropped)
    if cfg.isolation_threshold is None or len(kept) < 2:
        return [columns[j] for j in kept]
    np.fill_diagonal(rho, 0.0)
    strongest = rho.max(axis=1)
    for j in kept:
        if strongest[j] < cfg.isolation_threshold:
            dropped[columns[j]] = f"isolated (max |rho| {strongest[j]:.2f} to any other column)"
    return [columns[j] for j in kept if columns[j] not in dropped]


def _drop_derived(values: np.ndarray, columns: list[str], kept: list[int], tolerance: float,
                  dropped: dict[str, str]) -> list[int]:
    """Drop, in column order, a positive column equal to the product or ratio of two others.

    ``log a = log b +/- log c`` must hold for 99 % of the sampled rows within ``tolerance``.
    """
    positive = [j for j in kept if values[:, j].min() > 0]
    logs = {j: np.log(values[:, j]) for j in positive}
    survivors = list(kept)
    for a in positive:
        others = [j for j in positive if j != a and j in survivors]
        if len(others) < 2:
            continue
        rest = np.column_stack([logs[j] for j in others])
        for i, b in enumerate(others):
            match = _identity(logs[a], logs[b], rest[:, i + 1:], tolerance)
            if match is not None:
                sign, c = match
                relation = "product" if sign > 0 else "ratio"
                dropped[columns[a]] = (f"derived: {relation} of {columns[b]} and "
                                       f"{columns[others[i + 1 + c]]}")
                survivors.remove(a)
                break
    return survivors


def _identity(target: np.ndarray, first: np.ndarray, rest: np.ndarray,
              tolerance: float) -> tuple[int, int] | None:
    """``(sign, index into rest)`` where ``target = first + sign * rest[:, index]`` (or
    ``rest - first``) holds for 99 % of rows within ``tolerance``; ``None`` if none does."""
    if rest.shape[1] == 0:
        return None
    candidates = ((1, target[:, None] - first[:, None] - rest),
                  (-1, target[:, None] - first[:, None] + rest),
                  (-1, target[:, None] + first[:, None] - rest))
    for sign, residual in candidates:
        error = np.quantile(np.abs(residual), 0.99, axis=0)
        if error.min() < tolerance:
            return sign, int(error.argmin())
    return None


def _numeric_block(frame: pd.DataFrame, cfg: FeaturesConfig, stats_rows: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    values = frame.to_numpy(np.float64, copy=True)
    for j in range(values.shape[1]):
        column = values[:, j]
        non_negative = column.min() >= 0
        if cfg.dequantize and np.all(column == np.round(column)):
            column += rng.uniform(-0.5, 0.5, size=len(column))
            column += rng.uniform(-0.5, 0.5, size=len(column))
            if non_negative:
                np.abs(column, out=column)
        if non_negative and _skewness(column[stats_rows]) > cfg.log_skew_threshold:
            np.log1p(column, out=column)
    sample = values[stats_rows]
    if cfg.scaling == "robust":
        q25, center, q75 = np.percentile(sample, [25, 50, 75], axis=0)
        scale = q75 - q25
    else:
        center, scale = sample.mean(axis=0), sample.std(axis=0)
    fallback = sample.std(axis=0)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    return (values - center) / scale


def _skewness(values: np.ndarray) -> float:
    centred = values - values.mean()
    spread = centred.std()
    return float((centred**3).mean() / spread**3) if spread > 0 else 0.0


def _count_block(frame: pd.DataFrame, columns: list[str], cfg: FeaturesConfig,
                 seed: int) -> tuple[np.ndarray, list[str]]:
    """Smoothed shares ``(c + a*g) / (total + a)`` -> sqrt (Hellinger) -> TruncatedSVD.

    Two passes over row chunks: column totals, then the Hellinger rows projected on an SVD
    fitted on at most ``SVD_FIT_ROWS`` rows (all of them in smaller tables).
    """
    n_rows = len(frame)
    chunks = [(start, min(start + CHUNK_ROWS, n_rows)) for start in range(0, n_rows, CHUNK_ROWS)]

    positions = frame.columns.get_indexer(columns)

    def counts(rows: slice | np.ndarray) -> np.ndarray:
        return np.clip(frame.iloc[rows, positions].to_numpy(np.float32), 0.0, None)

    column_totals = sum(counts(slice(a, b)).sum(axis=0, dtype=np.float64) for a, b in chunks)
    global_share = column_totals / max(float(np.sum(column_totals)), 1e-12)
    alpha = cfg.count_smoothing
    prior = (alpha * global_share).astype(np.float32)

    def hellinger(block: np.ndarray) -> np.ndarray:
        totals = block.sum(axis=1, keepdims=True, dtype=np.float64)
        return np.sqrt(((block + prior) / np.maximum(totals + alpha, 1e-12)).astype(np.float32))

    n_components = min(cfg.count_components, len(columns) - 1)
    if n_components < 1:
        return hellinger(counts(slice(None))), [f"{columns[0]}_share"]
    fit_rows = _sample_rows(n_rows, SVD_FIT_ROWS, np.random.default_rng(seed))
    svd = TruncatedSVD(n_components=n_components, random_state=seed)
    svd.fit(hellinger(counts(fit_rows)))
    components = np.vstack([svd.transform(hellinger(counts(slice(a, b))))
                            for a, b in progress(chunks, "count features", unit="chunk")])
    spread = components.std(axis=0)
    components = (components - components.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return components, [f"counts_svd_{i + 1}" for i in range(n_components)]


def _unit_variance(block: np.ndarray) -> np.ndarray:
    """Scale a block so that its column variances sum to 1 (each block weighs the same)."""
    total = block.var(axis=0).sum()
    return block / np.sqrt(total) if total > 0 else block


def _pca(matrix: np.ndarray, components: int | float, seed: int) -> tuple[np.ndarray, list[str]]:
    n_components = min(components, *matrix.shape) if isinstance(components, int) else components
    reduced = PCA(n_components=n_components, random_state=seed).fit_transform(matrix)
    return reduced, [f"pca_{i + 1}" for i in range(reduced.shape[1])]
