"""The GPU backend: cuML, cuVS and CuPy on one CUDA device (imported only here, lazily).

Arrays stay on the device (CuPy) from :meth:`GpuBackend.asarray` through UMAP, the k-distance
curve, DBSCAN and the scores; :meth:`GpuBackend.to_numpy` is the one way back to the host, for
plots and files. The knobs that matter at millions of rows are set explicitly here rather
than left to cuML's defaults (see ``docs/gpu_sagemaker.md``, which also names the upstream
sources and commits each call was checked against):

* tables are decoded so that both backends prepare the same features: CSV by the CPU reader,
  Parquet by cuDF with its types put back to the file's Arrow schema;
* UMAP above :data:`EXACT_KNN_ROWS` rows gets a precomputed kNN graph from cuVS nn-descent
  (distances in fp32), built in overlapping batches (``n_clusters``/``overlap_factor``), so a
  seeded UMAP never falls back to cuML's O(n²) brute-force kNN;
* DBSCAN runs the random-ball-cover algorithm (``algorithm="rbc"``), which needs float32
  input and int64 labels, under a memory budget (``max_mbytes_per_batch``, in 10⁶ bytes);
* HDBSCAN's ``min_samples`` is translated to cuML's count and capped at its limit,
  :data:`HDBSCAN_MAX_MIN_SAMPLES`;
* silhouette is tiled (``chunksize``); Davies-Bouldin and Calinski-Harabasz, which cuML lacks,
  are computed with CuPy (:mod:`seglab.backend.cluster_indices`); the Gaussian mixture runs
  on the host with scikit-learn.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import cupy as cp
import numpy as np

from seglab.backend import GMM_REG_COVAR
from seglab.backend.cluster_indices import calinski_harabasz, davies_bouldin
from seglab.backend.density import RefitTree, Selection
from seglab.errors import SeglabError

EXACT_KNN_ROWS = 50_000
"""At or below this many rows UMAP builds its kNN graph exactly (cuML's own threshold)."""
KNN_BATCH_ROWS = 2_000_000
"""Rows of the input on the device at once while nn-descent builds a batched kNN graph."""
KNN_OVERLAP = 2
"""Batches each row joins in a batched nn-descent build (recall across batch borders)."""
DBSCAN_MEMORY_FRACTION = 0.5
"""Share of the free device memory DBSCAN may use per batch when no budget is given."""
MB = 10**6
"""cuML's unit for ``max_mbytes_per_batch`` (``cpp/src/dbscan/dbscan.cuh``: ``* 1000000``)."""
HDBSCAN_MAX_MIN_SAMPLES = 1023
"""cuML HDBSCAN refuses ``min_samples`` outside 1..1023 (``cluster/hdbscan/hdbscan.pyx``)."""
SILHOUETTE_CHUNK = 40_000
"""Rows per silhouette tile (cuML's default, sized for a 16 GB V100/T4)."""


class GpuBackend:
    """cuML/CuPy implementation of :class:`seglab.backend.Backend`.

    Args:
        reason: why this backend was chosen (recorded in the run manifest).
        dbscan_mbytes: DBSCAN batch budget in MB (10⁶ bytes, cuML's unit); ``None`` uses
            :data:`DBSCAN_MEMORY_FRACTION` of the free device memory at call time. It must
            cover :func:`dbscan_min_bytes` for the rows clustered.
        knn_batch_rows: rows per nn-descent batch; lower it when UMAP runs out of memory.
        silhouette_chunk: rows per silhouette tile; lower it on small GPUs.
    """

    name = "gpu"

    def __init__(self, reason: str, *, dbscan_mbytes: int | None = None,
                 knn_batch_rows: int = KNN_BATCH_ROWS,
                 silhouette_chunk: int = SILHOUETTE_CHUNK) -> None:
        self.reason = reason
        self.dbscan_mbytes = dbscan_mbytes
        self.knn_batch_rows = knn_batch_rows
        self.silhouette_chunk = silhouette_chunk
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.runtime.getDevice())
        name = props["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        self.device = f"{name} ({props['totalGlobalMem'] / 2**30:.0f} GiB)"

    # -- data movement -------------------------------------------------------------------

    def asarray(self, x: Any) -> Any:
        """Move host data (NumPy, pandas) or a cuDF frame to the device as float32."""
        if isinstance(x, cp.ndarray):
            return x.astype(cp.float32, copy=False)
        if hasattr(x, "to_cupy"):
            return x.to_cupy(dtype="float32")
        return cp.asarray(np.asarray(x, dtype=np.float32))

    def to_numpy(self, x: Any) -> np.ndarray:
        """Move device data to the host (no copy for data already there)."""
        if isinstance(x, cp.ndarray):
            return cp.asnumpy(x)
        return np.asarray(x)

    def read_table(self, path: str, columns: list[str] | None = None) -> Any:
        """:func:`seglab.tables.read_table`, with Parquet decoded on the GPU (cuDF).

        Returns the pandas frame the CPU reader returns for the same file, so that both
        backends prepare the same features and the same data fingerprint. CSV goes to the CPU
        reader: cuDF infers other types (ISO dates stay text and would become categorical
        features; all-empty columns become int8 and huge integers uint64 or text). Parquet is
        decoded by cuDF, missing columns are an error as on the CPU, and cuDF's types are put
        back to the file's Arrow schema (:func:`_parquet_by_cudf`). Whatever cuDF cannot read
        goes to the CPU reader, so the user sees its :class:`~seglab.errors.DataError`
        messages, or gets the table all the same.
        """
        from seglab import tables

        if not path.lower().endswith(tables.PARQUET_SUFFIXES):
            return tables.read_table(path, columns)
        try:
            return _parquet_by_cudf(path, columns)
        except Exception as exc:  # cuDF raises many types; the CPU reader explains or reads
            warnings.warn(f"cuDF could not read {path} ({type(exc).__name__}); reading it on "
                          "the CPU", stacklevel=2)
            return tables.read_table(path, columns)

    # -- embedding -----------------------------------------------------------------------

    def umap_fit(self, X: Any, *, n_components: int, n_neighbors: int, min_dist: float,
                 n_epochs: int | None, seed: int) -> tuple[Any, Any]:
        """Fit cuML UMAP; return ``(embedding, model)``.

        Up to :data:`EXACT_KNN_ROWS` rows UMAP builds an exact kNN graph itself. Above, the
        graph comes from :meth:`_nn_descent_graph` and is passed as ``precomputed_knn``: with a
        seed, cuML would otherwise build it by brute force, O(n²). The seed then makes the
        layout reproducible given the graph (nn-descent itself may vary in a few neighbours).
        With a precomputed graph ``build_algo`` must stay ``brute_force_knn``: ``nn_descent``
        would only copy X to the host and warn (cuML ``manifold/umap/umap.pyx``, ``fit``).
        """
        from cuml.manifold import UMAP

        X = self.asarray(X)
        params: dict[str, Any] = {
            "n_components": n_components, "n_neighbors": n_neighbors, "min_dist": min_dist,
            "n_epochs": n_epochs, "random_state": seed, "output_type": "cupy",
        }
        if X.shape[0] <= EXACT_KNN_ROWS:
            model = UMAP(build_algo="brute_force_knn", **params)
            return model.fit_transform(X), model
        graph = self._nn_descent_graph(X, n_neighbors, self._knn_clusters(X.shape[0]))
        model = UMAP(build_algo="brute_force_knn", precomputed_knn=graph, **params)
        return model.fit_transform(X), model

    def umap_transform(self, model: Any, X: Any) -> Any:
        """Place new rows into a fitted cuML UMAP embedding."""
        return model.transform(self.asarray(X))

    def _knn_clusters(self, n_rows: int) -> int:
        """Batches for the nn-descent build: 1 when the input fits, else enough for
        about ``knn_batch_rows`` rows per batch (always more than :data:`KNN_OVERLAP`)."""
        if n_rows <= self.knn_batch_rows:
            return 1
        return max(KNN_OVERLAP + 1, math.ceil(n_rows * KNN_OVERLAP / self.knn_batch_rows))

    def _nn_descent_graph(self, X: Any, n_neighbors: int, n_clusters: int) -> tuple[Any, Any]:
        """Approximate kNN graph ``(indices int64, euclidean distances)`` by cuVS nn-descent,
        self in column 0 (cuVS shifts it in); batched builds read the input from the host.

        Distances are computed in fp32: cuVS's default (``auto``) uses fp16 above 16
        dimensions (``cpp/src/neighbors/detail/nn_descent.cuh``), approximate and overflowing
        above 65504. ``build`` does not synchronise caller-provided resources, so the stream
        is synchronised before the buffers are read.
        """
        from cuvs.common import Resources
        from cuvs.neighbors import all_neighbors, nn_descent

        degree = max(64, n_neighbors)
        params = all_neighbors.AllNeighborsParams(
            algo="nn_descent", metric="sqeuclidean", n_clusters=n_clusters,
            overlap_factor=KNN_OVERLAP if n_clusters > 1 else 1,
            nn_descent_params=nn_descent.IndexParams(
                metric="sqeuclidean", graph_degree=degree, intermediate_graph_degree=2 * degree,
                dist_comp_dtype="fp32"),
        )
        indices = cp.empty((X.shape[0], n_neighbors), dtype=cp.int64)
        distances = cp.empty((X.shape[0], n_neighbors), dtype=cp.float32)
        dataset = cp.asnumpy(X) if n_clusters > 1 else X
        resources = Resources()
        all_neighbors.build(dataset, n_neighbors, params, indices=indices, distances=distances,
                            resources=resources)
        resources.sync()
        return indices, cp.sqrt(cp.maximum(distances, 0))

    # -- neighbours and clustering -------------------------------------------------------

    def kneighbors(self, X: Any, k: int, query: Any | None = None) -> tuple[Any, Any]:
        """Exact kNN with cuML (random ball cover for 2-3 dims, brute force above)."""
        from cuml.neighbors import NearestNeighbors

        X = self.asarray(X)
        nn = NearestNeighbors(n_neighbors=k, output_type="cupy").fit(X)
        distances, indices = nn.kneighbors(X if query is None else self.asarray(query),
                                           n_neighbors=k)
        return distances, indices.astype(cp.int64, copy=False)

    def dbscan(self, X: Any, *, eps: float, min_samples: int) -> tuple[Any, Any]:
        """Exact DBSCAN with cuML's random ball cover on float32 with int64 labels."""
        from cuml.cluster import DBSCAN

        X = self.asarray(X)
        model = DBSCAN(eps=eps, min_samples=min_samples, algorithm="rbc",
                       max_mbytes_per_batch=self._dbscan_budget(X.shape[0]), output_type="cupy",
                       calc_core_sample_indices=True)
        model.fit(X, out_dtype="int64")
        core = cp.zeros(X.shape[0], dtype=bool)
        core[cp.asarray(model.core_sample_indices_)] = True
        return cp.asarray(model.labels_).astype(cp.int64, copy=False), core

    def _dbscan_budget(self, n_rows: int) -> int:
        """``max_mbytes_per_batch`` in MB: the configured budget or a share of free memory
        (after CuPy's memory pool hands its cached blocks back to the device).

        Raises:
            SeglabError: the budget is below :func:`dbscan_min_bytes`, where cuML's batch
                sizing underflows into one N²-byte batch or divides by zero.
        """
        need = math.ceil(dbscan_min_bytes(n_rows) / MB)
        if self.dbscan_mbytes is not None:
            if self.dbscan_mbytes < need:
                raise SeglabError(f"GpuBackend dbscan_mbytes={self.dbscan_mbytes} is below the "
                                  f"{need} MB DBSCAN needs for {n_rows:,} rows: raise it or leave "
                                  "it unset (None: half of the free GPU memory)")
            return self.dbscan_mbytes
        cp.get_default_memory_pool().free_all_blocks()
        free, _total = cp.cuda.runtime.memGetInfo()
        budget = int(free * DBSCAN_MEMORY_FRACTION) // MB
        if budget < need:
            raise SeglabError(f"DBSCAN on {n_rows:,} rows needs {need} MB of GPU memory per "
                              f"batch but only {free // MB} MB are free: free GPU memory or "
                              "use --backend cpu")
        return budget

    def hdbscan(self, X: Any, *, min_cluster_size: int, min_samples: int,
                selection: Selection = "eom") -> Any:
        """cuML HDBSCAN labels (-1 = noise); nn-descent kNN above :data:`EXACT_KNN_ROWS`.

        ``min_samples`` counts the point itself, as on the CPU (scikit-learn); cuML's core
        distance counts ``min_samples + 1`` neighbours with the point (``cpp/src/hdbscan/
        runner.h``), so cuML gets one less (at least 1). Above cuML's limit,
        :data:`HDBSCAN_MAX_MIN_SAMPLES`, it is capped with a warning.
        """
        from cuml.cluster.hdbscan import HDBSCAN

        X = self.asarray(X)
        others = max(1, min_samples - 1)
        if others > HDBSCAN_MAX_MIN_SAMPLES:
            warnings.warn(f"HDBSCAN min_samples={min_samples} is above cuML's limit; using "
                          f"{HDBSCAN_MAX_MIN_SAMPLES + 1} (--backend cpu has no limit)",
                          stacklevel=2)
            others = HDBSCAN_MAX_MIN_SAMPLES
        build: dict[str, Any] = {}
        if X.shape[0] > EXACT_KNN_ROWS:
            n_clusters = self._knn_clusters(X.shape[0])
            build = {"build_algo": "nn_descent",
                     "build_kwds": _nn_descent_build_kwds(others, n_clusters)}
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=others,
                        cluster_selection_method=selection, output_type="cupy", **build)
        return cp.asarray(model.fit_predict(X)).astype(cp.int64, copy=False)

    def density_tree(self, X: Any, *, min_samples: int) -> RefitTree:
        """cuML has no reusable tree: each DBSCAN eps and HDBSCAN selection is its own fit."""
        return RefitTree(self, X, min_samples)

    def kmeans(self, X: Any, *, n_clusters: int, seed: int) -> Any:
        """cuML KMeans (k-means|| initialisation) labels."""
        from cuml.cluster import KMeans

        model = KMeans(n_clusters=n_clusters, random_state=seed, output_type="cupy")
        return cp.asarray(model.fit_predict(self.asarray(X))).astype(cp.int64, copy=False)

    def gaussian_mixture(self, X: Any, *, n_components: int, seed: int) -> Any:
        """scikit-learn GaussianMixture on the host (cuML has none); labels on the device."""
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(n_components=n_components, covariance_type="full",
                                reg_covar=GMM_REG_COVAR, random_state=seed)
        return cp.asarray(model.fit_predict(self.to_numpy(X).astype(np.float64)).astype(np.int64))

    # -- scores --------------------------------------------------------------------------

    def silhouette_samples(self, X: Any, labels: Any) -> Any:
        """Per-point silhouette with cuML, tiled by ``silhouette_chunk`` rows."""
        from cuml.metrics.cluster import silhouette_samples

        return cp.asarray(silhouette_samples(self.asarray(X), cp.asarray(labels),
                                             chunksize=self.silhouette_chunk))

    def trustworthiness(self, X: Any, embedding: Any, *, n_neighbors: int) -> float:
        """cuML trustworthiness (batched, float32)."""
        from cuml.metrics import trustworthiness

        return float(trustworthiness(self.asarray(X), self.asarray(embedding),
                                     n_neighbors=n_neighbors))

    def davies_bouldin(self, X: Any, labels: Any) -> float:
        """Davies-Bouldin index in CuPy (cuML has none)."""
        return davies_bouldin(cp, self.asarray(X), cp.asarray(labels))

    def calinski_harabasz(self, X: Any, labels: Any) -> float:
        """Calinski-Harabasz index in CuPy (cuML has none)."""
        return calinski_harabasz(cp, self.asarray(X), cp.asarray(labels))


