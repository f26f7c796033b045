"""Faults injected into ``seglab run`` and the one checker of docs/guarantees.md (issue 23).

A fault is a *point*: ``kill-after:<stage>`` (SIGKILL once that stage's function returns),
``kill:store-write`` (SIGKILL inside the run's final store transaction, before its COMMIT),
``kill:before-final-manifest``, ``kill:after-final-manifest``, ``kill:store-end`` (around the
commit point), ``full:start``, ``full:<stage>`` or ``full:end`` (``ulimit -f`` of
:data:`FULL_KB` from that point on: before anything, as that stage starts, as the run ends).

:func:`run_faulted` runs each point in a child forked from one driver process that imported
seglab once (the imports, not the tiny runs, are most of a run's cost), and
:func:`check_guarantees` is the one checker every fault test ends with.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from seglab import liveness
from seglab.cli import main
from seglab.paths import repo_root
from seglab.runfolder import FINAL_STATUSES, RunFolder, manifest_status
from seglab.tracking import leaderboard

TINY = "params/tiny.yaml"
FAST = ["reduce.method=none", "cluster.baselines=[]", "report.stability_draws=0"]
QUICK = [*FAST, "cluster.algorithm=dbscan", "metrics.bootstrap=50"]
"""FAST without model selection: a tiny run in seconds, every stage and file still written."""
FULL_KB = 8
"""The file size limit of a ``full:`` point: the store's WAL and every sizeable file hit it."""

DRIVER = r"""
import json, os, resource, signal, sys, traceback

from seglab import runner, stages
from seglab.cli import main
from seglab.tracking import local

FULL = int(sys.argv[2]) * 1024


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def full():
    resource.setrlimit(resource.RLIMIT_FSIZE, (FULL, FULL))


def inject(point):
    replace, end, touch, track, finish = (os.replace, local.LocalStore.end, local._touch,
                                          runner._track, runner._finish)
    ending_run = []

    def replacing(source, target):
        final = str(target).endswith("manifest.json") and json.loads(open(source).read()).get(
            "status") in ("completed", "failed", "interrupted")
        if final and point == "kill:before-final-manifest":
            die()
        replace(source, target)
        if final and point == "kill:after-final-manifest":
            die()

    def store_ending(self, trial, component, status):
        if not component and point == "kill:store-end":
            die()
        end(self, trial, component, status)

    def touching(conn, trial, now):  # inside a store write's transaction, before its COMMIT
        touch(conn, trial, now)
        if ending_run and point == "kill:store-write":
            die()

    def tracking(trial, folder):
        ending_run.append(True)
        track(trial, folder)

    def finishing(*args, **kwargs):
        if point == "full:end":
            full()
        finish(*args, **kwargs)

    def staged(name, stage):
        def run(folder, config):
            if point == f"full:{name}":
                full()
            stage(folder, config)
            if point == f"kill-after:{name}":
                die()
        return run

    os.replace, local.LocalStore.end, local._touch = replacing, store_ending, touching
    runner._track, runner._finish = tracking, finishing
    for name, stage in list(stages.NOTEBOOK_STAGES.items()):
        stages.NOTEBOOK_STAGES[name] = staged(name, stage)
    if point == "full:start":
        full()


def child(job):
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 2)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    signal.alarm(240)  # a hung child ends; its test then fails on the exit code
    code = 99
    try:
        inject(job["point"])
        code = main(job["argv"])
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


codes = {}
for job in json.loads(sys.argv[1]):
    pid = os.fork()
    if pid == 0:
        child(job)
    codes[job["point"]] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(codes))
"""


@dataclass(frozen=True)
class Faulted:
    """One faulted run: its runs folder, exit code (``-9``: killed) and stderr."""

    point: str
    runs: Path
    code: int
    stderr: str

    @property
    def folder(self) -> Path:
        return self.runs / "victim"

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("seglab: error:")]


def run_argv(runs: Path, run_id: str, overrides: Iterable[str] = QUICK) -> list[str]:
    """``seglab run`` arguments for a tiny direct run of ``run_id`` under ``runs``."""
    argv = ["run", "--engine", "direct", "--params", TINY, "--runs-dir", str(runs), "--run-id", run_id]
    for override in overrides:
        argv += ["--set", override]
    return argv


