"""A density hierarchy fitted once per ``min_samples``, cut many times.

Every DBSCAN clustering with a given ``min_samples`` is a cut of one tree: the minimum spanning
tree of the mutual-reachability graph (Campello, Moulavi and Sander 2013, the tree HDBSCAN
builds). :class:`SpanningTree` builds it with ``fast-hdbscan`` (a numba Borůvka over a KD-tree,
meant for the few dimensions of an embedding) and then answers, each in O(n):

- :meth:`~SpanningTree.dbscan`: DBSCAN at any ``eps``. The tree's cut joins the core points
  (DBSCAN*, where border points are noise); the border points are then given to the cluster of
  their nearest core point within ``eps``, as classic DBSCAN does, so the labels are DBSCAN's up
  to which of two clusters claims a border point between them (Schubert et al. 2017);
- :meth:`~SpanningTree.hdbscan`: HDBSCAN's excess-of-mass or leaf selection.

:class:`RefitTree` offers the same interface by calling a backend's DBSCAN and HDBSCAN for each
question (the GPU backend: cuML has both, and no shared tree).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from seglab.backend import Backend

Selection = Literal["eom", "leaf"]


class DensityTree(Protocol):
    """DBSCAN cuts and HDBSCAN selections of one point set at one ``min_samples``."""

    min_samples: int
    core_distances: np.ndarray
    """float64 ``(n,)``: distance to the ``min_samples``-th neighbour, the point itself counted."""

    def dbscan(self, eps: float) -> np.ndarray:
        """DBSCAN labels at ``eps`` (-1 = noise)."""

    def hdbscan(self, min_cluster_size: int, selection: Selection) -> np.ndarray:
        """HDBSCAN labels with excess-of-mass (``eom``) or ``leaf`` selection (-1 = noise)."""


class SpanningTree:
    """The mutual-reachability spanning tree of ``X`` (host NumPy), fitted on construction.

    Args:
        X: points ``(n, d)``, a low-dimensional embedding.
        min_samples: neighbours that make a point core, the point itself counted.
    """

    def __init__(self, X: np.ndarray, min_samples: int) -> None:
        from fast_hdbscan.hdbscan import compute_minimum_spanning_tree

        # fast-hdbscan counts neighbours without the point itself; DBSCAN (and seglab) with it.
        points = np.ascontiguousarray(X, dtype=np.float32)
        edges, _, core = compute_minimum_spanning_tree(points, min_samples=max(1, min_samples - 1))
        self._set(points, min_samples, edges, core)

    @classmethod
    def restore(cls, X: np.ndarray, min_samples: int, edges: np.ndarray,
                core_distances: np.ndarray) -> SpanningTree:
        """The tree of ``X`` from its stored ``edges`` and ``core_distances`` (no refit)."""
        tree = cls.__new__(cls)
        tree._set(np.ascontiguousarray(X, dtype=np.float32), min_samples, edges, core_distances)
        return tree

    def _set(self, points: np.ndarray, min_samples: int, edges: np.ndarray,
             core_distances: np.ndarray) -> None:
        self.points = points
        self.min_samples = int(min_samples)
        self.edges = np.asarray(edges, dtype=np.float64)
        """``(n - 1, 3)``: the two rows an edge joins and its mutual-reachability distance."""
        self.core_distances = np.asarray(core_distances, dtype=np.float64)
        self._linkage: np.ndarray | None = None

    def dbscan(self, eps: float) -> np.ndarray:
        from fast_hdbscan.cluster_trees import get_cluster_labelling_at_cut

        # The cut keeps edges strictly below it; DBSCAN's neighbourhood includes eps itself.
        # Every component of core points is a cluster, however few they are (DBSCAN, unlike
        # DBSCAN*'s size threshold); a point that is not core is alone in the cut.
        cut = np.nextafter(eps, np.inf)
        components = np.asarray(get_cluster_labelling_at_cut(self.linkage, cut, 1), dtype=np.int64)
        core = self.core_distances <= eps
        _, labels = np.unique(np.where(core, components, -1), return_inverse=True)
        labels = labels.astype(np.int64) - (0 if core.all() else 1)
        return _claim_border_points(self.points, labels, core, eps)

    def hdbscan(self, min_cluster_size: int, selection: Selection) -> np.ndarray:
        from fast_hdbscan.hdbscan import clusters_from_spanning_tree

        labels, *_ = clusters_from_spanning_tree(self.edges, min_cluster_size=int(min_cluster_size),
                                                 cluster_selection_method=selection)
        return np.asarray(labels, dtype=np.int64)

    @property
    def linkage(self) -> np.ndarray:
        """The single-linkage dendrogram of the tree (built on first use)."""
        if self._linkage is None:
            from fast_hdbscan.cluster_trees import mst_to_linkage_tree

            order = np.lexsort((self.edges[:, 1], self.edges[:, 0], self.edges[:, 2]))
            self._linkage = mst_to_linkage_tree(self.edges[order])
        return self._linkage


class RefitTree:
    """The :class:`DensityTree` interface over a backend's own DBSCAN and HDBSCAN.

    Args:
        backend: the compute backend.
        X: points ``(n, d)`` (host or backend array).
        min_samples: neighbours that make a point core, the point itself counted.
    """

    def __init__(self, backend: Backend, X: Any, min_samples: int) -> None:
        self.backend = backend
        self.points = backend.asarray(X)
        self.min_samples = int(min_samples)
        distances, _ = backend.kneighbors(self.points, self.min_samples)
        self.core_distances = backend.to_numpy(distances)[:, -1].astype(np.float64)

    def dbscan(self, eps: float) -> np.ndarray:
        labels, _ = self.backend.dbscan(self.points, eps=eps, min_samples=self.min_samples)
        return self.backend.to_numpy(labels).astype(np.int64)

    def hdbscan(self, min_cluster_size: int, selection: Selection) -> np.ndarray:
        labels = self.backend.hdbscan(self.points, min_cluster_size=min_cluster_size,
                                      min_samples=self.min_samples, selection=selection)
        return self.backend.to_numpy(labels).astype(np.int64)


def _claim_border_points(points: np.ndarray, labels: np.ndarray, core: np.ndarray,
                         eps: float) -> np.ndarray:
    """Give each noise point within ``eps`` of a core point that core point's cluster."""
    noise = np.flatnonzero(labels < 0)
    core_rows = np.flatnonzero(core)
    if not len(noise) or not len(core_rows):
        return labels
    distances, nearest = cKDTree(points[core_rows]).query(points[noise], k=1,
                                                          distance_upper_bound=eps)
    claimed = np.isfinite(distances)
    labels = labels.copy()
    labels[noise[claimed]] = labels[core_rows[nearest[claimed]]]
    return labels
