"""Feature selection and scaling ahead of the embedding (reference: data.md section 4.3).

The preprocessing *is* the feature-selection story for sparse customer tables:

1. drop excluded columns, categorical one-hots (with ``include_categorical: false``) and
   numeric columns that are almost always zero;
2. numeric columns: drop a column whose |Spearman rho| with an earlier kept column is above
   ``correlation_threshold`` (redundant copies), one that is the product or ratio of two others,
   and (when ``isolation_threshold`` is set) one whose largest |rho| with every other column is
   below it. Integer columns are de-quantised (ties fragment a UMAP graph into a lattice) and
   skewed non-negative columns ``log1p``-ed, each only where its own data shows the need; then
   every column is standardised, except that columns measured on one shared integer scale
   (pixel intensities, Likert items: see :func:`shared_scale_columns`) keep their relative
   spread and get one common scale;
3. categorical columns (``include_categorical``, off by default: the embedding splits into one
   island per combination of levels): each one's one-hot block is centred and scaled to a total
   variance of ``categorical_weight`` squared, so a categorical column weighs what one
   standardised numeric column weighs, however many levels it has (the weighting of FAMD,
   Pagès 2004);
4. basket block (the columns :mod:`seglab.kinds` finds to be a basket, or ``count_columns``
   names): empirical-Bayes smoothed shares, square root (Hellinger), TruncatedSVD. Sparse
   counts are never z-scored: that lets rare columns dominate the kNN graph. The basket size
   (items per customer) is embedded only with ``basket_size: true`` (measured: it is mostly
   how much a customer shops, and swamped the shares); the isolation filter of step 2 counts
   the basket's components as other columns, so a numeric column related to what customers
   buy is kept and one related to nothing is dropped;
5. block weighting: the numeric-and-categorical block and the count block each scaled to total
   variance 1, the count block then times ``count_weight``;
6. optional PCA.

The choices were measured on the real-table corpus (``bench/ABLATION.md``): robust scaling
(dividing by the interquartile range) blew zero-inflated columns up (digits without the shared
scale: 0.59 against 0.82 ARI with standard scaling);
the isolation filter keeps every column of a table whose columns are all independent.

Statistics (correlations, skewness, quantiles) are estimated on ``stats_sample`` rows. The
count block is processed ``CHUNK_ROWS`` rows at a time and its SVD fitted on at most
``SVD_FIT_ROWS`` rows, so millions of customers never need a dense float copy of every count
column (``docs/performance.md``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA, TruncatedSVD

from seglab.config import FeaturesConfig
from seglab.errors import DataError
from seglab.feature_transform import (
    BasketStep,
    CategoricalStep,
    FeatureTransform,
    NumericStep,
    basket_size,
    dequantization_noise,
    row_hashes,
)
from seglab.kinds import TableKinds, column_kinds, skewness
from seglab.progress import progress

CHUNK_ROWS = 200_000
"""Rows of the count block transformed at a time (bounds memory on millions of rows)."""
SVD_FIT_ROWS = 200_000
"""The count block's TruncatedSVD is fitted on at most this many rows, then applied to all."""
CORRELATION_CELLS = 20_000_000
"""Rows x columns ranked for the correlation filter (wide tables use fewer rows: 10,000
columns rank 2,000 rows, 80 MB, and the 10,000 x 10,000 correlation matrix takes 400 MB)."""
SHARED_SCALE_MIN_COLUMNS = 8
CONTEXT_ROWS = 5_000
"""Rows on which numeric columns are correlated with the basket's components for the isolation
filter."""
BASKET_SIZE = "basket_size"
"""The feature holding a customer's items over the basket block (shares hide the size)."""
"""Fewest integer columns that :func:`shared_scale_columns` takes for one shared scale."""


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
    transforms: dict[str, str]
    """Input column -> what was done to it and why (only columns something was done to)."""
    kinds: TableKinds
    """Every input column's kind and the evidence it was decided from (:mod:`seglab.kinds`)."""
    transform: FeatureTransform
    """The fitted numbers, to place new customers (:mod:`seglab.feature_transform`)."""


