"""One interface over DBSCAN and its baselines (HDBSCAN, KMeans, Gaussian mixture).

Labels are int64 with -1 for noise (DBSCAN and HDBSCAN only), renumbered 0..k-1 by cluster size
(largest first) so that runs and plots are comparable. Warnings name the density symptoms of
bad parameters (Schubert et al. 2017): almost no point or almost every point core, a very
large noise share, one cluster holding nearly everything.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from seglab.backend import Backend
from seglab.backend.density import DensityTree
from seglab.errors import SeglabError

ALGORITHMS = ("dbscan", "hdbscan", "kmeans", "gmm")
HDBSCAN_MIN_SAMPLES = 10
"""HDBSCAN's ``min_samples`` when none is given (data.md: 10 with UMAP embeddings)."""


@dataclass(frozen=True)
class Clustering:
    """Labels and how they were obtained."""

    algorithm: str
    labels: np.ndarray
    """int64 ``(n,)``, -1 = noise, clusters 0..k-1 largest first."""
    core_mask: np.ndarray | None
    """DBSCAN's core points; ``None`` for the other algorithms."""
    params: dict[str, Any]
    seconds: float


def cluster(X: np.ndarray, algorithm: str, backend: Backend, *, eps: float | None = None,
            min_samples: int | None = None, n_clusters: int | None = None,
            min_cluster_size: int | None = None, seed: int = 0) -> Clustering:
    """Cluster ``X`` with one algorithm.

    Args:
        X: points ``(n, d)``, usually the embedding.
        algorithm: ``dbscan``, ``hdbscan``, ``kmeans`` or ``gmm``.
        backend: the compute backend.
        eps: DBSCAN radius (required for DBSCAN).
        min_samples: DBSCAN (required) / HDBSCAN density, counting the point itself.
        n_clusters: KMeans/GMM clusters (required for them).
        min_cluster_size: HDBSCAN; ``None`` = 0.5 % of the rows, at least 10.
        seed: KMeans/GMM initialisation.

    Returns:
        The clustering with the parameters actually used and the wall time.

    Raises:
        SeglabError: for an unknown algorithm or a missing parameter.
    """
    points = backend.asarray(X)
    n_rows = len(X)
    core_mask = None
    start = time.perf_counter()
    if algorithm == "dbscan":
        params: dict[str, Any] = {"eps": _required(eps, "eps", algorithm),
                                  "min_samples": _required(min_samples, "min_samples", algorithm)}
        labels, core = backend.dbscan(points, eps=float(params["eps"]),
                                      min_samples=int(params["min_samples"]))
        core_mask = backend.to_numpy(core).astype(bool)
    elif algorithm == "hdbscan":
        size = min_cluster_size or max(10, n_rows // 200)
        params = {"min_cluster_size": size, "min_samples": min_samples or HDBSCAN_MIN_SAMPLES}
        labels = backend.hdbscan(points, **params)
    elif algorithm in ("kmeans", "gmm"):
        params = {"n_clusters": _required(n_clusters, "n_clusters", algorithm), "seed": seed}
        if algorithm == "kmeans":
            labels = backend.kmeans(points, n_clusters=int(params["n_clusters"]), seed=seed)
        else:
            labels = backend.gaussian_mixture(points, n_components=int(params["n_clusters"]),
                                              seed=seed)
    else:
        raise SeglabError(f"cluster.algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    seconds = time.perf_counter() - start
    return Clustering(algorithm=algorithm, labels=relabel_by_size(backend.to_numpy(labels)),
                      core_mask=core_mask, params=params, seconds=seconds)


def cut(tree: DensityTree, eps: float) -> Clustering:
    """DBSCAN at ``eps`` as a cut of a fitted density tree (:mod:`seglab.backend.density`): the
    same core points and clusters as DBSCAN, border points given to their nearest core point."""
    start = time.perf_counter()
    labels = relabel_by_size(tree.dbscan(eps))
    return Clustering(algorithm="dbscan", labels=labels, core_mask=tree.core_distances <= eps,
                      params={"eps": eps, "min_samples": tree.min_samples},
                      seconds=time.perf_counter() - start)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber clusters 0..k-1 from the largest to the smallest; noise stays -1."""
    labels = np.asarray(labels, dtype=np.int64)
    clusters, sizes = np.unique(labels[labels >= 0], return_counts=True)
    order = clusters[np.lexsort((clusters, -sizes))]
    mapping = np.full(int(labels.max(initial=-1)) + 2, -1, dtype=np.int64)
    mapping[order + 1] = np.arange(len(order))
    return mapping[labels + 1]


def density_warnings(clustering: Clustering) -> list[str]:
    """Symptoms of badly chosen density parameters, one readable line each.

    Args:
        clustering: a clustering from :func:`cluster`.

    Returns:
        Warnings (empty when nothing looks wrong).
    """
    labels = clustering.labels
    n_rows = len(labels)
    if n_rows == 0:
        return []
    warnings: list[str] = []
    clustered = labels[labels >= 0]
    noise = 1.0 - len(clustered) / n_rows
    if not len(clustered):
        return ["no cluster found: every point is noise (raise eps or lower min_samples)"]
    if clustering.core_mask is not None:
        core = float(np.mean(clustering.core_mask))
        if core < 0.05:
            warnings.append(f"almost no point is core ({core:.1%}): eps is too small or "
                            "min_samples too large")
        elif core > 0.99:
            warnings.append(f"almost every point is core ({core:.1%}): eps may be too large")
    if noise > 0.5:
        warnings.append(f"{noise:.0%} of the points are noise: raise eps or lower min_samples")
    largest = np.bincount(clustered).max() / n_rows
    if largest > 0.9:
        warnings.append(f"one cluster holds {largest:.0%} of the points: eps is probably too "
                        "large (it merges segments)")
    return warnings


def _required(value: Any, name: str, algorithm: str) -> Any:
    if value is None:
        raise SeglabError(f"{algorithm} needs {name}: set cluster.{name} (or let the pipeline "
                          "choose it)")
    return value
