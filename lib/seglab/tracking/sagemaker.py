"""SageMaker Experiments mirror through plain boto3 (no SageMaker SDK).

Mapping: experiment → Experiment; trial → Trial; the trial's own params/metrics/artifacts →
trial component ``<experiment>-<trial>-run``; each stage → trial component
``<experiment>-<trial>-<stage>``, all associated with the trial.

Every push is idempotent: "already exists" counts as success and is followed by an update with
the full parameter and artifact maps (AWS upserts by key; moto replaces the map, so sending it
all is right for both); metrics already on a component are not sent again.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from seglab.errors import ConfigError
from seglab.tracking.records import (
    Artifact,
    Entity,
    MetricPoint,
    ParamValue,
    RemoteError,
    TrialRecord,
)

log = logging.getLogger(__name__)

NAME_MAX = 120
MAX_PARAMETERS = 300
MAX_ARTIFACTS = 60
MAX_TAGS = 50
METRICS_PER_CALL = 10
SUMMARY_COMPONENT = "run"
STATUS = {
    "running": "InProgress",
    "completed": "Completed",
    "failed": "Failed",
    "interrupted": "Stopped",
}
_RETRIES = BotoConfig(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)
"""Bounded: throttling is retried, but an unreachable AWS holds the end of a run ~15 s at most."""


class Clients(NamedTuple):
    """The three boto3 clients the mirror uses."""

    sagemaker: Any
    metrics: Any
    s3: Any


def sagemaker_name(*parts: str, lower: bool = True, limit: int = NAME_MAX) -> str:
    """A valid SageMaker entity name: ``[a-zA-Z0-9-]``, at most ``limit`` characters (120; job names 63).

    Other characters become ``-``; a longer name is cut and ends with a hash of the original,
    so distinct inputs stay distinct. Lower case by default (the metrics API requires it).
    """
    text = "-".join(parts)
    name = re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-") or "seglab"
    if lower:
        name = name.lower()
    if len(name) > limit:
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name


def experiment_config(
    experiment: str, trial: str, display_name: str | None = None, session: Any = None
) -> dict[str, str]:
    """The ``experiment_config`` for ``Estimator.fit(...)``, so a training job joins the trial.

    Creates the experiment and trial if they do not exist yet (idempotent).

    Args:
        experiment: seglab experiment name.
        trial: seglab trial name (run id).
        display_name: the training job's trial component display name.
        session: a ``boto3.Session``; default the ambient one.

    Returns:
        ``{"ExperimentName", "TrialName", "TrialComponentDisplayName"}``.
    """
    client = (session or boto3.session.Session()).client("sagemaker", config=_RETRIES)
    names = ensure_trial(client, experiment, trial, {})
    return {
        "ExperimentName": names[0],
        "TrialName": names[1],
        "TrialComponentDisplayName": sagemaker_name(display_name or "training", lower=False),
    }


class SageMakerRemote:
    """Mirror trials to SageMaker Experiments.

    Args:
        s3_prefix: ``s3://bucket/prefix``: local artifact files are uploaded under
            ``<prefix>/<experiment>/<trial>/`` and recorded as S3 URIs; ``None`` records paths.
        session: a ``boto3.Session``; default the ambient one (credentials, region).

    Raises:
        ConfigError: ``s3_prefix`` is not an ``s3://bucket[/prefix]`` URI.
    """

    name = "sagemaker"

    def __init__(self, s3_prefix: str | None = None, session: Any = None) -> None:
        self.target = s3_prefix or ""
        self._bucket, self._prefix = parse_s3_uri(s3_prefix) if s3_prefix else ("", "")
        self._session = session
        self._clients: Clients | None = None

    def clients(self) -> Clients:
        """The boto3 clients, created on first use (so a missing region is a push failure)."""
        if self._clients is None:
            session = self._session or boto3.session.Session()
            self._clients = Clients(
                session.client("sagemaker", config=_RETRIES),
                session.client("sagemaker-metrics", config=_RETRIES),
                session.client("s3", config=_RETRIES),
            )
        return self._clients

    def push(self, record: TrialRecord) -> None:
        """Create or update the experiment, trial and trial components of one trial.

        Raises:
            RemoteError: an AWS call failed (after botocore's retries) or rejected metrics.
        """
        try:
            self._push(record)
        except (BotoCoreError, ClientError) as exc:
            raise RemoteError(f"SageMaker: {exc}") from exc

    def _push(self, record: TrialRecord) -> None:
        clients = self.clients()
        _, trial_name = ensure_trial(clients.sagemaker, record.experiment, record.trial, record.summary.tags)
        rejected: list[str] = []
        for entity in (record.summary, *record.components):
            component = sagemaker_name(record.experiment, record.trial, entity.name or SUMMARY_COMPONENT)
            existing = self._put_component(clients.sagemaker, component, entity, record)
            _ignore_existing(
                clients.sagemaker.associate_trial_component,
                TrialComponentName=component,
                TrialName=trial_name,
            )
            points = [point for point in entity.metrics if point.key not in existing]
            rejected += put_metrics(clients.metrics, component, points)
        if rejected:
            raise RemoteError(f"SageMaker BatchPutMetrics rejected: {', '.join(rejected[:5])}")

    def _put_component(self, client: Any, component: str, entity: Entity, record: TrialRecord) -> set[str]:
        """Create or update a trial component; return the metric names it already has."""
        fields: dict[str, Any] = {
            "TrialComponentName": component,
            "DisplayName": sagemaker_name(entity.name or SUMMARY_COMPONENT, lower=False),
            "Status": _status(entity.status),
            "StartTime": _when(entity.started_at),
            "Parameters": trial_parameters(entity.params),
            "InputArtifacts": self._artifacts(entity.artifacts, "input", record),
            "OutputArtifacts": self._artifacts(entity.artifacts, "output", record),
        }
        if entity.ended_at is not None:
            fields["EndTime"] = _when(entity.ended_at)
        if _create(client.create_trial_component, **fields, Tags=aws_tags(entity.tags)):
            return set()
        client.update_trial_component(**fields)
        described = client.describe_trial_component(TrialComponentName=component)
        return {summary["MetricName"] for summary in described.get("Metrics", [])}

    def _artifacts(
        self, artifacts: Iterable[Artifact], kind: str, record: TrialRecord
    ) -> dict[str, dict[str, str]]:
        chosen = [item for item in artifacts if item.kind == kind]
        if len(chosen) > MAX_ARTIFACTS:
            log.warning(
                "SageMaker keeps %d %s artifacts per component: %d of trial %s not listed there",
                MAX_ARTIFACTS,
                kind,
                len(chosen) - MAX_ARTIFACTS,
                record.trial,
            )
        mapped = {}
        for item in chosen[:MAX_ARTIFACTS]:
            value = {"Value": self._upload(item, record)[:2048]}
            media_type = mimetypes.guess_type(item.name)[0]
            if media_type and re.fullmatch(r"[-\w]+/[-\w+]+", media_type):
                value["MediaType"] = media_type
            mapped[item.name[:128]] = value
        return mapped

    def _upload(self, item: Artifact, record: TrialRecord) -> str:
        """The artifact's URI on AWS: uploaded to S3 when a prefix is set and it is a local file."""
        file = Path(item.uri)
        if not self._bucket or "://" in item.uri or not file.is_file():
            return item.uri
        key = "/".join(part for part in (self._prefix, record.experiment, record.trial, item.name) if part)
        self.clients().s3.upload_file(str(file), self._bucket, key)
        return f"s3://{self._bucket}/{key}"


def ensure_trial(client: Any, experiment: str, trial: str, tags: Mapping[str, str]) -> tuple[str, str]:
    experiment_name = sagemaker_name(experiment)
    trial_name = sagemaker_name(experiment, trial)
    _create(
        client.create_experiment,
        ExperimentName=experiment_name,
        DisplayName=sagemaker_name(experiment, lower=False),
    )
    _create(
        client.create_trial,
        TrialName=trial_name,
        ExperimentName=experiment_name,
        DisplayName=sagemaker_name(trial, lower=False),
        Tags=aws_tags(tags),
    )
    return experiment_name, trial_name


def _create(call: Callable[..., Any], **kwargs: Any) -> bool:
    """Call a Create*; ``False`` when the entity already exists (that is success too)."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if _says_exists(exc, "already exist"):
            return False
        raise
    return True


def _ignore_existing(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as exc:
        if not _says_exists(exc, "already"):
            raise


def _says_exists(exc: ClientError, phrase: str) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") == "ValidationException" and phrase in error.get("Message", "").lower()


def put_metrics(client: Any, component: str, points: list[MetricPoint]) -> list[str]:
    """Send metrics 10 per call, always with ``Step``; return the rejected ones."""
    rejected = []
    for start in range(0, len(points), METRICS_PER_CALL):
        batch = points[start : start + METRICS_PER_CALL]
        response = client.batch_put_metrics(
            TrialComponentName=component,
            MetricData=[
                {
                    "MetricName": point.key[:255],
                    "Timestamp": _when(point.time),
                    "Step": max(point.step, 0),
                    "Value": point.value,
                }
                for point in batch
            ],
        )
        for error in response.get("Errors", []):
            point = batch[error["MetricIndex"]]
            rejected.append(f"{component}/{point.key} ({error['Code']})")
    return rejected


def trial_parameters(params: Mapping[str, ParamValue]) -> dict[str, dict[str, Any]]:
    items = list(params.items())[:MAX_PARAMETERS]
    mapped: dict[str, dict[str, Any]] = {}
    for key, value in items:
        if isinstance(value, bool) or value is None:
            mapped[key[:320]] = {"StringValue": str(value).lower() if value is not None else "null"}
        elif isinstance(value, int | float):
            mapped[key[:320]] = {"NumberValue": float(value)}
        else:
            mapped[key[:320]] = {"StringValue": str(value)[:2500]}
    return mapped


def aws_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    def clean(text: str, limit: int) -> str:
        return re.sub(r"[^\w\s.:/=+\-@]", "_", str(text))[:limit]

    return [
        {"Key": clean(key, 128), "Value": clean(value, 256)}
        for key, value in list(tags.items())[:MAX_TAGS]
        if clean(key, 128)
    ]


def _status(status: str) -> dict[str, str]:
    result = {"PrimaryStatus": STATUS.get(status, "Failed")}
    if status == "interrupted":
        result["Message"] = "interrupted: the process died or was stopped before the end"
    return result


def _when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, tz=UTC)


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/(.*))?", uri)
    if match is None:
        raise ConfigError(f"tracking.s3_prefix: {uri!r} is not an s3://bucket/prefix URI")
    return match.group(1), (match.group(2) or "").strip("/")