def build_features(frame: pd.DataFrame, cfg: FeaturesConfig, *, seed: int,
                   categorical: Mapping[str, Sequence[str]] | None = None,
                   kinds: TableKinds | None = None) -> FeatureSet:
    """Turn a prepared numeric table into the matrix for UMAP.

    Args:
        frame: numeric feature columns only (no id or label column), no missing values.
        cfg: the ``features`` config section.
        seed: seeds the statistics sample, the de-quantisation noise and the SVD/PCA.
        categorical: categorical input column -> its one-hot indicator columns in ``frame``.
        kinds: the columns' kinds; default: decided here by :func:`seglab.kinds.column_kinds`
            (with ``cfg.kinds`` and ``cfg.count_columns`` applied).

    Returns:
        The feature matrix, its column names and the dropped columns with reasons.

    Raises:
        DataError: when no usable feature column is left.
    """
    rng = np.random.default_rng(seed)
    dropped: dict[str, str] = {}
    transforms: dict[str, str] = {}
    groups = {name: list(columns) for name, columns in (categorical or {}).items()}
    if kinds is None:
        kinds = column_kinds(frame, groups, overrides=cfg.kinds, basket_hints=cfg.count_columns,
                             sample=cfg.stats_sample, seed=seed)
    excluded = _matching(frame.columns, cfg.exclude)
    dropped.update(dict.fromkeys(excluded, "excluded"))
    dropped.update({c: f"identifier-like ({kinds.columns[c].reason})"
                    for c in kinds.of("identifier") if c not in dropped})
    remaining = [c for c in frame.columns if c not in dropped]
    onehot = {c for columns in groups.values() for c in columns}
    if not cfg.include_categorical:
        dropped.update({c: "categorical" for c in remaining if c in onehot})
    groups = {name: [c for c in columns if c in remaining and c not in dropped]
              for name, columns in groups.items()}
    groups = {name: columns for name, columns in groups.items() if columns}
    remaining = [c for c in remaining if c not in dropped]
    basket = set(kinds.of("basket"))
    counts = [c for c in remaining if c in basket and c not in onehot]
    numeric = [c for c in remaining if c not in onehot and c not in basket]

    stats_rows = _sample_rows(len(frame), cfg.stats_sample, rng)
    numeric = _drop_sparse(frame, numeric, cfg.min_nonzero_fraction, dropped)
    counts = _drop_sparse(frame, counts, 0.0, dropped)
    basket_block = _count_block(frame, counts, cfg, seed) if counts else None
    numeric_frame = frame[numeric]
    context = size_name = None
    if basket_block is not None and cfg.basket_size:
        size_name = free_name(BASKET_SIZE, frame.columns)
        numeric_frame = numeric_frame.assign(**{size_name: basket_size(frame, counts)})
        transforms[size_name] = f"items per customer over the {len(counts)} basket columns"
    if basket_block is not None:
        rows = stats_rows[:CONTEXT_ROWS]
        context = BasketContext(basket_block[0][rows], basket_size(frame.iloc[rows], counts))
    numeric = _select_numeric(numeric_frame.iloc[stats_rows], cfg, dropped, context)

    blocks: list[tuple[np.ndarray, list[str], float]] = []
    parts: list[np.ndarray] = []
    names: list[str] = []
    numeric_steps: list[NumericStep] = []
    categorical_steps: list[CategoricalStep] = []
    if numeric:
        block, numeric_steps = _numeric_block(numeric_frame[numeric], cfg, stats_rows, seed,
                                              transforms)
        parts.append(block)
        names += numeric
    for name, columns in groups.items():
        block, step = _categorical_block(frame[columns].to_numpy(np.float64), name, columns,
                                         cfg.categorical_weight)
        parts.append(block)
        categorical_steps.append(step)
        names += columns
        transforms[name] = f"one-hot ({len(columns)} levels), weighted as one column"
    if parts:
        blocks.append((np.hstack(parts), names, 1.0))
    if basket_block is not None:
        blocks.append((basket_block[0], basket_block[1], cfg.count_weight))
        transforms.update(dict.fromkeys(counts, "smoothed shares (Hellinger), SVD"))
    if not blocks:
        raise DataError("no feature column left after selection: check features.exclude, "
                        "features.count_columns and the dropped-column reasons in 01_exploration")

    scales = [_variance_scale(block) for block, _, _ in blocks]
    matrix = np.hstack([weight * block / scale
                        for (block, _, weight), scale in zip(blocks, scales, strict=True)])
    names = [name for _, block_names, _ in blocks for name in block_names]
    pca = None
    if cfg.pca_components is not None:
        matrix, names, pca = _pca(matrix, cfg.pca_components, seed)
    transform = FeatureTransform(
        names=names, numeric=numeric_steps, categorical=categorical_steps,
        basket=basket_block[2] if basket_block is not None else None,
        basket_size=size_name if size_name in numeric else None, seed=seed,
        block_scale=scales[0] if parts else 1.0,
        basket_scale=scales[-1] if basket_block is not None else 1.0,
        basket_weight=cfg.count_weight,
        pca_mean=pca.mean_.tolist() if pca is not None else None,
        pca_components=pca.components_.tolist() if pca is not None else None)
    return FeatureSet(matrix=matrix.astype(np.float32), names=names, dropped=dropped,
                      n_features_in=frame.shape[1], transforms=transforms, kinds=kinds,
                      transform=transform)


