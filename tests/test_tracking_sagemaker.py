"""SageMaker Experiments mirror: moto's in-process mock_aws for behaviour, botocore Stubber for
what moto cannot show (see docs/tracking.md for moto's gaps), and an opt-in live smoke test."""

from __future__ import annotations

import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from seglab.config import TrackingConfig
from seglab.errors import ConfigError
from seglab.tracking import Tracker, leaderboard, open_tracker, sync
from seglab.tracking.local import LocalStore
from seglab.tracking.sagemaker import SageMakerRemote, experiment_config, sagemaker_name

moto = pytest.importorskip("moto", reason="moto is in the dev extra: pip install -e '.[dev]'")

BUCKET = "seglab-artifacts"


@pytest.fixture
def mocked_aws(aws_env: None) -> Any:
    with moto.mock_aws():
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield boto3.client("sagemaker")


def _run_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "runs" / "run-1"
    (folder / "figures").mkdir(parents=True)
    (folder / "metrics.json").write_text('{"silhouette": 0.4}')
    (folder / "figures" / "kdist.png").write_bytes(b"png")
    return folder


def _record_trial(tracker: Tracker, folder: Path, trial: str = "run-1") -> None:
    params = {"cluster": {"eps": 0.3, "algorithm": "dbscan"}, "seed": 0, "flag": True}
    with tracker.start_run("Seg Lab", trial, params=params, tags={"git": "abc"}, run_dir=folder) as run:
        with run.component("reduce", params={"n_neighbors": 30}) as stage:
            stage.log_metrics({"seconds": 2.0})
        run.log_metrics({"silhouette": 0.31}, step=0)
        run.log_metrics({"silhouette": 0.42, "n_clusters": 6, "ari": None}, step=1)
        run.log_artifacts(folder)


def test_sagemaker_name_rules() -> None:
    assert sagemaker_name("Seg Lab", "run_1") == "seg-lab-run-1"
    assert sagemaker_name("Seg", lower=False) == "Seg"
    long_a, long_b = sagemaker_name("x" * 200 + "a"), sagemaker_name("x" * 200 + "b")
    assert len(long_a) == 120 and long_a != long_b
    assert sagemaker_name("__") == "seglab"


def test_trial_lands_in_describe_and_list(mocked_aws: Any, tmp_path: Path) -> None:
    config = TrackingConfig(backend="sagemaker", s3_prefix=f"s3://{BUCKET}/seglab")
    tracker = open_tracker(config, store_dir=tmp_path / "runs")
    assert tracker.backend == "sagemaker"
    _record_trial(tracker, _run_folder(tmp_path))

    sm = mocked_aws
    experiments = [e["ExperimentName"] for e in sm.list_experiments()["ExperimentSummaries"]]
    assert experiments == ["seg-lab"]
    trials = sm.list_trials(ExperimentName="seg-lab")["TrialSummaries"]
    assert [t["TrialName"] for t in trials] == ["seg-lab-run-1"]
    components = sm.list_trial_components(TrialName="seg-lab-run-1")["TrialComponentSummaries"]
    names = sorted(c["TrialComponentName"] for c in components)
    assert names == ["seg-lab-run-1-reduce", "seg-lab-run-1-run"]

    summary = sm.describe_trial_component(TrialComponentName="seg-lab-run-1-run")
    assert summary["Status"]["PrimaryStatus"] == "Completed"
    assert summary["Parameters"]["cluster.eps"] == {"NumberValue": 0.3}
    assert summary["Parameters"]["cluster.algorithm"] == {"StringValue": "dbscan"}
    assert summary["Parameters"]["flag"] == {"StringValue": "true"}
    metrics = {m["MetricName"]: m for m in summary["Metrics"]}
    assert metrics["silhouette"]["Last"] == 0.42 and metrics["silhouette"]["Count"] == 2
    assert metrics["n_clusters"]["Last"] == 6.0 and "ari" not in metrics
    uri = summary["OutputArtifacts"]["figures/kdist.png"]["Value"]
    assert uri == f"s3://{BUCKET}/seglab/Seg Lab/run-1/figures/kdist.png"
    assert summary["OutputArtifacts"]["figures/kdist.png"]["MediaType"] == "image/png"
    body = boto3.client("s3").get_object(Bucket=BUCKET, Key=uri.split("/", 3)[3])["Body"]
    assert body.read() == b"png"

    stage = sm.describe_trial_component(TrialComponentName="seg-lab-run-1-reduce")
    assert stage["Parameters"] == {"n_neighbors": {"NumberValue": 30.0}}
    assert stage["Metrics"][0]["MetricName"] == "seconds"

    board = leaderboard(tmp_path / "runs")
    assert board.loc[0, "backend"] == "local+sagemaker"
    assert board.loc[0, "sync"] == "sagemaker:synced"