def dbscan_min_bytes(n_rows: int) -> int:
    """The smallest ``max_mbytes_per_batch`` (in bytes) that cuML DBSCAN can use on ``n_rows``
    rows with int64 labels: 9 bytes per row for the labels and core mask, plus one batch row
    (a dense adjacency row of ``n_rows`` bytes and a worst-case sparse row of ``n_rows + 2``
    int64). Below it ``compute_batch_size`` (``cpp/src/dbscan/dbscan.cuh``) underflows into
    one N²-byte batch or a zero batch size."""
    fixed = n_rows * (8 + 1)
    per_row = n_rows + (n_rows + 2) * 8
    return fixed + per_row


def _parquet_by_cudf(path: str, columns: list[str] | None) -> Any:
    """A Parquet table decoded by cuDF, as the pandas frame :func:`pandas.read_parquet` gives.

    cuDF's columns are cast to the file's Arrow schema (timestamp units, integer widths) with
    its pandas metadata; all-null columns are rebuilt as nulls; dictionary (categorical)
    columns, which cuDF decodes to plain values, are read by pyarrow so their categories keep
    the file's order (the one-hot columns follow it).
    """
    import cudf
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    decoded = cudf.read_parquet(path, columns=columns, ignore_missing_columns=False)
    table = decoded.to_arrow(preserve_index=False)
    fields = [schema.field(name) for name in table.column_names]
    categorical = [f.name for f in fields if pa.types.is_dictionary(f.type)]
    by_pyarrow = pq.read_table(path, columns=categorical) if categorical else None
    arrays = [by_pyarrow.column(f.name) if f.name in categorical
              else pa.nulls(table.num_rows) if pa.types.is_null(f.type)
              else table.column(f.name).cast(f.type) for f in fields]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=schema.metadata)
                                ).to_pandas()


def _nn_descent_build_kwds(min_samples: int, n_clusters: int) -> dict[str, int]:
    """cuML 26.x HDBSCAN ``build_kwds`` for a (batched) nn-descent kNN build; the graph
    degree is at least ``min_samples + 1``, which cuML otherwise corrects with a warning."""
    degree = max(64, min_samples + 1)
    kwds = {"nnd_graph_degree": degree, "nnd_intermediate_graph_degree": 2 * degree,
            "knn_n_clusters": n_clusters}
    if n_clusters > 1:
        kwds["knn_overlap_factor"] = KNN_OVERLAP
    return kwds
