"""Fake ``cuml.cluster.hdbscan.HDBSCAN`` over scikit-learn."""

from typing import Any

import fakegpu_log
import numpy as np
from sklearn.cluster import HDBSCAN as _SkHDBSCAN

from cuml import device_input, on_device


class HDBSCAN:
    def __init__(self, *, min_cluster_size: int = 5, min_samples: int | None = None,
                 build_algo: str = "brute_force", build_kwds: dict | None = None,
                 output_type: Any = None) -> None:
        if build_algo not in ("brute_force", "nn_descent"):
            raise ValueError(f"build_algo {build_algo!r}")
        fakegpu_log.record("cuml.HDBSCAN", min_cluster_size=min_cluster_size,
                           min_samples=min_samples, build_algo=build_algo,
                           build_kwds=build_kwds, output_type=output_type)
        self._model = _SkHDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples,
                                  copy=True)

    def fit_predict(self, X: Any) -> Any:
        labels = self._model.fit_predict(device_input("HDBSCAN", X))
        return on_device(labels.astype(np.int32))
