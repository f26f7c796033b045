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
import pyarrow as pa
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
from seglab.config import DataConfig
from seglab.data import prepare_table, read_table
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
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "not deterministic" warning to hide
        gpu.umap_fit(X, n_components=3, n_neighbors=8, min_dist=0.1, n_epochs=None, seed=1)
    (build,) = fake_gpu.calls("cuvs.all_neighbors.build")
    assert (build["algo"], build["k"], build["n_clusters"]) == ("nn_descent", 8, n_clusters)
    assert build["host_input"] == (n_clusters > 1)
    assert build["nn_descent"]["graph_degree"] >= 8
    assert build["nn_descent"]["dist_comp_dtype"] == "fp32"
    assert build["synced_by_caller"]
    (call,) = fake_gpu.calls("cuml.UMAP")
    # a precomputed graph with brute_force_knn: no build_kwds, no host copy of X by UMAP
    assert (call["build_algo"], call["build_kwds"], call["random_state"]) == (
        "brute_force_knn", None, 1)
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
    # half of the fake device's 8 GiB free once CuPy's pool released its 2 GiB, in 10^6 bytes
    assert call["max_mbytes_per_batch"] == 8 * 2**30 // 2 // 10**6 == 4294
    assert (call["eps"], call["min_samples"]) == (0.5, 6)
    assert _is_device(labels) and labels.dtype == np.int64 and core.dtype == bool
    cpu_labels, cpu_core = CpuBackend().dbscan(X, eps=0.5, min_samples=6)
    assert adjusted_rand_score(cpu_labels, gpu.to_numpy(labels)) == pytest.approx(1.0)
    assert (gpu.to_numpy(core) == cpu_core).mean() > 0.99


def test_dbscan_budget_can_be_set(fake_gpu: Any, blobs: tuple) -> None:
    from seglab.backend.gpu import GpuBackend

    GpuBackend("test", dbscan_mbytes=512).dbscan(blobs[0], eps=0.5, min_samples=6)
    assert fake_gpu.calls("cuml.DBSCAN")[-1]["max_mbytes_per_batch"] == 512


def test_dbscan_budget_below_what_cuml_needs_is_refused(fake_gpu: Any) -> None:
    from seglab.backend.gpu import GpuBackend, dbscan_min_bytes

    rows = 10_000_000
    assert dbscan_min_bytes(rows) == 9 * rows + rows + 8 * (rows + 2)  # fixed + one batch row
    with pytest.raises(SeglabError, match="dbscan_mbytes=100 is below the 181 MB") as error:
        GpuBackend("test", dbscan_mbytes=100)._dbscan_budget(rows)
    assert "\n" not in str(error.value)
    assert GpuBackend("test", dbscan_mbytes=181)._dbscan_budget(rows) == 181
    # the fake cuML sizes its batches as cuML does: 181 MB leaves one batch row at 10M rows
    from cuml.cluster import batch_size

    assert batch_size((rows, 3), 181, 8) == 1
    with pytest.raises(SeglabError, match="only 8589 MB are free"):
        GpuBackend("test")._dbscan_budget(500_000_000)


