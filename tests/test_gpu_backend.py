"""The GPU backend against fake cupy/cuml/cudf/cuvs packages (tests/fake_gpu): dispatch,
the arguments that matter at scale, and conversions, with results checked against the CPU."""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_samples,
)
from sklearn.neighbors import NearestNeighbors

from seglab.backend import get_backend, resolve
from seglab.backend.cpu import CpuBackend
from seglab.data import read_table
from seglab.errors import DataError, SeglabError

FAKE_GPU = Path(__file__).parent / "fake_gpu"
FAKE_PACKAGES = ("cupy", "cuml", "cudf", "cuvs", "fakegpu_log", "seglab.backend.gpu")


def _forget_fake_modules() -> None:
    for name in list(sys.modules):
        if name.startswith(FAKE_PACKAGES):
            del sys.modules[name]


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake RAPIDS packages importable, fresh; yields their call log."""
    _forget_fake_modules()
    monkeypatch.syspath_prepend(str(FAKE_GPU))
    monkeypatch.delenv("FAKE_GPU_COUNT", raising=False)
    log = importlib.import_module("fakegpu_log")
    yield log
    _forget_fake_modules()


@pytest.fixture
def gpu(fake_gpu: Any) -> Any:
    """A GpuBackend on the fake device, with an empty call log."""
    from seglab.backend.gpu import GpuBackend

    backend = GpuBackend(reason="test")
    fake_gpu.reset()
    return backend


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """600 points in 3-D, four well-separated blobs (float32)."""
    X, y = make_blobs(n_samples=600, centers=4, n_features=3, cluster_std=0.4, random_state=3)
    return X.astype(np.float32), y


def _is_device(x: Any) -> bool:
    return isinstance(x, sys.modules["cupy"].ndarray)


# -- resolution -------------------------------------------------------------------------


def test_auto_picks_gpu_when_cuml_and_a_device_are_usable(fake_gpu: Any) -> None:
    resolution = resolve("auto")
    assert resolution.name == "gpu"
    assert "Fake GPU" in resolution.reason
    backend = get_backend("gpu")
    assert (backend.name, backend.device) == ("gpu", "Fake GPU (16 GiB)")
    assert "cuml" not in sys.modules, "resolving must not import cuML"


def test_auto_falls_back_to_cpu_without_a_device(fake_gpu: Any,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_GPU_COUNT", "0")
    resolution = resolve("auto")
    assert resolution.name == "cpu"
    assert resolution.reason.startswith("no usable CUDA device (cudaErrorNoDevice")
    with pytest.raises(SeglabError, match="--backend cpu") as error:
        resolve("gpu")
    assert "\n" not in str(error.value)


def test_auto_without_cuml_records_why() -> None:
    resolution = resolve("auto")
    assert (resolution.name, resolution.reason) == ("cpu", "cuML is not installed")


# -- UMAP ---------------------------------------------------------------------------------


def test_umap_small_input_builds_its_exact_knn_seeded(gpu: Any, fake_gpu: Any,
                                                      blobs: tuple) -> None:
    X, _ = blobs
    embedding, model = gpu.umap_fit(X, n_components=2, n_neighbors=10, min_dist=0.0,
                                    n_epochs=50, seed=7)
    (call,) = fake_gpu.calls("cuml.UMAP")
    assert call["build_algo"] == "brute_force_knn"
    assert call["precomputed_knn"] is None
    assert (call["random_state"], call["n_neighbors"], call["output_type"]) == (7, 10, "cupy")
    assert _is_device(embedding) and embedding.shape == (600, 2)
    placed = gpu.umap_transform(model, X[:5].astype(np.float64))
    assert _is_device(placed) and placed.shape == (5, 2)
    assert fake_gpu.HOST_TRANSFERS == [], "data must stay on the device"


@pytest.mark.parametrize(("batch_rows", "n_clusters"), [(10_000, 1), (200, 6)])
def test_umap_large_input_gets_a_precomputed_nn_descent_graph(
        gpu: Any, fake_gpu: Any, blobs: tuple, monkeypatch: pytest.MonkeyPatch,
        batch_rows: int, n_clusters: int) -> None:
    monkeypatch.setattr(sys.modules["seglab.backend.gpu"], "EXACT_KNN_ROWS", 100)
    gpu.knn_batch_rows = batch_rows
    X, _ = blobs
    gpu.umap_fit(X, n_components=3, n_neighbors=8, min_dist=0.1, n_epochs=None, seed=1)
    (build,) = fake_gpu.calls("cuvs.all_neighbors.build")
    assert (build["algo"], build["k"], build["n_clusters"]) == ("nn_descent", 8, n_clusters)
    assert build["host_input"] == (n_clusters > 1)
    assert build["nn_descent"]["graph_degree"] >= 8
    (call,) = fake_gpu.calls("cuml.UMAP")
    assert (call["build_algo"], call["random_state"]) == ("nn_descent", 1)
    assert call["build_kwds"]["knn_n_clusters"] == n_clusters
    assert ("knn_overlap_factor" in call["build_kwds"]) == (n_clusters > 1)
    indices, distances = call["precomputed_knn"]
    assert indices.dtype == np.int64 and _is_device(indices)
    exact, _ = NearestNeighbors(n_neighbors=8).fit(X).kneighbors(X)
    np.testing.assert_allclose(np.asarray(distances), exact, rtol=1e-4, atol=1e-5)
    assert len(fake_gpu.HOST_TRANSFERS) == (1 if n_clusters > 1 else 0)


# -- neighbours and clustering --------------------------------------------------------------


def test_kneighbors_matches_exact_neighbours(gpu: Any, fake_gpu: Any, blobs: tuple) -> None:
    X, _ = blobs
    distances, indices = gpu.kneighbors(X, 6)
    expected, _ = NearestNeighbors(n_neighbors=6).fit(X).kneighbors(X)
    assert _is_device(distances) and indices.dtype == np.int64
    np.testing.assert_allclose(gpu.to_numpy(distances), expected, rtol=1e-5, atol=1e-6)
    _, on_query = gpu.kneighbors(X, 1, query=X[:4])
    assert gpu.to_numpy(on_query).ravel().tolist() == [0, 1, 2, 3]
    assert fake_gpu.calls("cuml.NearestNeighbors")[0]["output_type"] == "cupy"


def test_dbscan_runs_rbc_on_float32_with_int64_labels_under_a_budget(
        gpu: Any, fake_gpu: Any, blobs: tuple) -> None:
    X, _ = blobs
    labels, core = gpu.dbscan(X.astype(np.float64), eps=0.5, min_samples=6)
    (call,) = fake_gpu.calls("cuml.DBSCAN")
    assert (call["algorithm"], call["out_dtype"]) == ("rbc", "int64")
    assert call["max_mbytes_per_batch"] == 4096  # half of the fake device's 8 GiB free
    assert (call["eps"], call["min_samples"]) == (0.5, 6)
    assert _is_device(labels) and labels.dtype == np.int64 and core.dtype == bool
    cpu_labels, cpu_core = CpuBackend().dbscan(X, eps=0.5, min_samples=6)
    assert adjusted_rand_score(cpu_labels, gpu.to_numpy(labels)) == pytest.approx(1.0)
    assert (gpu.to_numpy(core) == cpu_core).mean() > 0.99


def test_dbscan_budget_can_be_set(fake_gpu: Any, blobs: tuple) -> None:
    from seglab.backend.gpu import GpuBackend

    GpuBackend("test", dbscan_mbytes=512).dbscan(blobs[0], eps=0.5, min_samples=6)
    assert fake_gpu.calls("cuml.DBSCAN")[-1]["max_mbytes_per_batch"] == 512


def test_hdbscan_uses_nn_descent_only_on_large_input(gpu: Any, fake_gpu: Any, blobs: tuple,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = blobs
    labels = gpu.hdbscan(X, min_cluster_size=20, min_samples=10)
    assert labels.dtype == np.int64 and adjusted_rand_score(y, gpu.to_numpy(labels)) > 0.9
    monkeypatch.setattr(sys.modules["seglab.backend.gpu"], "EXACT_KNN_ROWS", 100)
    gpu.hdbscan(X, min_cluster_size=20, min_samples=10)
    small, large = fake_gpu.calls("cuml.HDBSCAN")
    assert small["build_algo"] == "brute_force"
    assert large["build_algo"] == "nn_descent"
    assert large["build_kwds"]["knn_n_clusters"] == 1


def test_kmeans_and_gaussian_mixture_labels(gpu: Any, fake_gpu: Any, blobs: tuple) -> None:
    X, y = blobs
    kmeans = gpu.kmeans(X, n_clusters=4, seed=0)
    assert fake_gpu.calls("cuml.KMeans")[0]["random_state"] == 0
    gmm = gpu.gaussian_mixture(gpu.asarray(X), n_components=4, seed=0)
    for labels in (kmeans, gmm):
        assert _is_device(labels) and labels.dtype == np.int64
        assert adjusted_rand_score(y, gpu.to_numpy(labels)) > 0.95
    assert fake_gpu.HOST_TRANSFERS[0] == X.shape, "the mixture is fitted on the host"


# -- scores ---------------------------------------------------------------------------------


def test_silhouette_is_tiled_and_matches_scikit_learn(gpu: Any, fake_gpu: Any,
                                                      blobs: tuple) -> None:
    X, y = blobs
    values = gpu.silhouette_samples(X, y)
    assert fake_gpu.calls("cuml.metrics.cluster.silhouette_samples")[0]["chunksize"] == 40_000
    np.testing.assert_allclose(gpu.to_numpy(values), silhouette_samples(X, y), rtol=1e-5)


def test_trustworthiness_goes_through_cuml(gpu: Any, fake_gpu: Any, blobs: tuple) -> None:
    X, _ = blobs
    value = gpu.trustworthiness(X, X[:, :2], n_neighbors=5)
    assert fake_gpu.calls("cuml.metrics.trustworthiness")[0]["n_neighbors"] == 5
    assert value == pytest.approx(CpuBackend().trustworthiness(X, X[:, :2], n_neighbors=5))


@pytest.mark.parametrize("std", [0.4, 3.0])
def test_davies_bouldin_and_calinski_harabasz_match_scikit_learn(gpu: Any, std: float) -> None:
    X, y = make_blobs(n_samples=500, centers=5, n_features=4, cluster_std=std, random_state=1)
    labels = y * 3 - 1  # non-contiguous labels, one of them -1
    assert gpu.davies_bouldin(X, labels) == pytest.approx(davies_bouldin_score(X, labels),
                                                          rel=1e-4)
    assert gpu.calinski_harabasz(X, labels) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-4)


def test_index_edge_cases_follow_scikit_learn(fake_gpu: Any) -> None:
    from seglab.backend.gpu import calinski_harabasz, davies_bouldin

    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    assert calinski_harabasz(np, X, labels) == calinski_harabasz_score(X, labels) == 1.0
    assert davies_bouldin(np, X, labels) == davies_bouldin_score(X, labels) == 0.0
    with pytest.raises(ValueError, match="Number of labels is 1"):
        davies_bouldin(np, X, np.zeros(4, dtype=int))


# -- data movement and loading ------------------------------------------------------------


def test_conversions_between_host_and_device(gpu: Any, fake_gpu: Any) -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    on_device = gpu.asarray(frame)
    assert _is_device(on_device) and on_device.dtype == np.float32
    cudf_frame = importlib.import_module("cudf").DataFrame(frame)
    assert gpu.asarray(cudf_frame).tolist() == on_device.tolist()
    assert gpu.asarray(on_device) is on_device, "device float32 data is not copied"
    back = gpu.to_numpy(on_device)
    assert type(back) is np.ndarray and fake_gpu.HOST_TRANSFERS == [(2, 2)]
    assert type(gpu.to_numpy([1, 2])) is np.ndarray


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_table_decodes_with_cudf(gpu: Any, fake_gpu: Any, tmp_path: Path,
                                      suffix: str) -> None:
    frame = pd.DataFrame({"customer_id": ["a", "b"], "spend": [1.0, 2.5]})
    path = tmp_path / f"customers{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    table = gpu.read_table(str(path))
    assert type(table) is pd.DataFrame
    pd.testing.assert_frame_equal(table, frame)
    assert fake_gpu.calls(f"cudf.read_{suffix[1:]}")[0]["path"] == str(path)
    only = gpu.read_table(str(path), columns=["spend"])
    assert list(only.columns) == ["spend"]


@pytest.mark.parametrize("name", ["customers.xlsx", "missing.csv", "broken.parquet"])
def test_read_table_errors_are_the_cpu_readers(gpu: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name.startswith("broken"):
        path.write_text("not parquet")
    with pytest.raises(DataError) as cpu_error:
        read_table(str(path))
    with pytest.raises(DataError) as gpu_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpu.read_table(str(path))
    assert str(gpu_error.value) == str(cpu_error.value)
