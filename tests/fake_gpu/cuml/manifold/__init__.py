"""Fake ``cuml.manifold.UMAP``: a seeded PCA behind cuML's signature and checks.

Mirrors NVIDIA/cuml (rapidsai/cuml) at 342457bc (VERSION 26.10.00):

* ``python/cuml/cuml/manifold/umap/umap.pyx``: ``UMAP.__init__`` (keyword-only) and
  ``init_params``: ``build_algo`` one of auto/brute_force_knn/nn_descent (``auto`` is
  brute force with a seed), ``knn_n_clusters >= 1`` and ``> knn_overlap_factor``, the
  "not deterministic" warning for ``nn_descent`` with a seed; ``fit``: with ``nn_descent``
  (or ``knn_n_clusters > 1``) X is copied to the host, even when the kNN graph is given.
* ``python/cuml/cuml/manifold/utils.py`` ``extract_knn_graph``: a precomputed
  ``(indices, distances)`` pair of equal shape, one row per sample, self in column 0, at
  least ``n_neighbors`` wide.

Stricter than cuML: a ``build_kwds`` key cuML does not read is refused (cuML ignores it, so
a misspelt knob would silently do nothing on a GPU).
"""

import warnings
from typing import Any

import cupy
import fakegpu_log
import numpy as np
from sklearn.decomposition import PCA

from cuml import device_input, on_device

BUILD_ALGOS = ("auto", "brute_force_knn", "nn_descent")
BUILD_KWDS = {"nnd_graph_degree", "nnd_intermediate_graph_degree", "nnd_max_iterations",
              "nnd_termination_threshold", "knn_n_clusters", "knn_overlap_factor"}


class UMAP:
    def __init__(self, *, n_neighbors: int = 15, n_components: int = 2,
                 metric: str = "euclidean", metric_kwds: Any = None, n_epochs: Any = None,
                 learning_rate: float = 1.0, min_dist: float = 0.1, spread: float = 1.0,
                 set_op_mix_ratio: float = 1.0, local_connectivity: float = 1.0,
                 repulsion_strength: float = 1.0, negative_sample_rate: int = 5,
                 transform_queue_size: float = 4.0, init: Any = "spectral", a: Any = None,
                 b: Any = None, target_n_neighbors: int = -1, target_weight: float = 0.5,
                 target_metric: str = "categorical", hash_input: bool = False,
                 random_state: Any = None, force_serial_epochs: Any = None,
                 precomputed_knn: Any = None, callback: Any = None, build_algo: str = "auto",
                 build_kwds: dict | None = None, device_ids: Any = None, verbose: Any = False,
                 output_type: Any = None) -> None:
        unknown = set(build_kwds or {}) - BUILD_KWDS
        if unknown:
            raise ValueError(f"unknown build_kwds {sorted(unknown)} (cuML would ignore them)")
        fakegpu_log.record("cuml.UMAP", n_neighbors=n_neighbors, n_components=n_components,
                           n_epochs=n_epochs, min_dist=min_dist, random_state=random_state,
                           precomputed_knn=precomputed_knn, build_algo=build_algo,
                           build_kwds=build_kwds, output_type=output_type)
        self.n_neighbors, self.random_state = n_neighbors, random_state
        self.precomputed_knn, self.build_algo, self.build_kwds = (precomputed_knn, build_algo,
                                                                  build_kwds)
        self._pca = PCA(n_components=n_components, random_state=random_state)

    def _build_algo(self, n_rows: int) -> str:
        """``init_params``: the kNN build actually used, with cuML's checks and warnings."""
        algo = self.build_algo
        if algo == "auto":
            algo = ("brute_force_knn" if self.random_state is not None or n_rows <= 50_000
                    else "nn_descent")
        elif algo not in BUILD_ALGOS:
            raise ValueError(f"Expected `build_algo` to be one of {list(BUILD_ALGOS)}, got "
                             f"{algo!r}")
        if algo == "nn_descent" and self.random_state is not None:
            warnings.warn("build_algo='nn_descent' is not deterministic. Please use "
                          "build_algo='brute_force_knn' instead with random_state set.",
                          stacklevel=3)
        kwds = self.build_kwds or {}
        n_clusters, overlap = kwds.get("knn_n_clusters", 1), kwds.get("knn_overlap_factor", 2)
        if n_clusters < 1:
            raise ValueError(f"Expected `knn_n_clusters >= 1`, got {n_clusters}")
        if n_clusters > 1 and overlap >= n_clusters:
            raise ValueError(f"`knn_n_clusters > 1` requires `knn_n_clusters ({n_clusters}) > "
                             f"knn_overlap_factor ({overlap})`")
        return algo

    def _check_knn(self, n_rows: int) -> None:
        """``extract_knn_graph`` on an ``(indices, distances)`` pair."""
        indices, distances = self.precomputed_knn
        if indices.shape[0] != n_rows or indices.shape != distances.shape:
            raise ValueError(f"Expected indices and distances to have shape=(n_samples, "
                             f"n_neighbors) where n_samples={n_rows}, got indices.shape="
                             f"{indices.shape}, distances.shape={distances.shape}")
        if not (np.asarray(indices)[:, 0] == np.arange(n_rows)).all():
            raise ValueError("Expected indices and distances to include self references (i.e. "
                             "the closest sample to each row is itself).")
        if indices.shape[1] < min(n_rows, self.n_neighbors):
            raise ValueError(f"Precomputed KNN data has {indices.shape[1]} neighbors per "
                             f"sample, but n_neighbors={self.n_neighbors} was specified.")

    def fit_transform(self, X: Any, y: Any = None, *, knn_graph: Any = None) -> Any:
        host = device_input("UMAP.fit_transform", X)
        kwds = self.build_kwds or {}
        if self._build_algo(len(host)) == "nn_descent" or kwds.get("knn_n_clusters", 1) > 1:
            cupy.asnumpy(X)  # fit() moves X to the host for these builds
        if self.precomputed_knn is not None:
            self._check_knn(len(host))
        return on_device(self._pca.fit_transform(host))

    def transform(self, X: Any) -> Any:
        return on_device(self._pca.transform(device_input("UMAP.transform", X)))
