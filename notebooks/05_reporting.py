# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 05 · Report
#
# The run's numbers in one table, the segments and how each differs from the customer base, and
# `report.html`: one self-contained page for a business reader (open it in any browser).

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
report = {}  # overrides of the report section, e.g. {"title": "Q3 customer segments"}

# %%
import pandas as pd

from seglab import plots, profiles, stages
from seglab.report import build_report

folder, config = stages.open_run(run_dir, report=report)
labels = pd.read_parquet(folder.labels)["cluster"].to_numpy()

# %% [markdown]
# ## Metrics

# %%
pd.Series(folder.read_metrics(), name="value").to_frame()

# %% [markdown]
# ## Segments

# %%
sizes = profiles.segment_sizes(labels)
sizes

# %%
gaps = stages.segment_profiles(folder, labels)
top = profiles.distinctive_columns(gaps, 3 * config.report.top_features)
fig = plots.segment_profiles(gaps[top], sizes.set_index("segment")["share"])
folder.save_figure(fig, "segment_profiles");

# %%
html = build_report(folder)
print(f"report: {folder.report.name} ({len(html) // 1024} KiB)")

# %%
# NBVAL_CHECK_OUTPUT
print(f"segments in the report: {int((sizes['segment'] >= 0).sum())}; report written: {folder.report.exists()}")
