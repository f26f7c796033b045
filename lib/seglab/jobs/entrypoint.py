"""``seglab job``: the entrypoint inside the container (``train`` calls it).

It runs the notebooks through :func:`seglab.runner.run_pipeline`, exactly as ``seglab run`` does,
into a normal run folder, then:

1. uploads the run folder file by file to ``<s3-prefix>/<experiment>/<trial>/run/``;
2. finds the job's own trial component by name (``<job>-aws-training-job`` or
   ``-aws-processing-job``; SageMaker creates it shortly after the job starts), with a bounded
   retry, and writes the effective parameters, the input table and config as input artifacts,
   the S3 run folder and report as output artifacts, and the numeric metrics;
3. on any failure writes the notebook and cell (or the reason) to SageMaker's failure file and
   exits non-zero, so a failed notebook can never end as a Completed job.

Inside the job the run's own tracking is local: the job's trial component *is* its SageMaker
record, so the mirror would only duplicate it.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seglab.config import load_config
from seglab.errors import ConfigError, SeglabError
from seglab.jobs.common import CONFIG_FILE, RUN_ARTIFACT, Clients, clients, not_found, split_s3
from seglab.jobs.layout import JobLayout, failure_file, read_layout
from seglab.runfolder import RunFolder
from seglab.tracking.records import MetricPoint, as_metric, flatten

log = logging.getLogger(__name__)

COMPONENT_ATTEMPTS = 8
COMPONENT_DELAY_S = 5.0
"""The job's trial component may appear after the job starts: try 8 times, 5 s apart (35 s)."""
FAILURE_LIMIT = 1024
"""SageMaker shows the first 1,024 characters of the failure file as the job's FailureReason."""


def main(environ: Mapping[str, str] | None = None, echo: Callable[[str], None] | None = None) -> int:
    """Run the job described by the SageMaker layout; return the exit code (0 only on success).

    A ``KeyboardInterrupt`` or any unexpected exception writes the failure file, then propagates.
    """
    environ = os.environ if environ is None else environ
    echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    failure = failure_file(environ)
    try:
        layout = read_layout(environ)
        failure = layout.failure_file
        return run_job(layout, clients(), echo=echo)
    except SeglabError as exc:
        write_failure(failure, f"seglab job: {exc}")
        echo(f"seglab: error: {exc}")
        return 2
    except BaseException as exc:
        write_failure(failure, f"seglab job crashed: {type(exc).__name__}: {exc}")
        raise


def run_job(layout: JobLayout, aws: Clients, *, echo: Callable[[str], None],
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Run the pipeline, publish the run folder and its record; return the exit code.

    Raises:
        SeglabError: the config in the ``config`` channel is invalid, or publishing failed.
    """
    spec = layout.spec
    if spec.engine not in ("notebooks", "direct"):
        raise ConfigError(f"engine {spec.engine!r}: use notebooks or direct (seglab submit --engine)")
    overrides = [f"data.path={layout.data_file}", "tracking.backend=local"]
    config = load_config(layout.config_file, overrides=overrides)
    from seglab.runner import run_pipeline  # papermill and the stages: only once the inputs are sane

    runs_dir = Path(tempfile.mkdtemp(prefix="seglab-job-"))
    echo(f"{layout.kind} job {layout.job}: trial {spec.trial} of experiment {spec.experiment}")
    result = run_pipeline(config, runs_dir=runs_dir, kernel=spec.kernel, run_id=spec.trial,
                          engine=spec.engine, echo=echo)  # type: ignore[arg-type]  # checked above
    run_uri = upload_folder(aws.s3, result.folder.path, spec.run_uri())
    echo(f"run folder uploaded to {run_uri}")
    params = {**flatten(config.to_dict()), "data.path": spec.data_uri}
    record_on_component(aws, layout, params, result.folder, run_uri, echo=echo, sleep=sleep)
    if not result.ok:
        write_failure(layout.failure_file, result.message or f"run {result.status}")
        echo(f"seglab: error: {result.message}")
        return 1
    return 0


def upload_folder(s3: Any, folder: Path, uri: str) -> str:
    """Upload every file under ``folder`` to ``uri`` (a prefix), keeping relative paths."""
    bucket, prefix = split_s3(uri)
    for path in sorted(item for item in folder.rglob("*") if item.is_file()):
        s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return f"s3://{bucket}/{prefix}/"


def find_component(client: Any, name: str, *, attempts: int = COMPONENT_ATTEMPTS,
                   delay: float = COMPONENT_DELAY_S,
                   sleep: Callable[[float], None] = time.sleep) -> dict[str, Any] | None:
    """DescribeTrialComponent by name, retried while it does not exist yet; ``None`` after
    ``attempts`` tries. (Never ``ListTrialComponents(SourceArn=...)``: not every backend filters.)"""
    for attempt in range(attempts):
        try:
            return client.describe_trial_component(TrialComponentName=name)
        except Exception as exc:
            if not not_found(exc):
                raise
        if attempt + 1 < attempts:
            sleep(delay)
    return None


def record_on_component(aws: Clients, layout: JobLayout, params: Mapping[str, Any], folder: RunFolder,
                        run_uri: str, *, echo: Callable[[str], None],
                        sleep: Callable[[float], None] = time.sleep) -> bool:
    """Write parameters, artifacts and metrics to the job's trial component.

    Returns:
        ``False`` (with a warning) when the component never appeared: the job was started
        without an ExperimentConfig; the run folder is in S3 all the same.
    """
    from seglab.tracking.sagemaker import put_metrics, trial_parameters

    name = layout.component
    if find_component(aws.sagemaker, name, sleep=sleep) is None:
        echo(f"warning: trial component {name} not found after {COMPONENT_ATTEMPTS} tries: parameters "
             "and metrics not recorded on it (was the job started without ExperimentConfig?)")
        return False
    spec = layout.spec
    aws.sagemaker.update_trial_component(
        TrialComponentName=name,
        Parameters=trial_parameters(params),
        InputArtifacts={"data": {"Value": spec.data_uri},
                        "config": {"Value": spec.uri("input", "config", CONFIG_FILE)}},
        OutputArtifacts={
            RUN_ARTIFACT: {"Value": run_uri},
            "report": {"Value": f"{run_uri}{folder.report.name}", "MediaType": "text/html"},
            "manifest": {"Value": f"{run_uri}{folder.manifest.name}", "MediaType": "application/json"},
        },
    )
    now = datetime.now(UTC).timestamp()
    points = [MetricPoint(key, number, 0, now) for key, value in folder.read_metrics().items()
              if (number := as_metric(value)) is not None]
    rejected = put_metrics(aws.metrics, name, points)
    if rejected:
        raise SeglabError(f"BatchPutMetrics rejected {', '.join(rejected[:5])}")
    echo(f"recorded {len(params)} parameters and {len(points)} metrics on trial component {name}")
    return True


def write_failure(path: Path, message: str) -> None:
    """Write SageMaker's failure file (its first 1,024 characters become the FailureReason)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(message.strip()[:FAILURE_LIMIT] + "\n")
    except OSError as exc:  # the exit code still says failed
        log.error("cannot write the failure file %s: %s", path, exc)
