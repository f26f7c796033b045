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

from seglab import stages
from seglab.tracking import leaderboard

folder, config = stages.open_run(run_dir, report=report)
reporting = stages.write_report(folder, config)

# %% [markdown]
# ## Metrics

# %%
pd.Series(folder.read_metrics(), name="value").to_frame()

# %% [markdown]
# ## Segments
# Customers per segment (-1: noise, customers in no segment), and how each segment differs from
# all customers on the columns where segments differ most.

# %%
reporting.sizes

# %%
reporting.figure

# %% [markdown]
# ## Stability
# The clustering re-run on random subsamples of the embedding with the same settings: the ARI
# with this run's labels on the same customers (1 = identical segments).

# %%
reporting.stability.to_dict() if reporting.stability else "skipped (report.stability_draws = 0)"

# %%
print(f"report: {folder.report} ({len(reporting.html) // 1024} KiB)")

# %% [markdown]
# ## Leaderboard
# Every tracked run of this experiment in the same runs folder, best silhouette first (this run
# is still `running` until the runner records its metrics). `seglab runs --format html` gives a
# sortable page of the same table.

# %%
leaderboard(folder.path.parent, experiment=config.experiment, sort="silhouette").head(20)

# %%
# NBVAL_CHECK_OUTPUT
segments = int((reporting.sizes["segment"] >= 0).sum())
print(f"segments in the report: {segments}; report written: {folder.report.exists()}")
