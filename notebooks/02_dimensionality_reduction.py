# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 02 · Dimensionality reduction (UMAP)
#
# Embeds the features into a few dimensions where density clustering works. Tables larger than
# `reduce.fit_sample` rows are fitted on a sample and the other rows are placed into the
# fitted embedding. Trustworthiness (on a capped subsample) says how well local neighbourhoods
# survived: 1.0 is perfect, below ~0.9 the embedding invents neighbours.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
reduce = {}  # overrides of the reduce section, e.g. {"n_neighbors": 15, "n_components": 3}

# %%
import pandas as pd

from seglab import stages

folder, config = stages.open_run(run_dir, reduce=reduce)
reduction = stages.reduce_dimensions(folder, config)
embedding = reduction.embedding

# %%
pd.Series({
    "rows": len(embedding.coords),
    "rows UMAP was fitted on": len(embedding.fit_index),
    "dimensions": embedding.coords.shape[1],
    "trustworthiness": embedding.trustworthiness,
    "trustworthiness sample": embedding.trust_sample_size,
}, name=config.reduce.method).to_frame()

# %% [markdown]
# ## The embedding
# Coloured by the known segments when the table has a ground-truth column (used only for
# evaluation, never for fitting).

# %%
reduction.figure

# %%
# NBVAL_CHECK_OUTPUT
print(f"embedded {len(embedding.coords)} rows into {embedding.coords.shape[1]} dimensions")
print(f"trustworthiness >= 0.85: {embedding.trustworthiness is None or embedding.trustworthiness >= 0.85}")