def free_name(name: str, taken: Sequence[str]) -> str:
    """``name``, with underscores appended until no column of the table has it."""
    while name in set(taken):
        name += "_"
    return name


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


def raw_pca_variance(frame: pd.DataFrame, sample: int, seed: int) -> pd.DataFrame:
    """:func:`pca_variance` of the standardised input columns, on a row sample (two copies of a
    table of millions of rows would dominate the run's memory; the profile needs far fewer)."""
    rows = frame.sample(min(len(frame), sample), random_state=seed) if len(frame) > sample else frame
    matrix = rows.to_numpy(dtype=np.float32)
    spread = matrix.std(axis=0)
    standardised = (matrix - matrix.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return pca_variance(standardised, max_components=min(50, standardised.shape[1]))


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


@dataclass(frozen=True)
class BasketContext:
    """What the isolation filter compares numeric columns with besides each other."""

    components: np.ndarray
    """The basket block's components on the first rows of the statistics sample."""
    size: np.ndarray
    """The same rows' basket sizes, partialled out: the smoothed shares of a small basket lean
    towards the population's, so anything that follows how much a customer buys would seem to
    follow what they buy."""


def _select_numeric(sample: pd.DataFrame, cfg: FeaturesConfig, dropped: dict[str, str],
                    context: BasketContext | None = None) -> list[str]:
    """Correlation filter in column order, then the isolation filter among the survivors.

    ``context`` (the basket block's components: what the customer buys) counts as "other
    columns" for the isolation filter, by partial Spearman correlation given the basket size: a
    numeric column related to the basket's composition is not isolated, one that only follows
    how much a customer buys (or nothing) is.
    """
    columns = list(sample.columns)
    if len(columns) < 2:
        return columns
    rows = min(len(sample), max(1_000, CORRELATION_CELLS // len(columns)))
    rho = spearman(sample.iloc[:rows])
    np.abs(rho, out=rho)
    np.nan_to_num(rho, copy=False, nan=0.0)
    is_kept = np.zeros(len(columns), dtype=bool)
    for j in range(len(columns)):
        twins = np.flatnonzero(is_kept & (rho[:, j] > cfg.correlation_threshold))
        if len(twins):
            first = twins[0]
            dropped[columns[j]] = f"correlated with {columns[first]} (rho {rho[first, j]:.2f})"
        else:
            is_kept[j] = True
    kept = [int(j) for j in np.flatnonzero(is_kept)]
    if cfg.derived_tolerance is not None:
        kept = _drop_derived(sample.to_numpy(np.float64), columns, kept, cfg.derived_tolerance,
                             dropped)
    if cfg.isolation_threshold is None or len(kept) < 2:
        return [columns[j] for j in kept]
    np.fill_diagonal(rho, 0.0)
    strongest = rho.max(axis=1)
    if context is not None:
        strongest = np.maximum(strongest, _strongest_with(sample.iloc[:len(context.size)], context))
    threshold = max(cfg.isolation_threshold, chance_correlation(len(columns), rows))
    isolated = [j for j in kept if strongest[j] < threshold]
    if len(isolated) == len(kept) and context is None:  # nothing relates to anything: keep all
        return [columns[j] for j in kept]
    for j in isolated:
        dropped[columns[j]] = f"isolated (max |rho| {strongest[j]:.2f} to any other column)"
    return [columns[j] for j in kept if columns[j] not in dropped]


def _strongest_with(sample: pd.DataFrame, context: BasketContext) -> np.ndarray:
    """Each sample column's largest |partial Spearman rho| with any basket component, given
    the basket size (ranks, with the size's rank regressed out of every column)."""
    together = np.column_stack([sample.to_numpy(np.float64), context.components, context.size])
    ranks = pd.DataFrame(together).rank(method="average").to_numpy(np.float64, copy=True)
    ranks -= ranks.mean(axis=0)
    control = ranks[:, -1]
    ranks = ranks[:, :-1] - np.outer(control, control @ ranks[:, :-1]) / max(control @ control, 1e-12)
    spread = np.linalg.norm(ranks, axis=0)
    ranks /= np.where(spread > 0, spread, 1.0)
    n_sample = sample.shape[1]
    rho = ranks[:, :n_sample].T @ ranks[:, n_sample:]
    return np.nan_to_num(np.abs(rho), nan=0.0).max(axis=1, initial=0.0)


def chance_correlation(n_columns: int, n_rows: int) -> float:
    """The largest |rho| chance alone gives a column among ``n_columns`` independent ones on
    ``n_rows`` rows (1.5 x sqrt(2 ln p / n), the extreme of p ~N(0, 1/n) draws, with margin):
    a column whose strongest correlation is below it relates to nothing, however wide the table
    (10,000 independent columns on 2,000 rows reach 0.1 by chance)."""
    return 1.5 * float(np.sqrt(2.0 * np.log(max(n_columns, 2)) / max(n_rows, 2)))


def spearman(sample: pd.DataFrame) -> np.ndarray:
    """Spearman's rho between every pair of columns (``p x p``, any ``p >= 1``), in float32:
    Pearson's correlation of the ranks."""
    ranks = sample.rank(method="average").to_numpy(np.float32, copy=True)
    ranks -= ranks.mean(axis=0)
    spread = np.linalg.norm(ranks, axis=0)
    ranks /= np.where(spread > 0, spread, 1.0)
    return ranks.T @ ranks


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
                   seed: int, transforms: dict[str, str]) -> tuple[np.ndarray, list[NumericStep]]:
    """De-quantise and log where each column's data calls for it, then standardise; the block
    and each column's fitted step. The de-quantisation noise is drawn from a hash of each row's
    values (:func:`seglab.feature_transform.dequantization_noise`): replayed for new customers.

    Columns on one shared scale (:func:`shared_scale_columns`) keep their relative spread: they
    are centred and divided by one pooled standard deviation, and neither de-quantised nor
    logged (their values are comparable as they are).
    """
    values = frame.to_numpy(np.float64, copy=True)
    shared = set(shared_scale_columns(frame.iloc[stats_rows])) if cfg.shared_scale else set()
    dequantized, folded, logged = set(), set(), set()
    hashes = row_hashes(values, seed) if cfg.dequantize else None
    for j, name in enumerate(frame.columns):
        if name in shared:
            continue
        column = values[:, j]
        done = []
        non_negative = column.min() >= 0
        if cfg.dequantize and np.all(column == np.round(column)):
            dequantized.add(name)
            column += dequantization_noise(hashes, j)
            if non_negative:
                folded.add(name)
                np.abs(column, out=column)
            done.append("de-quantised (integer values)")
        skew = skewness(column[stats_rows])
        if non_negative and skew > cfg.log_skew_threshold:
            logged.add(name)
            np.log1p(column, out=column)
            done.append(f"log1p (skewness {skew:.1f})")
        if done:
            transforms[name] = ", ".join([*filter(None, [transforms.get(name)]), *done])
    sample = values[stats_rows]
    if cfg.scaling == "robust":
        q25, center, q75 = np.percentile(sample, [25, 50, 75], axis=0)
        scale = q75 - q25
    else:
        center, scale = sample.mean(axis=0), sample.std(axis=0)
    fallback = sample.std(axis=0)
    scale = np.where(scale > 0, scale, np.where(fallback > 0, fallback, 1.0))
    columns = list(frame.columns)
    if shared:
        positions = [columns.index(name) for name in shared]
        center[positions] = sample[:, positions].mean(axis=0)
        scale[positions] = np.sqrt(np.mean(sample[:, positions].var(axis=0))) or 1.0
        transforms.update(dict.fromkeys(shared, f"one shared scale with {len(shared) - 1} other "
                                                "columns of the same integer range"))
    steps = [NumericStep(name, name in dequantized, name in folded, name in logged,
                         float(center[j]), float(scale[j])) for j, name in enumerate(columns)]
    return (values - center) / scale, steps


def shared_scale_columns(sample: pd.DataFrame) -> list[str]:
    """Numeric columns that measure one thing on one integer scale (pixels, Likert items).

    They are the non-negative integer-valued columns, when there are at least
    :data:`SHARED_SCALE_MIN_COLUMNS` of them, they make up most of the numeric columns and the
    largest column maximum is at most twice the median column maximum. Standardising such
    columns one by one would blow up the rarely-used ones (an edge pixel that is almost always
    0) and hide which columns carry the variation.
    """
    values = sample.to_numpy(np.float64)
    integer = (values.min(axis=0) >= 0) & np.all(values == np.round(values), axis=0)
    maxima = values.max(axis=0)[integer]
    if (integer.sum() < SHARED_SCALE_MIN_COLUMNS or integer.mean() < 0.8
            or maxima.max() > 2 * np.median(maxima)):
        return []
    return [name for name, flag in zip(sample.columns, integer, strict=True) if flag]


def _categorical_block(onehot: np.ndarray, name: str, indicators: list[str],
                       weight: float) -> tuple[np.ndarray, CategoricalStep]:
    """One categorical column's indicators, centred, with total variance ``weight**2``."""
    mean = onehot.mean(axis=0)
    centred = onehot - mean
    total = centred.var(axis=0).sum()
    factor = float(weight / np.sqrt(total)) if total > 0 else 1.0
    return centred * factor, CategoricalStep(name, list(indicators), mean.tolist(), factor)


def _count_block(frame: pd.DataFrame, columns: list[str], cfg: FeaturesConfig,
                 seed: int) -> tuple[np.ndarray, list[str], BasketStep]:
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
        step = BasketStep(list(columns), prior.tolist(), alpha, None, [], [])
        return hellinger(counts(slice(None))), [f"{columns[0]}_share"], step
    fit_rows = _sample_rows(n_rows, SVD_FIT_ROWS, np.random.default_rng(seed))
    svd = TruncatedSVD(n_components=n_components, random_state=seed)
    svd.fit(hellinger(counts(fit_rows)))
    components = np.vstack([svd.transform(hellinger(counts(slice(a, b))))
                            for a, b in progress(chunks, "count features", unit="chunk")])
    mean, spread = components.mean(axis=0), components.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    step = BasketStep(list(columns), prior.tolist(), alpha, svd.components_.tolist(),
                      mean.tolist(), spread.tolist())
    return (components - mean) / spread, [f"counts_svd_{i + 1}" for i in range(n_components)], step


def _variance_scale(block: np.ndarray) -> float:
    """The divisor that makes a block's column variances sum to 1 (each block weighs the same)."""
    total = float(block.var(axis=0).sum())
    return float(np.sqrt(total)) if total > 0 else 1.0


def _pca(matrix: np.ndarray, components: int | float,
         seed: int) -> tuple[np.ndarray, list[str], PCA]:
    n_components = min(components, *matrix.shape) if isinstance(components, int) else components
    model = PCA(n_components=n_components, random_state=seed)
    reduced = model.fit_transform(matrix)
    return reduced, [f"pca_{i + 1}" for i in range(reduced.shape[1])], model
