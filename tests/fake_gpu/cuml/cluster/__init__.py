"""Fake ``cuml.cluster``: DBSCAN and KMeans over scikit-learn."""

from typing import Any

import fakegpu_log
import numpy as np
from sklearn.cluster import DBSCAN as _SkDBSCAN
from sklearn.cluster import KMeans as _SkKMeans

from cuml import device_input, on_device


class DBSCAN:
    def __init__(self, *, eps: float = 0.5, min_samples: int = 5, algorithm: str = "brute",
                 max_mbytes_per_batch: int | None = None, output_type: Any = None,
                 calc_core_sample_indices: bool = True) -> None:
        if algorithm not in ("brute", "rbc"):
            raise ValueError(f"algorithm {algorithm!r}")
        self._init = {"eps": eps, "min_samples": min_samples, "algorithm": algorithm,
                      "max_mbytes_per_batch": max_mbytes_per_batch, "output_type": output_type,
                      "calc_core_sample_indices": calc_core_sample_indices}

    def fit(self, X: Any, y: Any = None, *, out_dtype: str = "int32") -> "DBSCAN":
        fakegpu_log.record("cuml.DBSCAN", out_dtype=out_dtype, **self._init)
        model = _SkDBSCAN(eps=self._init["eps"], min_samples=self._init["min_samples"])
        model.fit(device_input("DBSCAN.fit", X))
        self.labels_ = on_device(model.labels_.astype(out_dtype))
        self.core_sample_indices_ = on_device(model.core_sample_indices_.astype(out_dtype))
        return self


class KMeans:
    def __init__(self, *, n_clusters: int = 8, random_state: Any = None,
                 output_type: Any = None) -> None:
        fakegpu_log.record("cuml.KMeans", n_clusters=n_clusters, random_state=random_state,
                           output_type=output_type)
        self._km = _SkKMeans(n_clusters=n_clusters, random_state=random_state, n_init=1)

    def fit_predict(self, X: Any) -> Any:
        return on_device(self._km.fit_predict(device_input("KMeans", X)).astype(np.int32))
