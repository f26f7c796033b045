"""Fake ``cuml.metrics.trustworthiness`` over scikit-learn."""

from typing import Any

import fakegpu_log
from sklearn.manifold import trustworthiness as _sk_trustworthiness

from cuml import device_input


def trustworthiness(X: Any, X_embedded: Any, n_neighbors: int = 5,
                    metric: str = "euclidean", batch_size: int = 512) -> float:
    fakegpu_log.record("cuml.metrics.trustworthiness", n_neighbors=n_neighbors,
                       batch_size=batch_size)
    return float(_sk_trustworthiness(device_input("trustworthiness", X),
                                     device_input("trustworthiness", X_embedded),
                                     n_neighbors=n_neighbors))
