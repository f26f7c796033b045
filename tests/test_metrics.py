"""Scores: sampled silhouette against the exact value, noise handling, JSON-safe output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, silhouette_score
from test_report import fake_run

from seglab import plots, stages
from seglab.artifacts import EMBEDDING, FEATURES
from seglab.backend.cpu import CpuBackend
from seglab.config import MetricsConfig, load_config
from seglab.metrics import (
    adjusted_rand,
    agreement,
    cluster_shape,
    sampled_silhouette,
    score,
    silhouette_sample,
)
from seglab.runfolder import METRIC_KEYS


@pytest.fixture(scope="module")
def backend() -> CpuBackend:
    return CpuBackend()


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    points, labels = make_blobs(3000, centers=4, n_features=2, cluster_std=1.5, random_state=0)
    return points, labels


def test_metric_keys_follow_the_design() -> None:
    assert len(METRIC_KEYS) == len(set(METRIC_KEYS)) == 28
    assert {"eps_low", "silhouette_feature_space", "ami", "seconds_total", "verdict", "selected",
            "n_candidates", "stability_ari", "n_groups", "n_layers"} <= set(METRIC_KEYS)
    assert not [key for key in METRIC_KEYS if key.startswith("seconds_") and key != "seconds_total"]


@pytest.mark.slow
def test_sampled_silhouette_is_within_001_of_exact_at_20k(backend: CpuBackend) -> None:
    points, labels = make_blobs(20_000, centers=6, n_features=2, cluster_std=1.8, random_state=1)
    exact = silhouette_score(points, labels)
    estimate = sampled_silhouette(points, labels, backend, sample_size=5000, bootstrap=200,
                                  confidence=0.95, seed=0)
    assert estimate is not None and estimate.sample_size == 5000
    assert abs(estimate.value - exact) < 0.01
    assert estimate.low < estimate.value < estimate.high and estimate.high - estimate.low < 0.03


def test_silhouette_excludes_noise(backend: CpuBackend, blobs) -> None:
    points, labels = blobs
    noisy = labels.copy()
    noisy[:500] = -1
    sample = silhouette_sample(points, noisy, backend, sample_size=800, seed=0)
    assert len(sample.values) == len(sample.labels) == 800 and (sample.labels >= 0).all()
    full = sampled_silhouette(points, noisy, backend, sample_size=10_000, bootstrap=100,
                              confidence=0.9, seed=0)
    assert full.sample_size == 2500
    assert full.value == pytest.approx(silhouette_score(points[500:], labels[500:]), abs=1e-9)


def test_silhouette_needs_two_clusters(backend: CpuBackend, blobs) -> None:
    points, _ = blobs
    one = np.zeros(len(points), dtype=int)
    one[:10] = -1
    assert sampled_silhouette(points, one, backend, sample_size=500, bootstrap=50,
                              confidence=0.95, seed=0) is None


def test_cluster_shape() -> None:
    shape = cluster_shape(np.array([0, 0, 0, 1, -1]))
    assert shape == {"n_clusters": 2, "noise_fraction": pytest.approx(0.2),
                     "largest_cluster_fraction": pytest.approx(0.6)}


def test_score_with_truth_is_complete_and_json_safe(backend: CpuBackend, blobs) -> None:
    points, labels = blobs
    predicted = labels.copy()
    predicted[:30] = -1
    features = np.hstack([points, np.random.default_rng(0).normal(size=(len(points), 3))])
    result, _ = score(points, features, predicted, backend,
                      MetricsConfig(silhouette_sample=1000, bootstrap=100), truth=labels, seed=0)
    assert set(result) == {"n_clusters", "noise_fraction", "largest_cluster_fraction",
                           "silhouette", "silhouette_ci_low", "silhouette_ci_high",
                           "silhouette_sample_size", "silhouette_feature_space",
                           "davies_bouldin", "calinski_harabasz", "ari", "ami"}
    assert result["n_clusters"] == 4 and result["noise_fraction"] == pytest.approx(0.01)
    assert result["silhouette_sample_size"] == 1000
    assert result["silhouette_feature_space"] < result["silhouette"]
    assert result["ari"] > 0.95 and result["ami"] > 0.9
    assert json.loads(json.dumps(result)) == result


@pytest.mark.parametrize(("truth", "labels"), [
    ([0, 0, 1, 1], [0, 0, 1, 1]), ([0, 0, 1, 1], [1, 1, 0, 0]), ([0, 0, 1, 1], [0, 1, 0, 1]),
    ([0, 0, 0, 0], [0, 1, 2, 3]), ([0, 1, 2, 3], [0, 0, 0, 0]), ([5, 5, 5], [-1, -1, -1]),
    ([], []), ([0, -1, 2, -1, 2], [3, 3, -1, -1, 0]),
])
def test_agreement_is_scikit_learns_ari_and_ami(truth: list[int], labels: list[int]) -> None:
    ari, ami = agreement(np.array(truth, dtype=np.int64), np.array(labels, dtype=np.int64))
    assert ari == pytest.approx(adjusted_rand_score(truth, labels), abs=1e-12)
    assert ami == pytest.approx(adjusted_mutual_info_score(truth, labels), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_agreement_matches_scikit_learn_on_random_labellings(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.integers(-1, rng.integers(2, 12), 20_000)
    labels = np.where(rng.random(20_000) < 0.7, truth * 3 + 1, rng.integers(-1, 9, 20_000))
    ari, ami = agreement(truth, labels)
    assert ari == adjusted_rand(truth, labels)
    assert ari == pytest.approx(adjusted_rand_score(truth, labels), rel=1e-9)
    assert ami == pytest.approx(adjusted_mutual_info_score(truth, labels), rel=1e-9)


def test_score_without_truth_or_clusters(backend: CpuBackend, blobs) -> None:
    points, _ = blobs
    result, sample = score(points, points, np.full(len(points), -1), backend, MetricsConfig())
    assert len(sample.values) == 0, "nothing for the silhouette plot to draw"
    assert result["n_clusters"] == 0 and result["noise_fraction"] == 1.0
    assert result["silhouette"] is None and result["davies_bouldin"] is None
    assert result["ari"] is None and result["ami"] is None


def test_score_returns_the_sample_its_silhouette_was_computed_on(backend: CpuBackend,
                                                                 blobs) -> None:
    points, labels = blobs
    cfg = MetricsConfig(silhouette_sample=600, bootstrap=100)
    result, sample = score(points, points, labels, backend, cfg, seed=3)
    assert len(sample.values) == result["silhouette_sample_size"] == 600
    assert sample.values.mean() == pytest.approx(result["silhouette"], abs=1e-12)
    again = silhouette_sample(points, labels, backend, sample_size=600, seed=3)
    np.testing.assert_array_equal(sample.values, again.values)
    np.testing.assert_array_equal(sample.labels, again.labels)
    other = silhouette_sample(points, labels, backend, sample_size=600, seed=4)
    assert not np.array_equal(sample.values, other.values), "the seed draws the sample"
    interval = sampled_silhouette(points, labels, backend, sample_size=600, bootstrap=100,
                                  confidence=cfg.confidence, seed=3)
    assert (interval.low, interval.high) == (result["silhouette_ci_low"],
                                             result["silhouette_ci_high"])


def test_stage_04_draws_the_silhouette_plot_from_the_scored_sample(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fake_run(tmp_path / "20260101T000000Z-score1")
    FEATURES.write(folder, EMBEDDING.read(folder) * 2)
    config = load_config(folder.params, overrides=["cluster.eps=0.5", "cluster.baselines=[]"])
    computed, drawn = [], []
    samples = CpuBackend.silhouette_samples
    monkeypatch.setattr(CpuBackend, "silhouette_samples", lambda self, X, labels: (
        computed.append(len(X)), samples(self, X, labels))[1])
    silhouette = plots.silhouette
    monkeypatch.setattr(plots, "silhouette", lambda values, labels, *, mean, names=None: (
        drawn.append((values, mean)), silhouette(values, labels, mean=mean, names=names))[1])
    outcome = stages.cluster_customers(folder, config)
    (values, mean), = drawn
    assert mean == outcome.scores["silhouette"] == pytest.approx(values.mean(), abs=1e-12)
    assert len(values) == outcome.scores["silhouette_sample_size"]
    # the embedding and the feature space for the scores; no baselines, so no baselines table;
    # the plot computes none of its own
    assert len(computed) == 2 and outcome.comparison.empty
