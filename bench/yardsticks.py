"""Reference pipelines that seglab's default run is measured against on the corpus.

All of them see the same features: the table less its id and label columns, numeric columns
(text that parses as numbers for at least 90 % of its values counts as numeric) imputed by the
median and standardised, categorical columns imputed by the mode and one-hot encoded (0/1, not
standardised; a column with more than 50 levels is left out, as seglab's
``data.max_categories`` does), constant columns dropped.

Yardsticks (``YARDSTICKS``):

- ``kmeans``: KMeans given the true k (labelled tables only), ``n_init=10``, seed 0;
- ``gmm``: GaussianMixture given the true k (labelled tables only), full covariance, seed 0,
  ``reg_covar=1e-4`` (one-hot and near-constant columns make the default 1e-6 singular);
- ``umap_dbscan``: "plain UMAP + knee-eps DBSCAN on standardised columns": umap-learn defaults
  except ``n_components=5, min_dist=0, n_neighbors=30, random_state=0``; ``min_samples`` = 20 or
  a tenth of the rows; eps at the knee of the sorted k-distance curve (distance to the
  ``min_samples``-th neighbour, the point itself included, as DBSCAN counts it), by the
  Kneedle chord rule of :func:`seglab.eps.knee` (1,000 quantiles, no trim);
- ``umap_hdbscan``: scikit-learn's ``HDBSCAN()`` with library defaults on the same embedding.

Scores (:func:`summarise`): ``ari``/``ami`` against the truth (all rows; noise is one more label,
seglab's convention), ``n_clusters``, ``largest_cluster_fraction`` and ``noise_fraction`` (of
all rows), ``silhouette_feature_space`` (standardised feature space, noise excluded, at most
5,000 sampled rows), ``seconds``. A yardstick that fails records its error instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

YARDSTICKS = ("kmeans", "gmm", "umap_dbscan", "umap_hdbscan")
NUMERIC_PARSE_FRACTION = 0.9
MAX_CATEGORIES = 50
SILHOUETTE_SAMPLE = 5_000
UMAP_PARAMS = {"n_components": 5, "n_neighbors": 30, "min_dist": 0.0, "random_state": 0}
MIN_SAMPLES = 20
KNEE_QUANTILES = 1_000


def read_table(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame."""
    path = Path(path)
    return pd.read_parquet(path) if path.suffix in {".parquet", ".pq"} else pd.read_csv(path)


def feature_matrix(frame: pd.DataFrame, id_column: str, label_column: str | None) -> np.ndarray:
    """Standardised numeric columns and one-hot categoricals, missing values imputed.

    Args:
        frame: the table as a user would hand it over.
        id_column: left out.
        label_column: left out (``None`` when there is none).

    Returns:
        ``(n_rows, n_features)`` float64.
    """
    frame = frame.drop(columns=[c for c in (id_column, label_column) if c is not None])
    blocks: list[np.ndarray] = []
    for name in frame.columns:
        column = frame[name]
        if column.dtype == bool:
            column = column.astype(np.float64)
        if not pd.api.types.is_numeric_dtype(column):
            parsed = pd.to_numeric(column, errors="coerce")
            present = column.notna() & (column.astype(str).str.strip() != "")
            if present.any() and parsed[present].notna().mean() >= NUMERIC_PARSE_FRACTION:
                column = parsed
        if pd.api.types.is_numeric_dtype(column):
            values = column.astype(np.float64).replace([np.inf, -np.inf], np.nan)
            values = values.fillna(values.median()).to_numpy()
            std = values.std()
            if np.isfinite(std) and std > 0:
                blocks.append(((values - values.mean()) / std)[:, None])
            continue
        text = column.astype("string")
        mode = text.mode(dropna=True)
        text = text.fillna(mode.iloc[0] if len(mode) else "missing")
        levels = text.unique()
        if 2 <= len(levels) <= MAX_CATEGORIES:
            blocks.append(pd.get_dummies(text, dtype=np.float64).to_numpy())
    if not blocks:
        raise ValueError("no usable feature column")
    return np.hstack(blocks)


def truth_codes(frame: pd.DataFrame, label_column: str | None) -> np.ndarray | None:
    """The ground truth as integer codes (``None`` without a label column)."""
    if label_column is None:
        return None
    return pd.factorize(frame[label_column].astype("string").fillna("<missing>"))[0]


def true_k(truth: np.ndarray, frame: pd.DataFrame, label_column: str) -> int:
    """Number of true groups, a noise label (-1) not counted."""
    raw = frame[label_column]
    noise = (raw.astype("string") == "-1").to_numpy()
    return len(np.unique(truth[~noise]))


