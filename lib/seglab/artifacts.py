"""Names of the files stages hand each other under a run folder's ``artifacts/``, and the run's
labels reader: what both the stages and the presentation (``report.html``) need.

Which stage writes each file is said beside it; :mod:`seglab.stages` writes and reads them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seglab.errors import SeglabError
from seglab.runfolder import RunFolder

# 01_exploration
FEATURES = "features.npy"
FEATURE_INFO = "features.json"
CUSTOMERS = "customers.parquet"
PROFILE_TABLE = "profile_table.parquet"
PROFILE_STATS = "profile_stats.json"
"""The profile table's mean, standard deviation and minimum over all customers
(:class:`seglab.profiles.PopulationStats`): computed once per feature set, not per trial."""
PCA_VARIANCE = "pca_variance.parquet"
CATEGORICAL = "categorical.json"
"""Each categorical input column -> its one-hot columns (kept as data, never parsed back
out of column names)."""
# 02_dimensionality_reduction
EMBEDDING = "embedding.npy"
EMBEDDING_INFO = "embedding.json"
FIT_INDEX = "embedding_fit_index.npy"
NULL_FEATURES = "null_features.npy"
"""The null reference: a sample of the features with each column shuffled independently ..."""
NULL_EMBEDDING = "null_embedding.npy"
"""... and its embedding (04's verdict compares the model selection on it)."""
# 03_eps_search
KNEE = "k_distance.json"
EPS = "eps.json"
# 04_clustering
BASELINES = "baselines.json"
CLUSTER_SETTINGS = "cluster_settings.json"
"""What 04 clustered with: eps, min_samples and their sources (03 writes only the curve's knee)."""
CANDIDATES = "candidates.parquet"
"""``auto``: every candidate of the model selection with its scores."""
SELECTION = "selection.json"
"""``auto``: the chosen candidate, the rule's branch and the verdict."""
# 05_reporting
STABILITY = "stability.json"
# every notebook (stages.open_run)
BASE_PARAMS = "base_params.yaml"
"""The config a notebook's own parameters override, for that execution only."""


def run_labels(folder: RunFolder) -> np.ndarray:
    """The run's cluster labels (-1 = noise) from ``labels.parquet``, written by 04."""
    if not folder.labels.exists():
        raise SeglabError(
            f"{folder.labels} not found: run notebook 04_clustering first (same run_dir), "
            "or `seglab run`"
        )
    return pd.read_parquet(folder.labels, columns=["cluster"])["cluster"].to_numpy()
