"""``seglab sweep --on sagemaker`` against moto (in-process): a concurrency cap, results pulled,
the best rule applied, and re-runs (also after Ctrl-C) that submit nothing twice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from seglab.cli import main
from seglab.jobs.common import Clients, JobSpec, split_s3
from seglab.jobs.sweep import JobOptions, run_on_sagemaker
from seglab.paths import resolve
from seglab.sweep import load_grid, parse_rule, plan_sweep
from seglab.tracking import leaderboard

moto = pytest.importorskip("moto", reason="moto is in the dev extra: pip install -e '.[dev]'")

OPTIONS = JobOptions(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/seglab:cpu",
                     role="arn:aws:iam::123456789012:role/SageMakerExecution", s3_prefix="s3://seglab-jobs/sweeps")


class FakeSageMaker:
    """moto's client plus what SageMaker does and moto does not: a job stays InProgress for one
    poll, and its "container" uploads a run folder (silhouette = eps + min_samples / 1000, so
    the best trial is known)."""

    def __init__(self, client: Any, s3: Any) -> None:
        self.client, self.s3 = client, s3
        self.created: list[str] = []
        self.polled: set[str] = set()
        self.done: set[str] = set()
        self.failing: set[str] = set()
        self.fail_score: float | None = None
        self.max_in_flight = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def create_training_job(self, **request: Any) -> Any:
        response = self.client.create_training_job(**request)
        self.created.append(request["TrainingJobName"])
        self.max_in_flight = max(self.max_in_flight, len(set(self.created) - self.done))
        return response

    def describe_training_job(self, TrainingJobName: str) -> Any:
        job = self.client.describe_training_job(TrainingJobName=TrainingJobName)
        if TrainingJobName not in self.polled:
            self.polled.add(TrainingJobName)
            self._container(job)
            return {**job, "TrainingJobStatus": "InProgress"}
        self.done.add(TrainingJobName)
        if TrainingJobName in self.failing:
            return {**job, "TrainingJobStatus": "Failed", "FailureReason": "AlgorithmError: out of memory"}
        return job

    def _container(self, job: dict[str, Any]) -> None:
        spec = JobSpec.from_values(job["HyperParameters"], "test")
        bucket, key = split_s3(spec.uri("input", "config", "params.yaml"))
        params = yaml.safe_load(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        score = params["cluster"]["eps"] + params["cluster"]["min_samples"] / 1000
        if score == self.fail_score:  # the instance dies: no run folder
            self.failing.add(job["TrainingJobName"])
            return
        files = {"params.yaml": yaml.safe_dump(params),
                 "manifest.json": json.dumps({"run_id": spec.trial, "experiment": spec.experiment,
                                              "status": "completed"}),
                 "metrics.json": json.dumps({"silhouette": score, "noise_fraction": 0.1, "n_clusters": 4})}
        bucket, prefix = split_s3(spec.run_uri())
        for name, text in files.items():
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=text.encode())


@pytest.fixture
def aws(aws_env: None) -> Any:
    with moto.mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="seglab-jobs")
        yield Clients(FakeSageMaker(boto3.client("sagemaker"), s3), boto3.client("sagemaker-metrics"), s3,
                      "us-east-1")


def _plan(tmp_path: Path, name: str = "sm") -> Any:
    grid = tmp_path / f"{name}.yaml"
    grid.write_text(yaml.safe_dump({"name": name, "grid": {"cluster.eps": [0.1, 0.2, 0.3],
                                                           "cluster.min_samples": [5, 10]}}))
    return plan_sweep(load_grid(grid), resolve("params/tiny.yaml"))


def _sweep(plan: Any, runs: Path, aws: Clients, sleep: Any = lambda _s: None) -> Any:
    return run_on_sagemaker(plan, runs_dir=runs, rule=parse_rule("max silhouette"), aws=aws, options=OPTIONS,
                            max_concurrent=2, poll_s=0, echo=lambda _line: None, sleep=sleep)


def test_six_trials_two_at_a_time_pulled_and_the_best_tagged(aws: Clients, tmp_path: Path) -> None:
    plan, runs = _plan(tmp_path), tmp_path / "runs"
    result = _sweep(plan, runs, aws)
    fake = aws.sagemaker
    assert len(fake.created) == 6 and fake.max_in_flight == 2
    assert [outcome.status for outcome in result.outcomes] == ["completed"] * 6
    top = {"cluster.eps": 0.3, "cluster.min_samples": 10}
    best = next(trial for trial in plan.trials if trial.values == top)
    assert result.best["trial"] == best.run_id
    board = leaderboard(runs)
    assert len(board) == 6 and set(board["ran_on"]) == {"sagemaker"}
    assert board.set_index("trial").loc[best.run_id, "tags.best_of_sweep"] == plan.sweep_id

    again = _sweep(plan, runs, aws)
    assert len(fake.created) == 6 and len(again.skipped) == 6 and again.outcomes == []


def test_after_ctrl_c_a_rerun_watches_the_submitted_jobs_instead_of_resubmitting(aws: Clients,
                                                                               tmp_path: Path) -> None:
    plan, runs = _plan(tmp_path, "interrupted"), tmp_path / "runs"

    def interrupt(_seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _sweep(plan, runs, aws, sleep=interrupt)
    assert len(aws.sagemaker.created) == 2
    result = _sweep(plan, runs, aws)
    assert len(aws.sagemaker.created) == 6 and len(set(aws.sagemaker.created)) == 6
    assert len(result.outcomes) == 6 and not result.failed


def test_a_job_that_leaves_no_run_folder_fails_with_its_reason(aws: Clients, tmp_path: Path) -> None:
    aws.sagemaker.fail_score = 0.1 + 5 / 1000  # eps 0.1, min_samples 5
    result = _sweep(_plan(tmp_path, "fails"), tmp_path / "runs", aws)
    assert [outcome.message for outcome in result.failed] == [
        "AlgorithmError: out of memory; the job left no run folder"]
    assert len(result.outcomes) == 6 and result.best is not None


@pytest.mark.parametrize(("extra", "named"), [
    (["--on", "sagemaker"], "--on sagemaker needs --image, --role, --s3-prefix"),
    (["--on", "dask"], "--on dask needs --workers N"),
    (["--on", "sagemaker", "--workers", "2"], "--on sagemaker: --workers/--scheduler run trials on Dask"),
])
def test_sweep_where_options_are_checked(extra: list[str], named: str, tmp_path: Path, capsys: Any) -> None:
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump({"grid": {"cluster.eps": [0.1]}}))
    args = ["sweep", "--params", "params/tiny.yaml", "--grid", str(grid), "--runs-dir", str(tmp_path), *extra]
    assert main(args) == 2
    assert named in capsys.readouterr().err
