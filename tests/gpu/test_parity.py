"""GPU backend versus CPU backend on a 200k-row synthetic table (``pytest -m gpu tests/gpu``).

Exact stages (kNN, DBSCAN on the same points, scores on the same labels) must agree closely;
UMAP differs between cuML and umap-learn, so the end-to-end check compares the segments both
pipelines find (ARI) and holds the GPU embedding to a trustworthiness floor.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.backend.cpu import CpuBackend
from seglab.eps import k_distances, knee

pytestmark = pytest.mark.gpu

ROWS = 200_000
MIN_SAMPLES = 10
SCORE_SAMPLE = 5_000


@pytest.fixture(scope="module")
def backends() -> tuple[object, CpuBackend]:
    from seglab.backend.gpu import GpuBackend

    return GpuBackend(reason="parity test"), CpuBackend(reason="parity test")


@pytest.fixture(scope="module")
def table() -> tuple[np.ndarray, np.ndarray]:
    """200k customers in 12 dimensions: 8 segments of different spread, plus 3 % noise."""
    X, y = make_blobs(n_samples=ROWS, n_features=12, centers=8, center_box=(-30, 30),
                      cluster_std=np.linspace(0.8, 2.0, 8), random_state=0)
    rng = np.random.default_rng(0)
    noisy = rng.choice(ROWS, size=ROWS * 3 // 100, replace=False)
    X[noisy] = rng.uniform(-35, 35, size=(len(noisy), 12))
    y[noisy] = -1
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def low_dim(table: tuple) -> np.ndarray:
    """The table's first 5 dimensions: a stand-in for a 5-D embedding, the same on both."""
    return np.ascontiguousarray(table[0][:, :5])


def _eps(points: np.ndarray, backend: object) -> float:
    curve, _, at = knee(np.sort(k_distances(points, MIN_SAMPLES, backend)), 1000, 0.0)
    return float(curve[at])


def test_k_distances_agree(backends: tuple, low_dim: np.ndarray) -> None:
    gpu, cpu = backends
    np.testing.assert_allclose(k_distances(low_dim, MIN_SAMPLES, gpu),
                               k_distances(low_dim, MIN_SAMPLES, cpu), rtol=1e-4, atol=1e-5)


def test_dbscan_labels_agree(backends: tuple, low_dim: np.ndarray) -> None:
    gpu, cpu = backends
    eps = _eps(low_dim, cpu)
    gpu_labels, gpu_core = (gpu.to_numpy(a) for a in gpu.dbscan(low_dim, eps=eps,
                                                                min_samples=MIN_SAMPLES))
    cpu_labels, cpu_core = cpu.dbscan(low_dim, eps=eps, min_samples=MIN_SAMPLES)
    assert gpu_labels.dtype == np.int64
    assert adjusted_rand_score(cpu_labels, gpu_labels) >= 0.95
    assert (gpu_core == cpu_core).mean() >= 0.999
    assert abs((gpu_labels == -1).mean() - (cpu_labels == -1).mean()) <= 0.005


def test_scores_agree_on_the_same_labels(backends: tuple, table: tuple) -> None:
    gpu, cpu = backends
    X, y = table
    rows = np.random.default_rng(1).choice(np.flatnonzero(y >= 0), SCORE_SAMPLE, replace=False)
    points, labels = X[rows], y[rows]
    gpu_sil = float(gpu.to_numpy(gpu.silhouette_samples(points, labels)).mean())
    assert gpu_sil == pytest.approx(float(cpu.silhouette_samples(points, labels).mean()),
                                    abs=1e-3)
    for index in ("davies_bouldin", "calinski_harabasz"):
        assert getattr(gpu, index)(X[y >= 0], y[y >= 0]) == pytest.approx(
            getattr(cpu, index)(X[y >= 0], y[y >= 0]), rel=1e-3), index
    embedded = points[:, :3]
    assert gpu.trustworthiness(points, embedded, n_neighbors=15) == pytest.approx(
        cpu.trustworthiness(points, embedded, n_neighbors=15), abs=1e-3)


def _pipeline(backend: object, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UMAP to 5-D, knee eps, DBSCAN: ``(labels, embedding)`` on the host."""
    embedding, _ = backend.umap_fit(X, n_components=5, n_neighbors=30, min_dist=0.0,
                                    n_epochs=None, seed=0)
    embedding = backend.to_numpy(embedding)
    labels, _ = backend.dbscan(embedding, eps=_eps(embedding, backend), min_samples=MIN_SAMPLES)
    return backend.to_numpy(labels), embedding


@pytest.mark.slow
def test_pipeline_finds_the_same_segments(backends: tuple, table: tuple) -> None:
    """200k rows take the nn-descent path of the GPU UMAP; umap-learn takes minutes."""
    gpu, cpu = backends
    X, y = table
    gpu_labels, gpu_embedding = _pipeline(gpu, X)
    cpu_labels, _ = _pipeline(cpu, X)
    clean = y >= 0
    assert adjusted_rand_score(cpu_labels[clean], gpu_labels[clean]) >= 0.95
    assert adjusted_rand_score(y[clean], gpu_labels[clean]) >= 0.9
    rows = np.random.default_rng(2).choice(ROWS, SCORE_SAMPLE, replace=False)
    assert gpu.trustworthiness(X[rows], gpu_embedding[rows], n_neighbors=15) >= 0.9
