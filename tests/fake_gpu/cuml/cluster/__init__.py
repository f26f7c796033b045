"""Fake ``cuml.cluster``: DBSCAN and KMeans over scikit-learn.

DBSCAN mirrors NVIDIA/cuml (rapidsai/cuml) at 342457bc (VERSION 26.10.00):
``python/cuml/cuml/cluster/dbscan.pyx`` (``__init__``, ``fit``'s ``out_dtype`` check) and
``cpp/src/dbscan/dbscan.cuh`` ``compute_batch_size``: ``max_mbytes_per_batch`` counts 10⁶
bytes; ``None``/0 means 80 % of the device memory minus the data; a budget below the fixed
``n_rows * (sizeof(label) + 1)`` bytes wraps the unsigned subtraction into one batch of all
rows (an N²-byte dense adjacency), one that leaves no batch row divides by zero.
"""

from typing import Any

import cupy
import fakegpu_log
import numpy as np
from sklearn.cluster import DBSCAN as _SkDBSCAN
from sklearn.cluster import KMeans as _SkKMeans

from cuml import device_input, on_device


class DBSCAN:
    def __init__(self, *, eps: float = 0.5, min_samples: int = 5, metric: str = "euclidean",
                 algorithm: str = "brute", verbose: Any = False,
                 max_mbytes_per_batch: int | None = None, output_type: Any = None,
                 calc_core_sample_indices: bool = True) -> None:
        self._init = {"eps": eps, "min_samples": min_samples, "metric": metric,
                      "algorithm": algorithm, "max_mbytes_per_batch": max_mbytes_per_batch,
                      "output_type": output_type,
                      "calc_core_sample_indices": calc_core_sample_indices}

    def fit(self, X: Any, y: Any = None, sample_weight: Any = None, *,
            out_dtype: str = "int32") -> "DBSCAN":
        if np.dtype(out_dtype) not in (np.dtype("int32"), np.dtype("int64")):
            raise ValueError(f"Expected out_dtype to be one of ['int32', 'int64'], got {out_dtype}")
        if self._init["algorithm"].lower() not in ("brute", "rbc"):
            raise ValueError(f"Invalid value for algorithm: {self._init['algorithm']}")
        if self._init["metric"].lower() not in ("euclidean", "l2", "cosine", "precomputed"):
            raise ValueError(f"Invalid value for metric: {self._init['metric']}")
        host = device_input("DBSCAN.fit", X)
        batch_rows = batch_size(host.shape, self._init["max_mbytes_per_batch"],
                                np.dtype(out_dtype).itemsize)
        fakegpu_log.record("cuml.DBSCAN", out_dtype=out_dtype, batch_rows=batch_rows,
                           **self._init)
        model = _SkDBSCAN(eps=self._init["eps"], min_samples=self._init["min_samples"])
        model.fit(host)
        self.labels_ = on_device(model.labels_.astype(out_dtype))
        self.core_sample_indices_ = on_device(model.core_sample_indices_.astype(out_dtype))
        return self


def batch_size(shape: tuple[int, int], max_mbytes: int | None, label_bytes: int) -> int:
    """``compute_batch_size`` for ``shape`` rows x columns, with size_t arithmetic.

    Raises:
        ZeroDivisionError: the budget leaves no batch row (``ceildiv`` by zero in cuML).
        MemoryError: the dense adjacency of one batch outgrows the device.
    """
    n_rows, n_cols = shape
    _free, total = cupy.cuda.runtime.memGetInfo()
    if not max_mbytes:
        max_mbytes = (80 * total // 100 - n_rows * n_cols * 4) // 10**6
    per_row = n_rows + (n_rows + 2) * label_bytes
    fixed = n_rows * (label_bytes + 1)
    rows = ((max_mbytes * 10**6 - fixed) % 2**64) // per_row  # size_t wraps below zero
    rows = min(n_rows, rows)
    if rows == 0:
        raise ZeroDivisionError("DBSCAN: batch size 0 (integer division by zero in ceildiv)")
    if rows * n_rows > total:
        raise MemoryError(f"DBSCAN: out of memory allocating a {rows * n_rows:,}-byte "
                          "adjacency batch")
    return rows


class KMeans:
    def __init__(self, *, n_clusters: int = 8, random_state: Any = None,
                 output_type: Any = None) -> None:
        fakegpu_log.record("cuml.KMeans", n_clusters=n_clusters, random_state=random_state,
                           output_type=output_type)
        self._km = _SkKMeans(n_clusters=n_clusters, random_state=random_state, n_init=1)

    def fit_predict(self, X: Any) -> Any:
        return on_device(self._km.fit_predict(device_input("KMeans", X)).astype(np.int32))
