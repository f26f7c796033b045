"""The chosen clustering beside its baselines, all scored on the same rows of the embedding.

With an explicit ``cluster.algorithm`` (``auto`` compares its candidates instead, see
:mod:`seglab.selection`), KMeans, the Gaussian mixture and HDBSCAN run on at most
``cluster.baseline_sample`` rows; KMeans and the mixture get as many clusters as the chosen
algorithm found (they cannot say "noise"); the density settings follow the sample's share of the
rows (:meth:`~seglab.density_settings.DensitySettings.for_subsample`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seglab import cluster as clustering
from seglab import metrics
from seglab.backend import Backend
from seglab.config import ClusterConfig, MetricsConfig
from seglab.density_settings import DensitySettings


def compare_baselines(
    coords: np.ndarray,
    chosen: clustering.Clustering,
    cluster_cfg: ClusterConfig,
    metrics_cfg: MetricsConfig,
    backend: Backend,
    settings: DensitySettings,
    truth: np.ndarray | None,
    *,
    seed: int,
) -> pd.DataFrame:
    """The chosen algorithm beside each baseline, scored on the same sampled embedding rows.

    Args:
        coords: the embedding.
        chosen: the run's clustering of every row.
        cluster_cfg: the ``cluster`` section (baselines, sample size, ``n_clusters``).
        metrics_cfg: the ``metrics`` section (silhouette sample and interval).
        backend: the compute backend.
        settings: the chosen algorithm's settings, shared by the others at the sample's density.
        truth: ground-truth segments, if known.
        seed: seeds the row sample and the algorithms.

    Returns:
        One row per algorithm: shape, silhouette, ARI (when truth exists) and seconds; empty
        when there is no baseline to compare with (nothing is scored then).
    """
    others = [name for name in cluster_cfg.baselines if name != chosen.algorithm]
    if not others:
        return pd.DataFrame()
    rng = np.random.default_rng(seed)
    n_rows = len(coords)
    rows = np.sort(rng.choice(n_rows, size=min(n_rows, cluster_cfg.baseline_sample), replace=False))
    sample, sample_truth = coords[rows], None if truth is None else truth[rows]
    n_found = max(2, len(set(chosen.labels[rows].tolist()) - {-1}))
    adapted = settings.for_subsample(len(rows) / n_rows, coords.shape[1])
    sample_settings = {**adapted.algorithm_settings(),
                       "n_clusters": cluster_cfg.n_clusters or n_found}
    table = [_summarise(chosen.algorithm, chosen.labels[rows], chosen.seconds, sample,
                        sample_truth, backend, metrics_cfg, seed)]
    for name in others:
        result = clustering.cluster(sample, name, backend, **sample_settings)
        table.append(_summarise(name, result.labels, result.seconds, sample, sample_truth,
                                backend, metrics_cfg, seed))
    return pd.DataFrame(table)


def _summarise(
    algorithm: str,
    labels: np.ndarray,
    seconds: float,
    coords: np.ndarray,
    truth: np.ndarray | None,
    backend: Backend,
    cfg: MetricsConfig,
    seed: int,
) -> dict[str, Any]:
    silhouette = metrics.sampled_silhouette(
        coords, labels, backend, sample_size=cfg.silhouette_sample, bootstrap=cfg.bootstrap,
        confidence=cfg.confidence, seed=seed,
    )
    return {
        "algorithm": algorithm,
        **metrics.cluster_shape(labels),
        "silhouette": None if silhouette is None else round(silhouette.value, 4),
        "ari": None if truth is None else round(metrics.adjusted_rand(truth, labels), 4),
        "seconds": round(seconds, 2),
    }
