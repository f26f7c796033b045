# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 06 · Weekly update
#
# Last week's run against this week's: which segments held, split, merged, vanished or appeared
# (MONIC's vocabulary), who moved between them, and which input columns drifted. Not a stage of
# a run: `seglab compare RUN_A RUN_B` executes it into its own folder, with `compare.json` and
# `compare.html`. Nothing is written to either run.

# %% tags=["parameters"]
previous_run = "runs/previous"  # run A, the earlier one: a finished run folder
current_run = "runs/current"  # run B, the later one
out_dir = "runs/compare"  # where compare.json, compare.html and the figures go
compare = {}  # overrides of the compare section, e.g. {"core_share": 0.6}

# %%
from pathlib import Path

import pandas as pd

from seglab import compare_report, weekly
from seglab.config import CompareConfig

settings = CompareConfig(**compare)
before, after = weekly.read_run(previous_run), weekly.read_run(current_run)
result = compare_report.write_comparison(Path(out_dir),
                                         weekly.compare_runs(before, after, settings))

# %% [markdown]
# ## In plain words

# %%
print("\n".join(result["summary"]))

# %% [markdown]
# ## Transitions
# Each of the earlier run's segments: survived (overlap: Jaccard), split, merged (overlap: the
# share covered), vanished; and the later run's new segments.

# %%
pd.DataFrame(compare_report.transition_rows(result))

# %% [markdown]
# ## Where customers went

# %%
compare_report.alluvial(result);

# %%
compare_report.migration_heatmap(result);

# %% [markdown]
# ## Migration between segments (customers in both runs)

# %%
pd.DataFrame(result["migration"]).head(20)

# %% [markdown]
# ## Drift
# Population stability index per input column (0.1: worth watching, 0.25: shifted).

# %%
pd.DataFrame({"psi": result["psi"], "reading": result["psi_flags"]})
