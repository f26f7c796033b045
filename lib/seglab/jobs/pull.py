"""``seglab pull``: finished jobs' run folders into ``runs/<run-id>/`` and the local store.

A job is found through its own trial component (``<job>-aws-training-job`` or
``-aws-processing-job``), whose ``run`` output artifact the job entrypoint sets to the S3 run
folder once the run has ended; a job without it has not finished (or never reached the end).
Pulled trials carry the tags ``ran_on=sagemaker`` and ``sagemaker_job=<job>``, so ``seglab
runs`` shows where each trial ran. Pulling again skips what the store already has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from seglab.errors import SeglabError
from seglab.jobs.common import RUN_ARTIFACT, Clients, component_name, job_name, not_found, split_s3
from seglab.runfolder import RunFolder, run_path
from seglab.tracking import Tracker
from seglab.tracking.local import LocalStore
from seglab.tracking.records import FINAL_STATUSES

JOB_SUFFIXES = ("-aws-training-job", "-aws-processing-job")
MANIFEST_TAGS = ("engine", "backend", "device", "kernel", "git", "python", "data_fingerprint",
                 "seglab_version")


@dataclass(frozen=True)
class Pulled:
    """What happened to one job: ``pulled``, ``skipped`` (already here) or ``pending``."""

    job: str
    trial: str | None
    outcome: str
    detail: str = ""


def pull(aws: Clients, runs_dir: Path, target: str | None = None, experiment: str | None = None,
         echo: Callable[[str], None] = print) -> list[Pulled]:
    """Pull the jobs of ``target`` (a job name, a run id or a SageMaker trial name) or of an experiment.

    Raises:
        SeglabError: nothing matches ``target``/``experiment``.
    """
    components = list(_components(aws.sagemaker, target, experiment))
    if not components:
        what = f"job or trial {target!r}" if target else f"experiment {experiment!r}"
        raise SeglabError(f"no SageMaker job found for {what} (check the name and the region: "
                          f"{aws.region})")
    store = LocalStore(runs_dir)
    results = []
    try:
        for description in components:
            result = pull_component(aws, store, runs_dir, description)
            echo(f"{result.job}: {result.outcome}{f' ({result.detail})' if result.detail else ''}")
            results.append(result)
    finally:
        store.close()
    return results


def pull_component(aws: Clients, store: LocalStore, runs_dir: Path, description: dict[str, Any]) -> Pulled:
    """Pull the run folder a job's trial component points at (``pending`` if none yet)."""
    job = description["TrialComponentName"]
    for suffix in JOB_SUFFIXES:
        job = job.removesuffix(suffix)
    run = (description.get("OutputArtifacts") or {}).get(RUN_ARTIFACT, {}).get("Value")
    if not run:
        return Pulled(job, None, "pending", "no run folder yet: the job has not finished")
    return pull_run(aws, store, runs_dir, job, run)


def pull_run(aws: Clients, store: LocalStore, runs_dir: Path, job: str, run_uri: str) -> Pulled:
    """Download the run folder at ``run_uri`` (``…/<run id>/run/``) and record it, unless the
    store has it already.

    Raises:
        SeglabError: the S3 folder holds files but no ``manifest.json``, or its run id or an
            object key is no plain name (it would leave ``runs_dir``).
    """
    trial = run_uri.rstrip("/").split("/")[-2]
    try:
        folder = RunFolder(run_path(runs_dir, trial))
    except SeglabError as exc:
        raise SeglabError(f"{run_uri}: not pulled: {exc}") from None
    if _recorded(store, trial):
        return Pulled(job, trial, "skipped", "already in the local store")
    if download(aws.s3, run_uri, folder.path) == 0:
        return Pulled(job, trial, "pending", f"nothing at {run_uri} yet")
    if not folder.manifest.is_file():
        raise SeglabError(f"{run_uri}: no manifest.json; not a seglab run folder")
    record(store, folder, job)
    return Pulled(job, trial, "pulled", str(folder.path))


def download(s3: Any, uri: str, folder: Path) -> int:
    """Download every object under ``uri`` into ``folder``; return how many.

    Every key is checked before anything is written.

    Raises:
        SeglabError: a key's path below ``uri`` has a part that is no plain name (``..``, empty).
    """
    bucket, prefix = split_s3(uri)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    targets = {key: _inside(folder, key[len(prefix) + 1 :], uri) for key in keys}
    for key, target in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    return len(targets)


def _inside(folder: Path, relative: str, uri: str) -> Path:
    """``folder/relative``, each part a plain name (the run-id rule), never outside ``folder``."""
    path = folder
    try:
        for part in relative.split("/"):
            path = run_path(path, part)
    except SeglabError:
        raise SeglabError(f"{uri}: object {relative!r} is not a plain relative path (each part: "
                          "letters, digits, '.', '_', '-'); not pulled: remove that object") from None
    return path


def record(store: LocalStore, folder: RunFolder, job: str) -> None:
    """Record a downloaded run folder as a finished trial of the local store."""
    manifest = folder.read_json(folder.manifest)
    params = yaml.safe_load(folder.params.read_text()) if folder.params.is_file() else {}
    tags = {key: manifest[key] for key in MANIFEST_TAGS if manifest.get(key) is not None}
    tracker = Tracker(store)
    run = tracker.start_run(manifest.get("experiment") or params.get("experiment", "seglab"), folder.run_id,
                            params=params, run_dir=folder.path,
                            tags={**tags, "ran_on": "sagemaker", "sagemaker_job": job})
    if folder.metrics.is_file():
        run.log_metrics(folder.read_metrics())
    run.log_artifacts(folder.path)
    status = manifest.get("status")
    run.end(status if status in FINAL_STATUSES else "failed")


def _recorded(store: LocalStore, trial: str) -> bool:
    try:
        store.record(trial)
    except SeglabError:
        return False
    return True


def _components(client: Any, target: str | None, experiment: str | None) -> Iterator[dict[str, Any]]:
    """Descriptions of the job trial components a target or an experiment names."""
    if target:
        for job in dict.fromkeys((target, job_name(target))):
            for kind in ("training", "processing"):
                found = _describe(client, component_name(job, kind))  # type: ignore[arg-type]
                if found is not None:
                    yield found
                    return
        yield from _trial_components(client, target)
        return
    from seglab.tracking.sagemaker import sagemaker_name

    pages = client.get_paginator("list_trials").paginate(ExperimentName=sagemaker_name(experiment or ""))
    for page in pages:
        for trial in page["TrialSummaries"]:
            yield from _trial_components(client, trial["TrialName"])


def _trial_components(client: Any, trial: str) -> Iterator[dict[str, Any]]:
    try:
        pages = list(client.get_paginator("list_trial_components").paginate(TrialName=trial))
    except Exception as exc:
        if not_found(exc):
            return
        raise
    for page in pages:
        for summary in page["TrialComponentSummaries"]:
            if summary["TrialComponentName"].endswith(JOB_SUFFIXES):
                found = _describe(client, summary["TrialComponentName"])
                if found is not None:
                    yield found


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_trial_component(TrialComponentName=name)
    except Exception as exc:
        if not_found(exc):
            return None
        raise
