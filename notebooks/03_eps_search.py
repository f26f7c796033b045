# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 03 · Choosing eps: the k-distance curve
#
# DBSCAN needs a radius `eps` and a density `min_samples`. The curve below sorts every
# customer by the distance to its k-th nearest neighbour (k = min_samples) in the embedding.
# Customers inside segments have small distances; the curve bends sharply where the sparse
# in-between and noise customers start. eps is taken at that knee (the point farthest from the
# chord of the curve), and the shaded band is the range of eps over which the result is stable.
# Notebook 04 clusters with this knee unless its own `cluster.eps` is set, and only with the
# same `min_samples` (k). See `docs/choosing_eps_and_min_samples.md`.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
eps = {}  # overrides of the eps section, e.g. {"trim": 0.01}
cluster = {}  # read here: only min_samples, the curve's k, e.g. {"min_samples": 20}

# %%
import pandas as pd

from seglab import stages

folder, config = stages.open_run(run_dir, eps=eps, cluster=cluster)
search = stages.search_eps(folder, config)
choice = search.choice

# %%
search.figure

# %%
pd.Series({
    "min_samples (k)": choice.k,
    "knee eps": choice.eps,
    "stable band": f"{choice.eps_low:.4g} - {choice.eps_high:.4g}",
}, name="value").to_frame()

# %%
# NBVAL_CHECK_OUTPUT
print(f"min_samples {choice.k}; eps inside its band: {choice.eps_low <= search.eps <= choice.eps_high}")
