"""How stable the segments are: re-cluster random subsamples, compare with the run's labels.

Each draw takes ``sample_size`` rows without replacement (at most :data:`MAX_FRACTION` of the
table, so that draws differ), re-runs the run's clustering on them and scores the agreement with
the run's labels on the same rows by the adjusted Rand index (noise counts as one more label).
Rows are drawn without replacement because duplicated points (a classic bootstrap) would inflate
DBSCAN's neighbour counts; the thinner density of a subsample is compensated instead
(:meth:`seglab.density_settings.DensitySettings.for_subsample`). Hennig (2007), "Cluster-wise
assessment of cluster stability", compares bootstrap and subsetting schemes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from seglab.backend import Backend
from seglab.cluster import cluster
from seglab.density_settings import DensitySettings

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


def refit_ari(coords: np.ndarray, labels: np.ndarray, algorithm: str, settings: DensitySettings,
              backend: Backend, *, draws: int, sample_size: int, seed: int) -> Stability:
    """:func:`subsample_ari` of a clustering of ``coords``: each draw re-runs ``algorithm`` with
    ``settings`` adapted to the draw's share of the rows (:meth:`DensitySettings.for_subsample`).
    """
    size = draw_size(len(coords), sample_size)

    def recluster(rows: np.ndarray, draw: int) -> np.ndarray:
        adapted = settings.for_subsample(size / len(coords), coords.shape[1], draw)
        return cluster(coords[rows], algorithm, backend, **adapted.algorithm_settings()).labels

    return subsample_ari(labels, recluster, draws=draws, sample_size=size, seed=seed)
