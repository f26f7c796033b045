"""How stable the segments are: re-cluster random subsamples, compare with the run's labels.

Each draw takes ``sample_size`` rows without replacement (at most :data:`MAX_FRACTION` of the
table, so that draws differ), re-runs the run's clustering on them and scores the agreement with
the run's labels on the same rows by the adjusted Rand index (noise counts as one more label).
Rows are drawn without replacement because duplicated points (a classic bootstrap) would inflate
DBSCAN's neighbour counts; the thinner density of a subsample is compensated instead by
:func:`subsample_settings`. Hennig (2007), "Cluster-wise assessment of cluster stability",
compares bootstrap and subsetting schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

MAX_FRACTION = 0.8
"""A draw holds at most this share of the rows."""

Recluster = Callable[[np.ndarray, int], np.ndarray]
"""``recluster(rows, draw)``: labels of the subsample ``rows`` (draw index for seeding)."""


@dataclass(frozen=True)
class Stability:
    """Agreement (ARI) between the run's labels and re-clustered subsamples."""

    mean: float
    low: float
    high: float
    scores: tuple[float, ...]
    """One ARI per draw."""
    sample_size: int
    """Rows per draw."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``stability.json``."""
        return {**asdict(self), "scores": list(self.scores), "draws": len(self.scores)}


def draw_size(n_rows: int, sample_size: int) -> int:
    """Rows per draw: ``sample_size``, capped at :data:`MAX_FRACTION` of ``n_rows``."""
    return max(2, min(sample_size, int(MAX_FRACTION * n_rows)))


def subsample_ari(labels: np.ndarray, recluster: Recluster, *, draws: int, sample_size: int,
                  seed: int) -> Stability:
    """Re-cluster ``draws`` random subsamples and compare each with ``labels`` on its rows.

    Args:
        labels: the run's labels ``(n,)``, -1 = noise.
        recluster: clusters the rows it is given (see :data:`Recluster`).
        draws: number of subsamples (at least 1).
        sample_size: rows per subsample, capped by :func:`draw_size`.
        seed: seeds the row draws.

    Returns:
        Mean, lowest and highest ARI over the draws, and each draw's score.
    """
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    size = draw_size(len(labels), sample_size)
    rng = np.random.default_rng(seed)
    scores = []
    for draw in range(draws):
        rows = np.sort(rng.choice(len(labels), size=size, replace=False))
        scores.append(float(adjusted_rand_score(labels[rows], recluster(rows, draw))))
    return Stability(float(np.mean(scores)), min(scores), max(scores), tuple(scores), size)


def density_matched(eps: float, min_samples: int, fraction: float, dims: int) -> tuple[float, int]:
    """DBSCAN ``(eps, min_samples)`` with the same density threshold on ``fraction`` of the rows.

    A point is core when ``min_samples - 1`` other points lie within ``eps``. A subsample keeps
    ``fraction`` of those neighbours, so ``min_samples - 1`` scales by ``fraction``; where the
    rounded count (at least 1 neighbour) differs from the exact one, the radius absorbs the
    difference, assuming locally uniform density in ``dims`` dimensions.

    Args:
        eps: the run's radius.
        min_samples: the run's density, counting the point itself.
        fraction: share of the rows kept, in ``(0, 1]``.
        dims: dimensions of the clustered space.

    Returns:
        The subsample's ``(eps, min_samples)``.
    """
    neighbours = (min_samples - 1) * fraction
    kept = max(1, round(neighbours))
    return eps * (kept / neighbours) ** (1.0 / dims), kept + 1


def subsample_settings(algorithm: str, settings: dict[str, Any], fraction: float, dims: int,
                       draw: int) -> dict[str, Any]:
    """The run's clustering settings adapted to a subsample holding ``fraction`` of the rows.

    DBSCAN gets density-matched ``eps``/``min_samples``; HDBSCAN a proportionally smaller
    ``min_cluster_size``; KMeans and the mixture a new seed per draw.
    """
    adapted = {**settings, "seed": settings.get("seed", 0) + draw + 1}
    if algorithm == "dbscan":
        adapted["eps"], adapted["min_samples"] = density_matched(
            settings["eps"], settings["min_samples"], fraction, dims
        )
    elif algorithm == "hdbscan" and settings.get("min_cluster_size"):
        adapted["min_cluster_size"] = max(2, round(settings["min_cluster_size"] * fraction))
    return adapted
