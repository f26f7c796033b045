"""``seglab sweep --on sagemaker``: every trial a SageMaker job, at most N at a time.

Every trial is checked (:func:`seglab.jobs.submit.prepare`) before the first job starts. A trial
completed in the local store is skipped; a trial whose job exists already (an earlier, perhaps
interrupted, run of the same sweep) is not submitted again but watched and pulled. Ctrl-C stops
submitting and watching; the jobs already started go on, and running the sweep again picks them
up. The best run is then chosen and tagged as for a local sweep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seglab.errors import SeglabError
from seglab.jobs.common import FINISHED, Clients, JobKind, describe_job, job_status
from seglab.jobs.pull import pull_run
from seglab.jobs.submit import Submission, prepare, submit
from seglab.sweep import SweepPlan, SweepResult, TrialOutcome, describe, tag_best
from seglab.sweep.execute import OUTCOME_METRICS
from seglab.sweep.rule import BestRule
from seglab.sweep.run import trial_history
from seglab.tracking.local import LocalStore


@dataclass(frozen=True)
class JobOptions:
    """What every job of the sweep shares (``seglab submit``'s options)."""

    image: str
    role: str
    s3_prefix: str
    kind: JobKind = "training"
    instance_type: str | None = None
    max_runtime: int = 24 * 3600
    engine: str = "direct"
    kernel: str = "python3"


def run_on_sagemaker(plan: SweepPlan, *, runs_dir: Path, rule: BestRule, aws: Clients, options: JobOptions,
                     max_concurrent: int, poll_s: float = 30.0, echo: Callable[[str], None] = print,
                     sleep: Callable[[float], None] = time.sleep) -> SweepResult:
    """Submit the plan's trials as jobs (``max_concurrent`` in flight), pull each as it ends.

    Raises:
        ConfigError: a trial cannot be submitted (checked for all before any AWS call).
        KeyboardInterrupt: after saying which jobs go on running.
    """
    runs_dir.mkdir(parents=True, exist_ok=True)
    history = trial_history(runs_dir, plan)
    skipped = [trial.run_id for trial in plan.trials if "completed" in history.get(trial.run_id, {}).values()]
    pending = [prepare(trial.config, trial=trial.run_id, image=options.image, role=options.role,
                       s3_prefix=options.s3_prefix, kind=options.kind, instance_type=options.instance_type,
                       max_runtime=options.max_runtime, engine=options.engine, kernel=options.kernel)
               for trial in plan.trials if trial.run_id not in skipped]
    if skipped:
        echo(f"{len(skipped)} of {len(plan.trials)} trials already completed: skipped")
    active: dict[str, Submission] = {}
    queue: list[Submission] = []
    for sub in pending:
        if describe_job(aws.sagemaker, sub.kind, sub.job) is None:
            queue.append(sub)
        else:
            active[sub.job] = sub
            echo(f"{sub.job}: submitted by an earlier run of this sweep, watching it")
    outcomes: list[TrialOutcome] = []
    try:
        while active or queue:
            for job, sub in list(active.items()):
                outcome = _finished(aws, runs_dir, sub)
                if outcome is not None:
                    del active[job]
                    outcomes.append(outcome)
                    echo(f"[{len(outcomes)}/{len(pending)}] {describe(outcome)}")
            while queue and len(active) < max_concurrent:
                sub = queue.pop(0)
                submit(sub, aws, tags={"seglab:sweep": plan.sweep_id})
                active[sub.job] = sub
                echo(f"{sub.job}: submitted ({len(active)} in flight, {len(queue)} waiting)")
            if active:
                sleep(poll_s)
    except KeyboardInterrupt:
        echo(f"interrupted: {len(active)} jobs go on running on SageMaker, {len(queue)} not submitted; "
             "run the sweep again to watch and pull them")
        raise
    return SweepResult(plan.sweep_id, outcomes, skipped, tag_best(runs_dir, plan, rule))


def _finished(aws: Clients, runs_dir: Path, sub: Submission) -> TrialOutcome | None:
    """The trial's outcome once its job has ended (its run folder pulled), else ``None``."""
    description = describe_job(aws.sagemaker, sub.kind, sub.job)
    status = job_status(description, sub.kind) if description else "Failed"
    if status not in FINISHED:
        return None
    reason = (description or {}).get("FailureReason") or f"job {status.lower()}"
    store = LocalStore(runs_dir)
    try:  # the run folder's place is known: no need to wait for the trial component
        pulled = pull_run(aws, store, runs_dir, sub.job, sub.spec.run_uri())
        record = store.record(sub.spec.trial) if pulled.outcome != "pending" else None
    except SeglabError as exc:
        return TrialOutcome(sub.spec.trial, "failed", f"{reason}; {exc}")
    finally:
        store.close()
    if record is None:
        return TrialOutcome(sub.spec.trial, "failed", f"{reason}; the job left no run folder")
    return _outcome(sub.spec.trial, record.summary.status, reason, record.summary.metrics)


def _outcome(trial: str, status: str, reason: str, points: list[Any]) -> TrialOutcome:
    metrics = {point.key: point.value for point in points}
    return TrialOutcome(trial, status, None if status == "completed" else reason,
                        metrics.get("seconds_total"), {key: metrics.get(key) for key in OUTCOME_METRICS})
