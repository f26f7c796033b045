"""Fake ``cuml.manifold.UMAP``: a seeded PCA, with cuML's keyword checks."""

from typing import Any

import fakegpu_log
from sklearn.decomposition import PCA

from cuml import device_input, on_device

BUILD_ALGOS = ("auto", "brute_force_knn", "nn_descent")
BUILD_KWDS = {"nnd_graph_degree", "nnd_intermediate_graph_degree", "nnd_max_iterations",
              "nnd_termination_threshold", "knn_n_clusters", "knn_overlap_factor"}


class UMAP:
    def __init__(self, *, n_neighbors: int = 15, n_components: int = 2, n_epochs: Any = None,
                 min_dist: float = 0.1, random_state: Any = None, precomputed_knn: Any = None,
                 build_algo: str = "auto", build_kwds: dict | None = None,
                 output_type: Any = None) -> None:
        if build_algo not in BUILD_ALGOS:
            raise ValueError(f"build_algo {build_algo!r}")
        unknown = set(build_kwds or {}) - BUILD_KWDS
        if unknown:
            raise ValueError(f"unknown build_kwds {sorted(unknown)}")
        fakegpu_log.record("cuml.UMAP", n_neighbors=n_neighbors, n_components=n_components,
                           n_epochs=n_epochs, min_dist=min_dist, random_state=random_state,
                           precomputed_knn=precomputed_knn, build_algo=build_algo,
                           build_kwds=build_kwds, output_type=output_type)
        if precomputed_knn is not None:
            indices, distances = precomputed_knn
            if indices.shape != distances.shape or indices.shape[1] != n_neighbors:
                raise ValueError("precomputed_knn must be (indices, distances), n_neighbors wide")
        self._pca = PCA(n_components=n_components, random_state=random_state)

    def fit_transform(self, X: Any) -> Any:
        return on_device(self._pca.fit_transform(device_input("UMAP.fit_transform", X)))

    def transform(self, X: Any) -> Any:
        return on_device(self._pca.transform(device_input("UMAP.transform", X)))

