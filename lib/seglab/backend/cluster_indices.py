"""Cluster indices in O(n·d) for any NumPy-compatible array module (NumPy or CuPy).

scikit-learn's Davies-Bouldin and Calinski-Harabasz loop over clusters with a mask each (and
cuML has neither); these take one grouped pass (``bincount``) and agree with scikit-learn's
definitions to rounding. Both backends call them with their own array module.
"""

from __future__ import annotations

from typing import Any


def _cluster_centroids(xp: Any, X: Any, labels: Any) -> tuple[Any, Any, Any]:
    """``(centroids (k, d), counts (k,), label index per row)`` for ``k >= 2`` labels.

    Raises:
        ValueError: fewer than 2 or more than ``n - 1`` labels (as scikit-learn does).
    """
    k, inverse = _label_index(xp, labels)
    n = X.shape[0]
    if not 2 <= k <= n - 1:
        raise ValueError(f"Number of labels is {k}. Valid values are 2 to n_samples - 1 "
                         "(inclusive)")
    counts = xp.bincount(inverse, minlength=k)
    sums = xp.stack([xp.bincount(inverse, weights=X[:, j], minlength=k)
                     for j in range(X.shape[1])], axis=1)
    return sums / counts[:, None], counts, inverse


def calinski_harabasz(xp: Any, X: Any, labels: Any) -> float:
    """Calinski-Harabasz index with array module ``xp`` (NumPy or CuPy), in O(n·d).

    Same definition as :func:`sklearn.metrics.calinski_harabasz_score`: between-cluster over
    within-cluster dispersion, each divided by its degrees of freedom.
    """
    X = X.astype(xp.float64)
    centroids, counts, inverse = _cluster_centroids(xp, X, labels)
    n, k = X.shape[0], centroids.shape[0]
    between = float((counts * ((centroids - X.mean(axis=0)) ** 2).sum(axis=1)).sum())
    within = float(((X - centroids[inverse]) ** 2).sum())
    return 1.0 if within == 0.0 else between * (n - k) / (within * (k - 1))


def davies_bouldin(xp: Any, X: Any, labels: Any) -> float:
    """Davies-Bouldin index with array module ``xp`` (NumPy or CuPy), in O(n·d + k²·d).

    Same definition as :func:`sklearn.metrics.davies_bouldin_score`: the mean over clusters of
    the worst ratio of summed mean intra-cluster distances to centroid distance.
    """
    X = X.astype(xp.float64)
    centroids, counts, inverse = _cluster_centroids(xp, X, labels)
    spread = xp.bincount(inverse, weights=xp.sqrt(((X - centroids[inverse]) ** 2).sum(axis=1)),
                         minlength=centroids.shape[0]) / counts
    gaps = xp.sqrt(((centroids[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2))
    if float(spread.max()) == 0.0 or float(gaps.max()) == 0.0:
        return 0.0
    gaps[gaps == 0] = xp.inf
    ratios = (spread[:, None] + spread[None, :]) / gaps
    return float(ratios.max(axis=1).mean())


def _label_index(xp: Any, labels: Any) -> tuple[int, Any]:
    """``(distinct labels, each row's label index 0..k-1 in label order)``.

    Integer labels spanning at most ``n`` values (cluster labels always do) are counted with
    ``bincount`` in O(n); other labels are sorted.
    """
    n = labels.shape[0]
    if n and labels.dtype.kind in "iu":
        low = int(labels.min())
        offsets = labels - low
        span = int(offsets.max()) + 1
        if span <= n:
            present = xp.bincount(offsets, minlength=span) > 0
            return int(present.sum()), (xp.cumsum(present) - 1)[offsets]
    uniques, inverse = xp.unique(labels, return_inverse=True)
    return int(uniques.shape[0]), inverse.reshape(-1)