def test_without_s3_prefix_artifacts_are_local_paths(mocked_aws: Any, tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    tracker = Tracker(LocalStore(tmp_path / "runs"), SageMakerRemote())
    _record_trial(tracker, folder)
    summary = mocked_aws.describe_trial_component(TrialComponentName="seg-lab-run-1-run")
    assert summary["OutputArtifacts"]["metrics.json"]["Value"] == str(folder / "metrics.json")


def test_experiment_config_for_estimator_fit(mocked_aws: Any) -> None:
    config = experiment_config("Seg Lab", "run 7", display_name="xgb training")
    assert config == {
        "ExperimentName": "seg-lab",
        "TrialName": "seg-lab-run-7",
        "TrialComponentDisplayName": "xgb-training",
    }
    assert mocked_aws.describe_trial(TrialName="seg-lab-run-7")["ExperimentName"] == "seg-lab"


def test_bad_s3_prefix_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"tracking\.s3_prefix"):
        SageMakerRemote("bucket/prefix")


# ---- botocore Stubber: behaviour moto does not reproduce ------------------------------------


def _client_error(code: str, message: str, status: int = 400) -> dict[str, Any]:
    return {"service_error_code": code, "service_message": message, "http_status_code": status}


def _stubbed(aws_env: None) -> tuple[SageMakerRemote, Stubber, Stubber]:
    remote = SageMakerRemote()
    clients = remote.clients()
    sm, metrics = Stubber(clients.sagemaker), Stubber(clients.metrics)
    sm.activate()
    metrics.activate()
    return remote, sm, metrics


def _simple_trial(tracker: Tracker, trial: str = "run-1") -> None:
    with tracker.start_run("exp", trial, params={"eps": 0.3}) as run:
        run.log_metrics({"silhouette": 0.4, "n_clusters": 5})


def test_already_exists_is_success_and_updates_in_place(aws_env: None, tmp_path: Path) -> None:
    remote, sm, metrics = _stubbed(aws_env)
    exists = _client_error("ValidationException", "Experiment 'exp' already exists.")
    sm.add_client_error("create_experiment", **exists)
    sm.add_client_error("create_trial", **exists)
    sm.add_client_error("create_trial_component", **exists)
    sm.add_response("update_trial_component", {"TrialComponentArn": "arn:tc"})
    sm.add_response(
        "describe_trial_component",
        {"Metrics": [{"MetricName": "silhouette"}]},
        {"TrialComponentName": "exp-run-1-run"},
    )
    sm.add_client_error(
        "associate_trial_component",
        **_client_error("ValidationException", "Component is already associated with trial"),
    )
    only_new_metric = [{"MetricName": "n_clusters", "Timestamp": ANY, "Step": 0, "Value": 5.0}]
    metrics.add_response(
        "batch_put_metrics",
        {},
        {"TrialComponentName": "exp-run-1-run", "MetricData": only_new_metric},
    )
    tracker = Tracker(LocalStore(tmp_path), remote)
    _simple_trial(tracker)
    sm.assert_no_pending_responses()
    metrics.assert_no_pending_responses()
    assert leaderboard(tmp_path).loc[0, "sync"] == "sagemaker:synced"


def test_update_sends_the_full_parameter_map(aws_env: None, tmp_path: Path) -> None:
    remote, sm, _ = _stubbed(aws_env)
    exists = _client_error("ValidationException", "already exists")
    sm.add_client_error("create_experiment", **exists)
    sm.add_client_error("create_trial", **exists)
    sm.add_client_error("create_trial_component", **exists)
    sm.add_response(
        "update_trial_component",
        {},
        {
            "TrialComponentName": "exp-run-1-run",
            "DisplayName": "run",
            "Status": {"PrimaryStatus": "Completed"},
            "StartTime": ANY,
            "EndTime": ANY,
            "Parameters": {"eps": {"NumberValue": 0.3}, "algo": {"StringValue": "dbscan"}},
            "InputArtifacts": {},
            "OutputArtifacts": {},
        },
    )
    sm.add_response("describe_trial_component", {"Metrics": []})
    sm.add_response("associate_trial_component", {})
    tracker = Tracker(LocalStore(tmp_path), remote)
    with tracker.start_run("exp", "run-1", params={"eps": 0.3, "algo": "dbscan"}):
        pass
    sm.assert_no_pending_responses()


