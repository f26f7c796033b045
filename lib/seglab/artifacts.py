"""The run folder's catalog: each file one stage hands the next, declared once with the stage
that writes it and a typed reader and writer; and the stages' names.

A stage's name is its notebook's (``01_exploration``): the same name keys the stage cache and
groups the stage's timings (:data:`TIMINGS`), so one vocabulary runs from the notebook to the
metrics. Reading an artifact whose stage has not run is a clear error naming that notebook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from seglab.errors import SeglabError
from seglab.runfolder import RunFolder

KERNEL_SETUP = "00_kernel_setup"
EXPLORATION = "01_exploration"
REDUCTION = "02_dimensionality_reduction"
EPS_SEARCH = "03_eps_search"
CLUSTERING = "04_clustering"
REPORTING = "05_reporting"
STAGES = (KERNEL_SETUP, EXPLORATION, REDUCTION, EPS_SEARCH, CLUSTERING, REPORTING)
"""Every stage, in order: one notebook each."""

TIMINGS: dict[str, tuple[str, ...]] = {
    EXPLORATION: ("load", "features"),
    REDUCTION: ("reduce", "null_reduce"),
    EPS_SEARCH: ("eps",),
    CLUSTERING: ("cluster", "null", "metrics"),
    REPORTING: ("stability",),
}
"""The timed steps of each stage, recorded as ``seconds_<step>`` in ``metrics.json``."""


@dataclass(frozen=True)
class Artifact:
    """A file under ``artifacts/`` and the stage that writes it."""

    name: str
    stage: str

    def path(self, folder: RunFolder) -> Path:
        return folder.artifact(self.name)

    def exists(self, folder: RunFolder) -> bool:
        return self.path(folder).exists()

    def require(self, folder: RunFolder) -> Path:
        """The path, or a clear error saying which notebook to run first."""
        return folder.require(self.name, self.stage)


class ArrayArtifact(Artifact):
    """A NumPy array (``.npy``, no pickles)."""

    def read(self, folder: RunFolder) -> np.ndarray:
        return folder.load_array(self.name, self.stage)

    def write(self, folder: RunFolder, array: np.ndarray) -> None:
        folder.save_array(self.name, array)


class JsonArtifact(Artifact):
    """A JSON object."""

    def read(self, folder: RunFolder) -> dict[str, Any]:
        return json.loads(self.require(folder).read_text())

    def read_if_present(self, folder: RunFolder) -> dict[str, Any]:
        """The object, or ``{}`` where the stage wrote none (a run that did not need it)."""
        return folder.read_json(self.path(folder))

    def write(self, folder: RunFolder, data: dict[str, Any]) -> None:
        folder.write_json(self.path(folder), data)


class FrameArtifact(Artifact):
    """A table (Parquet)."""

    def read(self, folder: RunFolder, columns: list[str] | None = None) -> pd.DataFrame:
        # one array per column as stored: no copy of the whole table into one block
        return pq.read_table(self.require(folder), columns=columns).to_pandas(split_blocks=True)

    def write(self, folder: RunFolder, frame: pd.DataFrame) -> None:
        folder.save_frame(self.name, frame)


# 01_exploration
FEATURES = ArrayArtifact("features.npy", EXPLORATION)
FEATURE_INFO = JsonArtifact("features.json", EXPLORATION)
"""Feature names, dropped columns, per-column transforms, the data report and fingerprint."""
CUSTOMERS = FrameArtifact("customers.parquet", EXPLORATION)
"""Customer ids, and the known segments (``truth``) when the table has a label column."""
PROFILE_TABLE = FrameArtifact("profile_table.parquet", EXPLORATION)
PROFILE_STATS = JsonArtifact("profile_stats.json", EXPLORATION)
"""The profile table's mean, standard deviation and minimum over all customers
(:class:`seglab.profiles.PopulationStats`): computed once per feature set, not per trial."""
PCA_VARIANCE = FrameArtifact("pca_variance.parquet", EXPLORATION)
CATEGORICAL = JsonArtifact("categorical.json", EXPLORATION)
"""Each categorical input column -> its one-hot columns (kept as data, never parsed back
out of column names)."""
FEATURE_MODEL = JsonArtifact("feature_model.json", EXPLORATION)
"""The fitted features in numbers: each source column's kind, fill value and levels
(:class:`seglab.intake.InputSchema`), and each feature's centre, scale, encoding, block weight
and PCA (:class:`seglab.feature_transform.FeatureTransform`): what places new customers."""
# 02_dimensionality_reduction
EMBEDDING = ArrayArtifact("embedding.npy", REDUCTION)
EMBEDDING_INFO = JsonArtifact("embedding.json", REDUCTION)
FIT_INDEX = ArrayArtifact("embedding_fit_index.npy", REDUCTION)
NULL_FEATURES = ArrayArtifact("null_features.npy", REDUCTION)
"""The null reference: a sample of the features with each column shuffled independently ..."""
NULL_EMBEDDING = ArrayArtifact("null_embedding.npy", REDUCTION)
"""... and its embedding (04's verdict compares the model selection on it)."""
# 03_eps_search
KNEE = JsonArtifact("k_distance.json", EPS_SEARCH)
"""The k-distance curve, its knee and band (cached)."""
EPS = JsonArtifact("eps.json", EPS_SEARCH)
"""The knee, its band and the curve's k: what 04 may cluster with."""
# 04_clustering
TREE_EDGES = ArrayArtifact("density_tree_edges.npy", CLUSTERING)
"""``algorithm: dbscan`` (tree): the mutual-reachability spanning tree of the embedding at the
run's ``min_samples``, ``(n - 1, 3)``: the rows each edge joins and its length (cached) ..."""
CORE_DISTANCES = ArrayArtifact("core_distances.npy", CLUSTERING)
"""... and each row's distance to its ``min_samples``-th neighbour (cached)."""
BASELINES = JsonArtifact("baselines.json", CLUSTERING)
REFERENCE_ROWS = ArrayArtifact("reference_rows.npy", CLUSTERING)
"""The rows whose labels new customers are voted from: the selection sample (``auto``), or the
embedding's fitted rows (they were all clustered)."""
PLACEMENT = JsonArtifact("placement.json", CLUSTERING)
"""Each segment's feature mean and precision and the unlike-any threshold
(:func:`seglab.placement.fit_typicality`, from the reference rows' own distances)."""
CLUSTER_SETTINGS = JsonArtifact("cluster_settings.json", CLUSTERING)
"""What 04 clustered with: eps, min_samples and their sources (03 writes only the curve's knee)."""
CANDIDATES = FrameArtifact("candidates.parquet", CLUSTERING)
"""``auto``: every candidate of the model selection with its scores."""
CANDIDATES_SHOWN = ("candidate", "n_clusters", "noise_fraction", "largest_fraction",
                    "coverage_silhouette", "silhouette_features", "dbcv", "stability", "admissible",
                    "chosen")
"""The candidates' columns notebook 04 and the report show."""
EVALUATED = FrameArtifact("evaluated_candidates.parquet", CLUSTERING)
"""``auto``: every candidate of the selection sample with its label-free scores (cached per
embedding and search settings: a sweep over ``cluster.layer`` or the tolerance re-scores
nothing) ..."""
EVALUATED_LABELS = ArrayArtifact("evaluated_labels.npy", CLUSTERING)
"""... their labels on the selection sample, one row per candidate ..."""
NULL_SCORE = JsonArtifact("null_score.json", CLUSTERING)
"""... and the shuffled-columns null's score (empty without a null)."""
LAYERS = FrameArtifact("layers.parquet", CLUSTERING)
"""``auto``: every kept layer's label per customer (``layer_0`` the coarsest), in the customers'
order; ``selection.json`` says which layer is the segments and which the groups."""
SELECTION = JsonArtifact("selection.json", CLUSTERING)
"""``auto``: the chosen candidate, the rule's branch and the verdict."""
# 04_clustering (``auto``, measured per candidate) or 05_reporting
STABILITY = JsonArtifact("stability.json", REPORTING)
SEGMENT_NAMES = JsonArtifact("segment_names.json", CLUSTERING)
"""``seglab run --previous RUN``: each segment's name, colour and the earlier segment it carries
on (:mod:`seglab.names`); absent otherwise (segments are then ``Segment <label>``)."""
# every notebook (stages.open_run)
BASE_PARAMS = Artifact("base_params.yaml", KERNEL_SETUP)
"""The config a notebook's own parameters override, for that execution only."""


def run_labels(folder: RunFolder) -> np.ndarray:
    """The run's cluster labels (-1 = noise) from ``labels.parquet``, written by 04."""
    if not folder.labels.exists():
        raise SeglabError(f"{folder.labels} not found: run notebook {CLUSTERING} first (same "
                          "run_dir), or `seglab run`")
    return pd.read_parquet(folder.labels, columns=["cluster"])["cluster"].to_numpy()


def known_segments(folder: RunFolder, customers: pd.DataFrame | None = None) -> np.ndarray | None:
    """The known segments saved by 01 (from ``customers`` when already read), or ``None`` when
    the table has no label column."""
    customers = CUSTOMERS.read(folder) if customers is None else customers
    return customers["truth"].to_numpy() if "truth" in customers else None
