# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 04 · Clustering and baselines
#
# DBSCAN on the embedding with the eps from 03, scored with noise excluded (silhouette with a
# bootstrap interval, in the embedding and in the feature space; Davies-Bouldin;
# Calinski-Harabasz; ARI/AMI when ground truth exists). KMeans, a Gaussian mixture and HDBSCAN
# run on the same rows as baselines. Noise fraction and the largest segment's share always
# stand beside the scores: a high silhouette with half the customers in noise is not a win.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
cluster = {}  # overrides of the cluster section, e.g. {"eps": 0.3, "min_samples": 20}
metrics = {}  # overrides of the metrics section, e.g. {"silhouette_sample": 10000}

# %%
import pandas as pd

from seglab import metrics as scoring
from seglab import plots, stages

folder, config = stages.open_run(run_dir, cluster=cluster, metrics=metrics)
outcome = stages.cluster_customers(folder, config)
labels = outcome.clustering.labels

# %%
for warning in outcome.warnings:
    print("WARNING:", warning)
pd.Series(outcome.scores, name="value").to_frame()

# %%
fig = plots.embedding_map(outcome.coords, labels, seed=config.seed,
                          title=f"{config.cluster.algorithm.upper()} segments in the embedding")
folder.save_figure(fig, "embedding_clusters");

# %%
values, value_labels = scoring.silhouette_values(outcome.coords, labels, stages.backend_for(config),
                                                 sample_size=config.metrics.silhouette_sample,
                                                 seed=config.seed)
if len(values):
    fig = plots.silhouette(values, value_labels, mean=outcome.scores["silhouette"])
    folder.save_figure(fig, "silhouette");

# %% [markdown]
# ## Against the baselines
# Same embedding rows for every algorithm; KMeans and the mixture get as many clusters as
# DBSCAN found (they cannot say "noise").

# %%
outcome.baselines

# %%
# NBVAL_CHECK_OUTPUT
s = outcome.scores
print(f"segments {s['n_clusters']}, noise {s['noise_fraction']:.2f}, "
      f"largest {s['largest_cluster_fraction']:.2f}")
if s["ari"] is not None:
    print(f"ARI vs known segments >= 0.5: {s['ari'] >= 0.5}")
