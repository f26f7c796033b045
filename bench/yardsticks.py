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

Expert yardsticks use the table's known structure, a :class:`Structure` (column globs the
corpus declares; seglab never sees it: it is the expert's answer, not a hint a user gives):

- ``kmeans_expert``: KMeans given the true k (``n_init=10``, seed 0) on the expert
  representation (:func:`expert_matrix`): Hellinger rows of the count columns (square roots of
  each row's shares of its basket total), standardised numeric columns (median-imputed) and
  one-hot categoricals (a missing value is a row of zeros), only the declared columns;
- ``umap_plscan`` (tables with count columns): UMAP with ``metric="hellinger"`` on the rows'
  shares of their basket total (``UMAP_PARAMS``), then ``fast_hdbscan.PLSCAN()`` with its
  defaults (``min_samples=5``, its most persistent layer);
- ``stepmix`` (tables with categorical columns): a latent class / mixture model
  (``stepmix.StepMix``: categorical columns as ``categorical_nan``, so a missing level stays
  missing; numerics median-imputed, standardised, as ``continuous``, diagonal Gaussians with
  ``reg_covar``: ``continuous_nan`` has no regularisation and collapses on integer-valued columns)
  for every k in ``STEPMIX_K``, one initialisation, at most ``STEPMIX_MAX_ITER`` EM iterations,
  k chosen by the lowest BIC; fitted on at most ``EXPERT_FIT_SAMPLE`` rows (a seeded sample:
  about 30 s for the nine k on two cores), every row then assigned by ``predict``;
- ``kprototypes`` (tables with categorical columns): ``kmodes``' ``KPrototypes`` given the true
  k (Cao initialisation, ``n_init=2``, seed 0) on standardised median-imputed numerics and
  mode-imputed categoricals, fitted on the same sample, every row assigned by ``predict``.

Scores (:func:`summarise`): ``ari``/``ami`` against the truth (all rows; noise is one more label,
seglab's convention), ``n_clusters``, ``largest_cluster_fraction`` and ``noise_fraction`` (of
all rows), ``silhouette_feature_space`` (standardised feature space, noise excluded, at most
5,000 sampled rows), ``seconds``. A yardstick that fails records its error instead.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

PLAIN_YARDSTICKS = ("kmeans", "gmm", "umap_dbscan", "umap_hdbscan")
EXPERT_YARDSTICKS = ("kmeans_expert", "umap_plscan", "stepmix", "kprototypes")
YARDSTICKS = (*PLAIN_YARDSTICKS, *EXPERT_YARDSTICKS)
EXPERT_FIT_SAMPLE = 5_000
"""Rows StepMix and k-prototypes are fitted on (then every row is assigned)."""
STEPMIX_K = tuple(range(2, 11))
STEPMIX_MAX_ITER = 100
NUMERIC_PARSE_FRACTION = 0.9
MAX_CATEGORIES = 50
SILHOUETTE_SAMPLE = 5_000
UMAP_PARAMS = {"n_components": 5, "n_neighbors": 30, "min_dist": 0.0, "random_state": 0}
MIN_SAMPLES = 20
KNEE_QUANTILES = 1_000


@dataclass(frozen=True)
class Structure:
    """What the expert knows about a table's columns: ``fnmatch`` globs (id and label excluded).

    Used only by the expert yardsticks; never passed to seglab.
    """

    count_columns: tuple[str, ...] = ()
    categorical_columns: tuple[str, ...] = ()
    numeric_columns: tuple[str, ...] = ()

    def columns(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        """``counts``, ``categorical`` and ``numeric``: the frame's columns each glob list matches,
        in the frame's order; a glob that matches nothing is an error."""
        resolved = {}
        for kind, globs in (("counts", self.count_columns), ("categorical", self.categorical_columns),
                            ("numeric", self.numeric_columns)):
            for glob in globs:
                if not any(fnmatch.fnmatchcase(str(c), glob) for c in frame.columns):
                    raise ValueError(f"{kind} glob {glob!r} matches no column")
            resolved[kind] = [str(c) for c in frame.columns
                              if any(fnmatch.fnmatchcase(str(c), glob) for glob in globs)]
        return resolved


NO_STRUCTURE = Structure()
"""A table with nothing declared: the expert yardsticks skip it."""


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


# --- the expert representation and the expert yardsticks ------------------------------------

def basket_shares(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Each row's counts divided by its total (missing counts as 0; an empty row is uniform)."""
    counts = frame[columns].apply(pd.to_numeric, errors="coerce").fillna(0).clip(lower=0)
    counts = counts.to_numpy(np.float64)
    totals = counts.sum(axis=1, keepdims=True)
    return np.where(totals > 0, counts / np.where(totals > 0, totals, 1), 1.0 / len(columns))


def standardised(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Numeric columns (text parsed; unparseable as missing), missing values imputed by the
    median, standardised (constant ones centred only)."""
    values = frame[columns].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    values = values.fillna(values.median())
    std = values.std(ddof=0).replace(0.0, 1.0).fillna(1.0)
    return ((values - values.mean()) / std).to_numpy()


def categorical_codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Categorical columns as 0-based integer codes, missing as NaN (float64)."""
    codes = [pd.factorize(frame[c].astype("string"))[0].astype(np.float64) for c in columns]
    out = np.column_stack(codes) if codes else np.zeros((len(frame), 0))
    out[out < 0] = np.nan
    return out


def expert_matrix(frame: pd.DataFrame, structure: Structure) -> np.ndarray:
    """Hellinger rows of the count columns, standardised numerics, one-hot categoricals."""
    columns = structure.columns(frame)
    blocks = []
    if columns["counts"]:
        blocks.append(np.sqrt(basket_shares(frame, columns["counts"])))
    if columns["numeric"]:
        blocks.append(standardised(frame, columns["numeric"]))
    if columns["categorical"]:
        blocks.append(pd.get_dummies(frame[columns["categorical"]].astype("string"),
                                     dtype=np.float64).to_numpy())
    if not blocks:
        raise ValueError("the structure declares no column")
    return np.hstack(blocks)


def fit_sample(n_rows: int, size: int = EXPERT_FIT_SAMPLE, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a seeded sample of at most ``size`` rows."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def umap_plscan_labels(frame: pd.DataFrame, count_columns: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """UMAP (hellinger) on the basket shares, then PLSCAN's most persistent layer."""
    import umap
    from fast_hdbscan import PLSCAN

    started = time.perf_counter()
    shares = basket_shares(frame, count_columns)
    embedding = umap.UMAP(**UMAP_PARAMS, metric="hellinger").fit_transform(shares)
    seconds_umap = time.perf_counter() - started
    labels = PLSCAN().fit_predict(embedding)
    return labels, {"seconds_umap": round(seconds_umap, 2)}


def stepmix_labels(frame: pd.DataFrame, categorical: list[str], numeric: list[str],
                   k_range: tuple[int, ...] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """StepMix latent classes, k by the lowest BIC over ``k_range`` (default ``STEPMIX_K``)."""
    from stepmix import StepMix

    blocks, descriptor = [], {}
    if categorical:
        blocks.append(categorical_codes(frame, categorical))
        descriptor["categorical"] = {"model": "categorical_nan", "n_columns": len(categorical)}
    if numeric:
        blocks.append(standardised(frame, numeric))
        descriptor["numeric"] = {"model": "continuous", "n_columns": len(numeric)}
    data = np.hstack(blocks)
    fit_rows = data[fit_sample(len(data))]
    best: tuple[float, int, Any] | None = None
    bics = {}
    for k in k_range or STEPMIX_K:
        model = StepMix(n_components=k, measurement=descriptor, n_init=1, max_iter=STEPMIX_MAX_ITER,
                        rel_tol=1e-6, random_state=0, verbose=0, progress_bar=0)
        model.fit(fit_rows)
        bic = float(model.bic(fit_rows))
        bics[k] = round(bic, 1)
        if best is None or bic < best[0]:
            best = (bic, k, model)
    assert best is not None
    return best[2].predict(data), {"k": best[1], "bic": bics, "fit_rows": len(fit_rows)}


def kprototypes_labels(frame: pd.DataFrame, categorical: list[str], numeric: list[str],
                       k: int) -> tuple[np.ndarray, dict[str, Any]]:
    """k-prototypes given ``k``: standardised imputed numerics, mode-imputed categoricals."""
    from kmodes.kprototypes import KPrototypes

    parts = pd.DataFrame(standardised(frame, numeric), columns=numeric, index=frame.index)
    for column in categorical:
        text = frame[column].astype("string")
        mode = text.mode(dropna=True)
        parts[column] = text.fillna(mode.iloc[0] if len(mode) else "missing").astype(str)
    data = parts.to_numpy(dtype=object)
    positions = list(range(len(numeric), len(numeric) + len(categorical)))
    model = KPrototypes(n_clusters=k, init="Cao", n_init=2, random_state=0)
    rows = fit_sample(len(data))
    model.fit(data[rows], categorical=positions)
    return np.asarray(model.predict(data, categorical=positions)), {"k": k, "fit_rows": len(rows)}


def run_yardsticks(path: str | Path, id_column: str, label_column: str | None,
                   only: tuple[str, ...] = YARDSTICKS,
                   structure: Structure = NO_STRUCTURE) -> dict[str, dict[str, Any]]:
    """Every yardstick on one table file.

    Args:
        path: CSV or Parquet file.
        id_column: the table's id column.
        label_column: ground truth, or ``None``.
        only: the yardsticks to run.
        structure: the table's known column structure, for the expert yardsticks (which are
            skipped where it declares nothing they use).

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

    features = frame.drop(columns=[c for c in (id_column, label_column) if c is not None])
    columns = structure.columns(features)
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
        elif name in EXPERT_YARDSTICKS:
            skip = _expert_skip(name, columns, k)
            if skip:
                results[name] = {"skipped": skip}
            else:
                attempt(name, lambda name=name: _expert(name, features, structure, columns, k))
        else:
            raise ValueError(f"unknown yardstick {name!r}; choose from {YARDSTICKS}")
    return {"n_rows": len(frame), "n_features": int(X.shape[1]), "true_k": k,
            "yardsticks": results}


def _expert_skip(name: str, columns: dict[str, list[str]], k: int | None) -> str | None:
    """Why expert yardstick ``name`` does not apply to a table, or ``None`` when it does."""
    if name in ("kmeans_expert", "kprototypes") and k is None:
        return "no ground truth: the true k is unknown"
    if name == "kmeans_expert" and not any(columns.values()):
        return "no declared column structure"
    if name == "umap_plscan" and not columns["counts"]:
        return "no count columns"
    if name == "stepmix" and not columns["categorical"]:
        return "no categorical columns"
    if name == "kprototypes" and not (columns["categorical"] and columns["numeric"]):
        return "needs categorical and numeric columns"
    return None


def _expert(name: str, frame: pd.DataFrame, structure: Structure, columns: dict[str, list[str]],
            k: int | None) -> tuple[np.ndarray, dict[str, Any]]:
    if name == "kmeans_expert":
        assert k is not None
        return kmeans_labels(expert_matrix(frame, structure), k), {"k": k}
    if name == "umap_plscan":
        return umap_plscan_labels(frame, columns["counts"])
    if name == "stepmix":
        return stepmix_labels(frame, columns["categorical"], columns["numeric"])
    assert k is not None
    return kprototypes_labels(frame, columns["categorical"], columns["numeric"], k)
