"""Model selection and the verdict: hand-drawn tables whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from seglab import selection, verdict
from seglab.backend.cpu import CpuBackend
from seglab.backend.density import SpanningTree

BACKEND = CpuBackend()


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """1,500 points in 3-D: four blobs of different spread and 3 % uniform noise."""
    X, y = make_blobs(n_samples=1500, centers=4, n_features=3, cluster_std=[0.3, 0.5, 0.4, 0.6],
                      random_state=7)
    noise = np.random.default_rng(0).uniform(X.min(), X.max(), size=(45, 3))
    return np.vstack([X, noise]).astype(np.float32), np.concatenate([y, np.full(45, -1)])


@pytest.fixture(scope="module")
def blob_candidates(blobs) -> list[selection.Scored]:
    """Every candidate for the blobs, scored (shared: scoring is the slow part)."""
    X, _ = blobs
    return selection.evaluate(X, X, BACKEND, _settings(len(X)))


def _settings(n_rows: int, min_samples: int = 20) -> selection.SearchSettings:
    return selection.SearchSettings(min_samples=min_samples, min_cluster_size=max(10, n_rows // 200),
                                    draws=2, seed=0)


def test_a_tree_cut_is_dbscan_on_core_points_and_claims_border_points(blobs) -> None:
    X, _ = blobs
    tree = SpanningTree(X, 15)
    exact_core_distance = BACKEND.kneighbors(X, 15)[0][:, -1]
    np.testing.assert_allclose(tree.core_distances, exact_core_distance, rtol=1e-5)
    for eps in (0.3, 0.5, 0.8):
        labels, core = BACKEND.dbscan(X, eps=eps, min_samples=15)
        cut = tree.dbscan(eps)
        assert adjusted_rand_score(labels[core], cut[core]) > 0.999  # float32 ties at eps
        assert adjusted_rand_score(labels, cut) > 0.97  # border points: who claims them first
        assert abs(np.mean(cut < 0) - np.mean(labels < 0)) < 0.01


def test_clear_blobs_get_four_density_segments_and_a_clear_verdict(blobs, blob_candidates) -> None:
    _, truth = blobs
    chosen_set = selection.choose(blob_candidates)
    chosen = chosen_set.chosen
    assert chosen.candidate.family == "density" and chosen.admissible
    assert chosen.n_clusters == 4 and adjusted_rand_score(truth, chosen.candidate.labels) > 0.9
    table = chosen_set.table()
    assert table["chosen"].sum() == 1 and len(table) >= 15
    assert {"dbscan", "hdbscan", "plscan", "gmm", "kmeans"} <= set(table["algorithm"])
    null = verdict.NullScore(coverage_silhouette=0.2, silhouette_features=0.05, n_clusters=2,
                             selected="kmeans k=2", sample_size=500)
    judged = verdict.judge(chosen, null, restated=[])
    assert judged.level == "clear" and judged.reasons == []
    assert judged.sentence.startswith("4 clear segments found by")


def test_structure_free_points_get_no_density_choice_and_verdict_none() -> None:
    X = np.random.default_rng(1).normal(size=(1500, 4)).astype(np.float32)
    chosen = selection.select(X, X, BACKEND, _settings(len(X))).chosen
    assert chosen.candidate.family == "partition"
    judged = verdict.judge(chosen, None, restated=[])
    assert judged.level == "none"
    assert judged.sentence.startswith("No density-separated groups")


def test_a_score_not_above_the_null_is_no_segmentation(blob_candidates) -> None:
    chosen = selection.choose(blob_candidates).chosen
    as_good = verdict.NullScore(chosen.coverage_silhouette + 0.01, 0.3, 4, "dbscan", 500)
    assert verdict.judge(chosen, as_good, restated=[]).level == "none"
    close = verdict.NullScore(chosen.coverage_silhouette - 0.05, 0.3, 4, "dbscan", 500)
    judged = verdict.judge(chosen, close, restated=[])
    assert judged.level == "weak" and "barely above the shuffled-columns null" in judged.reasons[0]


def test_segments_that_restate_one_column_are_called_so() -> None:
    labels = np.repeat([0, 1, 2], 100)
    codes = {"town": labels.copy(), "noise": np.random.default_rng(2).integers(0, 3, 300)}
    assert verdict.restated_columns(labels, codes) == ["town"]
    assert verdict.restated_columns(np.zeros(300, dtype=int), codes) == []


def test_the_segments_are_the_finest_kept_layer_within_the_tolerance(blob_candidates) -> None:
    scored = blob_candidates
    kept = selection.kept_layers(scored)
    assert kept and [item.n_clusters for item in kept] == sorted({item.n_clusters for item in kept})
    assert all(item.admissible and item.stability >= selection.KEEP_STABILITY for item in kept)
    best = max(item.coverage_silhouette for item in kept)
    assert selection.choose(scored, tolerance=0.0).chosen.coverage_silhouette == best
    chosen = selection.choose(scored, tolerance=0.1).chosen
    assert chosen.coverage_silhouette >= best - 0.1
    assert not any(item.n_clusters > chosen.n_clusters and item.coverage_silhouette >= best - 0.1
                   for item in kept)
    assert selection.choose(scored, layer="coarsest").chosen is kept[0]
    assert selection.choose(scored, layer="finest").chosen is kept[-1]
    assert selection.choose(scored, layer=0).chosen is kept[0]
    assert selection.choose(scored, layer=99).chosen is kept[-1]  # past the finest: the finest


def test_no_layer_above_the_null_falls_back_to_the_knee_rule(blob_candidates) -> None:
    scored = blob_candidates
    above_all = max(item.coverage_silhouette for item in scored) + 0.01
    chosen_set = selection.choose(scored, null_score=above_all)
    assert chosen_set.layers == [] and chosen_set.groups is None
    assert chosen_set.reason.startswith("no stable layer above the null")
    assert chosen_set.chosen.candidate.algorithm != "plscan"  # layers that are not kept


def test_nested_blobs_give_segments_inside_groups() -> None:
    """Two far-apart groups, each of three touching blobs: six segments in two groups."""
    centres = [(0, 0), (3, 0), (1.5, 2.6), (30, 0), (33, 0), (31.5, 2.6)]
    X, y = make_blobs(n_samples=3000, centers=centres, cluster_std=0.45, random_state=3)
    X = X.astype(np.float32)
    sample = np.arange(0, len(X), 2)
    settings = _settings(len(sample), min_samples=15)
    chosen_set = selection.choose(selection.evaluate(X[sample], X[sample], BACKEND, settings),
                                  tolerance=0.5)
    levels = selection.label_levels(X, sample, chosen_set, BACKEND)
    assert adjusted_rand_score(y, levels.segments) > 0.9
    assert levels.groups is not None and levels.groups.max() + 1 == 2
    grouped = levels.groups >= 0
    assert grouped.mean() > 0.9 and adjusted_rand_score(y[grouped] // 3, levels.groups[grouped]) > 0.99
    for segment in np.unique(levels.segments[levels.segments >= 0]):  # each in exactly one group
        assert len(np.unique(levels.groups[levels.segments == segment])) == 1
    assert np.all(levels.groups[levels.segments < 0] == -1)
    records = selection.layer_records(chosen_set)
    assert [record["role"] for record in records].count("segments") == 1
    assert [record["role"] for record in records].count("groups") == 1


def test_rows_beyond_the_sample_take_their_neighbours_label(blobs) -> None:
    X, truth = blobs
    sample = np.arange(0, len(X), 3)
    neighbours = selection.sample_neighbours(X, sample, BACKEND)
    labels = selection.extend_labels(len(X), sample, truth[sample], neighbours)
    assert np.array_equal(labels[sample], truth[sample])
    clustered = truth >= 0
    assert np.mean(labels[clustered] == truth[clustered]) > 0.98


def test_the_margin_says_how_close_another_answer_came(blob_candidates) -> None:
    chosen_set = selection.choose(blob_candidates)
    others = [item for item in chosen_set.scored
              if item.admissible and item.n_clusters != chosen_set.chosen.n_clusters]
    if others:
        best_other = max(item.coverage_silhouette for item in others)
        assert chosen_set.margin == pytest.approx(
            chosen_set.chosen.coverage_silhouette - best_other, abs=1e-4)
    else:
        assert chosen_set.margin is None
    alone = selection.Selection([chosen_set.chosen], chosen_set.chosen, "only one")
    assert alone.margin is None
