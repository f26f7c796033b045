"""The embedding stage: sampling, placing the rest, trustworthiness, and a real UMAP run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA

from seglab.backend.cpu import CpuBackend
from seglab.config import ReduceConfig
from seglab.reduce import embed


class LinearBackend(CpuBackend):
    """The CPU backend with PCA standing in for UMAP: fast, and its answer is known."""

    def umap_fit(self, X: Any, *, n_components: int, n_neighbors: int, min_dist: float,
                 n_epochs: int | None, seed: int) -> tuple[np.ndarray, Any]:
        model = PCA(n_components=n_components).fit(X)
        return model.transform(X).astype(np.float32), model

    def umap_transform(self, model: Any, X: Any) -> np.ndarray:
        return model.transform(X).astype(np.float32)


@pytest.fixture(scope="module")
def features() -> np.ndarray:
    points, _ = make_blobs(3000, centers=4, n_features=8, cluster_std=1.0, random_state=0)
    return points.astype(np.float32)


def test_method_none_passes_features_through(features: np.ndarray) -> None:
    result = embed(features, ReduceConfig(method="none"), CpuBackend(), seed=0)
    assert result.coords is not None and np.array_equal(result.coords, features)
    assert result.trustworthiness is None and len(result.fit_index) == len(features)


@pytest.mark.parametrize("map_rest", ["knn", "umap"])
def test_fit_on_a_sample_and_place_the_rest(features: np.ndarray, map_rest: str) -> None:
    cfg = ReduceConfig(n_components=3, fit_sample=1000, map_rest=map_rest, trust_sample=500)
    result = embed(features, cfg, LinearBackend(), seed=0)
    assert result.coords.shape == (3000, 3) and result.coords.dtype == np.float32
    assert len(result.fit_index) == 1000 and len(np.unique(result.fit_index)) == 1000
    exact = PCA(n_components=3).fit(features[result.fit_index]).transform(features)
    error = np.abs(result.coords - exact).max(axis=1)
    assert np.allclose(error[result.fit_index], 0.0, atol=1e-4)
    assert np.median(error) < (0.5 if map_rest == "knn" else 1e-4)
    assert result.trustworthiness > 0.9 and result.trust_sample_size == 500


def test_sample_is_seeded(features: np.ndarray) -> None:
    cfg = ReduceConfig(n_components=2, fit_sample=500, trust_sample=100)
    first = embed(features, cfg, LinearBackend(), seed=1)
    again = embed(features, cfg, LinearBackend(), seed=1)
    other = embed(features, cfg, LinearBackend(), seed=2)
    assert np.array_equal(first.fit_index, again.fit_index)
    assert not np.array_equal(first.fit_index, other.fit_index)


@pytest.mark.slow
def test_umap_is_trustworthy_and_reproducible(features: np.ndarray) -> None:
    cfg = ReduceConfig(n_components=2, n_neighbors=15, n_epochs=50, trust_sample=500)
    first = embed(features[:800], cfg, CpuBackend(), seed=0)
    again = embed(features[:800], cfg, CpuBackend(), seed=0)
    assert first.trustworthiness >= 0.9
    assert np.array_equal(first.coords, again.coords)
