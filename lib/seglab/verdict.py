"""Is there structure at all? A verdict in plain words, judged against a null reference.

The null reference is the same table with every feature column shuffled independently: each
column keeps its distribution, every relation between columns is gone (the logic of the gap
statistic, Tibshirani, Walther and Hastie 2001). The same embedding and the same model selection
run on a sample of it; segments whose score is not clearly above the null's are not segments to
show a business reader as such.

Verdicts:

- ``clear``: a density clustering with 2+ segments, none above 80 %, a positive feature-space
  silhouette, stable across subsamples (ARI >= :data:`CLEAR_STABILITY`) and a score at least
  :data:`NULL_MARGIN` above the null's;
- ``weak``: density segments, but one of those tests fails (the reasons say which), or the
  segments merely restate one categorical column;
- ``none``: no admissible density clustering (the segments shown come from a partition model),
  or a score not above the null's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_mutual_info_score

from seglab import selection
from seglab.backend import Backend

CLEAR_STABILITY = 0.8
NULL_MARGIN = 0.1
"""``coverage_silhouette`` must beat the null's by this much for a ``clear`` verdict."""
RESTATE_AMI = 0.7
"""Segments whose agreement (AMI) with one categorical column is this high restate it."""
FEW_LEVELS = 10
"""A numeric column with at most this many distinct values is a code or a flag."""
ALGORITHM_NAMES = {"dbscan": "DBSCAN", "hdbscan": "HDBSCAN", "plscan": "PLSCAN", "gmm": "a Gaussian mixture",
                   "kmeans": "KMeans"}


@dataclass(frozen=True)
class NullScore:
    """The model selection's choice on the shuffled-columns table."""

    coverage_silhouette: float
    silhouette_features: float | None
    n_clusters: int
    selected: str
    sample_size: int


@dataclass(frozen=True)
class Verdict:
    """``clear``, ``weak`` or ``none``, why, and the sentence the report opens with."""

    level: str
    reasons: list[str]
    sentence: str
    score: float
    null: NullScore | None
    restated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def null_reference(features: np.ndarray, coords: np.ndarray, backend: Backend,
                   settings: selection.SearchSettings) -> NullScore:
    """The model selection on the shuffled-columns table and its embedding.

    Args:
        features: the null table's feature rows (:func:`seglab.reduce.null_table`).
        coords: their embedding.
        backend: the compute backend.
        settings: the run's candidate search settings (``min_samples`` and the cluster size are
            capped for the null table's size).
    """
    n_rows = len(features)
    scaled = selection.SearchSettings(
        min_samples=max(2, min(settings.min_samples, n_rows // 10)),
        min_cluster_size=max(2, min(settings.min_cluster_size, n_rows // 20)),
        draws=settings.draws, seed=settings.seed, quantiles=settings.quantiles)
    # the null's best kept layer (tolerance 0), not its finest: the bar real layers must clear
    chosen = selection.choose(selection.evaluate(coords, features, backend, scaled),
                              tolerance=0.0).chosen
    return NullScore(coverage_silhouette=chosen.coverage_silhouette,
                     silhouette_features=chosen.silhouette_features,
                     n_clusters=chosen.n_clusters, selected=selection.describe(chosen),
                     sample_size=n_rows)


def level_codes(categorical: dict[str, list[str]], table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns with few levels as level codes: each categorical input column (from its one-hot
    columns in ``table``) and each other column with at most :data:`FEW_LEVELS` values (flags,
    codes such as a binary ``sex``): the columns segments could merely restate.

    Args:
        categorical: source column -> its one-hot columns (``categorical.json``).
        table: the interpretable columns per customer (``profile_table.parquet``).
    """
    onehots = {column for columns in categorical.values() for column in columns}
    codes = {name: table[columns].to_numpy().argmax(axis=1) for name, columns in categorical.items()}
    for name in table.columns.difference(sorted(onehots)):
        levels, inverse = np.unique(table[name].to_numpy(), return_inverse=True)
        if 2 <= len(levels) <= FEW_LEVELS:
            codes[name] = inverse
    return codes


def restated_columns(labels: np.ndarray, categorical: dict[str, np.ndarray]) -> list[str]:
    """Columns with few levels that the segments (noise excluded) merely restate
    (AMI >= RESTATE_AMI): "segment 1 is the women, segment 2 the men"."""
    clustered = labels >= 0
    if len(np.unique(labels[clustered])) < 2:
        return []
    return [name for name, codes in categorical.items()
            if adjusted_mutual_info_score(codes[clustered], labels[clustered]) >= RESTATE_AMI]


def judge(chosen: selection.Scored, null: NullScore | None, restated: list[str]) -> Verdict:
    """The verdict for the chosen candidate (see the module docstring)."""
    score = chosen.coverage_silhouette
    k = chosen.n_clusters
    name = ALGORITHM_NAMES[chosen.candidate.algorithm]
    stability = chosen.stability
    if k < 2:
        return Verdict("none", ["no candidate found two or more segments"],
                       "No segments: every clustering tried puts (almost) all customers "
                       "together.", score, null, restated)
    reasons = _problems(chosen, null)
    reasons += [f"the segments restate one column, {column!r}" for column in restated]
    density = chosen.candidate.family == "density" and chosen.admissible
    beats_null = null is None or score > null.coverage_silhouette
    if not density:
        level = "none"
        sentence = (f"No density-separated groups; these {k} segments come from {name}"
                    + (f" and are stable at {stability:.2f} ARI across subsamples"
                       if stability is not None else "") + ".")
    elif not beats_null:
        level = "none"
        sentence = (f"No clear segments: the {k} groups {name} finds score no better than on the "
                    "same table with its columns shuffled (no relation between them).")
    elif reasons:
        level = "weak"
        sentence = f"{k} segments found by {name}, but the evidence is weak: " + "; ".join(reasons) + "."
    else:
        level = "clear"
        sentence = (f"{k} clear segments found by {name}: stable at {stability:.2f} ARI across "
                    f"subsamples, silhouette {score:.2f} against {null.coverage_silhouette:.2f} "
                    "on the same table with its columns shuffled."
                    if null is not None else f"{k} clear segments found by {name}.")
    return Verdict(level, reasons, sentence, score, null, restated)


def _problems(chosen: selection.Scored, null: NullScore | None) -> list[str]:
    problems = []
    features = chosen.silhouette_features
    if features is None or features <= 0:
        shown = "n/a" if features is None else f"{features:.2f}"
        problems.append(f"silhouette in the feature space is {shown} (customers sit as close to "
                        "other segments as to their own)")
    if chosen.largest_fraction > selection.MAX_LARGEST:
        problems.append(f"one segment holds {chosen.largest_fraction:.0%} of customers")
    if chosen.noise_fraction > selection.MAX_NOISE:
        problems.append(f"{chosen.noise_fraction:.0%} of customers fit no segment")
    if chosen.stability is None or chosen.stability < CLEAR_STABILITY:
        shown = "n/a" if chosen.stability is None else f"{chosen.stability:.2f}"
        problems.append(f"unstable across subsamples (ARI {shown})")
    if null is not None and chosen.coverage_silhouette < null.coverage_silhouette + NULL_MARGIN:
        where = ("barely above" if chosen.coverage_silhouette > null.coverage_silhouette
                 else "not above")
        problems.append(f"{where} the shuffled-columns null (silhouette "
                        f"{chosen.coverage_silhouette:.2f} against {null.coverage_silhouette:.2f})")
    return problems