def summarise(labels: np.ndarray, X: np.ndarray, truth: np.ndarray | None) -> dict[str, Any]:
    """Scores of one labelling (see the module docstring)."""
    from sklearn.metrics import adjusted_mutual_info_score, adjusted_rand_score, silhouette_score

    labels = np.asarray(labels, dtype=np.int64)
    clustered = labels >= 0
    sizes = np.bincount(labels[clustered]) if clustered.any() else np.zeros(0, np.int64)
    sizes = sizes[sizes > 0]
    result: dict[str, Any] = {
        "n_clusters": len(sizes),
        "largest_cluster_fraction": float(sizes.max() / len(labels)) if len(sizes) else 0.0,
        "noise_fraction": float(1.0 - clustered.mean()),
        "silhouette_feature_space": None,
        "ari": None,
        "ami": None,
    }
    if len(sizes) >= 2 and clustered.sum() > len(sizes):
        size = min(SILHOUETTE_SAMPLE, int(clustered.sum()))
        result["silhouette_feature_space"] = float(silhouette_score(
            X[clustered], labels[clustered], sample_size=size, random_state=0))
    if truth is not None:
        result["ari"] = float(adjusted_rand_score(truth, labels))
        result["ami"] = float(adjusted_mutual_info_score(truth, labels))
    return result


def kmeans_labels(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(X)


def gmm_labels(X: np.ndarray, k: int) -> np.ndarray:
    from sklearn.mixture import GaussianMixture

    return GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-4,
                           random_state=0).fit_predict(X)


def umap_embedding(X: np.ndarray) -> np.ndarray:
    """umap-learn with the corpus settings (``UMAP_PARAMS``)."""
    import umap

    return umap.UMAP(**UMAP_PARAMS).fit_transform(X)


def knee_eps(embedding: np.ndarray, min_samples: int) -> float:
    """eps at the knee of the sorted ``min_samples``-distance curve (point itself included)."""
    from sklearn.neighbors import NearestNeighbors

    from seglab.eps import knee

    distances = NearestNeighbors(n_neighbors=min_samples).fit(embedding).kneighbors(embedding)[0][:, -1]
    curve, _, index = knee(np.sort(distances), KNEE_QUANTILES, 0.0)
    return float(max(curve[index], 1e-9))


def dbscan_min_samples(n_rows: int) -> int:
    """20, or a tenth of the rows for small tables (at least 2)."""
    return max(2, min(MIN_SAMPLES, n_rows // 10))


def umap_dbscan_labels(embedding: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    from sklearn.cluster import DBSCAN

    min_samples = dbscan_min_samples(len(embedding))
    eps = knee_eps(embedding, min_samples)
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(embedding)
    return labels, {"eps": eps, "min_samples": min_samples}


def umap_hdbscan_labels(embedding: np.ndarray) -> np.ndarray:
    from sklearn.cluster import HDBSCAN

    return HDBSCAN().fit_predict(embedding)


def run_yardsticks(path: str | Path, id_column: str, label_column: str | None,
                   only: tuple[str, ...] = YARDSTICKS) -> dict[str, dict[str, Any]]:
    """Every yardstick on one table file.

    Args:
        path: CSV or Parquet file.
        id_column: the table's id column.
        label_column: ground truth, or ``None``.
        only: the yardsticks to run.

    Returns:
        ``n_rows``, ``n_features`` (after encoding), ``true_k`` and ``yardsticks``: name to its
        scores (:func:`summarise`) plus ``seconds`` (the UMAP fit is counted in
        ``umap_dbscan``'s, which runs first, and shown as its ``seconds_umap``) and, where it
        applies, ``k`` or ``eps``/``min_samples``; ``{"skipped": reason}`` or
        ``{"error": message}`` instead when it did not run.
    """
    frame = read_table(path)
    started = time.perf_counter()
    X = feature_matrix(frame, id_column, label_column)
    prep_seconds = time.perf_counter() - started
    truth = truth_codes(frame, label_column)
    k = true_k(truth, frame, label_column) if truth is not None else None
    results: dict[str, dict[str, Any]] = {}
    embedding: np.ndarray | None = None
    embed_seconds = 0.0

    def attempt(name: str, fit: Callable[[], tuple[np.ndarray, dict[str, Any]]]) -> None:
        start = time.perf_counter()
        try:
            labels, extra = fit()
        except Exception as exc:  # a yardstick's failure is a result, not a crash of the bench
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            return
        seconds = time.perf_counter() - start + prep_seconds
        results[name] = {**summarise(labels, X, truth), **extra, "seconds": round(seconds, 2)}

    def embedded() -> np.ndarray:
        nonlocal embedding, embed_seconds
        if embedding is None:
            start = time.perf_counter()
            embedding = umap_embedding(X)
            embed_seconds = time.perf_counter() - start
        return embedding

    for name in only:
        if name in ("kmeans", "gmm") and k is None:
            results[name] = {"skipped": "no ground truth: the true k is unknown"}
        elif name == "kmeans":
            attempt(name, lambda: (kmeans_labels(X, k), {"k": k}))
        elif name == "gmm":
            attempt(name, lambda: (gmm_labels(X, k), {"k": k}))
        elif name == "umap_dbscan":
            attempt(name, lambda: umap_dbscan_labels(embedded()))
            if "seconds" in results[name]:
                results[name]["seconds_umap"] = round(embed_seconds, 2)
        elif name == "umap_hdbscan":
            attempt(name, lambda: (umap_hdbscan_labels(embedded()), {}))
        else:
            raise ValueError(f"unknown yardstick {name!r}; choose from {YARDSTICKS}")
    return {"n_rows": len(frame), "n_features": int(X.shape[1]), "true_k": k,
            "yardsticks": results}
