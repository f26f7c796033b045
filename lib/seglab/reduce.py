"""UMAP to a few dimensions, fitted on a sample of large tables, with its trustworthiness.

Above ``reduce.fit_sample`` rows, UMAP is fitted on a random sample and the other rows are
placed either by a distance-weighted average of the embeddings of their nearest fitted rows in
feature space (``knn``: fast, exact kNN) or by umap-learn's ``transform`` (``umap``: slower,
about 0.7 ms per row on 2 cores). Trustworthiness is computed on at most ``trust_sample`` rows
because scikit-learn's builds an n x n distance matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seglab.backend import Backend
from seglab.config import ReduceConfig
from seglab.progress import progress

MAP_NEIGHBORS = 10
"""Fitted rows averaged to place a row beyond the fit sample (``map_rest: knn``)."""
MAP_CHUNK = 1_000_000
"""Rows placed per call, to bound memory on millions of rows (about 0.5 GB per call)."""
LARGE_FIT_ROWS = 10_000
LARGE_FIT_EPOCHS = 50
"""Epochs for a fit on more than :data:`LARGE_FIT_ROWS` rows when ``reduce.n_epochs`` is unset:
at 200k rows, 50 epochs on 25k fitted rows kept ARI and trustworthiness within 0.005 of 200
epochs on 50k and cut the stage from 61 to 22 s (bench/UMAP.md)."""


@dataclass(frozen=True)
class Embedding:
    """The low-dimensional coordinates of every row and how they were obtained."""

    coords: np.ndarray
    """float32 ``(n_rows, n_components)``."""
    fit_index: np.ndarray
    """Rows UMAP was fitted on (all rows when the table is not above ``fit_sample``)."""
    trustworthiness: float | None
    """``None`` for ``method: none`` (the coordinates are the features)."""
    trust_sample_size: int


def embed(features: np.ndarray, cfg: ReduceConfig, backend: Backend, *, seed: int) -> Embedding:
    """Embed the feature matrix.

    Args:
        features: float32 ``(n_rows, n_features)`` from :func:`seglab.features.build_features`.
        cfg: the ``reduce`` config section.
        backend: the resolved compute backend.
        seed: seeds the fit sample, UMAP and the trustworthiness sample.

    Returns:
        The embedding, the fitted rows and the trustworthiness.
    """
    features = np.asarray(features, dtype=np.float32)
    n_rows = len(features)
    rng = np.random.default_rng(seed)
    if cfg.method == "none":
        return Embedding(coords=features, fit_index=np.arange(n_rows), trustworthiness=None,
                         trust_sample_size=0)
    fit_index = (np.arange(n_rows) if n_rows <= cfg.fit_sample
                 else np.sort(rng.choice(n_rows, size=cfg.fit_sample, replace=False)))
    fit_features = backend.asarray(features[fit_index])
    n_components = min(cfg.n_components, features.shape[1])
    fitted, model = backend.umap_fit(
        fit_features, n_components=n_components,
        n_neighbors=min(cfg.n_neighbors, len(fit_index) - 1), min_dist=cfg.min_dist,
        n_epochs=cfg.n_epochs or (LARGE_FIT_EPOCHS if len(fit_index) > LARGE_FIT_ROWS else None),
        seed=seed)
    coords = np.empty((n_rows, n_components), dtype=np.float32)
    fit_coords = backend.to_numpy(fitted)
    coords[fit_index] = fit_coords
    rest = np.setdiff1d(np.arange(n_rows), fit_index, assume_unique=True)
    for start in progress(range(0, len(rest), MAP_CHUNK), "placing rows", unit="chunk"):
        rows = rest[start:start + MAP_CHUNK]
        if cfg.map_rest == "umap":
            placed = backend.umap_transform(model, backend.asarray(features[rows]))
        else:
            placed = knn_place(fit_features, fit_coords, features[rows], backend)
        coords[rows] = backend.to_numpy(placed)
    trust, trust_size = _trustworthiness(features, coords, cfg, backend, rng)
    return Embedding(coords=coords, fit_index=fit_index, trustworthiness=trust,
                     trust_sample_size=trust_size)


def knn_place(fit_features: np.ndarray, fit_coords: np.ndarray, query: np.ndarray,
               backend: Backend) -> np.ndarray:
    """Inverse-distance weighted mean of the embeddings of the nearest fitted rows."""
    k = min(MAP_NEIGHBORS, len(fit_features))
    distances, indices = backend.kneighbors(backend.asarray(fit_features), k,
                                            query=backend.asarray(query))
    distances = backend.to_numpy(distances).astype(np.float64)
    indices = backend.to_numpy(indices)
    weights = 1.0 / np.maximum(distances, 1e-12)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, fit_coords[indices]).astype(np.float32)


def _trustworthiness(features: np.ndarray, coords: np.ndarray, cfg: ReduceConfig,
                     backend: Backend, rng: np.random.Generator) -> tuple[float | None, int]:
    n_rows = len(features)
    size = min(cfg.trust_sample, n_rows)
    neighbors = min(cfg.trust_neighbors, (size - 1) // 2)
    if neighbors < 1:
        return None, 0
    rows = np.sort(rng.choice(n_rows, size=size, replace=False))
    value = backend.trustworthiness(backend.asarray(features[rows]), backend.asarray(coords[rows]),
                                    n_neighbors=neighbors)
    return float(value), size


def null_table(features: np.ndarray, cfg: ReduceConfig, backend: Backend, *,
               seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A sample of the features with every column shuffled independently, and its embedding.

    The null reference of the verdict (:mod:`seglab.verdict`): each column keeps its
    distribution, the relations between columns are gone; it is embedded exactly as the real
    table is (on its ``cfg.null_sample`` rows, all of them fitted).

    Returns:
        ``(shuffled features, embedding)``.
    """
    rng = np.random.default_rng(seed + 7919)
    size = min(cfg.null_sample or 0, len(features))
    rows = rng.choice(len(features), size=size, replace=False)
    shuffled = np.column_stack([rng.permutation(features[rows, j])
                                for j in range(features.shape[1])]).astype(np.float32)
    whole = cfg.model_copy(update={"fit_sample": max(cfg.fit_sample, size),
                                   "trust_sample": min(cfg.trust_sample, size)})
    return shuffled, embed(shuffled, whole, backend, seed=seed).coords
