"""Density layers: the resolutions at which the embedding's density hierarchy persists.

PLSCAN (Bot, McInnes and Aerts 2025, arXiv:2512.16558; ``fast_hdbscan.PLSCAN``) builds the
HDBSCAN hierarchy once and reads it at every minimum cluster size: the sizes at which the total
persistence of the leaf clusters peaks are the table's own resolutions, each one a *layer* (a
flat clustering), and the layer at the highest peak is its most persistent one. Coarser layers
hold the finer ones' clusters nearly whole, which is what makes segments and groups: a segment
belongs to the group that holds most of its customers (:func:`nest`).

PLSCAN runs on the host for every backend (cuML has no PLSCAN): the points are the selection
sample of a low-dimensional embedding, a few seconds at 20,000 rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seglab.cluster import relabel_by_size


@dataclass(frozen=True)
class Layers:
    """The persistent layers of one point set, finest first."""

    labels: tuple[np.ndarray, ...]
    """Labels per layer (-1 = noise), segments numbered by size."""
    persistence: tuple[float, ...]
    """Total leaf persistence at each layer's cluster size (0 for the base layer, which is the
    leaf clustering at the smallest size, not a peak)."""
    min_samples: int
    min_cluster_size: int

    @property
    def most_persistent(self) -> int:
        """Index of PLSCAN's primary layer (the highest persistence peak)."""
        return int(np.argmax(self.persistence))

    def n_clusters(self, layer: int) -> int:
        return int(self.labels[layer].max(initial=-1) + 1)


def persistent_layers(points: np.ndarray, min_samples: int, min_cluster_size: int) -> Layers:
    """PLSCAN's layers of ``points`` (host NumPy, a low-dimensional embedding).

    Args:
        points: ``(n, d)`` points.
        min_samples: neighbours that make a point core, the point itself counted (as DBSCAN and
            the rest of seglab count them).
        min_cluster_size: the base layer's minimum cluster size (the finest resolution looked at).
    """
    from fast_hdbscan import PLSCAN

    host = np.ascontiguousarray(points, dtype=np.float64)
    fitted = PLSCAN(min_samples=max(1, min_samples - 1), base_min_cluster_size=min_cluster_size,
                    reproducible=True).fit(host)
    return Layers(labels=tuple(relabel_by_size(np.asarray(layer)) for layer in fitted.cluster_layers_),
                  persistence=tuple(float(score) for score in fitted.layer_persistence_scores_),
                  min_samples=min_samples, min_cluster_size=min_cluster_size)


def nest(segments: np.ndarray, coarse: np.ndarray) -> dict[int, int]:
    """Each segment's group: the coarse cluster holding most of its customers (noise in the
    coarse layer does not vote; a segment with no clustered customer there gets -1)."""
    groups: dict[int, int] = {}
    for segment in np.unique(segments[segments >= 0]):
        inside = coarse[(segments == segment) & (coarse >= 0)]
        groups[int(segment)] = int(np.bincount(inside).argmax()) if len(inside) else -1
    return groups


def nesting_share(segments: np.ndarray, coarse: np.ndarray) -> float:
    """Share of the clustered customers (in both layers) whose coarse cluster is their segment's
    group: 1.0 when every segment lies inside one coarse cluster."""
    both = (segments >= 0) & (coarse >= 0)
    if not both.any():
        return 0.0
    groups = nest(segments, coarse)
    mapped = np.array([groups[int(segment)] for segment in segments[both]])
    return float(np.mean(mapped == coarse[both]))


def group_labels(segments: np.ndarray, groups: dict[int, int]) -> np.ndarray:
    """Per row, the group of its segment (-1 for noise)."""
    lookup = np.full(int(segments.max(initial=-1)) + 2, -1, dtype=np.int64)
    for segment, group in groups.items():
        lookup[segment + 1] = group
    return lookup[segments + 1]
