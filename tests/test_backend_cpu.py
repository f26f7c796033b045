"""The CPU backend: parity of the `dbscan` package with scikit-learn, shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN
from sklearn.datasets import make_blobs, make_moons
from sklearn.metrics import adjusted_rand_score

from seglab.backend import cpu
from seglab.backend.cpu import CpuBackend


@pytest.fixture(scope="module")
def backend() -> CpuBackend:
    return CpuBackend()


def _with_noise(points: np.ndarray, n_noise: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    low, high = points.min(axis=0), points.max(axis=0)
    return np.vstack([points, rng.uniform(low, high, size=(n_noise, points.shape[1]))])


def _blobs() -> tuple[np.ndarray, float, int]:
    points, _ = make_blobs(3000, centers=5, n_features=3, cluster_std=0.6, random_state=0)
    return _with_noise(points, 150, 0), 0.5, 6


def _moons() -> tuple[np.ndarray, float, int]:
    points, _ = make_moons(3000, noise=0.06, random_state=1)
    return _with_noise(points, 100, 1), 0.08, 8


def _anisotropic() -> tuple[np.ndarray, float, int]:
    points, _ = make_blobs(3000, centers=3, n_features=2, random_state=170)
    stretched = points @ np.array([[0.6, -0.64], [-0.41, 0.85]])
    return _with_noise(stretched, 100, 2), 0.3, 10


def _five_dimensional() -> tuple[np.ndarray, float, int]:
    """5-D like the default embedding, eps near the knee (at eps 1.2, 30 % noise, the package
    misses core points whose k-distance is within 5 % below eps: ARI 0.97)."""
    points, _ = make_blobs(4000, centers=8, n_features=5, cluster_std=1.0, random_state=3)
    return _with_noise(points, 200, 3), 1.6, 10


@pytest.mark.parametrize("shape", [_blobs, _moons, _anisotropic, _five_dimensional])
def test_dbscan_package_matches_scikit_learn(backend: CpuBackend, shape) -> None:
    points, eps, min_samples = shape()
    labels, core = backend.dbscan(points, eps=eps, min_samples=min_samples)
    reference = DBSCAN(eps=eps, min_samples=min_samples).fit(points)
    assert labels.dtype == np.int64 and core.dtype == bool
    assert len(set(labels.tolist()) - {-1}) >= 2
    assert adjusted_rand_score(reference.labels_, labels) >= 0.99
    reference_core = np.zeros(len(points), dtype=bool)
    reference_core[reference.core_sample_indices_] = True
    assert np.mean(core == reference_core) >= 0.99


def test_dbscan_falls_back_to_scikit_learn_outside_2_to_20_dims(backend: CpuBackend) -> None:
    points, truth = make_blobs(600, centers=3, n_features=25, cluster_std=0.5, random_state=0)
    labels, core = backend.dbscan(points, eps=4.0, min_samples=5)
    reference = DBSCAN(eps=4.0, min_samples=5).fit(points)
    assert np.array_equal(labels, reference.labels_)
    assert adjusted_rand_score(truth, labels) == pytest.approx(1.0)
    assert core.sum() == len(reference.core_sample_indices_)


def test_kneighbors_includes_self_and_is_sorted(backend: CpuBackend) -> None:
    points = np.random.default_rng(0).normal(size=(500, 3))
    distances, indices = backend.kneighbors(points, 4)
    assert distances.shape == indices.shape == (500, 4)
    assert np.array_equal(indices[:, 0], np.arange(500))
    assert np.all(np.diff(distances, axis=1) >= 0)
    query_distances, _ = backend.kneighbors(points, 2, query=points[:10] + 100)
    assert query_distances.shape == (10, 2) and np.all(query_distances > 50)


def test_baselines_recover_separated_blobs(backend: CpuBackend) -> None:
    points, truth = make_blobs(900, centers=3, n_features=2, cluster_std=0.4, random_state=4)
    assert adjusted_rand_score(truth, backend.kmeans(points, n_clusters=3, seed=0)) == 1.0
    mixture = backend.gaussian_mixture(points, n_components=3, seed=0)
    assert adjusted_rand_score(truth, mixture) == 1.0
    hdbscan = backend.hdbscan(points, min_cluster_size=50, min_samples=10)
    assert adjusted_rand_score(truth[hdbscan >= 0], hdbscan[hdbscan >= 0]) == 1.0


def test_scores_and_device(backend: CpuBackend) -> None:
    points, truth = make_blobs(400, centers=[[0.0, 0.0], [5.0, 5.0]], cluster_std=0.3,
                               random_state=5)
    assert backend.silhouette_samples(points, truth).mean() > 0.8
    assert backend.davies_bouldin(points, truth) < 0.3
    assert backend.calinski_harabasz(points, truth) > 1000
    assert backend.trustworthiness(points, points, n_neighbors=5) == pytest.approx(1.0)
    assert backend.device.startswith("CPU (") and backend.name == "cpu"
    assert backend.asarray([[1, 2]]).dtype == np.float32


@pytest.mark.slow
def test_umap_on_an_exact_knn_graph_still_transforms() -> None:
    """Above 4,096 rows in <= 20 dims the graph is the KD-tree's; transform builds an index."""
    points, _ = make_blobs(5000, centers=4, n_features=6, random_state=0)
    backend = CpuBackend()
    coords, model = backend.umap_fit(points, n_components=2, n_neighbors=10, min_dist=0.0,
                                     n_epochs=30, seed=0)
    assert model.precomputed_knn[0] is not None
    assert np.array_equal(model.precomputed_knn[0][:, 0], np.arange(5000))  # self first
    placed = backend.umap_transform(model, points[:300])
    assert placed.shape == (300, 2) and placed.dtype == np.float32
    offset = np.median(np.linalg.norm(placed - coords[:300], axis=1))
    assert offset < 0.2 * np.linalg.norm(coords.std(axis=0))


@pytest.mark.slow
def test_large_queries_use_an_approximate_index_with_high_recall(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    fitted = rng.normal(size=(4000, 12)).astype(np.float32)
    query = rng.normal(size=(2000, 12)).astype(np.float32)
    backend = CpuBackend()
    exact_distances, exact = backend.kneighbors(fitted, 10, query=query)
    monkeypatch.setattr(cpu, "APPROXIMATE_QUERY_ROWS", 1000)
    distances, approximate = backend.kneighbors(fitted, 10, query=query)
    index = backend._query_index
    backend.kneighbors(fitted, 10, query=query)
    assert backend._query_index is index  # built once per fitted array
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approximate, exact, strict=True)])
    assert recall >= 0.9
    assert np.all(np.diff(distances, axis=1) >= -1e-6)
    assert np.all(distances[:, 0] >= exact_distances[:, 0] - 1e-5)
    few = backend.kneighbors(fitted, 10, query=query[:10])[1]
    assert np.array_equal(few, exact[:10])  # small queries stay exact
