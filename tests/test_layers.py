"""Density layers (PLSCAN) and the nesting of segments in groups."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab.layers import group_labels, nest, nesting_share, persistent_layers


def test_a_segment_belongs_to_the_group_holding_most_of_its_customers() -> None:
    segments = np.array([0, 0, 0, 1, 1, 2, 2, -1])
    coarse = np.array([5, 5, 6, 5, -1, 6, 6, 5])
    groups = nest(segments, coarse)
    assert groups == {0: 5, 1: 5, 2: 6}
    assert group_labels(segments, groups).tolist() == [5, 5, 5, 5, 5, 6, 6, -1]
    # clustered in both layers: rows 0, 1, 2, 3, 5, 6; row 2 sits outside its segment's group
    assert nesting_share(segments, coarse) == 5 / 6
    assert nest(np.array([0, 0]), np.array([-1, -1])) == {0: -1}


def test_persistent_layers_resolve_both_levels_of_nested_blobs() -> None:
    centres = [(0, 0), (3, 0), (1.5, 2.6), (30, 0), (33, 0), (31.5, 2.6)]
    X, y = make_blobs(n_samples=1800, centers=centres, cluster_std=0.45, random_state=3)
    layers = persistent_layers(X, min_samples=15, min_cluster_size=20)
    counts = [layers.n_clusters(at) for at in range(len(layers.labels))]
    assert counts == sorted(counts, reverse=True)  # finest first
    best = {level: max(adjusted_rand_score(truth, labels) for labels in layers.labels)
            for level, truth in (("segments", y), ("groups", y // 3))}
    assert best["segments"] > 0.9 and best["groups"] > 0.95
    assert 0 <= layers.most_persistent < len(layers.labels)
