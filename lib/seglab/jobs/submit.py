"""``seglab submit``: one run as a SageMaker training (default) or processing job.

:func:`prepare` checks everything locally (config, role, S3 prefix, image, instance type, run
time, the table, the size of every HyperParameter/Environment value) before any AWS call;
:func:`submit` then creates the experiment and trial (idempotent), uploads the effective config
and the table, and creates the job with ``ExperimentConfig`` so SageMaker files the job's own
trial component under the trial.
"""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from seglab.config import Config
from seglab.errors import ConfigError, SeglabError
from seglab.jobs.common import (
    CONFIG_FILE,
    FINISHED,
    Clients,
    JobKind,
    JobSpec,
    describe_job,
    job_name,
    job_status,
    split_s3,
)
from seglab.paths import resolve_uri

ROLE_PATTERN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
"""botocore's pattern for RoleArn."""
MAX_RUNTIME_S: dict[str, int] = {"training": 28 * 24 * 3600, "processing": 777_600}
VALUE_LIMITS = {"training": 2500, "processing": 256}
"""Longest value of a HyperParameter (training) or an Environment variable (processing); the
config itself travels as a channel, so only names and URIs go there."""
DEFAULT_INSTANCE = {"gpu": "ml.g4dn.xlarge", "cpu": "ml.m5.xlarge", "auto": "ml.m5.xlarge"}
VOLUME_GB = 30
PROCESSING_INPUT = "/opt/ml/processing/input"
ENTRYPOINT = ["train"]


@dataclass(frozen=True)
class Submission:
    """A job ready to create: everything checked, nothing sent."""

    kind: JobKind
    job: str
    spec: JobSpec
    image: str
    role: str
    instance_type: str
    max_runtime: int
    config: Config
    """The effective config, as uploaded (``tracking.backend=local``, ``data.path`` on S3)."""
    table: str
    """The table: a local file to upload, or the ``s3://`` URI the data channel points at."""


def prepare(config: Config, *, trial: str, image: str, role: str, s3_prefix: str,
            kind: JobKind = "training", instance_type: str | None = None,
            max_runtime: int = 24 * 3600, engine: str = "notebooks", kernel: str = "python3") -> Submission:
    """Check a submission without touching AWS.

    Raises:
        ConfigError: the first problem found, naming the option and the fix.
    """
    if not image or len(image) > 255 or re.search(r"\s", image):
        raise ConfigError(f"--image {image!r}: give the image URI (at most 255 characters), e.g. "
                          "123456789012.dkr.ecr.us-east-1.amazonaws.com/seglab:latest")
    if not ROLE_PATTERN.fullmatch(role or ""):
        raise ConfigError(f"--role {role!r}: give an IAM role ARN, e.g. "
                          "arn:aws:iam::123456789012:role/SageMakerExecution")
    split_s3(s3_prefix)
    if not 1 <= max_runtime <= MAX_RUNTIME_S[kind]:
        raise ConfigError(f"--max-runtime {max_runtime}: a {kind} job runs 1 to {MAX_RUNTIME_S[kind]} s")
    instance_type = instance_type or DEFAULT_INSTANCE[config.backend]
    known = _instance_types(kind)
    if instance_type not in known:
        close = [name for name in known if name.split(".")[1:2] == instance_type.split(".")[1:2]]
        raise ConfigError(f"--instance-type {instance_type}: not a SageMaker {kind} instance type "
                          f"(e.g. {', '.join(sorted(close)[:4] or ['ml.m5.xlarge', 'ml.g4dn.xlarge'])})")
    table = resolve_uri(config.data.path)
    if not table.startswith("s3://") and not Path(table).is_file():
        raise ConfigError(f"data.path: {table} is not a file; pass --data with a CSV/Parquet file or an "
                          "s3:// URI")
    if table.startswith("s3://"):
        split_s3(table)
    name = Path(table).name
    spec = JobSpec(config.experiment, trial, s3_prefix.rstrip("/"), name, table, engine, kernel)
    if not table.startswith("s3://"):
        spec = replace(spec, data_uri=spec.uri("input", "data", name))
    _check_lengths(spec.as_hyperparameters() if kind == "training" else spec.as_environment(), kind)
    uploaded = config.model_copy(update={
        "data": config.data.model_copy(update={"path": spec.data_uri}),
        "tracking": config.tracking.model_copy(update={"backend": "local"}),
    })
    return Submission(kind, job_name(trial), spec, image, role, instance_type, max_runtime, uploaded, table)


