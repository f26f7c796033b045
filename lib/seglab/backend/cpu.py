"""The CPU backend: scikit-learn, umap-learn and the ``dbscan`` package, all on NumPy arrays.

Every method takes and returns NumPy arrays; float inputs are converted to float32 except where
a library needs float64 (the ``dbscan`` package). Libraries that can use several cores do
(``n_jobs=-1``); umap-learn is the exception: a seeded UMAP is single-threaded, and the
pipeline always seeds it so that a run can be redone exactly (see ``umap_fit``).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.cluster import DBSCAN as SklearnDBSCAN
from sklearn.cluster import HDBSCAN, KMeans
from sklearn.manifold import trustworthiness as sklearn_trustworthiness
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from seglab.data import read_table

DBSCAN_PACKAGE_DIMS = (2, 20)
"""Dimensions the exact ``dbscan`` package supports; others fall back to scikit-learn's DBSCAN."""


class CpuBackend:
    """The :class:`~seglab.backend.Backend` for CPUs.

    Args:
        reason: why this backend was chosen (recorded in the run manifest).
    """

    name = "cpu"

    def __init__(self, reason: str = "requested") -> None:
        cores = os.cpu_count() or 1
        self.device = f"CPU ({cores} core{'s' if cores != 1 else ''})"
        self.reason = reason

    def read_table(self, path: str, columns: list[str] | None = None) -> pd.DataFrame:
        """:func:`seglab.data.read_table` (pandas/pyarrow)."""
        return read_table(path, columns)

    def asarray(self, x: Any) -> np.ndarray:
        """Host data as a float32 NumPy array."""
        return np.asarray(x, dtype=np.float32)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Already NumPy: returned as an array."""
        return np.asarray(x)

    def umap_fit(self, X: Any, *, n_components: int, n_neighbors: int, min_dist: float,
                 n_epochs: int | None, seed: int) -> tuple[np.ndarray, Any]:
        """Fit umap-learn with ``random_state=seed``.

        Seeding makes umap-learn single-threaded (about 1.5x slower on 2 cores than unseeded)
        but gives the same embedding on every run: the pipeline chooses reproducibility.
        """
        import umap  # imported here: numba compilation makes the import slow

        model = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                          n_epochs=n_epochs, random_state=seed, transform_seed=seed)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            coords = model.fit_transform(self.asarray(X))
        return np.asarray(coords, dtype=np.float32), model

    def umap_transform(self, model: Any, X: Any) -> np.ndarray:
        """Place new rows into a fitted umap-learn embedding."""
        return np.asarray(model.transform(self.asarray(X)), dtype=np.float32)

    def kneighbors(self, X: Any, k: int, query: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Exact kNN with a KD-tree (low dimensions) or scikit-learn's automatic choice."""
        data = self.asarray(X)
        algorithm = "kd_tree" if data.shape[1] <= DBSCAN_PACKAGE_DIMS[1] else "auto"
        index = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=-1).fit(data)
        distances, indices = index.kneighbors(data if query is None else self.asarray(query))
        return distances.astype(np.float32), indices

    def dbscan(self, X: Any, *, eps: float, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact DBSCAN with the ``dbscan`` package (2-20 dimensions), else scikit-learn's."""
        data = np.ascontiguousarray(X, dtype=np.float64)
        low, high = DBSCAN_PACKAGE_DIMS
        if low <= data.shape[1] <= high:
            import dbscan

            labels, core_mask = dbscan.DBSCAN(data, eps=float(eps), min_samples=int(min_samples))
            return np.asarray(labels, dtype=np.int64), np.asarray(core_mask, dtype=bool)
        model = SklearnDBSCAN(eps=eps, min_samples=min_samples, n_jobs=-1).fit(data)
        core_mask = np.zeros(len(data), dtype=bool)
        core_mask[model.core_sample_indices_] = True
        return model.labels_.astype(np.int64), core_mask

    def hdbscan(self, X: Any, *, min_cluster_size: int, min_samples: int) -> np.ndarray:
        """scikit-learn's HDBSCAN (single-threaded tree; keep it to samples on large data)."""
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, n_jobs=-1,
                        copy=True)
        return model.fit_predict(self.asarray(X)).astype(np.int64)

    def kmeans(self, X: Any, *, n_clusters: int, seed: int) -> np.ndarray:
        """KMeans with k-means++ and 10 restarts."""
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed)
        return model.fit_predict(self.asarray(X)).astype(np.int64)

    def gaussian_mixture(self, X: Any, *, n_components: int, seed: int) -> np.ndarray:
        """Full-covariance Gaussian mixture."""
        model = GaussianMixture(n_components=n_components, covariance_type="full",
                                random_state=seed)
        return model.fit_predict(self.asarray(X)).astype(np.int64)

    def silhouette_samples(self, X: Any, labels: Any) -> np.ndarray:
        """Per-point silhouette (O(n^2) time: callers sample)."""
        return metrics.silhouette_samples(self.asarray(X), np.asarray(labels)).astype(np.float64)

    def trustworthiness(self, X: Any, embedding: Any, *, n_neighbors: int) -> float:
        """scikit-learn's trustworthiness (builds an n x n matrix: callers cap the rows)."""
        return float(sklearn_trustworthiness(self.asarray(X), self.asarray(embedding),
                                             n_neighbors=n_neighbors))

    def davies_bouldin(self, X: Any, labels: Any) -> float:
        """Davies-Bouldin index."""
        return float(metrics.davies_bouldin_score(self.asarray(X), np.asarray(labels)))

    def calinski_harabasz(self, X: Any, labels: Any) -> float:
        """Calinski-Harabasz index."""
        return float(metrics.calinski_harabasz_score(self.asarray(X), np.asarray(labels)))
