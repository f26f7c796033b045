"""Where SageMaker puts a job's inputs inside the container: the Training and Processing layouts.

Training (``docker run IMAGE train``)::

    /opt/ml/input/config/hyperparameters.json   the JobSpec (string values)
    /opt/ml/input/data/config/params.yaml        channel ``config``
    /opt/ml/input/data/data/<table>              channel ``data``
    /opt/ml/output/failure                       why the job failed (SageMaker's FailureReason)

Processing::

    /opt/ml/config/processingjobconfig.json      job name, inputs, Environment (the JobSpec)
    /opt/ml/processing/input/{config,data}/      the inputs' LocalPath
    /opt/ml/output/message                       why the job failed

``SM_ROOT`` replaces ``/opt/ml`` (tests lay a temporary folder out the same way).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from seglab.errors import ConfigError
from seglab.jobs.common import CONFIG_FILE, ENV_PREFIX, JobKind, JobSpec, component_name

DEFAULT_ROOT = "/opt/ml"


@dataclass(frozen=True)
class JobLayout:
    """One job's inputs and outputs inside the container."""

    kind: JobKind
    job: str
    """The job name."""
    spec: JobSpec
    config_file: Path
    data_file: Path
    failure_file: Path

    @property
    def component(self) -> str:
        """The job's own trial component (SageMaker creates it from ``ExperimentConfig``)."""
        return component_name(self.job, self.kind)


def read_layout(environ: Mapping[str, str]) -> JobLayout:
    """Read the layout under ``$SM_ROOT`` (default ``/opt/ml``).

    Raises:
        ConfigError: no SageMaker layout there, or an input is missing.
    """
    root = Path(environ.get("SM_ROOT") or DEFAULT_ROOT)
    processing = root / "config" / "processingjobconfig.json"
    training = root / "input" / "config" / "hyperparameters.json"
    if processing.is_file():
        return _processing(root, processing, environ)
    if training.is_file():
        return _training(root, training, environ)
    raise ConfigError(f"{root}: neither {training} nor {processing} exists; `seglab job` runs inside a "
                      "SageMaker job (set SM_ROOT to a folder laid out like /opt/ml to run it elsewhere)")


def failure_file(environ: Mapping[str, str]) -> Path:
    """Where SageMaker reads why the job failed, even when the layout itself is unreadable."""
    root = Path(environ.get("SM_ROOT") or DEFAULT_ROOT)
    processing = (root / "config" / "processingjobconfig.json").is_file()
    return root / "output" / ("message" if processing else "failure")


def _training(root: Path, file: Path, environ: Mapping[str, str]) -> JobLayout:
    spec = JobSpec.from_values(_read_json(file), str(file))
    arn = environ.get("TRAINING_JOB_ARN")
    if not arn:
        raise ConfigError("TRAINING_JOB_ARN is not set: SageMaker sets it in training jobs; set it to "
                          "arn:aws:sagemaker:<region>:<account>:training-job/<name> to run by hand")
    channels = root / "input" / "data"
    return JobLayout("training", arn.rsplit("/", 1)[-1], spec,
                     _input_file(channels / "config", CONFIG_FILE),
                     _input_file(channels / "data", spec.data_file), root / "output" / "failure")


def _processing(root: Path, file: Path, environ: Mapping[str, str]) -> JobLayout:
    config = _read_json(file)
    values = {**_field(config, "Environment", dict, file),
              **{key: value for key, value in environ.items() if key.startswith(ENV_PREFIX)}}
    spec = JobSpec.from_values(values, f"{file} (Environment)")
    job = config.get("ProcessingJobName")
    if not job:
        raise ConfigError(f"{file}: no ProcessingJobName; is this a SageMaker processing job?")
    inputs = dict(_processing_input(root, file, index, item)
                  for index, item in enumerate(_field(config, "ProcessingInputs", list, file))
                  if not isinstance(item, dict) or "S3Input" in item)
    for name in ("config", "data"):
        if name not in inputs:
            raise ConfigError(f"{file}: no processing input named {name!r}; "
                              "start the job with `seglab submit`")
    return JobLayout("processing", job, spec, _input_file(inputs["config"], CONFIG_FILE),
                     _input_file(inputs["data"], spec.data_file), root / "output" / "message")


def _field(config: Mapping[str, Any], key: str, kind: type[dict] | type[list], file: Path) -> Any:
    """``config[key]``, empty when absent or null.

    Raises:
        ConfigError: the value is not a JSON object (``dict``) or array (``list``) as SageMaker writes.
    """
    value = config.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        shape = "an object" if kind is dict else "an array"
        raise ConfigError(f"{file}: {key} must be {shape}, not {json.dumps(value)[:80]}; "
                          "start the job with `seglab submit`")
    return value


def _processing_input(root: Path, file: Path, index: int, item: Any) -> tuple[str, Path]:
    """One ``ProcessingInputs`` entry with an ``S3Input``: its ``InputName`` and local folder.

    Raises:
        ConfigError: the entry lacks ``InputName`` or ``S3Input.LocalPath`` (or they are not text).
    """
    where = f"{file}: ProcessingInputs[{index}]"
    s3_input = item.get("S3Input") if isinstance(item, dict) else None
    name = item.get("InputName") if isinstance(item, dict) else None
    local = s3_input.get("LocalPath") if isinstance(s3_input, dict) else None
    for key, value in (("InputName", name), ("S3Input.LocalPath", local)):
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} has no {key} (text); start the job with `seglab submit`")
    return name, _local(root, local)


def _input_file(folder: Path, name: str) -> Path:
    """``folder/name``; ``name`` is a plain file name, so an input never reads outside its channel."""
    if PurePosixPath(name).name != name:
        raise ConfigError(f"data_file {name[:200]!r}: must be a file name inside the {folder.name!r} "
                          "input, without folders; start the job with `seglab submit`")
    path = folder / name
    if not path.is_file():
        raise ConfigError(f"{path}: input file not found; the {folder.name!r} input must hold {name}")
    return path


def _local(root: Path, local_path: str) -> Path:
    """A processing input's LocalPath, moved under ``root`` when it is under ``/opt/ml``."""
    path = PurePosixPath(local_path)
    if path.is_relative_to(DEFAULT_ROOT):
        return root / path.relative_to(DEFAULT_ROOT)
    return Path(local_path)


def _read_json(file: Path) -> dict[str, Any]:
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{file}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a JSON object")
    return data
