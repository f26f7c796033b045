"""``seglab sweep``: many tracked trials from a grid or random draws, and the best one by a rule.

Example::

    spec = load_grid("params/sweep_eps_min_samples.yaml")
    plan = plan_sweep(spec, "params/default.yaml")          # every trial validated, none run
    result = run_sweep(plan, runs_dir=Path("runs"), rule=parse_rule("max silhouette"), workers=2)
    result.best["trial"] if result.best is not None else None

Re-running a sweep skips the trials already completed (found in the runs folder's store); a
failed or interrupted trial runs again as ``<run id>-retry2``, ``-retry3``... The best run is tagged
``best_of_sweep=<sweep id>`` in the store (``seglab runs --filter tags.best_of_sweep = <id>``).
"""

from __future__ import annotations

from seglab.sweep.execute import TrialOutcome, TrialTask, run_trial
from seglab.sweep.grid import GridSpec, SweepPlan, Trial, expand, load_grid, parse_grid, plan_sweep
from seglab.sweep.rule import DEFAULT_RULE, BestRule, parse_rule, select_best
from seglab.sweep.run import BEST_TAG, SweepResult, describe, run_sweep, tag_best

__all__ = [
    "BEST_TAG",
    "DEFAULT_RULE",
    "BestRule",
    "GridSpec",
    "SweepPlan",
    "SweepResult",
    "Trial",
    "TrialOutcome",
    "TrialTask",
    "describe",
    "expand",
    "load_grid",
    "parse_grid",
    "parse_rule",
    "plan_sweep",
    "run_sweep",
    "run_trial",
    "select_best",
    "tag_best",
]
