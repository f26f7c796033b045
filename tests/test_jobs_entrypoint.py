"""``seglab job`` run as a subprocess against a temporary SM_ROOT laid out as SageMaker lays it
out, talking to a moto server on 127.0.0.1; then ``seglab pull`` brings the job home.

moto runs no container and never creates the job's trial component: :func:`launch` plays
SageMaker's part (download the channels, write the layout, create and associate the component).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from seglab.cli import main
from seglab.config import load_config
from seglab.errors import ConfigError
from seglab.jobs import common, entrypoint
from seglab.jobs.entrypoint import find_component
from seglab.jobs.layout import read_layout
from seglab.jobs.submit import Submission, prepare, submit
from seglab.paths import resolve
from seglab.tracking import leaderboard

moto_server = pytest.importorskip("moto.server", reason="moto[server] needs flask: pip install -e '.[dev]'")

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/seglab:cpu"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"


@pytest.fixture(scope="module")
def endpoint() -> Any:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws(aws_env: None, endpoint: str, monkeypatch: pytest.MonkeyPatch) -> common.Clients:
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    clients = common.clients()
    clients.s3.create_bucket(Bucket="seglab-jobs")
    return clients


def submitted(aws: common.Clients, kind: str, engine: str, *overrides: str) -> Submission:
    """Submit the tiny run as a job of ``kind`` (its own experiment and run id: one moto server)."""
    unique = uuid.uuid4().hex[:8]
    config = load_config(resolve("params/tiny.yaml"), overrides=[f"experiment=e{unique}", *overrides])
    sub = prepare(config, trial=f"t{unique}", image=IMAGE, role=ROLE,
                  s3_prefix="s3://seglab-jobs/jobs", kind=kind, engine=engine)  # type: ignore[arg-type]
    submit(sub, aws)
    return sub


def launch(aws: common.Clients, sub: Submission, root: Path, *, table: bytes | None = None) -> dict[str, str]:
    """Do what SageMaker does before the container starts; return the container's environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SEGLAB_")}
    env["SM_ROOT"] = str(root)
    if sub.kind == "training":
        job = aws.sagemaker.describe_training_job(TrainingJobName=sub.job)
        (root / "input" / "config").mkdir(parents=True)
        (root / "input" / "config" / "hyperparameters.json").write_text(json.dumps(job["HyperParameters"]))
        for channel in job["InputDataConfig"]:
            _download(aws, channel["DataSource"]["S3DataSource"]["S3Uri"], root / "input" / "data" /
                      channel["ChannelName"])
        env["TRAINING_JOB_ARN"] = job["TrainingJobArn"]
    else:
        job = aws.sagemaker.describe_processing_job(ProcessingJobName=sub.job)
        (root / "config").mkdir(parents=True)
        config = {"ProcessingJobName": sub.job, "ProcessingInputs": job["ProcessingInputs"],
                  "Environment": sub.spec.as_environment()}  # moto drops Environment: what was sent
        (root / "config" / "processingjobconfig.json").write_text(json.dumps(config))
        for item in job["ProcessingInputs"]:
            local = Path(item["S3Input"]["LocalPath"]).relative_to("/opt/ml")
            _download(aws, item["S3Input"]["S3Uri"], root / local)
        env.update(sub.spec.as_environment())
    if table is not None:
        (root / ("input/data/data" if sub.kind == "training" else "processing/input/data") /
         sub.spec.data_file).write_bytes(table)
    component = common.component_name(sub.job, sub.kind)  # type: ignore[arg-type]
    aws.sagemaker.create_trial_component(TrialComponentName=component, DisplayName=f"{sub.kind}-job")
    aws.sagemaker.associate_trial_component(TrialComponentName=component,
                                            TrialName=job["ExperimentConfig"]["TrialName"])
    return env


def _download(aws: common.Clients, uri: str, folder: Path) -> None:
    bucket, key = common.split_s3(uri)
    folder.mkdir(parents=True, exist_ok=True)
    aws.s3.download_file(bucket, key, str(folder / Path(key).name))


def run_entrypoint(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seglab", "job"], env=env, capture_output=True, text=True,
                          timeout=400, check=False)


def run_key(sub: Submission, name: str = "") -> str:
    """The S3 key of a file of the job's uploaded run folder."""
    return f"jobs/{sub.spec.experiment}/{sub.spec.trial}/run/{name}"