def test_hdbscan_uses_nn_descent_only_on_large_input(gpu: Any, fake_gpu: Any, blobs: tuple,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    X, y = blobs
    labels = gpu.hdbscan(X, min_cluster_size=20, min_samples=10)
    assert labels.dtype == np.int64 and adjusted_rand_score(y, gpu.to_numpy(labels)) > 0.9
    monkeypatch.setattr(sys.modules["seglab.backend.gpu"], "EXACT_KNN_ROWS", 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cuML would warn and correct a degree below 101
        gpu.hdbscan(X, min_cluster_size=20, min_samples=100)
    small, large = fake_gpu.calls("cuml.HDBSCAN")
    assert small["build_algo"] == "brute_force"
    assert large["build_algo"] == "nn_descent"
    assert large["build_kwds"]["knn_n_clusters"] == 1
    assert large["build_kwds"]["nnd_graph_degree"] >= large["min_samples"] + 1


def test_hdbscan_counts_min_samples_as_the_cpu_does(gpu: Any, fake_gpu: Any) -> None:
    X, _ = make_blobs(n_samples=400, centers=[[0, 0], [3, 0], [0, 3]], cluster_std=[0.3, 0.8, 1.3],
                      random_state=2)
    X = X.astype(np.float32)
    for min_samples in (2, 5, 15):
        labels = gpu.to_numpy(gpu.hdbscan(X, min_cluster_size=10, min_samples=min_samples))
        cpu = CpuBackend().hdbscan(X, min_cluster_size=10, min_samples=min_samples)
        np.testing.assert_array_equal(labels, cpu)
        assert fake_gpu.calls("cuml.HDBSCAN")[-1]["min_samples"] == min_samples - 1


def test_hdbscan_min_samples_is_capped_at_cumls_limit(gpu: Any, fake_gpu: Any) -> None:
    X, _ = make_blobs(n_samples=1100, centers=2, n_features=2, random_state=0)
    with pytest.warns(UserWarning, match="min_samples=2000 is above cuML's limit; using 1024"):
        labels = gpu.hdbscan(X.astype(np.float32), min_cluster_size=50, min_samples=2000)
    assert fake_gpu.calls("cuml.HDBSCAN")[0]["min_samples"] == 1023
    assert labels.shape == (1100,)


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


def _awkward_table() -> pd.DataFrame:
    """What makes cuDF and the CPU reader disagree: ISO dates, an all-empty column, integers
    beyond int64, a category, booleans and missing values."""
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "signup": pd.to_datetime(["2024-01-02 10:00", "2024-02-03 11:30", None,
                                  "2025-12-31 23:59"]),
        "empty": [None, None, None, None],
        "loyalty_id": np.array([2**63 + 5, 1, 2, 2**64 - 1], dtype=np.uint64),
        "region": pd.Categorical(["north", "south", "north", "east"]),
        "member": [True, False, True, None],
        "orders": pd.array([1, None, 3, 4], dtype="Int64"),
        "spend": [1.5, np.nan, 2.0, 7.25],
    })


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_read_table_gives_the_cpu_readers_table_and_features(gpu: Any, fake_gpu: Any,
                                                             tmp_path: Path,
                                                             suffix: str) -> None:
    frame = _awkward_table()
    path = tmp_path / f"customers{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    cpu, on_gpu = read_table(str(path)), gpu.read_table(str(path))
    assert type(on_gpu) is pd.DataFrame
    # category order may differ (cuDF decodes dictionaries to values); the values may not
    pd.testing.assert_frame_equal(on_gpu, cpu, check_categorical=False)
    cfg = DataConfig(id_column="customer_id")
    cpu_table = prepare_table(cpu, cfg, source=str(path))
    gpu_table = prepare_table(on_gpu, cfg, source=str(path))
    pd.testing.assert_frame_equal(gpu_table.features, cpu_table.features)
    assert gpu_table.fingerprint == cpu_table.fingerprint
    assert not any(name.startswith("signup") for name in gpu_table.features.columns)
    if suffix == ".csv":
        assert fake_gpu.calls("cudf.read_csv") == [], "cuDF would type this CSV differently"
    else:
        (call,) = fake_gpu.calls("cudf.read_parquet")
        assert (call["path"], call["ignore_missing_columns"]) == (str(path), False)
    only = gpu.read_table(str(path), columns=["spend"])
    assert list(only.columns) == ["spend"]


