"""The local SQLite tracking store and the tracker interface."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from seglab.config import TrackingConfig
from seglab.errors import SeglabError
from seglab.tracking import leaderboard, open_tracker
from seglab.tracking.backends import resolve_backend
from seglab.tracking.local import DB_NAME, SCHEMA_VERSION, LocalStore


def _local(tmp_path: Path):
    return open_tracker(TrackingConfig(backend="local"), store_dir=tmp_path)


def test_round_trip_trial_components_artifacts(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-1"
    (run_dir / "figures").mkdir(parents=True)
    (run_dir / "metrics.json").write_text("{}")
    (run_dir / "figures" / "kdist.png").write_bytes(b"png")
    (run_dir / ".hidden").write_text("x")
    tracker = _local(tmp_path)
    params = {"seed": 3, "cluster": {"eps": 0.3, "baselines": ["kmeans"]}, "data": {"label": None}}
    tags = {"git": "abc", "versions": {"python": "3.11"}, "gpu": None}
    with tracker.start_run("exp", "run-1", params=params, tags=tags, run_dir=run_dir) as run:
        with run.component("reduce", params={"n_neighbors": 30}) as stage:
            stage.log_metrics({"seconds": 1.5})
            stage.log_artifact(run_dir / "figures" / "kdist.png")
        run.log_metric("silhouette", 0.31, step=0)
        run.log_metrics({"silhouette": 0.42, "ari": None, "backend": "cpu", "ok": True}, step=1)
        run.log_input("data", "s3://bucket/customers.parquet")
        artifacts = run.log_artifacts(run_dir)

    record = tracker.store.record("run-1")
    assert record.summary.status == "completed" and record.summary.ended_at is not None
    assert record.summary.params == {
        "seed": 3,
        "cluster.eps": 0.3,
        "cluster.baselines": '["kmeans"]',
        "data.label": None,
    }
    assert record.summary.tags == {"git": "abc", "versions.python": "3.11", "backend": "cpu"}
    assert [(p.key, p.value, p.step) for p in record.summary.metrics] == [
        ("silhouette", 0.31, 0),
        ("silhouette", 0.42, 1),
        ("ok", 1.0, 1),
    ]
    assert sorted(a.name for a in artifacts) == ["figures/kdist.png", "metrics.json"]
    assert {(a.kind, a.name) for a in record.summary.artifacts} >= {
        ("input", "data"),
        ("output", "metrics.json"),
    }
    (stage_record,) = record.components
    assert stage_record.name == "reduce" and stage_record.status == "completed"
    assert stage_record.params == {"n_neighbors": 30}
    assert stage_record.artifacts[0].name == "figures/kdist.png"
    assert Path(stage_record.artifacts[0].uri).is_absolute()


def test_exception_marks_trial_and_running_component_failed(tmp_path: Path) -> None:
    tracker = _local(tmp_path)
    with pytest.raises(RuntimeError), tracker.start_run("exp", "bad") as run:
        run.component("features")
        raise RuntimeError("notebook cell failed")
    record = tracker.store.record("bad")
    assert record.summary.status == "failed"
    assert record.components[0].status == "failed"


def test_explicit_end_and_interrupt(tmp_path: Path) -> None:
    tracker = _local(tmp_path)
    run = tracker.start_run("exp", "stopped")
    run.end("failed")
    run.end("completed")  # a second end changes nothing
    with pytest.raises(KeyboardInterrupt), tracker.start_run("exp", "ctrl-c"):
        raise KeyboardInterrupt
    assert tracker.store.record("stopped").summary.status == "failed"
    assert tracker.store.record("ctrl-c").summary.status == "interrupted"


def test_duplicate_trial_and_missing_artifact_are_one_line_errors(tmp_path: Path) -> None:
    tracker = _local(tmp_path)
    run = tracker.start_run("exp", "r1")
    with pytest.raises(SeglabError, match="artifact file not found"):
        run.log_artifact(tmp_path / "nope.png")
    run.end()
    with pytest.raises(SeglabError, match="already exists"):
        tracker.start_run("exp", "r1")


def test_schema_is_versioned_and_newer_files_are_refused(tmp_path: Path) -> None:
    LocalStore(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SeglabError, match="newer than this seglab"):
        LocalStore(tmp_path)


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_text("this is not sqlite " * 100)
    with pytest.raises(SeglabError, match=r"tracking store is damaged.*seglab store recover"):
        LocalStore(tmp_path)


def _sweep_worker(store_dir: str, worker: int, runs: int) -> None:
    tracker = open_tracker(TrackingConfig(backend="local"), store_dir=store_dir)
    for index in range(runs):
        params = {"worker": worker, "index": index, "cluster": {"eps": 0.1 * index, "min": 5}}
        with tracker.start_run("sweep", f"w{worker}-r{index}", params=params) as run:
            with run.component("cluster", params={"k": index}) as stage:
                stage.log_metrics({"seconds": 0.01})
            run.log_metrics({"silhouette": index / runs, "n_clusters": worker, "noise": 0.1})
    tracker.close()


def test_eight_processes_fifty_runs_each(tmp_path: Path) -> None:
    workers, runs = 8, 50
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    processes = [
        context.Process(target=_sweep_worker, args=(str(tmp_path), worker, runs)) for worker in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    elapsed = time.perf_counter() - started

    board = leaderboard(tmp_path, experiment="sweep")
    assert len(board) == workers * runs == board["trial"].nunique()
    assert (board["status"] == "completed").all()
    params = ["params.worker", "params.index", "params.cluster.eps", "params.cluster.min"]
    metrics = ["metrics.silhouette", "metrics.n_clusters", "metrics.noise"]
    assert board[params + metrics].notna().all().all()
    assert sorted(board["params.worker"].unique()) == list(range(workers))
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM components").fetchone()[0] == 400
    print(f"8x50 concurrent runs: {elapsed:.2f} s")


KILLED_RUN = textwrap.dedent(
    """
    import sys
    from seglab.config import TrackingConfig
    from seglab.tracking import open_tracker

    tracker = open_tracker(TrackingConfig(backend="local"), store_dir=sys.argv[1])
    run = tracker.start_run("exp", "doomed", params={"eps": 0.3})
    stage = run.component("reduce")
    print("ready", flush=True)
    step = 0
    while True:
        stage.log_metrics({"progress": step}, step=step)
        step += 1
    """
)


def test_sigkill_mid_run_is_reported_interrupted(tmp_path: Path) -> None:
    tracker = _local(tmp_path)
    with tracker.start_run("exp", "survivor", params={"eps": 0.2}) as run:
        run.log_metrics({"silhouette": 0.5})
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUN, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    time.sleep(0.3)  # let it write for a while
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)

    board = leaderboard(tmp_path).set_index("trial")
    assert board.loc["doomed", "status"] == "interrupted"
    assert board.loc["survivor", "status"] == "completed"
    assert board.loc["survivor", "metrics.silhouette"] == 0.5
    record = tracker.store.record("doomed")
    assert record.components[0].status == "interrupted"
    assert len(record.components[0].metrics) > 10  # it was killed mid-run, while writing
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_live_run_is_not_reaped(tmp_path: Path) -> None:
    tracker = _local(tmp_path)
    run = tracker.start_run("exp", "alive")
    assert tracker.store.reap() == []
    assert leaderboard(tmp_path).loc[0, "status"] == "running"
    run.end()


def test_auto_backend_without_remote_configuration_is_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ("MLFLOW_TRACKING_URI", "AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_REGION")
    for name in (*names, "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert resolve_backend(TrackingConfig()) == "local"
    assert open_tracker(store_dir=tmp_path).backend == "local"


def test_auto_backend_picks_sagemaker_with_env_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    assert resolve_backend(TrackingConfig()) == "sagemaker"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    assert resolve_backend(TrackingConfig()) == "local"  # no region: nothing to talk to
