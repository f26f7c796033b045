"""MLflow mirror: any tracking URI (``http(s)://``, ``sqlite:///``, or a SageMaker managed MLflow
``arn:`` through the ``sagemaker-mlflow`` plugin).

Mapping: experiment → MLflow experiment; trial → a parent run named after the trial; each stage
→ a nested child run. Runs are found again by the ``seglab.key`` tag, so a push is idempotent
(metrics already on a run are not sent again).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from seglab.tracking.records import Entity, ParamValue, RemoteError, TrialRecord

KEY_TAG = "seglab.key"
STATUS = {"completed": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}
BATCH = 100
_NOISY_LOGGER = "mlflow.tracking.request_header.registry"
"""sagemaker-mlflow's header provider warns on every request to a non-ARN URI."""
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}
"""Used during a push unless the user set them: MLflow's own defaults (7 retries, backoff 2)
would hold the end of a run for about 4 minutes when the server is unreachable, and it prints
two "View run/experiment" lines per run (the trial and each stage) on seglab's stdout."""

T = TypeVar("T")


class MlflowRemote:
    """Mirror trials to an MLflow tracking server or store.

    Args:
        uri: the tracking URI.
        artifact_root: artifact location for new experiments on a local store (``sqlite:``,
            ``file:`` or a path); a server (``http``, ``arn``) decides its own.
    """

    name = "mlflow"

    def __init__(self, uri: str, artifact_root: Path | None = None) -> None:
        self.target = uri
        local = uri.split(":", 1)[0] in ("sqlite", "file") or "://" not in uri
        self._artifact_root = artifact_root if local and not uri.startswith("arn:") else None

    def push(self, record: TrialRecord) -> None:
        """Create or update the experiment, parent run and child runs of one trial.

        Raises:
            RemoteError: the tracking server or store failed.
        """
        try:
            with _bounded_http(self.target):
                self._push(record)
        except Exception as exc:  # MLflow, HTTP and credential errors have no common base
            raise RemoteError(f"MLflow: {exc}") from exc

    def _push(self, record: TrialRecord) -> None:
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=self.target)
        experiment = client.get_experiment_by_name(record.experiment)
        if experiment is not None:
            experiment_id = experiment.experiment_id
        else:
            location = None
            if self._artifact_root is not None:
                location = (self._artifact_root / _folder_name(record.experiment)).resolve().as_uri()
            experiment_id = client.create_experiment(record.experiment, artifact_location=location)
        parent = self._put_run(client, experiment_id, record.trial, record.summary, None)
        for component in record.components:
            key = f"{record.trial}/{component.name}"
            self._put_run(client, experiment_id, key, component, parent)

    def _put_run(self, client: Any, experiment_id: str, key: str, entity: Entity, parent: str | None) -> str:
        from mlflow.entities import Metric, Param, RunTag

        escaped = key.replace("'", "\\'")
        found = client.search_runs(
            [experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{escaped}'", max_results=1
        )
        if found:
            run_id = found[0].info.run_id
            existing = set(found[0].data.metrics)
        else:
            tags = {KEY_TAG: key}
            if parent:
                tags["mlflow.parentRunId"] = parent
            run = client.create_run(
                experiment_id,
                start_time=int(entity.started_at * 1000),
                tags=tags,
                run_name=entity.name or key,
            )
            run_id, existing = run.info.run_id, set()
        params = [Param(k[:250], _param_text(v)) for k, v in entity.params.items()]
        metrics = [
            Metric(point.key, point.value, int(point.time * 1000), point.step)
            for point in entity.metrics
            if point.key not in existing
        ]
        tags = [RunTag(k[:250], v[:5000]) for k, v in entity.tags.items()]
        tags += [
            RunTag(f"artifact.{item.kind}.{item.name}"[:250], item.uri)
            for item in entity.artifacts
            if "://" in item.uri or not Path(item.uri).is_file()
        ]
        for chunk in _chunks(params):
            client.log_batch(run_id, params=chunk)
        for chunk in _chunks(metrics):
            client.log_batch(run_id, metrics=chunk)
        for chunk in _chunks(tags):
            client.log_batch(run_id, tags=chunk)
        for item in entity.artifacts:
            file = Path(item.uri)
            if "://" not in item.uri and file.is_file():
                folder = str(Path(item.name).parent.as_posix())
                client.log_artifact(run_id, str(file), None if folder == "." else folder)
        if entity.status in STATUS:
            end = int((entity.ended_at or entity.started_at) * 1000)
            client.set_terminated(run_id, status=STATUS[entity.status], end_time=end)
        return run_id


def _folder_name(experiment: str) -> str:
    """A plain folder name for an experiment: its artifacts stay under the artifact root."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", experiment).lstrip(".") or "experiment"


def _param_text(value: ParamValue) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _chunks(items: Sequence[T]) -> Iterator[list[T]]:
    for start in range(0, len(items), BATCH):
        yield list(items[start : start + BATCH])


@contextmanager
def _bounded_http(uri: str) -> Iterator[None]:
    """Short retries and timeouts (unless set by the user); silence the plugin's noise."""
    added = {name: value for name, value in HTTP_DEFAULTS.items() if name not in os.environ}
    os.environ.update(added)
    logger = logging.getLogger(_NOISY_LOGGER)
    level = logger.level
    if not uri.startswith("arn:"):
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
        for name in added:
            os.environ.pop(name, None)
