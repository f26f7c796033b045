"""New customers placed into a run's segments: the embedding's kNN placement, then the segments'
vote, and a flag for customers unlike any segment.

A new row is placed exactly as 02 places the rows beyond its fit sample
(:func:`seglab.reduce.knn_place`: the inverse-distance weighted embedding of its nearest fitted
rows in feature space), then labelled as 04 labels the rows beyond its selection sample
(:func:`seglab.selection.vote` among the reference rows: the clustered sample with its labels),
except that a row placed on a reference row takes its label (:data:`SAME_POINT`). The
confidence is the share of the 10 nearest reference rows that voted for the segment.

*Unlike any segment*: the embedding puts every row somewhere among the fitted ones, so
typicality is judged before it, in feature space. Each segment is summarised by the mean and
the (Ledoit-Wolf shrunk) covariance of its reference rows' features; a row's distance is its
smallest Mahalanobis distance to any segment. The threshold is the :data:`TYPICAL_QUANTILE`
quantile of that distance over the segmented reference rows themselves (:func:`fit_typicality`,
written by 04 to ``placement.json``): a row is unlike any segment when it lies outside the region
holding 95 % of every segment's own customers. So about 5 % of customers like the run's are
flagged. Measured on the tiny table (5 segments, 13
features; two runs, six shuffles each): 5-6 % of its own rows and 91-95 % of rows of the
shuffled-columns null (each column shuffled on its own) are flagged at 0.95; at 0.99 the null
was flagged 77 % of the time, and by the kNN distance to the fitted rows only 46 %.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.covariance import LedoitWolf

from seglab.backend import Backend
from seglab.reduce import knn_place
from seglab.selection import vote

SAME_POINT = 1e-5
"""A row placed this close to a reference row (embedding units) takes that row's label: it is
that customer (a point the run clustered keeps its cluster, as HDBSCAN's ``approximate_predict``
gives a training point its own)."""
TYPICAL_QUANTILE = 0.95
"""Share of each segment's own reference rows inside the unlike-any threshold."""


@dataclass(frozen=True)
class Typicality:
    """Each segment's feature mean and precision, and the unlike-any threshold."""

    segments: list[int]
    means: list[list[float]]
    precisions: list[list[list[float]]]
    threshold: float
    quantile: float

    def distance(self, features: np.ndarray) -> np.ndarray:
        """Each row's smallest Mahalanobis distance to a segment (``inf`` with no segment)."""
        best = np.full(len(features), np.inf)
        for mean, precision in zip(self.means, self.precisions, strict=True):
            offset = features.astype(np.float64) - np.asarray(mean)
            squared = np.einsum("ij,jk,ik->i", offset, np.asarray(precision), offset)
            np.minimum(best, np.sqrt(np.maximum(squared, 0.0)), out=best)
        return best

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``placement.json``."""
        return asdict(self)


def fit_typicality(features: np.ndarray, labels: np.ndarray) -> Typicality:
    """Segment means and shrunk precisions from labelled rows; the threshold from their own
    distances (segments of fewer than two rows, and noise, are not summarised)."""
    segments = [int(s) for s in np.unique(labels) if s >= 0 and np.sum(labels == s) >= 2]
    means, precisions = [], []
    for segment in segments:
        model = LedoitWolf().fit(features[labels == segment].astype(np.float64))
        means.append(model.location_.tolist())
        precisions.append(model.precision_.tolist())
    typical = Typicality(segments, means, precisions, np.inf, TYPICAL_QUANTILE)
    inside = labels >= 0
    if not inside.any() or not segments:
        return typical
    threshold = float(np.quantile(typical.distance(features[inside]), TYPICAL_QUANTILE))
    return Typicality(segments, means, precisions, threshold, TYPICAL_QUANTILE)


@dataclass(frozen=True)
class Assigned:
    """Segments of new rows (``-1``: noise), the vote's share, the distance and the flag."""

    coords: np.ndarray
    segment: np.ndarray
    confidence: np.ndarray
    distance: np.ndarray
    unlike_any: np.ndarray


@dataclass(frozen=True)
class Placement:
    """The fitted rows (features and embedding), the labelled reference rows, the typicality."""

    fit_features: np.ndarray
    fit_coords: np.ndarray
    reference_coords: np.ndarray
    reference_labels: np.ndarray
    typicality: Typicality
    embedded: bool
    """``False`` for ``reduce.method: none``: the coordinates are the features themselves."""

    def assign(self, features: np.ndarray, backend: Backend) -> Assigned:
        """Place, label and flag the rows of a feature matrix built by the run's transform."""
        coords = (knn_place(self.fit_features, self.fit_coords, features, backend)
                  if self.embedded else features)
        segment, confidence, closest = vote(self.reference_coords, self.reference_labels, coords,
                                            backend)
        same = closest[:, 0] <= SAME_POINT
        segment[same] = self.reference_labels[closest[same, 1].astype(np.int64)]
        distance = self.typicality.distance(features)
        return Assigned(coords, segment, confidence, distance, distance > self.typicality.threshold)
