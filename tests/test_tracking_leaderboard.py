"""Leaderboard (DataFrame), the ``seglab runs`` / ``seglab sync`` commands and the offline guard."""

from __future__ import annotations

import argparse
import io
import json
import socket
from pathlib import Path

import pandas as pd
import pytest

from seglab.config import TrackingConfig
from seglab.errors import SeglabError
from seglab.tracking import leaderboard, open_tracker
from seglab.tracking_cli import add_commands


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """Four trials: two experiments, one failed without metrics, one lacking silhouette."""
    tracker = open_tracker(TrackingConfig(backend="local"), store_dir=tmp_path)
    trials = [
        ("a", "exp", {"cluster": {"eps": 0.2}, "seed": 0}, {"silhouette": 0.30, "n_clusters": 4}),
        ("b", "exp", {"cluster": {"eps": 0.4}, "seed": 0}, {"silhouette": 0.55, "n_clusters": 7}),
        ("c", "exp", {"cluster": {"eps": 0.6}, "seed": 0}, {"n_clusters": 1}),
        ("d", "other", {"cluster": {"eps": 0.3}, "seed": 0}, {"silhouette": 0.90}),
    ]
    for trial, experiment, params, metrics in trials:
        with tracker.start_run(experiment, trial, params=params, tags={"git": "abc"}) as run:
            run.log_metrics(metrics)
    with pytest.raises(RuntimeError), tracker.start_run("exp", "e", params={"seed": 1}):
        raise RuntimeError
    tracker.close()
    return tmp_path


def test_columns_and_one_row_per_trial(store: Path) -> None:
    board = leaderboard(store)
    assert len(board) == 5
    for column in ("trial", "status", "started_at", "seconds", "backend", "run_dir"):
        assert column in board
    assert {"params.cluster.eps", "metrics.silhouette", "tags.git"} <= set(board.columns)
    assert board["backend"].unique().tolist() == ["local"]
    assert list(board["trial"]) == ["e", "d", "c", "b", "a"]  # newest first by default
    assert pd.api.types.is_float_dtype(board["metrics.silhouette"])


def test_sort_by_metric_puts_missing_last(store: Path) -> None:
    board = leaderboard(store, experiment="exp", sort="silhouette")
    assert list(board["trial"][:2]) == ["b", "a"]
    assert set(board["trial"][2:]) == {"c", "e"}
    ascending = leaderboard(store, experiment="exp", sort="+silhouette")
    assert list(ascending["trial"][:2]) == ["a", "b"]
    by_param = leaderboard(store, experiment="exp", sort="cluster.eps")
    assert list(by_param["trial"][:3]) == ["a", "b", "c"]


def test_filters(store: Path) -> None:
    assert list(leaderboard(store, filters=[("status", "=", "failed")])["trial"]) == ["e"]
    board = leaderboard(store, filters=[("cluster.eps", ">=", "0.3"), ("n_clusters", "<", "5")])
    assert list(board["trial"]) == ["c"]
    with pytest.raises(SeglabError, match="unknown operator"):
        leaderboard(store, filters=[("eps", "~", "1")])
    with pytest.raises(SeglabError, match="is numeric, give a number"):
        leaderboard(store, filters=[("silhouette", ">", "high")])
    with pytest.raises(SeglabError, match="no column 'nope'"):
        leaderboard(store, sort="nope")


def test_empty_store(tmp_path: Path) -> None:
    board = leaderboard(tmp_path)
    assert board.empty and "trial" in board


def _cli(*argv: str) -> tuple[int, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="seglab")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args), args


def test_runs_command_formats(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _cli("runs", "--runs-dir", str(store), "--experiment", "exp", "--sort", "silhouette")
    table = capsys.readouterr().out
    assert code == 0
    lines = table.splitlines()
    assert "silhouette" in lines[0] and "cluster.eps" in lines[0]
    assert "seed" in lines[0]  # differs between runs (0 and 1)
    assert lines[1].split()[0] == "b"

    _cli("runs", "--runs-dir", str(store), "--format", "json", "--filter", "status", "=", "failed")
    records = json.loads(capsys.readouterr().out)
    assert [r["trial"] for r in records] == ["e"] and records[0]["params.seed"] == 1

    _cli("runs", "--runs-dir", str(store), "--format", "csv")
    assert len(pd.read_csv(io.StringIO(capsys.readouterr().out))) == 5

    out = store / "board.html"
    _cli("runs", "--runs-dir", str(store), "--format", "html", "--output", str(out))
    assert out.read_text().count("</tr>") == 6  # header + 5 runs


def test_runs_command_chosen_columns(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _cli("runs", "--runs-dir", str(store), "--columns", "trial,silhouette,cluster.eps")
    assert code == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["trial", "silhouette", "cluster.eps"]
    with pytest.raises(SeglabError, match="no column 'nope'"):
        _cli("runs", "--runs-dir", str(store), "--columns", "trial,nope")


def test_sync_command_with_nothing_to_do(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _cli("sync", "--runs-dir", str(store))
    assert code == 0
    assert "0 synced, 0 failed" in capsys.readouterr().err


def test_offline_guard_blocks_non_loopback_connections() -> None:
    with socket.socket() as sock, pytest.raises(RuntimeError, match="the suite is offline"):
        sock.connect(("192.0.2.1", 443))  # TEST-NET-1: never reached
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.connect(server.getsockname())  # loopback stays allowed
