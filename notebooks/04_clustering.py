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
# DBSCAN on the embedding with this notebook's `cluster.eps` when set, else the knee 03 found
# (for the same `min_samples`: after changing it here, re-run 03 first or set `eps`), scored
# with noise excluded (silhouette with a bootstrap interval, in the embedding and in the
# feature space; Davies-Bouldin; Calinski-Harabasz; ARI/AMI when ground truth exists). KMeans,
# a Gaussian mixture and HDBSCAN run on the same rows as baselines. Noise fraction and the
# largest segment's share always stand beside the scores: a high silhouette with half the
# customers in noise is not a win.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
cluster = {}  # overrides of the cluster section, e.g. {"eps": 0.3, "min_samples": 20}
metrics = {}  # overrides of the metrics section, e.g. {"silhouette_sample": 10000}

# %%
import pandas as pd

from seglab import stages

folder, config = stages.open_run(run_dir, cluster=cluster, metrics=metrics)
outcome = stages.cluster_customers(folder, config)

# %%
used = outcome.settings
print(f"eps {used['eps']} (from {used['source']}), min_samples {used['min_samples']}")
for warning in outcome.warnings:
    print("WARNING:", warning)
pd.Series(outcome.scores, name="value").to_frame()

# %%
outcome.figures["embedding_clusters"]

# %% [markdown]
# ## Silhouette per segment
# Each customer's silhouette compares the distance to its own segment with the distance to the
# nearest other one: near 1 sits well inside, near 0 on a border, below 0 closer to another
# segment. Computed on a sample, noise excluded.

# %%
outcome.figures.get("silhouette", "fewer than two segments: no silhouette")

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
