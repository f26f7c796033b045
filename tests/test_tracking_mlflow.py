"""MLflow mirror against a real ``mlflow server`` on 127.0.0.1, directly and through a SageMaker
managed-MLflow ARN (the ``sagemaker-mlflow`` plugin, pointed at the same server).

Needs the mlflow extra: ``pip install -e '.[mlflow]'``, then ``pytest -m mlflow``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from seglab.config import TrackingConfig
from seglab.tracking import Tracker, leaderboard, open_tracker

if os.environ.get("CI") == "true":  # .ci/run installs the extra: a missing one fails, never skips
    import mlflow
else:
    mlflow = pytest.importorskip(
        "mlflow", reason="mlflow extra not installed: pip install -e '.[mlflow]' then pytest -m mlflow"
    )

pytestmark = [pytest.mark.mlflow, pytest.mark.slow]

ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/seglab-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free loopback port (artifacts written by the client to files)."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--default-artifact-root", (root / "artifacts").as_uri(),
        "--no-serve-artifacts",
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, cwd=root, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        _stop(process)
        log.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (its own process group, started above)."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _record(tracker: Tracker, folder: Path, trial: str) -> None:
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "kdist.png").write_bytes(b"png")
    with tracker.start_run("seglab-mlflow", trial, params={"cluster": {"eps": 0.3}}, run_dir=folder) as run:
        with run.component("reduce", params={"n_neighbors": 30}) as stage:
            stage.log_metrics({"seconds": 2.0})
        for step, value in enumerate((0.31, 0.42)):
            run.log_metrics({"silhouette": value}, step=step)
        run.log_artifacts(folder)


def _runs(url: str, trial: str) -> tuple[object, list[object]]:
    client = mlflow.MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name("seglab-mlflow")
    runs = client.search_runs([experiment.experiment_id], filter_string=f"tags.`seglab.key` = '{trial}'")
    children = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`mlflow.parentRunId` = '{runs[0].info.run_id}'",
    )
    return runs[0], children


def test_trial_and_stages_land_in_mlflow(server: str, tmp_path: Path) -> None:
    tracker = open_tracker(TrackingConfig(backend="mlflow", mlflow_uri=server), tmp_path / "runs")
    _record(tracker, tmp_path / "runs" / "r1", "r1")
    parent, children = _runs(server, "r1")
    assert parent.info.status == "FINISHED"
    assert parent.data.params == {"cluster.eps": "0.3"}
    assert parent.data.metrics == {"silhouette": 0.42}
    history = mlflow.MlflowClient(server).get_metric_history(parent.info.run_id, "silhouette")
    assert [(m.step, m.value) for m in history] == [(0, 0.31), (1, 0.42)]
    artifacts = mlflow.MlflowClient(server).list_artifacts(parent.info.run_id, "figures")
    assert [a.path for a in artifacts] == ["figures/kdist.png"]
    (child,) = children
    assert child.info.run_name == "reduce" and child.data.metrics == {"seconds": 2.0}
    assert leaderboard(tmp_path / "runs").loc[0, "sync"] == "mlflow:synced"

    # idempotent: pushing the same trial again adds no run and no metric point
    tracker.remote.push(tracker.store.record("r1"))
    parent_again, _ = _runs(server, "r1")
    assert parent_again.info.run_id == parent.info.run_id
    history = mlflow.MlflowClient(server).get_metric_history(parent.info.run_id, "silhouette")
    assert len(history) == 2


def test_sagemaker_managed_mlflow_arn_through_plugin(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("sagemaker_mlflow", reason="sagemaker-mlflow not installed")
    monkeypatch.setenv("SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", ARN)
    tracker = open_tracker(TrackingConfig(), tmp_path / "runs")  # auto picks mlflow from the env
    assert tracker.backend == "mlflow"
    _record(tracker, tmp_path / "runs" / "r2", "r2")
    parent, children = _runs(server, "r2")
    assert parent.data.metrics == {"silhouette": 0.42} and len(children) == 1


def test_unreachable_server_leaves_the_local_record(tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    tracker = open_tracker(TrackingConfig(backend="mlflow", mlflow_uri=uri), tmp_path)
    started = time.monotonic()
    with tracker.start_run("exp", "offline", params={"eps": 0.3}) as run:
        run.log_metrics({"silhouette": 0.5})
    assert time.monotonic() - started < 20  # bounded retries, not MLflow's ~4 minutes
    board = leaderboard(tmp_path)
    assert board.loc[0, "metrics.silhouette"] == 0.5
    assert board.loc[0, "sync"] == "mlflow:failed"


def test_outage_warning_keeps_its_cause(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    uri = f"http://127.0.0.1:{_free_port()}/{'x' * 400}"  # a long URL pushes the cause far out
    tracker = open_tracker(TrackingConfig(backend="mlflow", mlflow_uri=uri), tmp_path)
    with caplog.at_level("WARNING"), tracker.start_run("exp", "offline-cause"):
        pass
    (warning,) = [record.getMessage() for record in caplog.records if "seglab sync" in record.message]
    assert "Connection refused" in warning
    assert leaderboard(tmp_path).loc[0, "sync"] == "mlflow:failed"


def test_push_prints_no_banners_and_stores_no_credentials(
    server: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from seglab.cli import main

    secret_uri = server.replace("http://", "http://alice:s3cret@")
    code = main(["run", "--engine", "direct", "--params", "params/tiny.yaml",
                 "--runs-dir", str(tmp_path / "runs"), "--run-id", "quiet", "--experiment", "seglab-mlflow",
                 "--set", "reduce.method=none", "--set", "cluster.baselines=[]",
                 "--set", "report.stability_draws=0", "--set", "tracking.backend=mlflow",
                 "--set", f"tracking.mlflow_uri={secret_uri}"])
    out, _err = capfd.readouterr()
    assert code == 0
    assert "View run" not in out and "View experiment" not in out
    assert len(out.splitlines()) == 2, out  # the run line and the summary line
    parent, _children = _runs(server, "quiet")
    assert "s3cret" not in str(parent.data.params) and "s3cret" not in str(parent.data.tags)
    assert parent.data.params["tracking.mlflow_uri"].startswith("http://***@127.0.0.1")
    assert "s3cret" not in (tmp_path / "runs" / "quiet" / "params.yaml").read_text()
