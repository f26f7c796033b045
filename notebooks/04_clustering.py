# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 04 · Clustering: model selection and an honest verdict
#
# With `cluster.algorithm: auto` (the default) this notebook owns the decision: it clusters the
# embedding many ways (DBSCAN at several eps around the k-distance knee for three
# `min_samples`, HDBSCAN with excess-of-mass and leaf selection, a Gaussian mixture with k by
# BIC, KMeans), scores each without labels (silhouette in the embedding and in the feature
# space with noise excluded, DBCV, stability across subsamples, noise and largest-segment
# shares), picks one by the rule in `seglab.selection`, and judges it against a null reference:
# the same table with its columns shuffled. The verdict says in plain words whether the
# segments are clear, weak, or not there at all. Any other `cluster.algorithm` (e.g.
# `{"algorithm": "dbscan", "eps": 0.3}`) runs exactly that, beside KMeans, a Gaussian mixture
# and HDBSCAN as baselines. Noise fraction and the largest segment's share always stand beside
# the scores: a high silhouette with half the customers in noise is not a win.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
cluster = {}  # overrides of the cluster section, e.g. {"algorithm": "dbscan", "eps": 0.3}
metrics = {}  # overrides of the metrics section, e.g. {"silhouette_sample": 10000}

# %%
import pandas as pd

from seglab import stages

folder, config = stages.open_run(run_dir, cluster=cluster, metrics=metrics)
outcome = stages.cluster_customers(folder, config)

# %%
if outcome.verdict is not None:
    print(f"VERDICT {outcome.verdict.level.upper()}: {outcome.verdict.sentence}")
print("clustered with:", outcome.settings)
for warning in outcome.warnings:
    print("WARNING:", warning)
pd.Series(outcome.scores, name="value").to_frame()

# %%
outcome.figures["embedding_clusters"]

# %% [markdown]
# ## Layers: segments and groups
# `auto` reads the density hierarchy at every resolution where it persists (PLSCAN layers,
# DBSCAN cuts, HDBSCAN selections) and keeps, per number of segments, the best layer that is
# stable across subsamples (ARI >= 0.8) and scores above the shuffled-columns null. The
# segments are the finest kept layer whose coverage silhouette is within
# `cluster.resolution_tolerance` of the best (`cluster.layer` picks another: `finest`,
# `coarsest` or an index); the groups are the coarsest kept layer the segments nest in.

# %%
pd.DataFrame(outcome.layers) if outcome.layers else "no layer kept: the verdict says why"

# %%
outcome.figures.get("hierarchy", "one level only: no groups")

# %% [markdown]
# ## Silhouette per segment
# Each customer's silhouette compares the distance to its own segment with the distance to the
# nearest other one: near 1 sits well inside, near 0 on a border, below 0 closer to another
# segment. Computed on a sample, noise excluded.

# %%
outcome.figures.get("silhouette", "fewer than two segments: no silhouette")

# %% [markdown]
# ## Every candidate (or the baselines)
# `auto`: every candidate the selection scored on the same sample of the embedding, the chosen
# one marked. `coverage_silhouette` is the embedding silhouette with noise counted as 0;
# `admissible` means 2+ segments, at most 35 % noise, no segment above 80 % and stability of
# at least 0.6 (docs/choosing_eps_and_min_samples.md). With an explicit algorithm: the
# baselines on the same rows, KMeans and the mixture given as many clusters as it found.

# %%
outcome.comparison

# %%
# NBVAL_CHECK_OUTPUT
s = outcome.scores
print(f"verdict {outcome.verdict.level if outcome.verdict else 'n/a'}, "
      f"segments {s['n_clusters'] >= 2}, noise below 0.35: {s['noise_fraction'] < 0.35}")
if s["ari"] is not None:
    print(f"ARI vs known segments >= 0.5: {s['ari'] >= 0.5}")
