"""Faults as a suite, not a list (issue 23): after each, docs/guarantees.md's invariants hold.

A SIGKILL after each stage and inside the run's final store write, a full disk (``ulimit -f``)
before anything, during 01, during 05 and as the run ends, and a store recovered from a runs
folder of hostile folders. Every case ends with the one checker,
:func:`fault_support.check_guarantees`. The faulted runs share one driver process (seglab is
imported once, each run a fork of it), so the module stays within about two minutes.
"""

from __future__ import annotations

import json
import os
import signal

import pytest
from fault_support import (
    Faulted,
    check_guarantees,
    dead_owner,
    run_faulted,
    run_folder,
    snapshot,
)

from seglab.cli import main

pytestmark = pytest.mark.slow

STAGES = ["01_exploration", "02_dimensionality_reduction", "03_eps_search", "04_clustering",
          "05_reporting"]
KILLS = [*(f"kill-after:{stage}" for stage in STAGES), "kill:store-write"]
FULLS = ["full:start", "full:01_exploration", "full:05_reporting", "full:end"]


@pytest.fixture(scope="module")
def faulted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Faulted]:
    """Every point's run, each in its own runs folder."""
    return run_faulted(tmp_path_factory.mktemp("faults"), [*KILLS, *FULLS])


@pytest.mark.parametrize("point", KILLS)
def test_a_sigkill_at_a_stage_boundary_or_in_the_store_write_keeps_every_guarantee(faulted, point):
    run = faulted[point]
    assert run.code == -signal.SIGKILL, run.stderr
    assert json.loads((run.folder / "manifest.json").read_text())["status"] == "running"
    board = check_guarantees(run.runs, good=["victim"])
    assert board.loc[0, "status"] == "interrupted"
    assert json.loads((run.folder / "manifest.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize("point", FULLS)
def test_a_full_disk_at_any_point_is_one_line_and_keeps_every_guarantee(faulted, point):
    run = faulted[point]
    assert run.code == 2 and len(run.error_lines()) == 1 and "Traceback" not in run.stderr, run.stderr
    if point == "full:start":  # the store cannot be opened: a run it cannot record never starts
        assert "tracking" in run.error_lines()[0]
        assert not run.folder.exists()
        return
    assert "free space" in run.error_lines()[0]
    assert json.loads((run.folder / "manifest.json").read_text())["status"] == "failed"
    check_guarantees(run.runs, good=["victim"])
    assert main(["store", "recover", "--runs-dir", str(run.runs)]) == 0
    assert check_guarantees(run.runs, good=["victim"]).loc[0, "status"] == "failed"


def test_a_store_recovered_among_hostile_folders_keeps_every_good_run(tmp_path, capsys):
    runs = tmp_path / "runs"
    good = [run_folder(runs / "kept").name, run_folder(runs / "failed", status="failed").name,
            run_folder(runs / "killed", **dead_owner()).name]
    elsewhere = run_folder(tmp_path / "elsewhere" / "victim", **dead_owner())
    (runs / "linked").symlink_to(elsewhere, target_is_directory=True)
    (runs / "linked-file").symlink_to(elsewhere / "manifest.json")
    run_folder(runs / "bad-yaml", params="cluster: [unclosed\n  eps: {")
    run_folder(runs / "pid-abc", pid="abc")
    run_folder(runs / "seconds-fast", notebooks=[{"notebook": "00_kernel_setup.py", "seconds": "fast"}])
    run_folder(runs / "remote", status="running", host="elsewhere.example", pid=os.getpid())
    (runs / "not-json").mkdir()
    (runs / "not-json" / "manifest.json").write_text("{half")
    (runs / "stray.txt").write_text("not a run")
    before = snapshot(tmp_path, runs)
    capsys.readouterr()

    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    for name in ("linked", "bad-yaml", "pid-abc", "seconds-fast", "remote", "not-json"):
        assert [line for line in skipped if f"{os.sep}{name}:" in line or f"/{name} " in line
                or line.split(":")[0].endswith(name)], (name, captured.err)
    board = check_guarantees(runs, good, root=tmp_path, before=before)
    assert sorted(board["trial"]) == sorted(good)
    assert dict(zip(board["trial"], board["status"], strict=True))["killed"] == "interrupted"


def test_the_checker_catches_a_broken_guarantee(tmp_path):
    """The checker is no rubber stamp: a completed run left writable, or a store that
    disagrees with its folder, fails it."""
    runs = tmp_path / "runs"
    run_folder(runs / "kept")
    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    (runs / "kept" / "metrics.json").chmod(0o644)
    with pytest.raises(AssertionError, match="not frozen"):
        check_guarantees(runs, ["kept"])
    (runs / "kept" / "metrics.json").chmod(0o444)
    manifest = runs / "kept" / "manifest.json"
    manifest.chmod(0o644)
    manifest.write_text(json.dumps({**json.loads(manifest.read_text()), "status": "failed"}))
    manifest.chmod(0o444)
    with pytest.raises(AssertionError):
        check_guarantees(runs, ["kept"])
    clean = tmp_path / "clean"
    before = snapshot(tmp_path, clean / "runs")
    run_folder(clean / "runs" / "kept")
    (tmp_path / "outside.txt").write_text("written outside")
    with pytest.raises(AssertionError, match="outside"):
        check_guarantees(clean / "runs", root=tmp_path, before=before)