def test_throttling_keeps_local_complete_and_sync_replays(
    mocked_aws: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    remote, sm, _ = _stubbed(None)
    sm.add_client_error("create_experiment", **_client_error("ThrottlingException", "Rate exceeded", 400))
    tracker = Tracker(LocalStore(tmp_path), remote)
    with caplog.at_level(logging.WARNING, logger="seglab.tracking"):
        _simple_trial(tracker)
    assert "not in sagemaker" in caplog.text and "seglab sync" in caplog.text
    board = leaderboard(tmp_path)
    assert board.loc[0, "status"] == "completed"
    assert board.loc[0, "metrics.silhouette"] == 0.4
    assert board.loc[0, "sync"] == "sagemaker:failed"

    results = sync(tmp_path)  # moto now answers (the stubbed client is not used by sync)
    assert [(r.trial, r.error) for r in results] == [("run-1", None)]
    assert leaderboard(tmp_path).loc[0, "sync"] == "sagemaker:synced"
    tc = mocked_aws.describe_trial_component(TrialComponentName="exp-run-1-run")
    assert {m["MetricName"] for m in tc["Metrics"]} == {"silhouette", "n_clusters"}
    assert sync(tmp_path) == []  # nothing left to replay


def test_partial_batch_put_metrics_errors_mark_unsynced(aws_env: None, tmp_path: Path) -> None:
    remote, sm, metrics = _stubbed(aws_env)
    for operation in ("create_experiment", "create_trial", "create_trial_component"):
        sm.add_response(operation, {})
    sm.add_response("associate_trial_component", {})
    metrics.add_response("batch_put_metrics", {"Errors": [{"Code": "VALIDATION_ERROR", "MetricIndex": 1}]})
    tracker = Tracker(LocalStore(tmp_path), remote)
    _simple_trial(tracker)
    record = tracker.store.record("run-1")
    assert len(record.summary.metrics) == 2  # the local store has everything
    (row,) = tracker.store.unsynced()
    assert row[:2] == ("run-1", "sagemaker")
    error = tracker.store._conn.execute("SELECT error FROM syncs").fetchone()[0]
    assert "exp-run-1-run/n_clusters (VALIDATION_ERROR)" in error


def test_expired_credentials_never_fail_the_run(aws_env: None, tmp_path: Path) -> None:
    remote, sm, _ = _stubbed(aws_env)
    sm.add_client_error(
        "create_experiment",
        **_client_error("ExpiredTokenException", "The security token included has expired"),
    )
    tracker = Tracker(LocalStore(tmp_path), remote)
    _simple_trial(tracker)
    board = leaderboard(tmp_path)
    assert board.loc[0, "status"] == "completed"
    assert board.loc[0, "params.eps"] == 0.3
    assert board.loc[0, "sync"] == "sagemaker:failed"


def test_no_region_is_a_sync_failure_not_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    tracker = open_tracker(TrackingConfig(backend="sagemaker"), store_dir=tmp_path)
    _simple_trial(tracker)
    assert leaderboard(tmp_path).loc[0, "sync"] == "sagemaker:failed"


# ---- live smoke test (never in CI) -----------------------------------------------------------


@pytest.mark.aws
@pytest.mark.skipif(os.environ.get("SEGLAB_AWS_LIVE") != "1", reason="live AWS test: set SEGLAB_AWS_LIVE=1")
def test_live_round_trip(tmp_path: Path) -> None:
    experiment = f"seglab-smoke-{uuid.uuid4().hex[:8]}"
    tracker = open_tracker(TrackingConfig(backend="sagemaker"), store_dir=tmp_path)
    with tracker.start_run(experiment, "smoke", params={"eps": 0.3}) as run:
        run.log_metrics({"silhouette": 0.4})
    sm = boto3.client("sagemaker")
    try:
        assert leaderboard(tmp_path).loc[0, "sync"] == "sagemaker:synced"
        tc = sm.describe_trial_component(TrialComponentName=f"{experiment}-smoke-run")
        assert tc["Parameters"]["eps"] == {"NumberValue": 0.3}
        assert tc["Status"]["PrimaryStatus"] == "Completed"
        assert tc["LastModifiedTime"] <= datetime.now(UTC)
    finally:
        trial = f"{experiment}-smoke"
        for summary in sm.list_trial_components(TrialName=trial)["TrialComponentSummaries"]:
            name = summary["TrialComponentName"]
            sm.disassociate_trial_component(TrialComponentName=name, TrialName=trial)
            sm.delete_trial_component(TrialComponentName=name)
        sm.delete_trial(TrialName=trial)
        sm.delete_experiment(ExperimentName=experiment)
