"""Model selection: many candidate clusterings of the embedding, scored without labels, one rule.

Candidates (on a sample of at most ``cluster.select_sample`` embedded rows):

- **DBSCAN** at five eps around the knee of each k-distance curve (curve positions knee - 0.06
  to knee + 0.06) for three ``min_samples`` (half, once and twice the default), all cut from one
  density tree per ``min_samples`` (:mod:`seglab.backend.density`);
- **HDBSCAN** with excess-of-mass and leaf selection on the same trees;
- **PLSCAN layers** (:mod:`seglab.layers`): the resolutions at which the HDBSCAN hierarchy's
  leaf persistence peaks, for the same three ``min_samples``;
- **partition models**: a Gaussian mixture with k by BIC and KMeans with k by silhouette, both
  k in 2-8.

Scores (one row sample for all candidates, noise excluded where it is not a cluster):
``silhouette`` in the embedding and ``silhouette_features`` in the feature space, ``dbcv``
(density-based validity, Moulavi et al. 2014, hdbscan's implementation), ``stability`` (mean
ARI between the candidate and the same settings refitted on subsamples of 80 %, density matched
as in :mod:`seglab.stability`), ``noise_fraction`` and ``largest_fraction``.

A candidate is *admissible* with at least 2 segments, at most :data:`MAX_NOISE` noise, no
segment above :data:`MAX_LARGEST` and stability of at least :data:`MIN_STABILITY`; its score is
``coverage_silhouette``, the embedding silhouette times the share of customers in a segment
(noise counts as 0, so shedding customers into noise is no free pass).

The rule (:func:`choose`):

1. **Layers.** Per number of segments, the best-scoring admissible density candidate that is
   stable (:data:`KEEP_STABILITY`) and scores above the shuffled-columns null is a kept layer:
   the hierarchy read at one resolution.
2. **Segments** (``cluster.layer: auto``): the finest kept layer whose score is within
   ``cluster.resolution_tolerance`` of the best kept layer's. The score rewards merging groups
   that touch (two touching groups are one blob to a silhouette), so the best-scoring layer is
   often the coarse one; a finer layer that scores nearly as well is a real resolution of the
   same hierarchy. The tolerance is chosen by leave-one-table-out over the labelled corpus
   (``python -m bench.layers``, bench/LAYERS.md).
3. **Groups**: the coarsest kept layer with fewer segments in which the segments nest (at least
   :data:`MIN_NESTING` of customers sit in their segment's group); a segment belongs to the
   group holding most of its customers.
4. **No kept layer** (nothing stable above the null): the classic rule, for the verdict to
   judge: the knee DBSCAN at the default ``min_samples`` unless another admissible density
   candidate scores :data:`CLEAR_MARGIN` higher; else the best admissible density candidate;
   else the best admissible partition model; else the best-scoring candidate with 2+ segments.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, pairwise_distances, silhouette_samples

from seglab import eps as eps_search
from seglab.backend import GMM_REG_COVAR, Backend
from seglab.backend.density import DensityTree
from seglab.cluster import relabel_by_size
from seglab.config import ClusterConfig, EpsConfig, ReduceConfig
from seglab.density_settings import default_min_cluster_size, density_matched
from seglab.layers import Layers, group_labels, nest, nesting_share, persistent_layers
from seglab.metrics import cluster_shape

MAX_NOISE = 0.35
MAX_LARGEST = 0.8
MIN_STABILITY = 0.6
CLEAR_MARGIN = 0.05
"""Without a kept layer, a candidate replaces the default knee DBSCAN only with a coverage
silhouette this much higher."""
KEEP_STABILITY = 0.8
"""A layer is kept only this stable across subsamples (the verdict's bar for ``clear``)."""
RESOLUTION_TOLERANCE = 0.05
"""``cluster.layer: auto``: the finest kept layer whose coverage silhouette is within this of
the best kept layer's (chosen by leave-one-table-out, bench/LAYERS.md)."""
MIN_NESTING = 0.9
"""Groups: at least this share of customers sit in their segment's group."""
KNEE_OFFSETS = (-0.06, -0.03, 0.0, 0.03, 0.06)
"""DBSCAN eps at these k-distance curve positions relative to the knee ..."""
MAX_EPS_RATIO = 1.25
"""... up to this multiple of the knee's eps (past it the curve is the outliers' steep tail,
where a cut merges whole segments)."""
PARTITION_K = range(2, 9)
SCORE_SAMPLE = 3_000
"""Rows for the silhouettes (one n x n distance matrix per space)."""
PARTITION_SCAN_SAMPLE = 3_000
"""Rows on which the partition models' k is chosen (BIC, silhouette)."""
DBCV_SAMPLE = 600
"""Rows for DBCV (an n x n distance matrix)."""
DRAW_FRACTION = 0.8


Layer = Literal["auto", "finest", "coarsest"] | int


@dataclass(frozen=True)
class Candidate:
    """One clustering of the selection sample."""

    algorithm: str
    """``dbscan``, ``hdbscan``, ``plscan`` (a persistent layer), ``gmm`` or ``kmeans``."""
    params: dict[str, Any]
    labels: np.ndarray
    refit: Callable[[np.ndarray, int], np.ndarray] = field(repr=False)
    """``refit(rows, draw)``: the same settings on a subsample of the selection sample."""
    default: bool = False
    """The knee DBSCAN at the default ``min_samples`` (the rule's starting point)."""

    @property
    def family(self) -> str:
        return "density" if self.algorithm in ("dbscan", "hdbscan", "plscan") else "partition"

    @property
    def name(self) -> str:
        shown = ", ".join(f"{key}={_short(value)}" for key, value in self.params.items())
        return f"{self.algorithm} ({shown})"


@dataclass(frozen=True)
class Scored:
    """A candidate and its label-free scores."""

    candidate: Candidate
    n_clusters: int
    noise_fraction: float
    largest_fraction: float
    silhouette: float | None
    silhouette_features: float | None
    dbcv: float | None
    stability_draws: tuple[float, ...]
    """ARI of each subsample refit with the candidate (empty with fewer than 2 segments)."""

    @property
    def stability(self) -> float | None:
        """Mean ARI over the subsample refits."""
        return float(np.mean(self.stability_draws)) if self.stability_draws else None

    @property
    def coverage_silhouette(self) -> float:
        """Embedding silhouette with noise counted as 0 (noise is not a free pass)."""
        return (self.silhouette or 0.0) * (1.0 - self.noise_fraction)

    @property
    def admissible(self) -> bool:
        return (self.n_clusters >= 2 and self.noise_fraction <= MAX_NOISE
                and self.largest_fraction <= MAX_LARGEST
                and (self.stability or 0.0) >= MIN_STABILITY)

    def row(self) -> dict[str, Any]:
        """One row of ``candidates.parquet``."""
        return {"candidate": self.candidate.name, "algorithm": self.candidate.algorithm,
                "family": self.candidate.family, "params": _params_text(self.candidate.params),
                "n_clusters": self.n_clusters, "noise_fraction": self.noise_fraction,
                "largest_fraction": self.largest_fraction, "silhouette": self.silhouette,
                "silhouette_features": self.silhouette_features, "dbcv": self.dbcv,
                "stability": self.stability, "coverage_silhouette": self.coverage_silhouette,
                "admissible": self.admissible}


@dataclass(frozen=True)
class Selection:
    """Every scored candidate and the one the rule chose."""

    scored: list[Scored]
    chosen: Scored
    reason: str
    """Which branch of the rule chose it, in words."""
    layers: list[Scored] = field(default_factory=list)
    """The kept layers, coarsest first (:func:`kept_layers`); empty when none is kept."""
    groups: Scored | None = None
    """The coarser kept layer the chosen segments nest in, if any."""

    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame([item.row() for item in self.scored])
        frame["chosen"] = [item is self.chosen for item in self.scored]
        return frame

    @property
    def margin(self) -> float | None:
        """The chosen candidate's coverage silhouette less that of the best admissible
        candidate with another number of segments (``None`` when there is none): below about
        0.02 the choice is within sample noise and can flip on another seed, row order or CPU
        (``python -m bench.spread`` counts the flips)."""
        others = [item for item in self.scored if item.admissible
                  and item.n_clusters != self.chosen.n_clusters]
        if not others:
            return None
        runner_up = max(item.coverage_silhouette for item in others)
        return round(self.chosen.coverage_silhouette - runner_up, 4)

    def stability_record(self, sample_size: int) -> dict[str, Any]:
        """``stability.json`` for the chosen candidate, measured on a sample of ``sample_size``."""
        draws = self.chosen.stability_draws
        return {"algorithm": self.chosen.candidate.algorithm, "source": "model selection",
                "mean": self.chosen.stability, "low": min(draws, default=None),
                "high": max(draws, default=None), "scores": list(draws), "draws": len(draws),
                "sample_size": max(2, int(DRAW_FRACTION * sample_size))}


@dataclass(frozen=True)
class SearchSettings:
    """What the candidate search needs besides the points."""

    min_samples: int
    """The default ``min_samples`` for the selection sample (the middle of three)."""
    min_cluster_size: int
    draws: int
    seed: int
    quantiles: int = 1000

    @classmethod
    def for_sample(cls, cluster: ClusterConfig, reduce: ReduceConfig, eps: EpsConfig,
                   n_rows: int, seed: int) -> SearchSettings:
        """The run's settings for a selection sample of ``n_rows`` rows."""
        return cls(min_samples=cluster.min_samples or eps_search.default_min_samples(reduce, n_rows),
                   min_cluster_size=cluster.min_cluster_size or default_min_cluster_size(n_rows),
                   draws=cluster.selection_draws, seed=seed, quantiles=eps.quantiles)


def sample_rows(fit_index: np.ndarray, n_rows: int, size: int, seed: int) -> np.ndarray:
    """The selection sample: ``size`` sorted rows, drawn from the rows the embedding was fitted
    on when there are enough of them (the others were placed by the fit), else from all rows."""
    pool = fit_index if len(fit_index) >= min(size, n_rows) else np.arange(n_rows)
    if len(pool) <= size:
        return np.sort(pool)
    return np.sort(np.random.default_rng(seed).choice(pool, size=size, replace=False))


def candidates(coords: np.ndarray, backend: Backend, settings: SearchSettings) -> list[Candidate]:
    """Every candidate clustering of ``coords`` (the selection sample of the embedding)."""
    n_rows, dims = coords.shape
    trees = _SubsampleTrees(coords, backend)
    found: list[Candidate] = []
    for min_samples in _min_samples_grid(settings.min_samples, n_rows):
        tree = backend.density_tree(coords, min_samples=min_samples)
        for offset, eps in _knee_eps(tree.core_distances, settings.quantiles):
            found.append(Candidate("dbscan", {"eps": eps, "min_samples": min_samples},
                                   relabel_by_size(tree.dbscan(eps)),
                                   _dbscan_refit(trees, eps, min_samples, dims),
                                   default=offset == 0.0 and min_samples == settings.min_samples))
        for selection in ("eom", "leaf"):
            params = {"min_samples": min_samples, "min_cluster_size": settings.min_cluster_size,
                      "selection": selection}
            found.append(Candidate("hdbscan", params,
                                   relabel_by_size(tree.hdbscan(settings.min_cluster_size,
                                                                selection)),
                                   _hdbscan_refit(trees, params)))
        found.extend(_layer_candidates(coords, backend, min_samples, settings.min_cluster_size))
    found.extend(_partitions(coords, backend, settings.seed))
    return found


def score_all(found: list[Candidate], coords: np.ndarray, features: np.ndarray,
              backend: Backend, settings: SearchSettings) -> list[Scored]:
    """Score every candidate on shared row samples (silhouettes, DBCV, stability).

    The silhouettes of all candidates share one distance matrix per space (the score sample's);
    the stability refits share one density tree per subsample and ``min_samples``.
    """
    rng = np.random.default_rng(settings.seed)
    n_rows = len(coords)
    score_rows = _sample(n_rows, SCORE_SAMPLE, rng)
    dbcv_rows = _sample(n_rows, DBCV_SAMPLE, rng)
    draws = [_sample(n_rows, max(2, int(DRAW_FRACTION * n_rows)), rng)
             for _ in range(settings.draws)]
    distances = {space: pairwise_distances(np.asarray(points[score_rows], dtype=np.float32))
                 for space, points in (("embedding", coords), ("features", features))}
    scored = []
    for candidate in found:
        labels = candidate.labels
        shape = cluster_shape(labels)
        scored.append(Scored(
            candidate=candidate,
            n_clusters=shape["n_clusters"],
            noise_fraction=shape["noise_fraction"],
            largest_fraction=shape["largest_cluster_fraction"],
            silhouette=_silhouette(distances["embedding"], labels[score_rows]),
            silhouette_features=_silhouette(distances["features"], labels[score_rows]),
            dbcv=_dbcv(coords[dbcv_rows], labels[dbcv_rows]),
            stability_draws=_stability(candidate, draws) if shape["n_clusters"] >= 2 else (),
        ))
    return scored


def choose(scored: list[Scored], *, null_score: float | None = None,
           layer: Layer = "auto", tolerance: float = RESOLUTION_TOLERANCE) -> Selection:
    """Apply the rule of this module's docstring.

    Args:
        scored: every scored candidate.
        null_score: the shuffled-columns null's coverage silhouette (``None``: no null run); a
            layer must score above it to be kept.
        layer: ``auto`` (the finest kept layer within ``tolerance`` of the best score),
            ``finest``, ``coarsest``, or the index of a kept layer (0 = the coarsest).
        tolerance: how far below the best kept layer's coverage silhouette a finer one may
            score and still be chosen.
    """
    kept = kept_layers(scored, null_score)
    if not kept:
        return _fallback(scored)
    if layer == "auto":
        top = max(item.coverage_silhouette for item in kept)
        chosen = next(item for item in reversed(kept) if item.coverage_silhouette >= top - tolerance)
        reason = (f"the finest stable layer within {tolerance:g} of the best score "
                  f"({len(kept)} layer{'s' if len(kept) > 1 else ''} kept)")
    elif layer in ("finest", "coarsest"):
        chosen = kept[-1] if layer == "finest" else kept[0]
        reason = f"cluster.layer: {layer} ({len(kept)} layers kept)"
    else:
        chosen = kept[min(int(layer), len(kept) - 1)]
        reason = f"cluster.layer: {layer} ({len(kept)} layers kept, 0 = the coarsest)"
    return Selection(scored, chosen, reason, kept, _groups_for(chosen, kept))


def kept_layers(scored: list[Scored], null_score: float | None = None) -> list[Scored]:
    """The resolutions worth showing, coarsest first: per number of segments, the best-scoring
    admissible density candidate that is stable (:data:`KEEP_STABILITY`) and scores above the
    shuffled-columns null."""
    best_per_k: dict[int, Scored] = {}
    for item in scored:
        if not (item.candidate.family == "density" and item.admissible
                and (item.stability or 0.0) >= KEEP_STABILITY
                and (null_score is None or item.coverage_silhouette > null_score)):
            continue
        held = best_per_k.get(item.n_clusters)
        if held is None or _rank(item) > _rank(held):
            best_per_k[item.n_clusters] = item
    return [best_per_k[k] for k in sorted(best_per_k)]


def _groups_for(chosen: Scored, kept: list[Scored]) -> Scored | None:
    """The coarsest kept layer with fewer segments than ``chosen`` in which ``chosen``'s segments
    nest (:data:`MIN_NESTING` of the customers sit in their segment's group)."""
    for item in kept:
        if 2 <= item.n_clusters < chosen.n_clusters and nesting_share(
                chosen.candidate.labels, item.candidate.labels) >= MIN_NESTING:
            return item
    return None


def _rank(item: Scored) -> tuple[float, float]:
    return round(item.coverage_silhouette, 6), -item.noise_fraction


def _fallback(scored: list[Scored]) -> Selection:
    """No stable layer above the null: the classic knee rule on the classic candidates (PLSCAN
    layers that are not kept are not shown either), for the verdict to judge."""
    density = [item for item in scored if item.candidate.family == "density" and item.admissible
               and item.candidate.algorithm != "plscan"]
    default = next((item for item in density if item.candidate.default), None)
    if default is not None:
        challenger = max(density, key=_rank)
        if challenger.coverage_silhouette >= default.coverage_silhouette + CLEAR_MARGIN:
            return Selection(scored, challenger, "no stable layer above the null; a density "
                                                 "clustering clearly better than the knee DBSCAN")
        return Selection(scored, default, "no stable layer above the null; the knee DBSCAN")
    if density:
        return Selection(scored, max(density, key=_rank),
                         "no stable layer above the null; the best admissible density clustering")
    partition = [item for item in scored if item.admissible]
    if partition:
        return Selection(scored, max(partition, key=_rank),
                         "no admissible density clustering; the best admissible partition")
    shown = [item for item in scored if item.n_clusters >= 2] or scored
    return Selection(scored, max(shown, key=_rank),
                     "no admissible candidate; the best-scoring one")


SCORED_FIELDS = ("n_clusters", "noise_fraction", "largest_fraction", "silhouette",
                 "silhouette_features", "dbcv")


def scored_frame(scored: list[Scored]) -> pd.DataFrame:
    """Every scored candidate as a table that :func:`scored_from` reads back (labels apart)."""
    return pd.DataFrame([{"algorithm": item.candidate.algorithm,
                          "params": json.dumps(item.candidate.params),
                          "default": item.candidate.default,
                          **{name: getattr(item, name) for name in SCORED_FIELDS},
                          "stability_draws": list(item.stability_draws)} for item in scored])


def scored_from(frame: pd.DataFrame, labels: np.ndarray) -> list[Scored]:
    """The scored candidates saved by :func:`scored_frame`, with their labels (one row each).

    They choose and label exactly as the originals; their refits are not kept (scoring is done).
    """
    def no_refit(_rows: np.ndarray, _draw: int) -> np.ndarray:
        raise RuntimeError("a restored candidate is already scored: it is not refitted")

    def value(raw: Any) -> Any:
        return None if raw is None or (isinstance(raw, float) and np.isnan(raw)) else raw

    return [Scored(candidate=Candidate(row["algorithm"], json.loads(row["params"]),
                                       labels[at].astype(np.int64), no_refit,
                                       default=bool(row["default"])),
                   **{name: value(row[name]) for name in SCORED_FIELDS},
                   stability_draws=tuple(float(draw) for draw in row["stability_draws"]))
            for at, row in enumerate(frame.to_dict(orient="records"))]


def evaluate(coords: np.ndarray, features: np.ndarray, backend: Backend,
             settings: SearchSettings) -> list[Scored]:
    """Every candidate for one sample of the embedding, scored."""
    return score_all(candidates(coords, backend, settings), coords, features, backend, settings)


def select(coords: np.ndarray, features: np.ndarray, backend: Backend,
           settings: SearchSettings) -> Selection:
    """Candidates, scores and the rule's choice for one sample of the embedding (no null)."""
    return choose(evaluate(coords, features, backend, settings))


def sample_neighbours(coords: np.ndarray, sample_rows: np.ndarray, backend: Backend,
                      neighbours: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The rows outside the sample and, for each, its nearest sample rows in the embedding (as
    the embedding placed them among fitted rows): what :func:`extend_labels` votes with."""
    rest = np.setdiff1d(np.arange(len(coords)), sample_rows, assume_unique=True)
    if not len(rest):
        return rest, np.empty((0, 0), dtype=np.int64)
    k = min(neighbours, len(sample_rows))
    _, nearest = backend.kneighbors(backend.asarray(coords[sample_rows]), k,
                                    query=backend.asarray(coords[rest]))
    return rest, backend.to_numpy(nearest)


def extend_labels(n_rows: int, sample_rows: np.ndarray, sample_labels: np.ndarray,
                  neighbours: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Labels for every row: the sample's own, the others by a vote of their nearest sample rows
    (``neighbours`` from :func:`sample_neighbours`; noise is a vote too)."""
    labels = np.full(n_rows, -1, dtype=np.int64)
    labels[sample_rows] = sample_labels
    rest, nearest = neighbours
    if not len(rest):
        return labels
    labels[rest] = _vote_counts(sample_labels, nearest).argmax(axis=1) - 1
    return labels


def vote(reference: np.ndarray, reference_labels: np.ndarray, query: np.ndarray,
         backend: Backend, neighbours: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each query row's label by a vote of its nearest reference rows in the embedding (noise is
    a vote too, as in :func:`extend_labels`), the share of those rows that voted for it, and its
    nearest reference row ``(distance, index)`` as one ``(n, 2)`` array."""
    k = min(neighbours, len(reference))
    distances, nearest = backend.kneighbors(backend.asarray(reference), k,
                                            query=backend.asarray(query))
    distances, nearest = backend.to_numpy(distances), backend.to_numpy(nearest)
    counts = _vote_counts(reference_labels, nearest)
    closest = np.column_stack([distances[:, 0], nearest[:, 0]])
    return counts.argmax(axis=1) - 1, counts.max(axis=1) / k, closest


def _vote_counts(labels: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Votes per row and label (column 0: noise) of the rows ``nearest`` indexes in ``labels``."""
    counts = np.zeros((len(nearest), int(labels.max(initial=-1)) + 2), dtype=np.int32)
    np.add.at(counts, (np.repeat(np.arange(len(nearest)), nearest.shape[1]),
                       (labels[nearest] + 1).ravel()), 1)
    return counts


@dataclass(frozen=True)
class Levels:
    """Every row's segment, group and kept layers (the sample's labels voted out to all rows)."""

    segments: np.ndarray
    groups: np.ndarray | None
    """``None`` when the segments nest in no coarser kept layer."""
    layers: list[np.ndarray]
    """Each kept layer, coarsest first (:attr:`Selection.layers`)."""


def label_levels(coords: np.ndarray, sample_rows: np.ndarray, chosen_set: Selection,
                 backend: Backend) -> Levels:
    """:class:`Levels` for all of ``coords`` from the selection on ``sample_rows``: segments
    and layers numbered by size, each segment in the group holding most of its customers."""
    neighbours = sample_neighbours(coords, sample_rows, backend)

    def everyone(sample_labels: np.ndarray) -> np.ndarray:
        return relabel_by_size(extend_labels(len(coords), sample_rows, sample_labels, neighbours))

    segments = everyone(chosen_set.chosen.candidate.labels)
    layers = [everyone(item.candidate.labels) for item in chosen_set.layers]
    groups = None
    if chosen_set.groups is not None:
        coarse = next(labels for item, labels in zip(chosen_set.layers, layers, strict=True)
                      if item is chosen_set.groups)
        groups = relabel_by_size(group_labels(segments, nest(segments, coarse)))
    return Levels(segments, groups, layers)


def layer_records(chosen_set: Selection) -> list[dict[str, Any]]:
    """The kept layers for ``selection.json``: which candidate, scores, and its role."""
    def role(item: Scored) -> str | None:
        if item is chosen_set.chosen:
            return "segments"
        return "groups" if item is chosen_set.groups else None

    return [{"layer": at, "candidate": item.candidate.name, "n_clusters": item.n_clusters,
             "coverage_silhouette": item.coverage_silhouette, "stability": item.stability,
             "noise_fraction": item.noise_fraction, "role": role(item)}
            for at, item in enumerate(chosen_set.layers)]


def describe(item: Scored) -> str:
    """The chosen candidate as the short ``selected`` string of ``metrics.json``."""
    return f"{item.candidate.algorithm} {_params_text(item.candidate.params)}"


def _min_samples_grid(default: int, n_rows: int) -> list[int]:
    ceiling = max(2, n_rows // 10)
    return sorted({min(ceiling, max(2, value)) for value in (default // 2, default, 2 * default)})


def _knee_eps(core_distances: np.ndarray, quantiles: int) -> list[tuple[float, float]]:
    """``(offset, eps)`` at the curve positions around the knee (distinct, positive eps)."""
    ordered = np.sort(core_distances)
    _, positions, at = eps_search.knee(ordered, quantiles, 0.0)
    knee_eps = float(np.quantile(ordered, positions[at]))
    values: dict[float, float] = {}
    for offset in sorted(KNEE_OFFSETS, key=abs):  # the knee itself keeps its eps
        radius = float(np.quantile(ordered, float(np.clip(positions[at] + offset, 0.0, 1.0))))
        if 0 < radius <= MAX_EPS_RATIO * knee_eps:
            values.setdefault(radius, offset)
    return sorted((offset, radius) for radius, offset in values.items())


class _SubsampleTrees:
    """Density trees of subsamples, one per draw and ``min_samples``, shared by the refits."""

    def __init__(self, coords: np.ndarray, backend: Backend) -> None:
        self.coords, self.backend = coords, backend
        self._trees: dict[tuple[int, int], DensityTree] = {}

    def get(self, rows: np.ndarray, draw: int, min_samples: int) -> DensityTree:
        key = (draw, min_samples)
        if key not in self._trees:
            self._trees[key] = self.backend.density_tree(self.coords[rows], min_samples=min_samples)
        return self._trees[key]


def _dbscan_refit(trees: _SubsampleTrees, eps: float, min_samples: int,
                  dims: int) -> Callable[[np.ndarray, int], np.ndarray]:
    def refit(rows: np.ndarray, draw: int) -> np.ndarray:
        radius, kept = density_matched(eps, min_samples, len(rows) / len(trees.coords), dims)
        return trees.get(rows, draw, kept).dbscan(radius)
    return refit


def _hdbscan_refit(trees: _SubsampleTrees,
                   params: dict[str, Any]) -> Callable[[np.ndarray, int], np.ndarray]:
    def refit(rows: np.ndarray, draw: int) -> np.ndarray:
        fraction = len(rows) / len(trees.coords)
        kept = max(2, round((params["min_samples"] - 1) * fraction) + 1)
        size = max(2, round(params["min_cluster_size"] * fraction))
        return trees.get(rows, draw, kept).hdbscan(size, params["selection"])
    return refit


def _layer_candidates(coords: np.ndarray, backend: Backend, min_samples: int,
                      min_cluster_size: int) -> list[Candidate]:
    """PLSCAN's persistent layers at ``min_samples`` (:mod:`seglab.layers`), one candidate each.

    A layer's refit is PLSCAN on the subsample (sizes scaled to it), read at the layer with the
    same number of segments or the nearest (the more persistent one on a tie).
    """
    host = backend.to_numpy(coords)
    found = persistent_layers(host, min_samples, min_cluster_size)
    refits: dict[int, Layers] = {}

    def refit_for(n_clusters: int) -> Callable[[np.ndarray, int], np.ndarray]:
        def refit(rows: np.ndarray, draw: int) -> np.ndarray:
            if draw not in refits:
                fraction = len(rows) / len(host)
                refits[draw] = persistent_layers(host[rows],
                                                 max(2, round((min_samples - 1) * fraction) + 1),
                                                 max(2, round(min_cluster_size * fraction)))
            layers = refits[draw]
            nearest = min(range(len(layers.labels)),
                          key=lambda at: (abs(layers.n_clusters(at) - n_clusters),
                                          -layers.persistence[at]))
            return layers.labels[nearest]
        return refit

    return [Candidate("plscan", {"min_samples": min_samples, "layer": at,
                                 "persistence": found.persistence[at],
                                 "primary": at == found.most_persistent},
                      labels, refit_for(found.n_clusters(at)))
            for at, labels in enumerate(found.labels)]


def _partitions(coords: np.ndarray, backend: Backend, seed: int) -> list[Candidate]:
    """A Gaussian mixture with k by BIC and KMeans with k by silhouette (k in 2-8)."""
    from sklearn.mixture import GaussianMixture

    host = backend.to_numpy(coords).astype(np.float64)
    ks = [k for k in PARTITION_K if k < len(host) // 5]
    if not ks:
        return []
    scan_rows = _sample(len(host), PARTITION_SCAN_SAMPLE, np.random.default_rng(seed))
    scan = host[scan_rows]
    bic = {k: GaussianMixture(k, reg_covar=GMM_REG_COVAR, random_state=seed).fit(scan).bic(scan)
           for k in ks}
    gmm_k = min(bic, key=bic.__getitem__)
    distances = pairwise_distances(scan.astype(np.float32))
    silhouettes = {k: _silhouette(distances, backend.to_numpy(
        backend.kmeans(scan, n_clusters=k, seed=seed))) or -1.0 for k in ks}
    kmeans_k = max(silhouettes, key=silhouettes.__getitem__)
    kmeans_labels = backend.to_numpy(backend.kmeans(coords, n_clusters=kmeans_k, seed=seed))

    def refit(algorithm: str, k: int) -> Callable[[np.ndarray, int], np.ndarray]:
        def run(rows: np.ndarray, draw: int) -> np.ndarray:
            method = backend.kmeans if algorithm == "kmeans" else backend.gaussian_mixture
            size_key = "n_clusters" if algorithm == "kmeans" else "n_components"
            return backend.to_numpy(method(coords[rows], **{size_key: k}, seed=seed + draw + 1))
        return run

    gmm_labels = backend.to_numpy(backend.gaussian_mixture(coords, n_components=gmm_k, seed=seed))
    return [Candidate("gmm", {"k": gmm_k, "by": "bic"}, relabel_by_size(gmm_labels),
                      refit("gmm", gmm_k)),
            Candidate("kmeans", {"k": kmeans_k, "by": "silhouette"}, relabel_by_size(kmeans_labels),
                      refit("kmeans", kmeans_k))]


def _stability(candidate: Candidate, draws: list[np.ndarray]) -> tuple[float, ...]:
    return tuple(float(adjusted_rand_score(candidate.labels[rows], candidate.refit(rows, draw)))
                 for draw, rows in enumerate(draws))


def _silhouette(distances: np.ndarray, labels: np.ndarray) -> float | None:
    """Mean silhouette of the clustered rows from a precomputed distance matrix (noise left out)."""
    clustered = np.flatnonzero(labels >= 0)
    n_clusters = len(np.unique(labels[clustered]))
    if n_clusters < 2 or n_clusters >= len(clustered):
        return None
    within = distances[np.ix_(clustered, clustered)]
    return float(np.mean(silhouette_samples(within, labels[clustered], metric="precomputed")))


def _dbcv(points: np.ndarray, labels: np.ndarray) -> float | None:
    """hdbscan's DBCV; noise lowers it (each cluster weighs by its share of all points)."""
    from hdbscan.validity import validity_index

    clustered = labels[labels >= 0]
    if len(np.unique(clustered)) < 2 or np.bincount(clustered).min() < 2:
        return None
    with np.errstate(all="ignore"):
        value = validity_index(np.asarray(points, dtype=np.float64), labels)
    return float(value) if np.isfinite(value) else None


def _sample(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{key}={_short(value)}" for key, value in params.items())

