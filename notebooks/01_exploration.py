# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 01 · Exploration and feature selection
#
# Loads the customer table, applies the input contract (what was dropped or fixed is listed
# below), looks at distributions and correlations, and builds the feature matrix the embedding
# uses: each column's kind decided from its values, correlated and structure-less columns
# dropped, a basket of purchase counts turned into smoothed shares, skewed columns log-scaled,
# scaling.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
data = {}  # overrides of the data section, e.g. {"path": "data/my_table.parquet"}
features = {}  # overrides of the features section, e.g. {"correlation_threshold": 0.9}

# %%
import pandas as pd

from seglab import plots, profiles, stages
from seglab.features import components_needed

folder, config = stages.open_run(run_dir, data=data, features=features)
explored = stages.explore(folder, config)
table, feature_set = explored.table, explored.feature_set

# %% [markdown]
# ## What the input contract changed

# %%
print(table.report.render())

# %% [markdown]
# ## What each column is
# Every column's kind is decided from its values (`seglab.kinds`): identifiers, flags,
# categories, counts, continuous measures, and a **basket block** (many mostly-zero purchase
# counts on one scale), which is represented as what share of each customer's purchases went
# to each product. The evidence is beside each decision; `features.kinds` overrides one.

# %%
feature_set.kinds.frame()

# %% [markdown]
# ## Distributions of the numeric columns
# Spend and order counts are heavy-tailed: counts are on a log scale.

# %%
onehots = {c for columns in table.categorical_columns.values() for c in columns}
interpretable = profiles.profile_columns(table.features, feature_set.kinds.of("basket"))
shown = [c for c in interpretable if c not in onehots][:16]
sample = table.features[shown].sample(min(len(table.features), 20_000), random_state=config.seed)
plots.distributions(sample);

# %%
plots.correlation(sample);

# %% [markdown]
# ## Why not PCA alone?
# PCA on the standardised columns spreads the variance over many components: a handful of
# components keeps too little of it, which is why the pipeline selects features and then uses
# UMAP.

# %%
explored.pca_figure

# %% [markdown]
# ## Features kept and dropped

# %%
pd.DataFrame({"reason": feature_set.dropped}).rename_axis("dropped column")

# %%
# NBVAL_CHECK_OUTPUT
needed = components_needed(explored.pca_raw, 0.9)
print(f"rows {len(table.ids)}, candidate columns {feature_set.n_features_in}, "
      f"features used {len(feature_set.names)}")
print("features:", ", ".join(feature_set.names))
print("PCA components for 90% of the variance:", needed or f"more than {len(explored.pca_raw)}")
