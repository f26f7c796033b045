"""The CPU backend: scikit-learn, umap-learn and the ``dbscan`` package, all on NumPy arrays.

Every method takes and returns NumPy arrays; float inputs are converted to float32 except where
a library needs float64 (the ``dbscan`` package). Libraries that can use several cores do
(``n_jobs=-1``); umap-learn is the exception: a seeded UMAP is single-threaded, and the
pipeline always seeds it so that a run can be redone exactly (see ``umap_fit``).

Scale (``docs/performance.md``): UMAP's kNN graph comes from an exact KD-tree in up to
``KD_TREE_MAX_DIMS`` dimensions (seconds, where nn-descent spends about 25 s compiling);
``kneighbors`` with a query of at least ``APPROXIMATE_QUERY_ROWS`` rows in more than
``KD_TREE_FAST_DIMS`` dimensions uses a pynndescent index (recall@10 0.97 measured, about
100x faster per query than the KD-tree on 13 features).
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

from seglab.backend import GMM_REG_COVAR
from seglab.backend.cluster_indices import calinski_harabasz, davies_bouldin
from seglab.backend.density import Selection, SpanningTree
from seglab.progress import bar_options
from seglab.tables import read_table

DBSCAN_PACKAGE_DIMS = (2, 20)
"""Dimensions the exact ``dbscan`` package supports; others fall back to scikit-learn's DBSCAN."""
KD_TREE_MAX_DIMS = 20
"""UMAP's kNN graph is computed exactly with a KD-tree up to this many input dimensions."""
KD_TREE_FAST_DIMS = 8
"""Above this many dimensions a KD-tree query slows down (13 features: ~0.1 ms per query)."""
APPROXIMATE_QUERY_ROWS = 300_000
"""Queries at least this large (in more than ``KD_TREE_FAST_DIMS`` dimensions) use pynndescent:
its index costs about 30 s to compile and build, the KD-tree about 0.1 ms per query row."""
UMAP_EXACT_KNN_MIN_ROWS = 4_096
"""umap-learn's small-data threshold (a full distance matrix below it); from it on, a PCA start."""


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
        self._query_index: tuple[np.ndarray, Any] | None = None

    def read_table(self, path: str, columns: list[str] | None = None) -> pd.DataFrame:
        """:func:`seglab.tables.read_table` (pandas/pyarrow)."""
        return read_table(path, columns)

    def asarray(self, x: Any) -> np.ndarray:
        """Host data as a float32 NumPy array."""
        return np.asarray(x, dtype=np.float32)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Already NumPy: returned as an array."""
        return np.asarray(x)

    def umap_fit(self, X: Any, *, n_components: int, n_neighbors: int, min_dist: float,
                 n_epochs: int | None, seed: int) -> tuple[np.ndarray, Any]:
        """Fit umap-learn with ``random_state=seed``, its epochs shown as a progress bar.

        Seeding makes umap-learn single-threaded (about 1.5x slower on 2 cores than unseeded)
        but gives the same embedding on every run: the pipeline chooses reproducibility. The kNN
        graph is computed here, exactly (:meth:`kneighbors`), in up to ``KD_TREE_MAX_DIMS``
        dimensions and below ``UMAP_EXACT_KNN_MIN_ROWS`` rows: umap-learn's own ways (nn-descent,
        or a full distance matrix below 4,096 rows) compile their numba code afresh in every
        process (the 2,000-row null reference: 10.1 s -> 2.7 s). From ``UMAP_EXACT_KNN_MIN_ROWS``
        rows on the layout starts from PCA instead of the spectral embedding (50k rows: 10-20 s
        less, same ARI measured).
        """
        import umap  # imported here: numba compilation makes the import slow

        data = self.asarray(X)
        options: dict[str, Any] = {}
        if len(data) >= UMAP_EXACT_KNN_MIN_ROWS:
            options["init"] = "pca"
        if len(data) < UMAP_EXACT_KNN_MIN_ROWS or data.shape[1] <= KD_TREE_MAX_DIMS:
            distances, indices = self.kneighbors(data, n_neighbors)
            options["precomputed_knn"] = (indices, distances, None)
        model = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist,
                          n_epochs=n_epochs, random_state=seed, transform_seed=seed,
                          tqdm_kwds=bar_options("UMAP epochs", "epoch"),
                          **options)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            warnings.filterwarnings("ignore", message=".*is not an NNDescent object.*")
            coords = model.fit_transform(data)
        return np.asarray(coords, dtype=np.float32), model

    def umap_transform(self, model: Any, X: Any) -> np.ndarray:
        """Place new rows into a fitted umap-learn embedding.

        A model fitted on an exact kNN graph has no search index yet: the first call builds
        the nn-descent index umap-learn would have built (same parameters and seed).
        """
        if getattr(model, "_knn_search_index", None) is None:
            model._knn_search_index = _nndescent(model._raw_data, model.n_neighbors,
                                                 seed=model.transform_seed)
        return np.asarray(model.transform(self.asarray(X)), dtype=np.float32)

    def kneighbors(self, X: Any, k: int, query: Any | None = None) -> tuple[np.ndarray, np.ndarray]:
        """kNN with a KD-tree (low dimensions) or scikit-learn's automatic choice: exact.

        One exception, for placing millions of rows: a query of at least
        ``APPROXIMATE_QUERY_ROWS`` rows in more than ``KD_TREE_FAST_DIMS`` dimensions is answered
        by a pynndescent index over ``X`` (approximate; recall@10 0.97 on the synthetic
        customers' 13 features), kept for the next query on the same ``X`` array.
        """
        data = self.asarray(X)
        if (query is not None and len(query) >= APPROXIMATE_QUERY_ROWS
                and data.shape[1] > KD_TREE_FAST_DIMS and len(data) > k):
            if self._query_index is None or self._query_index[0] is not data:
                self._query_index = (data, _nndescent(data, max(k, 30), seed=0))
            indices, distances = self._query_index[1].query(self.asarray(query), k=k)
            return distances.astype(np.float32), indices.astype(np.int64)
        algorithm = "kd_tree" if data.shape[1] <= DBSCAN_PACKAGE_DIMS[1] else "auto"
        index = NearestNeighbors(n_neighbors=k, algorithm=algorithm, n_jobs=-1).fit(data)
        distances, indices = index.kneighbors(data if query is None else self.asarray(query))
        return distances.astype(np.float32), indices

    def dbscan(self, X: Any, *, eps: float, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """DBSCAN with the ``dbscan`` package (2-20 dimensions), else scikit-learn's.

        The package's grid misses some neighbours from 3-D up: 0.02-0.3 % of the core points
        of a 5-D embedding stay noise (bench/AGREEMENT.md; ``cluster.dbscan: tree`` is exact).
        """
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

    def hdbscan(self, X: Any, *, min_cluster_size: int, min_samples: int,
                selection: Selection = "eom") -> np.ndarray:
        """scikit-learn's HDBSCAN (single-threaded tree; keep it to samples on large data)."""
        model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, n_jobs=-1,
                        cluster_selection_method=selection, copy=True)
        return model.fit_predict(self.asarray(X)).astype(np.int64)

    def density_tree(self, X: Any, *, min_samples: int) -> SpanningTree:
        """One fast-hdbscan spanning tree: every DBSCAN eps and HDBSCAN selection from it."""
        return SpanningTree(self.asarray(X), min_samples)

    def kmeans(self, X: Any, *, n_clusters: int, seed: int) -> np.ndarray:
        """KMeans with k-means++ and 10 restarts."""
        model = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed)
        return model.fit_predict(self.asarray(X)).astype(np.int64)

    def gaussian_mixture(self, X: Any, *, n_components: int, seed: int) -> np.ndarray:
        """Full-covariance Gaussian mixture."""
        model = GaussianMixture(n_components=n_components, covariance_type="full",
                                reg_covar=GMM_REG_COVAR, random_state=seed)
        return model.fit_predict(np.asarray(self.asarray(X), dtype=np.float64)).astype(np.int64)

    def silhouette_samples(self, X: Any, labels: Any) -> np.ndarray:
        """Per-point silhouette (O(n^2) time: callers sample)."""
        return metrics.silhouette_samples(self.asarray(X), np.asarray(labels)).astype(np.float64)

    def trustworthiness(self, X: Any, embedding: Any, *, n_neighbors: int) -> float:
        """scikit-learn's trustworthiness (builds an n x n matrix: callers cap the rows)."""
        return float(sklearn_trustworthiness(self.asarray(X), self.asarray(embedding),
                                             n_neighbors=n_neighbors))

    def davies_bouldin(self, X: Any, labels: Any) -> float:
        """Davies-Bouldin index (scikit-learn's definition, one grouped pass)."""
        return davies_bouldin(np, self.asarray(X), np.asarray(labels))

    def calinski_harabasz(self, X: Any, labels: Any) -> float:
        """Calinski-Harabasz index (scikit-learn's definition, one grouped pass)."""
        return calinski_harabasz(np, self.asarray(X), np.asarray(labels))


def _nndescent(data: np.ndarray, n_neighbors: int, *, seed: int | None) -> Any:
    """A pynndescent search index over ``data`` (Euclidean), ready to query."""
    from pynndescent import NNDescent

    index = NNDescent(data, n_neighbors=n_neighbors, random_state=seed, low_memory=True,
                      n_jobs=-1)
    index.prepare()
    return index