def _keys(aws: common.Clients, prefix: str) -> set[str]:
    listed = aws.s3.list_objects_v2(Bucket="seglab-jobs", Prefix=prefix).get("Contents", [])
    return {item["Key"].removeprefix(prefix) for item in listed}


@pytest.mark.slow  # the six notebooks under papermill: about a minute (make test runs it)
def test_training_job_runs_the_notebooks_records_on_its_component_and_is_pulled(
        aws: common.Clients, tmp_path: Path, capsys: Any) -> None:
    sub = submitted(aws, "training", "notebooks", "report.stability_draws=0", "cluster.baselines=[]")
    done = run_entrypoint(launch(aws, sub, tmp_path / "ml"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "ml" / "output" / "failure").exists()

    run = run_key(sub)
    uploaded = _keys(aws, run)
    assert {"manifest.json", "metrics.json", "params.yaml", "report.html", "labels.parquet",
            "notebooks/01_exploration.ipynb", "notebooks/05_reporting.ipynb"} <= uploaded
    component = aws.sagemaker.describe_trial_component(TrialComponentName=f"{sub.job}-aws-training-job")
    assert component["Parameters"]["reduce.n_neighbors"] == {"NumberValue": 15.0}
    assert component["Parameters"]["data.path"] == {"StringValue": sub.spec.data_uri}
    assert component["InputArtifacts"]["data"]["Value"] == sub.spec.data_uri
    assert component["OutputArtifacts"]["run"]["Value"] == f"s3://seglab-jobs/{run}"
    assert component["OutputArtifacts"]["report"]["Value"] == f"s3://seglab-jobs/{run}report.html"
    metrics = {metric["MetricName"]: metric["Last"] for metric in component["Metrics"]}
    assert metrics["n_rows"] == 2000 and metrics["silhouette"] > 0.3

    runs = tmp_path / "runs"
    assert main(["pull", sub.job, "--runs-dir", str(runs)]) == 0
    assert "1 pulled, 0 already here" in capsys.readouterr().err
    assert main(["pull", "--experiment", sub.spec.experiment, "--runs-dir", str(runs)]) == 0
    assert "0 pulled, 1 already here" in capsys.readouterr().err
    folder = runs / sub.spec.trial
    assert json.loads((folder / "manifest.json").read_text())["status"] == "completed"
    board = leaderboard(runs)
    assert board["trial"].tolist() == [sub.spec.trial]  # pulled once, however often pulled
    row = board.iloc[0]
    assert row["ran_on"] == "sagemaker" and row["tags.sagemaker_job"] == sub.job
    assert row["metrics.silhouette"] == pytest.approx(metrics["silhouette"])


def test_failing_notebook_exits_non_zero_with_the_notebook_and_cell(aws: common.Clients,
                                                                    tmp_path: Path) -> None:
    sub = submitted(aws, "training", "notebooks")
    done = run_entrypoint(launch(aws, sub, tmp_path / "ml", table=b"not a parquet file"))
    assert done.returncode == 1
    failure = (tmp_path / "ml" / "output" / "failure").read_text()
    assert failure.startswith("01_exploration.py failed in cell ") and len(failure) <= 1025
    manifest = aws.s3.get_object(Bucket="seglab-jobs", Key=run_key(sub, "manifest.json"))
    assert json.loads(manifest["Body"].read())["status"] == "failed"


def test_processing_layout_failure_goes_to_the_message_file_and_is_pulled_as_failed(
        aws: common.Clients, tmp_path: Path) -> None:
    sub = submitted(aws, "processing", "direct")
    done = run_entrypoint(launch(aws, sub, tmp_path / "ml", table=b"not a parquet file"))
    assert done.returncode == 1
    assert "01_exploration failed" in (tmp_path / "ml" / "output" / "message").read_text()
    assert not (tmp_path / "ml" / "output" / "failure").exists()
    component = aws.sagemaker.describe_trial_component(TrialComponentName=f"{sub.job}-aws-processing-job")
    assert component["OutputArtifacts"]["run"]["Value"].endswith(f"/{sub.spec.trial}/run/")
    params = aws.s3.get_object(Bucket="seglab-jobs", Key=run_key(sub, "params.yaml"))["Body"].read()
    assert yaml.safe_load(params)["data"]["path"].endswith("/processing/input/data/tiny_customers.parquet")

    runs = tmp_path / "runs"
    assert main(["pull", sub.spec.trial, "--runs-dir", str(runs)]) == 0  # by run id
    row = leaderboard(runs).iloc[0]
    assert (row["trial"], row["status"], row["ran_on"]) == (sub.spec.trial, "failed", "sagemaker")
    assert (runs / sub.spec.trial / "manifest.json").is_file()


def test_without_a_layout_the_job_says_what_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "SM_ROOT": str(tmp_path)}
    done = run_entrypoint(env)
    assert done.returncode == 2
    assert "hyperparameters.json" in done.stderr and "set SM_ROOT" in done.stderr
    assert "seglab job:" in (tmp_path / "output" / "failure").read_text()


