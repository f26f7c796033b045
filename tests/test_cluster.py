"""One clustering interface: DBSCAN on hand-made blobs, baselines, relabelling, warnings."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab.backend.cpu import CpuBackend
from seglab.cluster import Clustering, cluster, density_warnings, relabel_by_size
from seglab.errors import SeglabError


@pytest.fixture(scope="module")
def backend() -> CpuBackend:
    return CpuBackend()


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """A big and a small blob 20 apart (sd 0.5) plus 5 isolated points far from both."""
    rng = np.random.default_rng(0)
    big = rng.normal([0.0, 0.0], 0.5, size=(600, 2))
    small = rng.normal([20.0, 0.0], 0.5, size=(300, 2))
    isolated = np.array([[10.0, 10.0], [-10.0, 10.0], [10.0, -10.0], [30.0, 10.0], [0.0, 20.0]])
    truth = np.repeat([0, 1, -1], [600, 300, 5])
    return np.vstack([big, small, isolated]), truth


def test_dbscan_finds_both_blobs_and_the_isolated_points(backend, blobs) -> None:
    points, truth = blobs
    result = cluster(points, "dbscan", backend, eps=0.6, min_samples=10)
    assert result.labels.dtype == np.int64
    assert np.array_equal(result.labels[-5:], [-1] * 5)
    assert adjusted_rand_score(truth[:-5], result.labels[:-5]) > 0.95
    assert np.bincount(result.labels[result.labels >= 0]).argmax() == 0  # largest is 0
    assert result.core_mask is not None and result.core_mask.mean() > 0.8
    assert result.params == {"eps": 0.6, "min_samples": 10} and result.seconds >= 0
    assert density_warnings(result) == []


@pytest.mark.parametrize("algorithm", ["kmeans", "gmm"])
def test_partitioning_baselines(backend, blobs, algorithm) -> None:
    points, truth = blobs
    result = cluster(points[:-5], algorithm, backend, n_clusters=2, seed=0)
    assert adjusted_rand_score(truth[:-5], result.labels) == 1.0
    assert result.core_mask is None and result.params["n_clusters"] == 2


def test_hdbscan_defaults(backend, blobs) -> None:
    points, truth = blobs
    result = cluster(points, "hdbscan", backend)
    assert result.params == {"min_cluster_size": 10, "min_samples": 10}
    assert adjusted_rand_score(truth, result.labels) > 0.9


def test_missing_or_unknown_parameters_are_clear(backend, blobs) -> None:
    points, _ = blobs
    with pytest.raises(SeglabError, match="dbscan needs eps"):
        cluster(points, "dbscan", backend, min_samples=5)
    with pytest.raises(SeglabError, match="kmeans needs n_clusters"):
        cluster(points, "kmeans", backend)
    with pytest.raises(SeglabError, match="not one of"):
        cluster(points, "optics", backend)


def test_relabel_by_size() -> None:
    labels = np.array([5, 5, -1, 2, 2, 2, 9])
    assert relabel_by_size(labels).tolist() == [1, 1, -1, 0, 0, 0, 2]
    assert relabel_by_size(np.array([-1, -1])).tolist() == [-1, -1]


def _clustering(labels: list[int], core: float | None) -> Clustering:
    array = np.array(labels)
    mask = None if core is None else np.arange(len(array)) < core * len(array)
    return Clustering("dbscan", array, mask, {}, 0.0)


def test_density_warnings() -> None:
    assert "every point is noise" in density_warnings(_clustering([-1] * 10, 0.0))[0]
    few_core = density_warnings(_clustering([0] * 50 + [1] * 50, 0.01))
    assert any("almost no point is core" in w for w in few_core)
    all_core = density_warnings(_clustering([0] * 95 + [1] * 5, 1.0))
    assert any("almost every point is core" in w for w in all_core)
    assert any("one cluster holds 95%" in w for w in all_core)
    noisy = density_warnings(_clustering([-1] * 60 + [0] * 20 + [1] * 20, 0.3))
    assert noisy == ["60% of the points are noise: raise eps or lower min_samples"]
    assert density_warnings(_clustering([0] * 50 + [1] * 50, None)) == []