def run_faulted(root: Path, points: Iterable[str], overrides: Iterable[str] = QUICK,
                timeout: float = 900) -> dict[str, Faulted]:
    """Run ``victim`` once per point, each under ``root/<point>/runs``, logs in ``root/logs``."""
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    jobs = []
    for point in points:
        slug = point.replace(":", "-")
        jobs.append({"point": point, "log": str(logs / f"{slug}.err"),
                     "argv": run_argv(root / slug / "runs", "victim", overrides)})
    env = {**os.environ, "TQDM_DISABLE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}  # no thread pool in the driver: its forks stay sound
    done = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs), str(FULL_KB)],
                          cwd=repo_root(), capture_output=True, text=True, timeout=timeout, env=env)
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout.strip().splitlines()[-1])
    return {job["point"]: Faulted(job["point"], Path(job["argv"][6]), codes[job["point"]],
                                  Path(job["log"]).read_text()) for job in jobs}


def dead_owner() -> dict:
    """A running manifest's owner facts, of a process that has ended on this host."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return {"status": "running", "pid": int(dead.stdout), "pid_started": time.time() - 5,
            "host": os.uname().nodename}


def run_folder(path: Path, params: str = "experiment: hostile\ncluster:\n  eps: 0.3\n",
               **manifest: object) -> Path:
    """A small run folder as `seglab run` leaves one (a finished one frozen), its manifest
    updated with ``manifest``."""
    folder = RunFolder(path).create()
    folder.params.write_text(params)
    folder.write_json(folder.metrics, {"silhouette": 0.5, "verdict": "clear"})
    facts = {"run_id": path.name, "experiment": "hostile", "status": "completed",
             "started_at": "2026-01-01T00:00:00+00:00", "ended_at": "2026-01-01T00:01:00+00:00",
             "notebooks": [{"notebook": "00_kernel_setup.py", "status": "completed", "seconds": 1.5}],
             "host": os.uname().nodename, "pid": 1, "pid_started": 1.0, **manifest}
    folder.write_json(folder.manifest, facts)
    if facts["status"] in FINAL_STATUSES:
        folder.freeze()
    return path


def snapshot(root: Path, runs: Path) -> dict[str, bytes]:
    """Every file under ``root`` outside ``runs`` (links as their target's name), with its bytes."""
    found = {}
    for path in root.rglob("*"):
        if path == runs or runs in path.parents:
            continue
        if path.is_symlink():
            found[str(path.relative_to(root))] = os.readlink(path).encode()
        elif path.is_file():
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def check_guarantees(runs: Path, good: Iterable[str] = (), *, root: Path | None = None,
                     before: Mapping[str, bytes] | None = None) -> pd.DataFrame:
    """docs/guarantees.md's invariants on ``runs`` after a fault; returns the leaderboard.

    - a reader (`seglab runs`' leaderboard: the store's reaper, then each dead run's folder
      settled) leaves no run of this host ``running``, and the manifest and the store agree on
      every run folder the store records;
    - a run that ended itself (manifest sealed read-only, or ``completed``/``failed``) is
      frozen: no file has a write bit;
    - nothing outside ``runs`` changed (``before``: :func:`snapshot` of ``root`` before the
      fault), and the project's checkout holds no new entry;
    - ``seglab runs --format csv`` exits 0 and lists every run of ``good`` with its status.
    """
    project = sorted(os.listdir(repo_root()))
    board = leaderboard(runs)
    stored = dict(zip(board["trial"], board["status"], strict=True)) if len(board) else {}
    for trial, status in stored.items():
        assert status in FINAL_STATUSES, f"{trial} still reads {status} after a reader"
    for path in sorted(runs.iterdir()):
        if path.is_symlink() or not (path / "manifest.json").is_file():
            continue
        folder = RunFolder(path)
        try:
            manifest = folder.read_json(folder.manifest)
            status = manifest_status(manifest)
        except (ValueError, TypeError):
            continue  # a malformed folder: recovery skips it, nothing to agree with
        if manifest.get("host") not in (None, liveness.HOST):
            continue  # a run on another host is never judged from here
        if path.name in stored:
            assert stored[path.name] == status, (path.name, stored[path.name], manifest)
        sealed = not folder.manifest.stat().st_mode & 0o222
        if sealed or status in ("completed", "failed"):
            writable = [str(item.relative_to(path)) for item in path.rglob("*")
                        if item.is_file() and item.stat().st_mode & 0o222]
            assert sealed and not writable, f"{path.name} ({status}) not frozen: {writable}"
    if root is not None and before is not None:
        assert snapshot(root, runs) == before, "a file outside the runs folder changed"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["runs", "--runs-dir", str(runs), "--format", "csv"])
    assert code == 0 and "Traceback" not in err.getvalue(), err.getvalue()
    listed = {row["trial"]: row["status"] for row in csv.DictReader(io.StringIO(out.getvalue()))}
    for trial in good:
        expected = manifest_status(json.loads((runs / trial / "manifest.json").read_text()))
        assert listed.get(trial) == expected, (trial, listed)
    assert sorted(os.listdir(repo_root())) == project
    return board
