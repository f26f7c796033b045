"""``seglab submit`` against moto (in-process ``mock_aws``): the job as SageMaker would get it,
its inputs in S3, and every bad input stopped before any AWS call with a one-line error."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from seglab.cli import main
from seglab.jobs import common
from seglab.tracking import leaderboard

moto = pytest.importorskip("moto", reason="moto is in the dev extra: pip install -e '.[dev]'")

BUCKET = "seglab-jobs"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/seglab:cpu"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
TABLE = Path(__file__).parent / "data" / "tiny_customers.parquet"


def submit_args(*extra: str, run_id: str = "r1", prefix: str = f"s3://{BUCKET}/seglab") -> list[str]:
    """``seglab submit`` on the tiny table with the test image, role and prefix."""
    return ["submit", "--params", "params/tiny.yaml", "--run-id", run_id, "--image", IMAGE,
            "--role", ROLE, "--s3-prefix", prefix, "--engine", "direct", *extra]


@pytest.fixture
def sm(aws_env: None) -> Any:
    with moto.mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield boto3.client("sagemaker")


def _object(key: str) -> bytes:
    return boto3.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_training_job_has_image_channels_experiment_and_hyperparameters(sm: Any, capsys: Any) -> None:
    assert main(submit_args("--set", "cluster.eps=0.4")) == 0
    out = capsys.readouterr().out
    assert "submitted training job r1" in out and "console.aws.amazon.com/sagemaker" in out

    job = sm.describe_training_job(TrainingJobName="r1")
    assert job["AlgorithmSpecification"]["TrainingImage"] == IMAGE
    assert job["RoleArn"] == ROLE
    assert job["ExperimentConfig"] == {"ExperimentName": "seglab-tiny", "TrialName": "seglab-tiny-r1",
                                       "TrialComponentDisplayName": "training-job"}
    base = "s3://seglab-jobs/seglab/seglab-tiny/r1"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]}
    assert channels == {"config": f"{base}/input/config/params.yaml",
                        "data": f"{base}/input/data/tiny_customers.parquet"}
    hyper = job["HyperParameters"]
    assert hyper["trial"] == "r1" and hyper["experiment"] == "seglab-tiny" and hyper["engine"] == "direct"
    assert hyper["data_file"] == "tiny_customers.parquet" and hyper["s3_prefix"] == "s3://seglab-jobs/seglab"
    assert max(len(value) for value in hyper.values()) <= 2500
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 86400
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=job["TrainingJobArn"])["Tags"]}
    assert tags["seglab:trial"] == "r1"

    uploaded = yaml.safe_load(_object("seglab/seglab-tiny/r1/input/config/params.yaml"))
    assert uploaded["cluster"]["eps"] == 0.4 and uploaded["tracking"]["backend"] == "local"
    assert uploaded["data"]["path"] == channels["data"]
    assert _object("seglab/seglab-tiny/r1/input/data/tiny_customers.parquet") == TABLE.read_bytes()
    trials = sm.list_trials(ExperimentName="seglab-tiny")["TrialSummaries"]
    assert [t["TrialName"] for t in trials] == ["seglab-tiny-r1"]


def test_processing_job_runs_train_with_inputs_and_an_s3_table(sm: Any) -> None:
    table = f"s3://{BUCKET}/tables/customers.parquet"
    boto3.client("s3").put_object(Bucket=BUCKET, Key="tables/customers.parquet", Body=TABLE.read_bytes())
    args = submit_args("--job-type", "processing", "--data", table, "--instance-type", "ml.c5.2xlarge")
    assert main(args) == 0
    job = sm.describe_processing_job(ProcessingJobName="r1")
    assert job["AppSpecification"] == {"ImageUri": IMAGE, "ContainerEntrypoint": ["train"]}
    inputs = {i["InputName"]: i["S3Input"] for i in job["ProcessingInputs"]}
    assert inputs["data"]["S3Uri"] == table  # the channel points at the table; nothing copied
    assert inputs["config"]["LocalPath"] == "/opt/ml/processing/input/config"
    assert job["ExperimentConfig"]["TrialName"] == "seglab-tiny-r1"
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="seglab/")["Contents"]
    assert [item["Key"] for item in listed] == ["seglab/seglab-tiny/r1/input/config/params.yaml"]


def test_the_same_run_id_is_not_submitted_twice(sm: Any, capsys: Any) -> None:
    assert main(submit_args()) == 0
    assert main(submit_args()) == 2
    assert "job r1 exists already" in capsys.readouterr().err


def test_wait_polls_until_the_job_ends(sm: Any, capsys: Any) -> None:
    assert main(submit_args("--wait")) == 0
    err = capsys.readouterr().err
    assert "r1: Completed" in err
    assert "not pulled" in err  # moto creates no trial component, so there is nothing to pull


@pytest.mark.parametrize(("args", "named"), [
    (submit_args(prefix="bucket/prefix"), "is not an s3://bucket/prefix URI"),
    (submit_args("--role", "SageMakerRole"), "--role 'SageMakerRole': give an IAM role ARN"),
    (submit_args("--image", ""), "--image '': give the image URI"),
    (submit_args("--set", "cluster.eps=-1"), "cluster.eps"),
    (submit_args("--set", "cluster.epss=1"), "cluster.epss: unknown key"),
    (submit_args("--instance-type", "ml.m5.huge"), "--instance-type ml.m5.huge: not a SageMaker training"),
    (submit_args("--max-runtime", "0"), "--max-runtime 0"),
    (submit_args("--data", "nowhere.parquet"), "nowhere.parquet is not a file"),
    (submit_args("--tracking", "sagemaker"), "--tracking"),
    (submit_args("--job-type", "processing", prefix=f"s3://{BUCKET}/{'p' * 240}"),
     "Environment variable SEGLAB_S3_PREFIX is 257 characters, SageMaker allows 256"),
], ids=["prefix", "role", "image", "config", "unknown-key", "instance", "runtime", "data", "tracking", "env"])
def test_bad_input_stops_before_any_aws_call(args: list[str], named: str, monkeypatch: Any,
                                             capsys: Any) -> None:
    def no_aws(*_args: Any) -> None:
        raise AssertionError("an AWS client was created before validation finished")

    monkeypatch.setattr(common, "clients", no_aws)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert named in err and err.count("\n") == 1, err


LIVE = ("SEGLAB_AWS_IMAGE", "SEGLAB_AWS_ROLE", "SEGLAB_AWS_S3_PREFIX")


@pytest.mark.aws
@pytest.mark.skipif(os.environ.get("SEGLAB_AWS_LIVE") != "1" or not all(map(os.environ.get, LIVE)),
                    reason="live AWS job: set SEGLAB_AWS_LIVE=1, SEGLAB_AWS_IMAGE, SEGLAB_AWS_ROLE, "
                           "SEGLAB_AWS_S3_PREFIX")
def test_live_small_cpu_job_is_submitted_watched_and_pulled(tmp_path: Path) -> None:
    image, role, prefix = (os.environ[name] for name in LIVE)
    run_id = f"smoke-{uuid.uuid4().hex[:8]}"
    args = ["submit", "--params", "params/tiny.yaml", "--run-id", run_id, "--image", image, "--role", role,
            "--s3-prefix", prefix, "--engine", "direct", "--instance-type", "ml.m5.large",
            "--max-runtime", "1800", "--runs-dir", str(tmp_path), "--wait"]
    assert main(args) == 0
    row = leaderboard(tmp_path).iloc[0]
    assert (row["trial"], row["status"], row["ran_on"]) == (run_id, "completed", "sagemaker")
    component = boto3.client("sagemaker").describe_trial_component(
        TrialComponentName=f"{run_id}-aws-training-job")
    assert {metric["MetricName"] for metric in component["Metrics"]} >= {"silhouette", "n_rows"}
    assert component["OutputArtifacts"]["run"]["Value"].endswith(f"/{run_id}/run/")
