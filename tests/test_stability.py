"""Stability by subsampling: known answers on hand-made blobs, density-matched parameters."""

from __future__ import annotations

import numpy as np
import pytest

from seglab import stability
from seglab.backend import get_backend
from seglab.cluster import cluster


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three tight, far-apart blobs of 400 points and their DBSCAN labels."""
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.normal(centre, 0.3, (400, 2)) for centre in ((0, 0), (8, 0), (0, 8))])
    labels = cluster(points, "dbscan", get_backend("cpu"), eps=0.3, min_samples=10).labels
    assert len(set(labels.tolist()) - {-1}) == 3
    return points, labels


def _recluster(points: np.ndarray, algorithm: str, settings: dict, size: int):
    def run(rows: np.ndarray, draw: int) -> np.ndarray:
        adapted = stability.subsample_settings(algorithm, settings, size / len(points),
                                               points.shape[1], draw)
        return cluster(points[rows], algorithm, get_backend("cpu"), **adapted).labels
    return run


def test_well_separated_blobs_are_stable(blobs) -> None:
    points, labels = blobs
    size = stability.draw_size(len(points), 600)
    result = stability.subsample_ari(labels, _recluster(points, "dbscan", {"eps": 0.3,
                                     "min_samples": 10}, size), draws=4, sample_size=600, seed=0)
    assert result.sample_size == 600 and len(result.scores) == 4
    assert result.low <= result.mean <= result.high
    assert result.mean >= 0.9


def test_random_labels_are_unstable(blobs) -> None:
    points, _ = blobs
    shuffled = np.random.default_rng(0).integers(0, 3, len(points))
    result = stability.subsample_ari(shuffled, _recluster(points, "kmeans", {"n_clusters": 3}, 600),
                                     draws=3, sample_size=600, seed=0)
    assert abs(result.mean) < 0.1


def test_draws_are_capped_below_the_whole_table() -> None:
    assert stability.draw_size(1_000, 20_000) == 800
    assert stability.draw_size(1_000_000, 20_000) == 20_000
    with pytest.raises(ValueError, match="draws"):
        stability.subsample_ari(np.zeros(10), lambda rows, draw: rows, draws=0, sample_size=5,
                                seed=0)


@pytest.mark.parametrize(("fraction", "dims"), [(0.5, 2), (0.02, 3), (0.8, 5)])
def test_density_matched_keeps_the_core_threshold(fraction: float, dims: int) -> None:
    eps, min_samples = 0.4, 15
    sub_eps, sub_min = stability.density_matched(eps, min_samples, fraction, dims)
    assert sub_min >= 2
    # neighbours needed per unit volume: (min_samples - 1) / eps**dims, times the kept fraction
    assert (sub_min - 1) / sub_eps**dims == pytest.approx(fraction * (min_samples - 1) / eps**dims)


def test_subsample_settings_per_algorithm() -> None:
    base = {"eps": 0.4, "min_samples": 11, "min_cluster_size": 100, "n_clusters": 4, "seed": 3}
    assert stability.subsample_settings("dbscan", base, 0.5, 2, 0)["min_samples"] == 6
    assert stability.subsample_settings("hdbscan", base, 0.5, 2, 0)["min_cluster_size"] == 50
    seeds = {stability.subsample_settings("kmeans", base, 0.5, 2, draw)["seed"] for draw in range(3)}
    assert len(seeds) == 3
