"""Fake ``cuml.neighbors.NearestNeighbors`` (exact, scikit-learn)."""

from typing import Any

import fakegpu_log
from sklearn.neighbors import NearestNeighbors as _Sk

from cuml import device_input, on_device


class NearestNeighbors:
    def __init__(self, *, n_neighbors: int = 5, algorithm: str = "auto",
                 output_type: Any = None) -> None:
        fakegpu_log.record("cuml.NearestNeighbors", n_neighbors=n_neighbors,
                           algorithm=algorithm, output_type=output_type)
        self._nn = _Sk(n_neighbors=n_neighbors)

    def fit(self, X: Any) -> "NearestNeighbors":
        self._nn.fit(device_input("NearestNeighbors.fit", X))
        return self

    def kneighbors(self, X: Any, n_neighbors: int | None = None) -> tuple[Any, Any]:
        distances, indices = self._nn.kneighbors(device_input("kneighbors", X), n_neighbors)
        return on_device(distances.astype("float32")), on_device(indices)
