# ---
# jupyter:
#   kernelspec:
#     display_name: Python (seglab)
#     language: python
#     name: seglab
# ---

# %% [markdown]
# # 00 · Kernel and backend check
#
# Run this first on a new machine or kernel. It shows which interpreter this notebook runs in,
# whether every package the pipeline needs is installed there, which kernels Jupyter knows, and
# which compute backend (CPU or GPU) a run would use and why.
#
# If packages are missing, the kernel points at the wrong environment: on SageMaker run
# `./setup_kernel.sh` from a terminal, on a laptop `make setup` then
# `./setup_kernel.sh --current-env`. Never install packages from inside a notebook.

# %% tags=["parameters"]
run_dir = "runs/interactive"  # run folder shared by notebooks 00-05
backend = "auto"  # auto | cpu | gpu
seed = 0  # seed for every random step of the run

# %%
import pandas as pd

from seglab import environment, stages
from seglab.backend import gpu_status, resolve

folder, config = stages.open_run(run_dir, backend=backend, seed=seed)

# %% [markdown]
# ## Interpreter and kernels

# %%
# NBVAL_IGNORE_OUTPUT
print("interpreter:", environment.interpreter())
pd.Series(environment.registered_kernels(), name="interpreter").to_frame()

# %% [markdown]
# ## Packages

# %%
# NBVAL_IGNORE_OUTPUT
pd.Series(environment.package_versions(), name="version").fillna("not installed").to_frame()

# %% [markdown]
# ## Backend
# `auto` uses the GPU only when cuML and a CUDA device are both usable; the run folder records
# the backend it resolved to, so every later stage (and the stage cache) uses the same one.

# %%
# NBVAL_IGNORE_OUTPUT
usable, why = gpu_status()
choice = resolve(backend)
print(f"GPU usable: {usable} ({why})")
print(f"backend {choice.requested!r} resolves to {choice.name!r}: {choice.reason}")

# %%
# NBVAL_CHECK_OUTPUT
stages.check_environment(folder, config)
print("required packages: all installed")
