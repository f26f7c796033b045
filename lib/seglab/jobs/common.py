"""What ``submit``, the job entrypoint, ``pull`` and the sweep share: names, the job spec, clients."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Literal, NamedTuple

from seglab.errors import ConfigError

JobKind = Literal["training", "processing"]
JOB_NAME_MAX = 63
CONFIG_FILE = "params.yaml"
RUN_ARTIFACT = "run"
"""Output artifact of the job's trial component: the S3 URI of the uploaded run folder."""
ENV_PREFIX = "SEGLAB_"
"""Processing jobs get the spec as environment variables ``SEGLAB_<KEY>``."""
FINISHED = ("Completed", "Failed", "Stopped")
"""Final job statuses (training and processing alike)."""


@dataclass(frozen=True)
class JobSpec:
    """The short values a job needs besides its channels (HyperParameters or Environment)."""

    experiment: str
    trial: str
    s3_prefix: str
    """``s3://bucket/prefix`` the run folder is uploaded under."""
    data_file: str
    """File name of the table inside the ``data`` channel."""
    data_uri: str
    """The table on S3 (recorded as the component's input artifact)."""
    engine: str = "notebooks"
    kernel: str = "python3"

    def as_hyperparameters(self) -> dict[str, str]:
        """Training jobs: HyperParameters (string values)."""
        return asdict(self)

    def as_environment(self) -> dict[str, str]:
        """Processing jobs: ``SEGLAB_<KEY>`` environment variables."""
        return {f"{ENV_PREFIX}{key.upper()}": value for key, value in asdict(self).items()}

    @classmethod
    def from_values(cls, values: Mapping[str, Any], source: str) -> JobSpec:
        """Read hyperparameters or ``SEGLAB_*`` variables.

        Raises:
            ConfigError: a required value is missing (the job was not started by ``seglab submit``).
        """
        found: dict[str, str] = {}
        for item in fields(cls):
            for key in (item.name, f"{ENV_PREFIX}{item.name.upper()}"):
                if key in values:
                    found[item.name] = str(values[key])
        missing = [item.name for item in fields(cls) if item.name not in found and item.default is MISSING]
        if missing:
            raise ConfigError(f"{source}: missing {', '.join(missing)}; start the job with `seglab submit`")
        return cls(**found)

    def uri(self, *parts: str) -> str:
        """``<s3-prefix>/<experiment>/<trial>/<parts...>`` (see the package docstring)."""
        return "/".join([trial_uri(self.s3_prefix, self.experiment, self.trial), *parts])

    def run_uri(self) -> str:
        """Where the job uploads the run folder: ``<s3-prefix>/<experiment>/<trial>/run/``."""
        return self.uri(RUN_ARTIFACT) + "/"


class Clients(NamedTuple):
    """boto3 clients for SageMaker, its metrics API and S3."""

    sagemaker: Any
    metrics: Any
    s3: Any
    region: str


def clients(session: Any = None) -> Clients:
    """boto3 clients with bounded retries, from ``session`` or the ambient credentials.

    Raises:
        ConfigError: boto3 is not installed, or no region is configured.
    """
    if importlib.util.find_spec("boto3") is None:
        raise ConfigError("SageMaker jobs need boto3: pip install 'seglab[sagemaker]'")
    import boto3
    from botocore.config import Config

    session = session or boto3.session.Session()
    if not session.region_name:
        raise ConfigError("no AWS region: set AWS_DEFAULT_REGION (or a profile's region) and retry")
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=10, read_timeout=60)
    return Clients(
        session.client("sagemaker", config=config),
        session.client("sagemaker-metrics", config=config),
        session.client("s3", config=config),
        session.region_name,
    )


def job_name(trial: str) -> str:
    """The job's name: lower case (the metrics API needs its trial component's name lower case),
    ``[a-z0-9-]``, at most 63 characters, derived from the trial."""
    from seglab.tracking.sagemaker import sagemaker_name

    return sagemaker_name(trial, limit=JOB_NAME_MAX)


def component_name(job: str, kind: JobKind) -> str:
    """The trial component SageMaker creates for a job: ``<job>-aws-training-job`` or
    ``<job>-aws-processing-job``."""
    return f"{job}-aws-{kind}-job"


def trial_uri(s3_prefix: str, experiment: str, trial: str) -> str:
    """``<s3-prefix>/<experiment>/<trial>`` (no trailing slash)."""
    return "/".join(part.strip("/") for part in (s3_prefix, experiment, trial))


def split_s3(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` → (bucket, key).

    Raises:
        ConfigError: not an ``s3://bucket[/key]`` URI.
    """
    from seglab.tracking.sagemaker import parse_s3_uri

    return parse_s3_uri(uri)


def not_found(exc: Exception) -> bool:
    """Whether a boto3 error says the job or component does not exist."""
    error = getattr(exc, "response", {}).get("Error", {})
    message = error.get("Message", "").lower()
    return error.get("Code") in {"ResourceNotFound", "ValidationException"} and (
        "not found" in message or "could not find" in message or "does not exist" in message
    )


def describe_job(client: Any, kind: JobKind, name: str) -> dict[str, Any] | None:
    """DescribeTrainingJob / DescribeProcessingJob, or ``None`` when there is no such job."""
    try:
        if kind == "training":
            return client.describe_training_job(TrainingJobName=name)
        return client.describe_processing_job(ProcessingJobName=name)
    except Exception as exc:
        if not_found(exc):
            return None
        raise


def job_status(description: Mapping[str, Any], kind: JobKind) -> str:
    """``InProgress``, ``Completed``, ``Failed``, ``Stopping`` or ``Stopped``."""
    return description["TrainingJobStatus" if kind == "training" else "ProcessingJobStatus"]


def console_url(region: str, kind: JobKind, name: str) -> str:
    """The job's page in the SageMaker console."""
    page = "jobs" if kind == "training" else "processing-jobs"
    return f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}#/{page}/{name}"
