"""DBSCAN's ``eps`` from the knee of the sorted k-distance curve, with a stability band.

See ``docs/choosing_eps_and_min_samples.md`` for the method and the measurements behind the
defaults.

Knee: the k-distances (distance of every point to its k-th nearest neighbour, itself
included, so ``k = min_samples``) are sorted and summarised by ``eps.quantiles`` quantiles;
the top ``eps.trim`` fraction (outliers) is left out; both axes are normalised to [0, 1] and
the knee is the quantile farthest below the chord from the first to the last point (the core of
Kneedle). On a million points this costs one sort. A large ``k`` (tables far above
``reduce.fit_sample``, see :func:`default_min_samples`) is estimated on a random subsample:
the ``k``-distance among ``n`` points is the ``k * m / n``-distance among ``m`` of them, so
the curve comes from ``m`` rows at ``k = CURVE_MAX_K`` (docs/performance.md).

Band: DBSCAN is run at the curve's eps values within ``eps.band_tolerance`` (in curve position)
on each side of the knee; ``(eps_low, eps_high)`` is the contiguous range around the knee where
the number of clusters stays the knee's. A narrow band says the clustering is fragile. The band
is searched on the curve's rows (the subsample, at its ``k``, when there is one): up to nine
DBSCAN runs on ``m`` rows instead of on all of them (1M rows: 37,500 rows at ``k`` 30 instead
of 1M at 800).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seglab.backend import Backend
from seglab.config import EpsConfig, ReduceConfig
from seglab.errors import SeglabError

MIN_SAMPLES_PER_NEIGHBOR = 2 / 3
"""Default ``min_samples`` as a fraction of ``reduce.n_neighbors`` (measured; see the docs)."""
BAND_STEPS = 4
"""DBSCAN runs on each side of the knee when searching the band."""
CURVE_MAX_K = 30
"""Above this ``k`` the k-distance curve is computed on a subsample at this ``k``."""


@dataclass(frozen=True)
class EpsChoice:
    """The chosen eps, its stability band and the curve it came from (for the plot)."""

    eps: float
    eps_low: float
    eps_high: float
    k: int
    curve: np.ndarray
    """``eps.quantiles`` quantiles of the sorted k-distances (trimmed top left out)."""
    positions: np.ndarray
    """Their positions in [0, 1] (fraction of points)."""
    knee_position: float
    """Position of the knee in [0, 1]."""


def default_min_samples(reduce_cfg: ReduceConfig, n_rows: int) -> int:
    """``min_samples`` tied to the embedding: two thirds of UMAP's ``n_neighbors``.

    A UMAP embedding's local density reflects its kNN graph of ``n_neighbors`` points, so
    ``min_samples`` scales with it; the textbook ``2 * dim`` over-fragments such embeddings
    (digits: 38 clusters, ARI 0.62). Measured on digits (n_neighbors 30, 5-D, seeds 0-2, see
    ``docs/choosing_eps_and_min_samples.md``): ARI 0.885-0.890 at 20, 0.867-0.884 at 25 and
    0.834-0.888 at 30 (two digits merge). Capped at a tenth of the rows so that tiny tables
    still form clusters.

    Above ``reduce.fit_sample`` rows UMAP is fitted on ``fit_sample`` rows and the others are
    placed among them: the embedding holds ``n_rows / fit_sample`` times as many points in the
    same shapes, so ``min_samples`` grows by that factor and asks for the density it asks of
    the fitted rows. Without it DBSCAN splits the denser embedding into many small clusters
    (1M synthetic customers: 52 clusters, ARI 0.55, against 12 and 0.74 at 200k).

    Args:
        reduce_cfg: the ``reduce`` config section.
        n_rows: rows that will be clustered.

    Returns:
        ``min_samples`` (counting the point itself), at least 2.
    """
    base = max(2, min(round(reduce_cfg.n_neighbors * MIN_SAMPLES_PER_NEIGHBOR), n_rows // 10))
    if reduce_cfg.method == "umap" and n_rows > reduce_cfg.fit_sample:
        return round(base * n_rows / reduce_cfg.fit_sample)
    return base


def k_distances(X: np.ndarray, k: int, backend: Backend) -> np.ndarray:
    """Distance of every point to its k-th nearest neighbour, the point itself included.

    Args:
        X: points ``(n, d)``.
        k: ``min_samples`` (the point itself counts as the first neighbour).
        backend: the compute backend (exact kNN).

    Returns:
        float64 ``(n,)`` in the order of ``X``.
    """
    _check_k(k, len(X))
    distances, _ = backend.kneighbors(backend.asarray(X), k)
    return backend.to_numpy(distances)[:, k - 1].astype(np.float64)


def _check_k(k: int, n_rows: int) -> None:
    if not 1 <= k <= n_rows:
        raise SeglabError(f"min_samples {k} must be between 1 and the number of rows ({n_rows}): "
                          "set cluster.min_samples lower")


def knee(sorted_distances: np.ndarray, quantiles: int, trim: float) -> tuple[np.ndarray,
                                                                              np.ndarray, int]:
    """Summarise a sorted curve by quantiles and find its knee.

    Args:
        sorted_distances: ascending k-distances.
        quantiles: number of quantiles kept.
        trim: top fraction left out.

    Returns:
        ``(curve, positions, index of the knee in curve)``.
    """
    positions = np.linspace(0.0, 1.0 - trim, quantiles)
    curve = np.quantile(sorted_distances, positions)
    span = curve[-1] - curve[0]
    if span <= 0:
        return curve, positions, len(curve) // 2
    x = (positions - positions[0]) / (positions[-1] - positions[0])
    y = (curve - curve[0]) / span
    return curve, positions, int(np.argmax(x - y))


def curve_sample(X: np.ndarray, k: int) -> tuple[np.ndarray, int]:
    """The rows the curve and its band are computed on, and their ``k``: every row at ``k``,
    or for ``k > CURVE_MAX_K`` a seeded subsample of ``m = n * CURVE_MAX_K / k`` rows at
    ``k * m / n`` (the same density: DBSCAN at an eps on those rows with that ``k`` asks what
    DBSCAN at that eps asks of every row with ``k``)."""
    if k <= CURVE_MAX_K:
        return X, k
    size = max(CURVE_MAX_K + 1, round(len(X) * CURVE_MAX_K / k))
    rows = np.sort(np.random.default_rng(0).choice(len(X), size=size, replace=False))
    return X[rows], max(2, round(k * size / len(X)))


def choose_eps(X: np.ndarray, k: int, cfg: EpsConfig, backend: Backend) -> EpsChoice:
    """Knee of the k-distance curve of ``X`` and the band where DBSCAN's cluster count holds.

    Args:
        X: the points DBSCAN will cluster (eps depends on n: use the same rows).
        k: ``min_samples``.
        cfg: the ``eps`` config section.
        backend: the compute backend.

    Returns:
        The eps choice.

    Raises:
        SeglabError: when every k-distance is 0 (duplicate rows).
    """
    _check_k(k, len(X))
    points, points_k = curve_sample(X, k)
    sorted_distances = np.sort(k_distances(points, points_k, backend))
    curve, positions, at = knee(sorted_distances, cfg.quantiles, cfg.trim)
    eps = float(curve[at])
    if eps <= 0:
        positive = sorted_distances[sorted_distances > 0]
        if not len(positive):
            raise SeglabError(f"every point has {k} exact duplicates: de-duplicate the rows or "
                              "raise cluster.min_samples")
        eps = float(positive[0])
    knee_position = float(positions[at])
    low, high = _band(points, points_k, eps, knee_position, sorted_distances,
                      cfg.band_tolerance, backend)
    return EpsChoice(eps=eps, eps_low=low, eps_high=high, k=k, curve=curve, positions=positions,
                     knee_position=knee_position)


def _band(X: np.ndarray, k: int, eps: float, position: float, sorted_distances: np.ndarray,
          tolerance: float, backend: Backend) -> tuple[float, float]:
    """Walk out from the knee while DBSCAN's cluster count stays the knee's."""
    points = backend.asarray(X)

    def n_clusters(radius: float) -> int:
        labels = backend.to_numpy(backend.dbscan(points, eps=radius, min_samples=k)[0])
        return len(np.unique(labels[labels >= 0]))

    target = n_clusters(eps)
    bounds = []
    for direction in (-1, 1):
        edge = eps
        for step in range(1, BAND_STEPS + 1):
            where = float(np.clip(position + direction * tolerance * step / BAND_STEPS, 0, 1))
            radius = float(np.quantile(sorted_distances, where))
            if radius <= 0 or n_clusters(radius) != target:
                break
            edge = radius
        bounds.append(edge)
    return bounds[0], bounds[1]