def test_fake_cudf_types_csv_as_cudf_does(fake_gpu: Any, tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    _awkward_table().assign(mixed=["-1", "2", str(2**63 + 1), "3"]).to_csv(path, index=False)
    cudf = importlib.import_module("cudf")
    types = cudf.read_csv(str(path)).dtypes.astype(str).to_dict()
    assert types["empty"] == "Int8" and types["loyalty_id"] == "UInt64"
    assert types["member"] == "boolean" and types["orders"] == "Int64"
    assert not types["signup"].startswith("datetime")  # text unless named in parse_dates
    assert not types["mixed"].startswith(("Int", "UInt", "float"))
    signup = cudf.read_csv(str(path), parse_dates=["signup"])["signup"]
    assert str(signup.dtype) == "datetime64[ns]"
    with pytest.raises(TypeError, match="engine"):
        cudf.read_csv(str(path), engine="pyarrow")


def test_fake_cudf_parquet_keywords_and_missing_columns(fake_gpu: Any, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _awkward_table().to_parquet(path)
    cudf = importlib.import_module("cudf")
    assert list(cudf.read_parquet(str(path), columns=["spend", "nope"]).columns) == ["spend"]
    with pytest.raises(ValueError, match="nope"):
        cudf.read_parquet(str(path), columns=["spend", "nope"], ignore_missing_columns=False)
    with pytest.raises(ValueError, match="usecols"):
        cudf.read_parquet(str(path), usecols=["spend"])
    decoded = cudf.read_parquet(str(path)).to_arrow()
    assert not pa.types.is_dictionary(decoded.schema.field("region").type)
    assert str(decoded.schema.field("empty").type) == "int8"


def test_read_table_refuses_missing_parquet_columns_as_the_cpu_does(gpu: Any,
                                                                   tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    _awkward_table().to_parquet(path)
    with pytest.raises(DataError) as cpu_error:
        read_table(str(path), columns=["spend", "nope"])
    with pytest.raises(DataError) as gpu_error, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gpu.read_table(str(path), columns=["spend", "nope"])
    assert str(gpu_error.value) == str(cpu_error.value)


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


# -- the fakes reject what RAPIDS rejects -----------------------------------------------------


def test_nn_descent_graph_is_computed_in_fp32_above_16_dimensions(
        gpu: Any, fake_gpu: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["seglab.backend.gpu"], "EXACT_KNN_ROWS", 100)
    X, _ = make_blobs(n_samples=300, centers=3, n_features=20, cluster_std=5e4,
                      center_box=(-1e5, 1e5), random_state=0)
    X = X.astype(np.float32)
    gpu.umap_fit(X, n_components=2, n_neighbors=5, min_dist=0.1, n_epochs=None, seed=0)
    _, distances = fake_gpu.calls("cuml.UMAP")[0]["precomputed_knn"]
    exact, _ = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(X)
    np.testing.assert_allclose(np.asarray(distances), exact, rtol=1e-3, atol=1e-2)


def test_fake_nn_descent_rejects_what_cuvs_rejects(fake_gpu: Any) -> None:
    from cuvs.common import Resources
    from cuvs.neighbors import all_neighbors, nn_descent

    with pytest.raises(TypeError):
        nn_descent.IndexParams(n_neighbors=5)
    with pytest.raises(ValueError, match="Invalid dist_comp_dtype"):
        nn_descent.IndexParams(dist_comp_dtype="fp64")
    with pytest.raises(KeyError):
        nn_descent.IndexParams(metric="manhattan-ish")
    with pytest.raises(TypeError, match="nn_descent_params must be"):
        all_neighbors.AllNeighborsParams(nn_descent_params={"graph_degree": 64})
    with pytest.raises(ValueError, match="Metric conflict"):
        all_neighbors.AllNeighborsParams(
            metric="sqeuclidean", nn_descent_params=nn_descent.IndexParams(metric="cosine"))
    cp = importlib.import_module("cupy")
    X = cp.asarray(np.random.default_rng(0).normal(size=(50, 3)).astype(np.float32))
    out = cp.empty((50, 4), dtype=np.int64), cp.empty((50, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="Put data on host"):
        all_neighbors.build(X, 4, all_neighbors.AllNeighborsParams(n_clusters=3), indices=out[0])
    with pytest.raises(ValueError, match="indices"):
        all_neighbors.build(X, 4, all_neighbors.AllNeighborsParams(),
                            indices=cp.empty((50, 4), dtype=np.int32))
    # results land in the buffers when the caller's stream is synchronised, not before
    out[0][...] = -1
    resources = Resources()
    all_neighbors.build(X, 4, all_neighbors.AllNeighborsParams(), indices=out[0],
                        distances=out[1], resources=resources)
    assert (np.asarray(out[0]) == -1).all()
    resources.sync()
    assert np.asarray(out[0])[:, 0].tolist() == list(range(50)), "self in column 0"
    assert (np.asarray(out[1])[:, 0] == 0).all()


def test_fake_nn_descent_overflows_in_fp16_above_16_dimensions(fake_gpu: Any) -> None:
    from cuvs.neighbors.all_neighbors import _graph

    X = np.random.default_rng(0).uniform(0, 2e5, size=(40, 17)).astype(np.float32)
    _, half = _graph(X, 3, fp16=True)
    _, single = _graph(X, 3, fp16=False)
    assert not np.isfinite(half[:, 1:]).any() and np.isfinite(single).all()


def test_fake_umap_rejects_what_cuml_rejects(fake_gpu: Any, blobs: tuple) -> None:
    from cuml.manifold import UMAP

    cp = importlib.import_module("cupy")
    X = cp.asarray(blobs[0])
    rows = np.arange(600)
    no_self = (cp.asarray(np.stack([rows[::-1], rows], axis=1)),
               cp.asarray(np.ones((600, 2), dtype=np.float32)))
    with pytest.raises(ValueError, match="self references"):
        UMAP(n_neighbors=2, precomputed_knn=no_self).fit_transform(X)
    narrow = (cp.asarray(rows[:, None]), cp.asarray(np.zeros((600, 1), dtype=np.float32)))
    with pytest.raises(ValueError, match="1 neighbors per sample"):
        UMAP(n_neighbors=2, precomputed_knn=narrow).fit_transform(X)
    with pytest.raises(ValueError, match="unknown build_kwds"):
        UMAP(build_kwds={"nnd_n_clusters": 4})
    with pytest.raises(ValueError, match="knn_overlap_factor"):
        UMAP(build_kwds={"knn_n_clusters": 2}).fit_transform(X)
    with pytest.raises(ValueError, match="build_algo"):
        UMAP(build_algo="nndescent").fit_transform(X)
    with pytest.raises(TypeError):
        UMAP(knn_graph=narrow)
    fake_gpu.reset()
    with pytest.warns(UserWarning, match="not deterministic"):
        UMAP(build_algo="nn_descent", random_state=0).fit_transform(X)
    assert fake_gpu.HOST_TRANSFERS == [(600, 3)], "nn_descent copies X to the host"


def test_fake_hdbscan_rejects_what_cuml_rejects(fake_gpu: Any, blobs: tuple) -> None:
    from cuml.cluster.hdbscan import HDBSCAN

    X = importlib.import_module("cupy").asarray(blobs[0])
    for min_samples in (0, 1024):
        with pytest.raises(ValueError, match="1 <= min_samples <= 1023"):
            HDBSCAN(min_samples=min_samples).fit_predict(X)
    with pytest.raises(ValueError, match="1 <= min_samples <= 1023"):
        HDBSCAN(min_cluster_size=2000).fit_predict(X)  # min_samples defaults to it
    with pytest.raises(TypeError):
        HDBSCAN(n_neighbors=5)
    with pytest.raises(ValueError, match="unknown build_kwds"):
        HDBSCAN(build_algo="nn_descent", build_kwds={"graph_degree": 64})
    with pytest.raises(ValueError, match="build_algo"):
        HDBSCAN(build_algo="nndescent").fit_predict(X)
    with pytest.raises(ValueError, match="strictly smaller"):
        HDBSCAN(build_algo="nn_descent", build_kwds={"knn_n_clusters": 2}).fit_predict(X)
    with pytest.warns(UserWarning, match="min_samples \\+ 1"):
        HDBSCAN(min_samples=64, build_algo="nn_descent").fit_predict(X)


def test_fake_dbscan_sizes_batches_as_cuml_does(fake_gpu: Any) -> None:
    from cuml.cluster import DBSCAN, batch_size

    rows = 10_000_000
    assert batch_size((rows, 3), 9_000, 8) == (9_000 * 10**6 - 9 * rows) // (9 * rows + 16)
    with pytest.raises(MemoryError, match="adjacency batch"):
        batch_size((rows, 3), 89, 8)  # below the fixed 9 bytes per row: size_t wraps
    with pytest.raises(ZeroDivisionError):
        batch_size((rows, 3), 180, 8)  # above it, but no room for one batch row
    X = importlib.import_module("cupy").asarray(np.zeros((10, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="out_dtype"):
        DBSCAN().fit(X, out_dtype="int16")
    with pytest.raises(ValueError, match="algorithm"):
        DBSCAN(algorithm="kd_tree").fit(X)


def test_density_tree_on_the_gpu_refits_cumls_dbscan_and_hdbscan(gpu: Any, fake_gpu: Any,
                                                                 blobs: tuple) -> None:
    """No reusable tree in cuML: each candidate of the model selection is its own cuML fit."""
    X, y = blobs
    tree = gpu.density_tree(X, min_samples=10)
    assert tree.core_distances.shape == (len(X),) and np.all(np.diff(np.sort(tree.core_distances)) >= 0)
    assert adjusted_rand_score(y, tree.dbscan(1.0)) > 0.9
    assert adjusted_rand_score(y, tree.hdbscan(20, "leaf")) > 0.5
    assert fake_gpu.calls("cuml.DBSCAN")[-1]["min_samples"] == 10
    assert fake_gpu.calls("cuml.HDBSCAN")[-1]["cluster_selection_method"] == "leaf"