def test_component_lookup_retries_a_bounded_number_of_times() -> None:
    calls, sleeps = [], []

    class NotYet:
        def describe_trial_component(self, TrialComponentName: str) -> dict[str, str]:
            calls.append(TrialComponentName)
            if len(calls) < 3:
                error = Exception("not yet")
                error.response = {"Error": {"Code": "ValidationException",  # type: ignore[attr-defined]
                                            "Message": "Requested resource not found."}}
                raise error
            return {"TrialComponentName": TrialComponentName}

    assert find_component(NotYet(), "j-aws-training-job", sleep=sleeps.append) is not None
    assert len(calls) == 3 and sleeps == [5.0, 5.0]
    calls.clear()
    assert find_component(NotYet(), "j", attempts=2, sleep=sleeps.append) is None
    assert len(calls) == 2


def test_a_broken_processing_layout_is_reported_in_the_message_file(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "processingjobconfig.json").write_text(json.dumps({"ProcessingJobName": "j"}))
    lines: list[str] = []
    assert entrypoint.main({"SM_ROOT": str(tmp_path)}, echo=lines.append) == 2
    message = (tmp_path / "output" / "message").read_text()
    assert "missing experiment, trial, s3_prefix, data_file, data_uri" in message
    assert lines == [f"seglab: error: {message.strip().removeprefix('seglab job: ')}"]


SPEC = {"experiment": "e", "trial": "t", "s3_prefix": "s3://b/p", "data_file": "x.parquet", "data_uri": "s3://b/x"}
CONFIG_INPUT = {"InputName": "config", "S3Input": {"LocalPath": "/opt/ml/processing/input/config"}}


@pytest.mark.parametrize(("config", "named"), [
    ({"Environment": ["a"]}, "Environment must be an object"),
    ({"Environment": SPEC, "ProcessingInputs": {"a": 1}}, "ProcessingInputs must be an array"),
    ({"Environment": SPEC, "ProcessingInputs": [{"S3Input": {"LocalPath": "/x"}}]},
     "ProcessingInputs[0] has no InputName"),
    ({"Environment": SPEC, "ProcessingInputs": [CONFIG_INPUT, {"InputName": "data", "S3Input": {}}]},
     "ProcessingInputs[1] has no S3Input.LocalPath"),
    ({"Environment": SPEC, "ProcessingInputs": ["data"]}, "ProcessingInputs[0] has no InputName"),
])
def test_a_malformed_processing_job_config_is_one_line_naming_the_key(
        tmp_path: Path, config: dict[str, Any], named: str) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "processingjobconfig.json").write_text(
        json.dumps({"ProcessingJobName": "j", **config}))
    lines: list[str] = []
    assert entrypoint.main({"SM_ROOT": str(tmp_path)}, echo=lines.append) == 2
    assert len(lines) == 1 and named in lines[0] and "seglab submit" in lines[0]
    assert named in (tmp_path / "output" / "message").read_text()


def test_a_data_file_outside_its_channel_is_refused(tmp_path: Path) -> None:
    (tmp_path / "input" / "config").mkdir(parents=True)
    (tmp_path / "input" / "data" / "config").mkdir(parents=True)
    (tmp_path / "input" / "data" / "data").mkdir()
    (tmp_path / "input" / "data" / "config" / "params.yaml").write_text("{}")
    (tmp_path / "input" / "x.parquet").write_bytes(b"PAR1")  # where data/../../x.parquet leads
    (tmp_path / "input" / "config" / "hyperparameters.json").write_text(
        json.dumps({**SPEC, "data_file": "../../x.parquet"}))
    env = {"SM_ROOT": str(tmp_path), "TRAINING_JOB_ARN": "arn:aws:sagemaker:r:1:training-job/j"}
    with pytest.raises(ConfigError, match=r"'\.\./\.\./x\.parquet': must be a file name inside the 'data'"):
        read_layout(env)
