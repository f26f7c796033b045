"""Fake ``cuml.cluster.hdbscan.HDBSCAN`` over scikit-learn, with cuML's signature and checks.

Mirrors NVIDIA/cuml (rapidsai/cuml) at 342457bc (VERSION 26.10.00),
``python/cuml/cuml/cluster/hdbscan/hdbscan.pyx``: ``__init__`` (keyword-only) and ``fit``:
``min_samples`` (default ``min_cluster_size``) within 1..1023, ``build_algo`` brute_force or
nn_descent, ``knn_n_clusters >= 1`` and ``> knn_overlap_factor``, and ``nnd_graph_degree`` below
``min_samples + 1`` corrected with a warning (cuML's ``logger.warn``; a UserWarning here);
``cpp/src/hdbscan/runner.h`` ``build_linkage``: the core distance counts ``min_samples + 1``
neighbours, the point included (scikit-learn's counts ``min_samples``), at most all rows.

Stricter than cuML: a ``build_kwds`` key cuML does not read is refused (cuML ignores it).
"""

import warnings
from typing import Any

import fakegpu_log
import numpy as np
from sklearn.cluster import HDBSCAN as _SkHDBSCAN

from cuml import device_input, on_device
from cuml.manifold import BUILD_KWDS  # the keys UMAP reads, as hdbscan.pyx documents


class HDBSCAN:
    def __init__(self, *, min_cluster_size: int = 5, min_samples: int | None = None,
                 cluster_selection_epsilon: float = 0.0, max_cluster_size: int = 0,
                 metric: str = "euclidean", alpha: float = 1.0, p: Any = None,
                 cluster_selection_method: str = "eom", allow_single_cluster: bool = False,
                 gen_min_span_tree: bool = False, verbose: Any = False, output_type: Any = None,
                 prediction_data: bool = False, build_algo: str = "brute_force",
                 build_kwds: dict | None = None, device_ids: Any = None) -> None:
        unknown = set(build_kwds or {}) - BUILD_KWDS
        if unknown:
            raise ValueError(f"unknown build_kwds {sorted(unknown)} (cuML would ignore them)")
        fakegpu_log.record("cuml.HDBSCAN", min_cluster_size=min_cluster_size,
                           min_samples=min_samples, build_algo=build_algo,
                           build_kwds=build_kwds, output_type=output_type,
                           cluster_selection_method=cluster_selection_method)
        self.min_cluster_size, self.min_samples = min_cluster_size, min_samples
        self.cluster_selection_method = cluster_selection_method
        self.build_algo, self.build_kwds = build_algo, build_kwds

    def _check(self) -> int:
        """``fit``'s validation; returns ``min_samples``."""
        min_samples = self.min_cluster_size if self.min_samples is None else self.min_samples
        if not 1 <= min_samples <= 1023:
            raise ValueError(f"HDBSCAN requires `1 <= min_samples <= 1023`, got "
                             f"`min_samples={min_samples}`")
        if self.cluster_selection_method not in ("eom", "leaf"):
            raise ValueError("cluster_selection_method must be 'eom' or 'leaf', got "
                             f"{self.cluster_selection_method!r}")
        if self.build_algo not in ("brute_force", "nn_descent"):
            raise ValueError("`build_algo` must be one of {'brute_force', 'nn_descent'}, got "
                             f"{self.build_algo!r}")
        if self.build_algo == "nn_descent":
            kwds = self.build_kwds or {}
            n_clusters = kwds.get("knn_n_clusters", 1)
            if n_clusters > 1 and kwds.get("knn_overlap_factor", 2) >= n_clusters:
                raise ValueError("If knn_n_clusters > 1, then knn_overlap_factor must be "
                                 "strictly smaller than knn_n_clusters.")
            if n_clusters < 1:
                raise ValueError("knn_n_clusters must be >= 1")
            if kwds.get("nnd_graph_degree", 64) < min_samples + 1:
                warnings.warn("to use nn descent as the build algo, nnd_graph_degree should be "
                              "larger than or equal to min_samples + 1. setting "
                              "nnd_graph_degree to min_samples + 1.", stacklevel=3)
        return min_samples

    def fit_predict(self, X: Any, y: Any = None) -> Any:
        min_samples = self._check()
        host = device_input("HDBSCAN", X)
        model = _SkHDBSCAN(min_cluster_size=self.min_cluster_size,
                           min_samples=min(min_samples + 1, len(host)),
                           cluster_selection_method=self.cluster_selection_method, copy=True)
        return on_device(model.fit_predict(host).astype(np.int32))
