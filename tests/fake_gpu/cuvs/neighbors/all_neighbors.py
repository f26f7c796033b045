"""Fake ``cuvs.neighbors.all_neighbors``: an exact kNN graph, written at ``Resources.sync()``.

Mirrors rapidsai/cuvs at ff0c8076:

* ``python/cuvs/cuvs/neighbors/all_neighbors/all_neighbors.pyx``: ``AllNeighborsParams``
  (keyword-only; unknown algo a ValueError, unknown metric a KeyError, ``nn_descent_params``
  of another type a TypeError, a metric other than ``nn_descent_params.metric`` a ValueError)
  and ``build`` (device data with ``n_clusters > 1`` a ValueError; float32 data; int64/float32
  output buffers of shape ``(n_rows, k)`` on the device; no synchronisation after the build).
* ``cpp/src/neighbors/all_neighbors/all_neighbors.cuh``: NN Descent takes sqeuclidean,
  euclidean, cosine or inner product; its graph has no self loops and is shifted right by one
  with self (distance 0) in column 0; ``all_neighbors_batched.cuh``: ``n_clusters`` must exceed
  ``overlap_factor``.
* ``cpp/src/neighbors/detail/nn_descent.cuh``: distances in fp16 for fp32 input with
  ``dist_comp_dtype="fp16"``, or ``"auto"`` above 16 dimensions (values above 65504 overflow).
"""

from typing import Any

import cupy
import fakegpu_log
import numpy as np
from sklearn.neighbors import NearestNeighbors

from cuvs.common import Resources
from cuvs.distance import DISTANCE_TYPES
from cuvs.neighbors.nn_descent import IndexParams as NNDescentIndexParams

ALGOS = ("brute_force", "ivf_pq", "nn_descent")
NN_DESCENT_METRICS = ("L2Expanded", "L2SqrtExpanded", "CosineExpanded", "InnerProduct")


class AllNeighborsParams:
    def __init__(self, *, algo: str = "nn_descent", overlap_factor: int = 2,
                 n_clusters: int = 1, metric: str = "sqeuclidean", ivf_pq_params: Any = None,
                 nn_descent_params: Any = None) -> None:
        if algo not in ALGOS:
            raise ValueError(f"Invalid algo: {algo}")
        metric_type = DISTANCE_TYPES[metric]
        if nn_descent_params is not None:
            if not isinstance(nn_descent_params, NNDescentIndexParams):
                raise TypeError("nn_descent_params must be an instance of "
                                "cuvs.neighbors.nn_descent.IndexParams")
            if DISTANCE_TYPES[nn_descent_params.metric] != metric_type:
                raise ValueError(f"Metric conflict: AllNeighborsParams metric '{metric}' does not "
                                 f"match NN-Descent metric '{nn_descent_params.metric}'. Please "
                                 "ensure both use the same metric.")
        self.algo, self.overlap_factor, self.n_clusters = algo, overlap_factor, n_clusters
        self.metric, self._metric_type = metric, metric_type
        self.nn_descent_params = nn_descent_params


def build(dataset: Any, k: int, params: AllNeighborsParams, *, indices: Any = None,
          distances: Any = None, core_distances: Any = None, alpha: float = 1.0,
          resources: Any = None) -> Any:
    if not isinstance(params, AllNeighborsParams):
        raise TypeError("params must be an instance of AllNeighborsParams")
    on_device = isinstance(dataset, cupy.ndarray)
    if on_device and params.n_clusters > 1:
        raise ValueError("Batched all-neighbors build is not supported with data on device. "
                         "Put data on host for batch build.")
    data = np.asarray(dataset)
    if data.dtype != np.float32:
        raise TypeError(f"dataset: expected float32, got {data.dtype}")
    n_rows = data.shape[0]
    for name, buffer, dtype in (("indices", indices, np.int64),
                                ("distances", distances, np.float32)):
        if buffer is None:
            continue
        if not isinstance(buffer, cupy.ndarray):
            raise ValueError(f"{name} must be a device array (CUDA array interface)")
        if buffer.dtype != dtype or buffer.shape != (n_rows, k):
            raise ValueError(f"{name}: expected {np.dtype(dtype)} of shape {(n_rows, k)}, got "
                             f"{buffer.dtype} of shape {buffer.shape}")
    if params.algo == "nn_descent" and params._metric_type not in NN_DESCENT_METRICS:
        raise RuntimeError("Distance metric for all-neighbors build with NN Descent should be "
                           "L2Expanded, L2SqrtExpanded, CosineExpanded, or InnerProduct.")
    if params.n_clusters > 1 and params.n_clusters <= params.overlap_factor:
        raise RuntimeError("overlap_factor should be smaller than n_clusters.")
    nnd = params.nn_descent_params or NNDescentIndexParams(metric=params.metric)
    fp16 = nnd.dist_comp_dtype == "fp16" or (nnd.dist_comp_dtype == "auto" and data.shape[1] > 16)
    fakegpu_log.record("cuvs.all_neighbors.build", k=k, host_input=not on_device,
                       algo=params.algo, n_clusters=params.n_clusters,
                       overlap_factor=params.overlap_factor, metric=params.metric,
                       nn_descent=nnd.kwargs, synced_by_caller=resources is not None)
    graph, squared = _graph(data, k, fp16)

    def write() -> None:
        indices[...] = graph
        if distances is not None:
            distances[...] = squared

    if resources is None:
        write()  # a stream of its own, destroyed (and so waited for) on return
    elif isinstance(resources, Resources):
        resources.enqueue(write)
    else:
        raise TypeError("resources must be cuvs.common.Resources")
    return indices if distances is None else (indices, distances)


def _graph(data: np.ndarray, k: int, fp16: bool) -> tuple[np.ndarray, np.ndarray]:
    """Self in column 0 (distance 0), then the ``k - 1`` nearest other rows; squared
    euclidean distances, in fp16 arithmetic when ``fp16``."""
    n_rows = data.shape[0]
    _, found = NearestNeighbors(n_neighbors=k).fit(data).kneighbors(data)
    rows = np.arange(n_rows)
    others = np.array([[j for j in row if j != i][:k - 1] for i, row in enumerate(found)])
    graph = np.concatenate([rows[:, None], others], axis=1).astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        points = data.astype(np.float16) if fp16 else data
        diff = points[graph] - points[:, None, :]
        squared = (diff * diff).sum(axis=2, dtype=points.dtype).astype(np.float32)
    return graph, squared
