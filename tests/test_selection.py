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


def test_clear_blobs_get_the_knee_dbscan_and_a_clear_verdict(blobs) -> None:
    X, truth = blobs
    chosen_set = selection.select(X, X, BACKEND, _settings(len(X)))
    chosen = chosen_set.chosen
    assert chosen.candidate.family == "density" and chosen.admissible
    assert chosen.n_clusters == 4 and adjusted_rand_score(truth, chosen.candidate.labels) > 0.9
    table = chosen_set.table()
    assert table["chosen"].sum() == 1 and len(table) >= 15
    assert {"dbscan", "hdbscan", "gmm", "kmeans"} <= set(table["algorithm"])
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


def test_a_score_not_above_the_null_is_no_segmentation(blobs) -> None:
    X, _ = blobs
    chosen = selection.select(X, X, BACKEND, _settings(len(X))).chosen
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


def test_the_knee_stays_unless_a_candidate_is_clearly_better(blobs) -> None:
    X, _ = blobs
    scored = selection.score_all(selection.candidates(X, BACKEND, _settings(len(X))), X, X,
                                 BACKEND, _settings(len(X)))
    default = next(item for item in scored if item.candidate.default)
    assert selection.choose(scored).chosen is default or (
        selection.choose(scored).chosen.coverage_silhouette
        >= default.coverage_silhouette + selection.CLEAR_MARGIN)


def test_rows_beyond_the_sample_take_their_neighbours_label(blobs) -> None:
    X, truth = blobs
    sample = np.arange(0, len(X), 3)
    labels = selection.extend_labels(X, sample, truth[sample], BACKEND)
    assert np.array_equal(labels[sample], truth[sample])
    clustered = truth >= 0
    assert np.mean(labels[clustered] == truth[clustered]) > 0.98


def test_the_margin_says_how_close_another_answer_came(blobs) -> None:
    X, _ = blobs
    settings = _settings(len(X))
    chosen_set = selection.choose(selection.score_all(selection.candidates(X, BACKEND, settings),
                                                      X, X, BACKEND, settings))
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