def submit(sub: Submission, aws: Clients, tags: Mapping[str, str] | None = None) -> dict[str, str]:
    """Create the experiment, trial and job; upload the config and a local table.

    Returns:
        The job's ``ExperimentConfig``.

    Raises:
        SeglabError: a job of that name exists already.
    """
    from seglab.tracking.sagemaker import aws_tags, ensure_trial

    if describe_job(aws.sagemaker, sub.kind, sub.job) is not None:
        raise SeglabError(f"SageMaker {sub.kind} job {sub.job} exists already: submit with another --run-id "
                          f"(or `seglab pull {sub.job}`)")
    spec = sub.spec
    all_tags = {"seglab:experiment": spec.experiment, "seglab:trial": spec.trial, **(tags or {})}
    experiment, trial = ensure_trial(aws.sagemaker, spec.experiment, spec.trial, all_tags)
    experiment_config = {"ExperimentName": experiment, "TrialName": trial,
                         "TrialComponentDisplayName": f"{sub.kind}-job"}
    config_uri = spec.uri("input", "config", CONFIG_FILE)
    bucket, key = split_s3(config_uri)
    aws.s3.put_object(Bucket=bucket, Key=key, Body=yaml.safe_dump(sub.config.to_dict(), sort_keys=False))
    if not sub.table.startswith("s3://"):
        bucket, key = split_s3(spec.data_uri)
        aws.s3.upload_file(sub.table, bucket, key)
    common = {"RoleArn": sub.role, "Tags": aws_tags(all_tags), "ExperimentConfig": experiment_config}
    if sub.kind == "training":
        aws.sagemaker.create_training_job(
            TrainingJobName=sub.job,
            HyperParameters=spec.as_hyperparameters(),
            AlgorithmSpecification={"TrainingImage": sub.image, "TrainingInputMode": "File"},
            InputDataConfig=[_channel("config", config_uri), _channel("data", spec.data_uri)],
            OutputDataConfig={"S3OutputPath": spec.uri("output")},
            ResourceConfig={"InstanceType": sub.instance_type, "InstanceCount": 1,
                            "VolumeSizeInGB": VOLUME_GB},
            StoppingCondition={"MaxRuntimeInSeconds": sub.max_runtime},
            **common,
        )
    else:
        aws.sagemaker.create_processing_job(
            ProcessingJobName=sub.job,
            ProcessingInputs=[_processing_input("config", config_uri),
                              _processing_input("data", spec.data_uri)],
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": sub.instance_type,
                                                   "VolumeSizeInGB": VOLUME_GB}},
            StoppingCondition={"MaxRuntimeInSeconds": sub.max_runtime},
            AppSpecification={"ImageUri": sub.image, "ContainerEntrypoint": ENTRYPOINT},
            Environment=spec.as_environment(),
            **common,
        )
    return experiment_config


def wait(aws: Clients, kind: JobKind, job: str, *, echo: Callable[[str], None], poll_s: float = 30.0,
         sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Poll until the job ends, echoing a line whenever its status changes.

    Returns:
        The final DescribeTrainingJob/DescribeProcessingJob response.
    """
    started, last = time.monotonic(), ""
    while True:
        description = describe_job(aws.sagemaker, kind, job)
        if description is None:
            raise SeglabError(f"SageMaker {kind} job {job} not found (wrong region?)")
        status = job_status(description, kind)
        shown = "/".join(filter(None, (status, description.get("SecondaryStatus"))))
        if shown != last:
            echo(f"{job}: {shown} after {time.monotonic() - started:.0f} s")
            last = shown
        if status in FINISHED:
            return description
        sleep(poll_s)


def _check_lengths(values: Mapping[str, str], kind: str) -> None:
    limit = VALUE_LIMITS[kind]
    what = "HyperParameter" if kind == "training" else "Environment variable"
    for key, value in values.items():
        if len(value) > limit:
            raise ConfigError(f"{what} {key} is {len(value)} characters, SageMaker allows {limit}: "
                              "use a shorter --s3-prefix, experiment name or run id")


def _instance_types(kind: JobKind) -> list[str]:
    """The instance types botocore's service model allows (no network)."""
    if importlib.util.find_spec("botocore") is None:
        raise ConfigError("seglab submit needs boto3: pip install 'seglab[sagemaker]'")
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = "TrainingInstanceType" if kind == "training" else "ProcessingInstanceType"
    return list(model.shape_for(shape).enum)


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {"ChannelName": name, "InputMode": "File", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}


def _processing_input(name: str, uri: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": f"{PROCESSING_INPUT}/{name}",
                                           "S3DataType": "S3Prefix", "S3InputMode": "File"}}
