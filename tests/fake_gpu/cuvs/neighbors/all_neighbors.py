"""Fake ``cuvs.neighbors.all_neighbors``: an exact kNN graph written into the buffers."""

from typing import Any

import cupy
import fakegpu_log
import numpy as np
from sklearn.neighbors import NearestNeighbors


class AllNeighborsParams:
    def __init__(self, *, algo: str = "nn_descent", n_clusters: int = 1,
                 overlap_factor: int = 2, metric: str = "sqeuclidean",
                 nn_descent_params: Any = None) -> None:
        if n_clusters > 1 and overlap_factor >= n_clusters:
            raise ValueError("n_clusters must be greater than overlap_factor")
        self.kwargs = {"algo": algo, "n_clusters": n_clusters, "overlap_factor": overlap_factor,
                       "metric": metric,
                       "nn_descent": getattr(nn_descent_params, "kwargs", None)}


def build(dataset: Any, k: int, params: AllNeighborsParams, *, indices: Any, distances: Any,
          resources: Any = None) -> tuple[Any, Any]:
    batched = params.kwargs["n_clusters"] > 1
    if batched == isinstance(dataset, cupy.ndarray):
        raise TypeError("batched builds read from the host, single builds from the device")
    fakegpu_log.record("cuvs.all_neighbors.build", k=k, host_input=batched, **params.kwargs)
    data = np.asarray(dataset)
    dist, idx = NearestNeighbors(n_neighbors=k).fit(data).kneighbors(data)
    indices[...] = idx
    distances[...] = dist**2
    return indices, distances
