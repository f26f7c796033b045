"""What notebook 04 clusters with, where each value came from, and one rule for subsamples.

04 decides its own ``eps`` and ``min_samples`` (:meth:`DensitySettings.decide`): its
``cluster.eps`` if set, else the knee notebook 03 found on the k-distance curve for the same
``min_samples``. Everything that re-clusters fewer rows (the baselines on a sample, the stability
draws) adapts the settings by :meth:`DensitySettings.for_subsample`, so a subsample is clustered
at the density the whole table was.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from seglab.config import ClusterConfig, ReduceConfig
from seglab.eps import default_min_samples
from seglab.errors import SeglabError


def density_matched(eps: float, min_samples: int, fraction: float, dims: int) -> tuple[float, int]:
    """DBSCAN ``(eps, min_samples)`` with the same density threshold on ``fraction`` of the rows.

    A point is core when ``min_samples - 1`` other points lie within ``eps``. A subsample keeps
    ``fraction`` of those neighbours, so ``min_samples - 1`` scales by ``fraction``; where the
    rounded count (at least 1 neighbour) differs from the exact one, the radius absorbs the
    difference, assuming locally uniform density in ``dims`` dimensions.

    Args:
        eps: the run's radius.
        min_samples: the run's density, counting the point itself.
        fraction: share of the rows kept, in ``(0, 1]``.
        dims: dimensions of the clustered space.

    Returns:
        The subsample's ``(eps, min_samples)``.
    """
    neighbours = (min_samples - 1) * fraction
    kept = max(1, round(neighbours))
    return eps * (kept / neighbours) ** (1.0 / dims), kept + 1


def default_min_cluster_size(n_rows: int) -> int:
    """HDBSCAN's smallest segment when none is configured: 0.5 % of the rows, at least 10."""
    return max(10, n_rows // 200)


@dataclass(frozen=True)
class DensitySettings:
    """The settings of one clustering (``cluster_settings.json``) and their sources."""

    eps: float | None
    """DBSCAN's radius; ``None`` when no algorithm run needs one."""
    min_samples: int
    """Neighbours that make a point core, the point itself counted."""
    min_cluster_size: int
    n_clusters: int | None
    seed: int
    source: str | None = None
    """Where ``eps`` came from: ``cluster.eps``, ``knee``, or ``None``."""
    knee_eps: float | None = None
    eps_low: float | None = None
    eps_high: float | None = None
    curve_min_samples: int | None = None
    """The k of the k-distance curve whose knee ``knee_eps`` is."""

    @classmethod
    def decide(cls, cluster: ClusterConfig, reduce: ReduceConfig, curve: dict[str, Any],
               n_rows: int, seed: int) -> DensitySettings:
        """04's own eps and min_samples for ``n_rows`` embedded rows.

        ``min_samples`` is ``cluster.min_samples``, else the default tied to the embedding;
        ``eps`` is ``cluster.eps``, else the knee of ``curve`` (03's ``eps.json``). The knee
        belongs to the curve's k: when DBSCAN needs it and this ``min_samples`` differs, it is
        an error (re-run 03 with the same ``cluster.min_samples``), never a silent mismatch.
        """
        min_samples = cluster.min_samples or default_min_samples(reduce, n_rows)
        eps, source = cluster.eps, "cluster.eps"
        if eps is None:
            knee_usable = curve.get("min_samples") == min_samples and "knee_eps" in curve
            runs_dbscan = "dbscan" in (cluster.algorithm, *cluster.baselines)
            if runs_dbscan and not curve:
                raise SeglabError("04_clustering: no k-distance curve in this run folder: run "
                                  "notebook 03_eps_search first (same run_dir), or set cluster.eps")
            if runs_dbscan and not knee_usable:
                raise SeglabError(
                    f"04_clustering: min_samples {min_samples} differs from the k-distance "
                    f"curve's k={curve.get('min_samples')}, so its knee is no eps for it: re-run "
                    "notebook 03_eps_search with the same cluster.min_samples (same run_dir), or "
                    "set cluster.eps"
                )
            eps, source = (curve["knee_eps"], "knee") if knee_usable else (None, None)
        return cls(eps=eps, min_samples=min_samples,
                   min_cluster_size=cluster.min_cluster_size or default_min_cluster_size(n_rows),
                   n_clusters=cluster.n_clusters, seed=seed, source=source,
                   knee_eps=curve.get("knee_eps"), eps_low=curve.get("eps_low"),
                   eps_high=curve.get("eps_high"), curve_min_samples=curve.get("min_samples"))

    def for_subsample(self, fraction: float, dims: int, draw: int | None = None
                      ) -> DensitySettings:
        """The same density on a subsample holding ``fraction`` of the rows.

        ``eps``/``min_samples`` are density-matched (:func:`density_matched`), for DBSCAN and
        HDBSCAN alike; ``min_cluster_size`` shrinks in proportion; a ``draw`` (a stability
        draw) gives KMeans and the mixture a seed of their own.
        """
        eps, min_samples = density_matched(self.eps or 1.0, self.min_samples, fraction, dims)
        return replace(self, eps=None if self.eps is None else eps, min_samples=min_samples,
                       min_cluster_size=max(2, round(self.min_cluster_size * fraction)),
                       seed=self.seed if draw is None else self.seed + draw + 1)

    def algorithm_settings(self) -> dict[str, Any]:
        """Keyword arguments for :func:`seglab.cluster.cluster`."""
        return {"eps": self.eps, "min_samples": self.min_samples, "n_clusters": self.n_clusters,
                "min_cluster_size": self.min_cluster_size, "seed": self.seed}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
