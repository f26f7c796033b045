"""Stability by subsampling: known answers on hand-made blobs, density-matched parameters."""

from __future__ import annotations

import numpy as np
import pytest

from seglab import stability
from seglab.backend import get_backend
from seglab.cluster import cluster
from seglab.density_settings import DensitySettings, density_matched


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """Three tight, far-apart blobs of 400 points and their DBSCAN labels."""
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.normal(centre, 0.3, (400, 2)) for centre in ((0, 0), (8, 0), (0, 8))])
    labels = cluster(points, "dbscan", get_backend("cpu"), eps=0.3, min_samples=10).labels
    assert len(set(labels.tolist()) - {-1}) == 3
    return points, labels


def _settings(**values) -> DensitySettings:
    return DensitySettings(**{"eps": None, "min_samples": 10, "min_cluster_size": 50,
                              "n_clusters": None, "seed": 0, **values})


def test_well_separated_blobs_are_stable(blobs) -> None:
    points, labels = blobs
    result = stability.refit_ari(points, labels, "dbscan", _settings(eps=0.3), get_backend("cpu"),
                                 draws=4, sample_size=600, seed=0)
    assert result.sample_size == 600 and len(result.scores) == 4
    assert result.low <= result.mean <= result.high
    assert result.mean >= 0.9


def test_random_labels_are_unstable(blobs) -> None:
    points, _ = blobs
    shuffled = np.random.default_rng(0).integers(0, 3, len(points))
    result = stability.refit_ari(points, shuffled, "kmeans", _settings(n_clusters=3),
                                 get_backend("cpu"), draws=3, sample_size=600, seed=0)
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
    sub_eps, sub_min = density_matched(eps, min_samples, fraction, dims)
    assert sub_min >= 2
    # neighbours needed per unit volume: (min_samples - 1) / eps**dims, times the kept fraction
    assert (sub_min - 1) / sub_eps**dims == pytest.approx(fraction * (min_samples - 1) / eps**dims)


def test_one_rule_for_every_subsample() -> None:
    """Baselines and stability draws adapt the same way: density-matched eps and min_samples
    (HDBSCAN's too), a proportional min_cluster_size, a new seed per stability draw."""
    base = _settings(eps=0.4, min_samples=11, min_cluster_size=100, n_clusters=4, seed=3)
    half = base.for_subsample(0.5, 2)
    assert (half.min_samples, half.min_cluster_size, half.seed) == (6, 50, 3)
    assert (half.eps, half.min_samples) == density_matched(0.4, 11, 0.5, 2)
    assert base.for_subsample(0.02, 2).min_samples == 2  # not the full table's 11
    assert _settings(eps=None).for_subsample(0.5, 2).eps is None
    assert len({base.for_subsample(0.5, 2, draw).seed for draw in range(3)}) == 3
