"""Run a sweep plan: skip the trials already completed, retry the failed ones, tag the best."""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seglab.sweep.execute import TrialOutcome, TrialTask, mark_interrupted, run_on_dask, run_serial
from seglab.sweep.grid import SweepPlan
from seglab.sweep.rule import BestRule, select_best
from seglab.tracking import leaderboard
from seglab.tracking.local import LocalStore

BEST_TAG = "best_of_sweep"


@dataclass(frozen=True)
class SweepResult:
    """What a sweep did and which run won."""

    sweep_id: str
    outcomes: list[TrialOutcome]
    """The trials run this time, in the order they finished."""
    skipped: list[str]
    """Trials completed by an earlier run of the same sweep."""
    best: pd.Series | None
    """The winning leaderboard row (over this and earlier runs of the sweep), or ``None``."""

    @property
    def failed(self) -> list[TrialOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status != "completed"]


def run_sweep(plan: SweepPlan, *, runs_dir: Path, rule: BestRule, workers: int | None = None,
              scheduler: str | None = None, engine: str = "direct",
              echo: Callable[[str], None] = print) -> SweepResult:
    """Run the plan's trials not completed yet, then pick and tag the best run.

    Args:
        plan: from :func:`plan_sweep`.
        runs_dir: the runs folder (tracking store and stage cache).
        rule: picks the best run.
        workers: start a local Dask cluster of this many processes (``None``: no Dask).
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``).
        engine: ``direct`` (stage functions in-process) or ``notebooks`` (papermill).
        echo: receives one line per finished trial.

    Returns:
        The outcomes and the best run.

    Raises:
        KeyboardInterrupt: after cancelling the pending trials and marking the ones cut short
            ``interrupted``.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    history = trial_history(runs_dir, plan)
    tasks, skipped = [], []
    for trial in plan.trials:
        attempts = history.get(trial.run_id, {})
        if "completed" in attempts.values():
            skipped.append(trial.run_id)
            continue
        run_id = _next_attempt(runs_dir, trial.run_id, attempts)
        tasks.append(TrialTask(run_id, trial.config.to_dict(), str(runs_dir), engine))
    if skipped:
        echo(f"{len(skipped)} of {len(plan.trials)} trials already completed: skipped")
    tasks = interleave_by_shared_stages(tasks)

    outcomes: list[TrialOutcome] = []
    started = time.monotonic()

    def report(outcome: TrialOutcome) -> None:
        outcomes.append(outcome)
        echo(f"[{len(outcomes)}/{len(tasks)}] {describe(outcome)} | "
             f"{progress(outcomes, len(tasks), time.monotonic() - started)}")

    try:
        if workers or scheduler:
            run_on_dask(tasks, report, workers=workers, scheduler=scheduler)
        else:
            run_serial(tasks, report)
    except KeyboardInterrupt:
        cut = mark_interrupted(runs_dir)
        echo(f"interrupted: {len(outcomes)} of {len(tasks)} trials finished, "
             f"{len(cut)} marked interrupted, the rest cancelled; run the sweep again to resume")
        raise
    best = tag_best(runs_dir, plan, rule)
    return SweepResult(plan.sweep_id, outcomes, skipped, best)


def interleave_by_shared_stages(tasks: list[TrialTask]) -> list[TrialTask]:
    """The trials in an order where neighbours share no cached stage that the first computes.

    Trials that differ only in what 04 and 05 read (``cluster.eps``, ``metrics``, ``report``)
    share every cached stage: the k-distance curve and the density tree depend on
    ``cluster.min_samples``. Taking one trial of each such group in turn means two workers
    starting together compute different entries, never the same one twice, and every later
    trial of a group finds its entries cached.
    """
    groups: dict[str, list[TrialTask]] = {}
    for task in tasks:
        shared = {**task.config, "cluster": {**task.config.get("cluster", {}), "eps": None},
                  "metrics": None, "report": None}
        groups.setdefault(json.dumps(shared, sort_keys=True, default=str), []).append(task)
    return [task for round_ in itertools.zip_longest(*groups.values()) for task in round_
            if task is not None]


def tag_best(runs_dir: Path, plan: SweepPlan, rule: BestRule) -> pd.Series | None:
    """Pick the sweep's best completed run by ``rule`` and tag it ``best_of_sweep=<sweep id>``.

    The tag moves: a run that held it before is left with an empty value.
    """
    frame = _sweep_frame(runs_dir, plan)
    best = select_best(frame, rule)
    column = f"tags.{BEST_TAG}"
    holders = frame.loc[frame[column] == plan.sweep_id, "trial"] if column in frame else []
    store = LocalStore(runs_dir)
    try:
        for trial in holders:
            if best is None or trial != best["trial"]:
                store.log_tags(trial, "", {BEST_TAG: ""})
        if best is not None:
            store.log_tags(best["trial"], "", {BEST_TAG: plan.sweep_id})
    finally:
        store.close()
    return best


def progress(outcomes: list[TrialOutcome], total: int, elapsed: float) -> str:
    """Cached stages hit so far, and the time to finish at the pace so far."""
    hits = sum(hit for outcome in outcomes for hit in outcome.cache.values())
    stages = sum(len(outcome.cache) for outcome in outcomes)
    left = elapsed / len(outcomes) * (total - len(outcomes))
    return f"cache {hits}/{stages} stages hit | {_duration(elapsed)} elapsed, {_duration(left)} to go"


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def describe(outcome: TrialOutcome) -> str:
    """One line: run id, status, seconds and headline metrics (or the failure)."""
    seconds = "" if outcome.seconds is None else f" ({outcome.seconds:.1f} s)"
    if outcome.status != "completed":
        return f"{outcome.run_id} {outcome.status}{seconds}: {outcome.message}"
    found = outcome.metrics
    parts = [f"{name} {found[name]:.3f}" for name in ("silhouette", "noise_fraction")
             if found.get(name) is not None]
    if found.get("n_clusters") is not None:
        parts.append(f"{found['n_clusters']} clusters")
    return f"{outcome.run_id} completed{seconds}: {', '.join(parts) or 'no scores'}"


def _sweep_frame(runs_dir: Path, plan: SweepPlan) -> pd.DataFrame:
    """Leaderboard rows of this plan's trials, every attempt."""
    frame = leaderboard(runs_dir)
    ids = {trial.run_id for trial in plan.trials}
    return frame[frame["trial"].map(_base_id).isin(ids)]


def trial_history(runs_dir: Path, plan: SweepPlan) -> dict[str, dict[str, str]]:
    """Base run id -> {attempt run id: status} for the plan's trials already in the store."""
    history: dict[str, dict[str, str]] = {}
    for name, status in _sweep_frame(runs_dir, plan)[["trial", "status"]].itertuples(index=False):
        history.setdefault(_base_id(name), {})[name] = status
    return history


def _next_attempt(runs_dir: Path, base: str, attempts: dict[str, str]) -> str:
    number = 1 + len(attempts)
    candidate = base if number == 1 else f"{base}-retry{number}"
    while candidate in attempts or (runs_dir / candidate).exists():
        number += 1
        candidate = f"{base}-retry{number}"
    return candidate


def _base_id(run_id: str) -> str:
    return re.sub(r"-retry\d+$", "", run_id)
