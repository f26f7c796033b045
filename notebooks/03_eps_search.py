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
# See `docs/choosing_eps_and_min_samples.md`.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
eps = {}  # overrides of the eps section, e.g. {"trim": 0.01}

# %%
import pandas as pd

from seglab import plots, stages

folder, config = stages.open_run(run_dir, eps=eps)
choice = stages.search_eps(folder, config)
chosen = folder.read_metrics()

# %%
fig = plots.k_distance(choice.curve, choice.positions, k=choice.k, eps=chosen["eps"],
                       eps_low=choice.eps_low, eps_high=choice.eps_high,
                       knee_position=choice.knee_position)
folder.save_figure(fig, "k_distance");

# %%
pd.Series({
    "min_samples (k)": choice.k,
    "knee eps": choice.eps,
    "stable band": f"{choice.eps_low:.4g} - {choice.eps_high:.4g}",
    "eps used": chosen["eps"],
    "eps source": "cluster.eps (set by hand)" if config.cluster.eps else "knee",
}, name="value").to_frame()

# %%
# NBVAL_CHECK_OUTPUT
print(f"min_samples {choice.k}; eps inside its band: {choice.eps_low <= chosen['eps'] <= choice.eps_high}")
