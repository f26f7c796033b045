"""The naive baseline: what a user writes without seglab's scale work, on the same features.

umap-learn fitted on every row, the exact k-distance curve (scikit-learn ``NearestNeighbors``)
and its knee, scikit-learn's DBSCAN and scikit-learn's exact silhouette. Parameters are the
seglab config's (``n_neighbors``, ``n_components``, ``min_dist``, ``min_samples``, knee
quantiles), so the two differ only in how they scale; ``min_samples`` is seglab's rule for an
embedding whose rows were all fitted (two thirds of ``n_neighbors``). Run as a benchmark case::

    python -m bench.naive --data customers.parquet --out naive.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors

from seglab import data, eps, features
from seglab.config import Config, load_config
from seglab.paths import DEFAULT_PARAMS, resolve

T = TypeVar("T")


class StageClock:
    """Wall seconds per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, stage: str, work: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = work()
        self.seconds[stage] = round(time.perf_counter() - start, 3)
        return result


def run_naive(config: Config, path: str) -> dict[str, Any]:
    """Cluster the table the naive way and score it.

    Args:
        config: the seglab config whose parameters the baseline copies.
        path: the customer table.

    Returns:
        ``stages`` (seconds per stage), ``ari``, ``silhouette``, ``eps``, ``min_samples``,
        ``n_clusters``, ``noise_fraction`` and ``n_rows``.
    """
    import umap

    clock = StageClock()
    table = clock("load", lambda: data.load_customers(config.data, path))
    matrix = clock("features", lambda: features.build_features(
        table.features, config.features, seed=config.seed,
        categorical=table.categorical_columns).matrix)
    model = umap.UMAP(n_neighbors=config.reduce.n_neighbors, n_components=config.reduce.n_components,
                      min_dist=config.reduce.min_dist, random_state=config.seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        coords = clock("reduce", lambda: model.fit_transform(matrix))
    # Every row is fitted: seglab's min_samples rule applies without its growth for placed rows.
    fitted_everything = config.reduce.model_copy(update={"fit_sample": len(coords)})
    min_samples = config.cluster.min_samples or eps.default_min_samples(fitted_everything, len(coords))

    def knee_eps() -> float:
        distances, _ = NearestNeighbors(n_neighbors=min_samples, n_jobs=-1).fit(coords).kneighbors(coords)
        curve, _, at = eps.knee(np.sort(distances[:, -1]), config.eps.quantiles, config.eps.trim)
        return float(curve[at])

    radius = clock("eps", knee_eps)
    labels = clock("cluster", lambda: DBSCAN(eps=radius, min_samples=min_samples, n_jobs=-1)
                   .fit_predict(coords))
    clustered = labels >= 0
    n_clusters = len(np.unique(labels[clustered]))
    silhouette = clock("metrics", lambda: float(silhouette_score(coords[clustered], labels[clustered]))
                       if 2 <= n_clusters < clustered.sum() else None)
    return {
        "stages": clock.seconds,
        "n_rows": len(coords),
        "ari": None if table.truth is None else float(adjusted_rand_score(table.truth, labels)),
        "silhouette": silhouette,
        "eps": radius,
        "min_samples": min_samples,
        "n_clusters": n_clusters,
        "noise_fraction": float(1.0 - clustered.mean()),
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.naive --data PATH --out JSON [--params YAML]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="customer table (CSV or Parquet)")
    parser.add_argument("--out", required=True, type=Path, help="JSON file for the result")
    parser.add_argument("--params", default=str(resolve(DEFAULT_PARAMS)), help="seglab parameters")
    args = parser.parse_args(argv)
    config = load_config(args.params, overrides=[f"data.path={args.data}"])
    args.out.write_text(json.dumps(run_naive(config, args.data), indent=2))


if __name__ == "__main__":
    main()
