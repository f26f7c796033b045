"""The grouped-pass Davies-Bouldin and Calinski-Harabasz both backends use, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score

from seglab.backend.cluster_indices import calinski_harabasz, davies_bouldin
from seglab.backend.cpu import CpuBackend


@pytest.mark.parametrize(("std", "dtype", "spread"), [(0.4, np.float64, 5), (3.0, np.float32, 5),
                                                     (1.0, np.float64, 10**9)])
def test_cpu_indices_match_scikit_learn(std: float, dtype: type, spread: int) -> None:
    X, y = make_blobs(n_samples=2000, centers=7, n_features=5, cluster_std=std, random_state=3)
    X = X.astype(dtype)
    labels = y * spread - 1  # non-contiguous labels, one of them -1 (spread 10**9: sorted)
    backend = CpuBackend()
    assert backend.davies_bouldin(X, labels) == pytest.approx(davies_bouldin_score(X, labels),
                                                              rel=1e-5)
    assert backend.calinski_harabasz(X, labels) == pytest.approx(
        calinski_harabasz_score(X, labels), rel=1e-5)


def test_index_edge_cases_follow_scikit_learn() -> None:
    X = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    assert calinski_harabasz(np, X, labels) == calinski_harabasz_score(X, labels) == 1.0
    assert davies_bouldin(np, X, labels) == davies_bouldin_score(X, labels) == 0.0
    with pytest.raises(ValueError, match="Number of labels is 1"):
        davies_bouldin(np, X, np.zeros(4, dtype=int))
