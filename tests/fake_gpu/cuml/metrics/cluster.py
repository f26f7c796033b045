"""Fake ``cuml.metrics.cluster.silhouette_samples`` over scikit-learn."""

from typing import Any

import cupy
import fakegpu_log
import numpy as np
from sklearn.metrics import silhouette_samples as _sk_silhouette_samples

from cuml import device_input, on_device


def silhouette_samples(X: Any, labels: Any, metric: str = "euclidean",
                       chunksize: int | None = None) -> Any:
    if not isinstance(labels, cupy.ndarray):
        raise TypeError("silhouette_samples: labels must be on the device")
    fakegpu_log.record("cuml.metrics.cluster.silhouette_samples", chunksize=chunksize)
    return on_device(_sk_silhouette_samples(device_input("silhouette", X), np.asarray(labels)))
