"""k-distances, the knee and its band on fixtures whose answer is known by construction."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from seglab import eps
from seglab.backend.cpu import CpuBackend
from seglab.config import EpsConfig, ReduceConfig
from seglab.eps import choose_eps, default_min_samples, k_distances, knee
from seglab.errors import SeglabError


@pytest.fixture(scope="module")
def backend() -> CpuBackend:
    return CpuBackend()


def _grid_and_outliers() -> np.ndarray:
    """Two 30 x 30 unit grids 100 apart, plus 40 far-off points: k-distances are 1 or huge."""
    grid = np.stack(np.meshgrid(np.arange(30.0), np.arange(30.0)), axis=-1).reshape(-1, 2)
    rng = np.random.default_rng(0)
    outliers = rng.uniform(-500, 500, size=(40, 2)) + np.array([0.0, 1000.0])
    return np.vstack([grid, grid + 100.0, outliers])


def test_k_distances_counts_the_point_itself(backend: CpuBackend) -> None:
    points = np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [6.0, 0.0]])
    assert k_distances(points, 1, backend) == pytest.approx([0, 0, 0, 0])
    assert k_distances(points, 2, backend) == pytest.approx([1, 1, 2, 3])
    with pytest.raises(SeglabError, match="min_samples"):
        k_distances(points, 5, backend)


def test_knee_of_a_hockey_stick() -> None:
    flat = np.linspace(1.0, 1.1, 900)
    steep = np.linspace(2.0, 50.0, 100)
    curve, positions, at = knee(np.concatenate([flat, steep]), quantiles=1000, trim=0.0)
    assert len(curve) == len(positions) == 1000
    assert positions[at] == pytest.approx(0.9, abs=0.01)
    assert curve[at] == pytest.approx(1.1, abs=0.05)


def test_trim_drops_the_top_of_the_curve() -> None:
    values = np.concatenate([np.linspace(1, 2, 950), np.linspace(100, 1000, 50)])
    curve, positions, _ = knee(values, quantiles=100, trim=0.1)
    assert positions[-1] == pytest.approx(0.9) and curve.max() <= 2.0


def test_choose_eps_separates_grids_from_outliers(backend: CpuBackend) -> None:
    points = _grid_and_outliers()
    choice = choose_eps(points, 5, EpsConfig(), backend)
    assert 1.0 <= choice.eps <= 2.0
    labels, _ = backend.dbscan(points, eps=choice.eps, min_samples=5)
    assert labels.max() == 1 and np.sum(labels == -1) == 40
    assert choice.eps_low <= choice.eps <= choice.eps_high < 50
    assert 0.9 < choice.knee_position < 1.0
    assert choice.k == 5 and choice.curve.shape == choice.positions.shape == (1000,)


def test_band_is_where_the_cluster_count_holds(backend: CpuBackend) -> None:
    """Three blobs, two of them 6 apart: eps beyond the gap merges them, so the band stops."""
    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 0.0], [6.0, 0.0], [40.0, 0.0]])
    points = np.vstack([rng.normal(c, 1.0, size=(1500, 2)) for c in centers])
    choice = choose_eps(points, 10, EpsConfig(band_tolerance=0.08), backend)
    assert choice.eps_low <= choice.eps <= choice.eps_high
    assert choice.eps_high < 3.0


def test_duplicates_only_is_a_clear_error(backend: CpuBackend) -> None:
    with pytest.raises(SeglabError, match="duplicates"):
        choose_eps(np.zeros((100, 2)), 5, EpsConfig(), backend)


def test_default_min_samples_follows_n_neighbors() -> None:
    assert default_min_samples(ReduceConfig(n_neighbors=30), 20_000) == 20
    assert default_min_samples(ReduceConfig(n_neighbors=60), 20_000) == 40
    assert default_min_samples(ReduceConfig(n_neighbors=30), 50) == 5
    assert default_min_samples(ReduceConfig(n_neighbors=2), 10) == 2


def test_min_samples_grows_with_the_rows_placed_beyond_the_fit_sample() -> None:
    """Placed rows multiply the embedding's density by n / fit_sample; min_samples follows."""
    cfg = ReduceConfig(n_neighbors=30, fit_sample=50_000)
    assert default_min_samples(cfg, 50_000) == 20
    assert default_min_samples(cfg, 200_000) == 80
    assert default_min_samples(cfg, 1_000_000) == 400
    assert default_min_samples(ReduceConfig(method="none", fit_sample=50_000), 1_000_000) == 20


def test_large_k_curve_comes_from_an_equivalent_subsample(backend: CpuBackend) -> None:
    """k = 4 * CURVE_MAX_K among n rows ~ CURVE_MAX_K among n / 4 rows: same quantiles."""
    points = np.random.default_rng(0).normal(size=(20_000, 3)).astype(np.float32)
    k = 4 * eps.CURVE_MAX_K
    exact = np.quantile(k_distances(points, k, backend), [0.1, 0.5, 0.9])
    rows, rows_k = eps.curve_sample(points, k)
    assert len(rows) == 5_000 and rows_k == eps.CURVE_MAX_K
    sampled = k_distances(rows, rows_k, backend)
    assert np.quantile(sampled, [0.1, 0.5, 0.9]) == pytest.approx(exact, rel=0.05)
    every_row, same_k = eps.curve_sample(points, 5)
    assert every_row is points and same_k == 5


class _CountingBackend(CpuBackend):
    """The CPU backend, recording the rows of every DBSCAN it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.dbscan_rows: list[int] = []

    def dbscan(self, X: Any, *, eps: float, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
        self.dbscan_rows.append(len(X))
        return super().dbscan(X, eps=eps, min_samples=min_samples)


def test_large_k_band_is_searched_on_the_curve_rows_and_holds_on_every_row() -> None:
    """With k above CURVE_MAX_K the band's DBSCAN runs see only the curve's subsample, and the
    band it finds keeps the knee's cluster count when DBSCAN runs on every row."""
    points, _ = make_blobs(n_samples=24_000, centers=[[0, 0], [6, 0], [0, 6], [6, 6]],
                           cluster_std=0.5, random_state=2)
    k = 8 * eps.CURVE_MAX_K
    counting = _CountingBackend()
    choice = choose_eps(points, k, EpsConfig(band_tolerance=0.1), counting)
    assert set(counting.dbscan_rows) == {3_000}
    assert choice.eps_low <= choice.eps <= choice.eps_high

    def clusters(radius: float) -> int:
        labels = counting.dbscan(points, eps=radius, min_samples=k)[0]
        return len(np.unique(labels[labels >= 0]))

    assert clusters(choice.eps) == clusters(choice.eps_low) == clusters(choice.eps_high) == 4
