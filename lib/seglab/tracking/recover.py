"""``seglab store check|recover``: verify the tracking store, or rebuild it from the run folders.

Every run folder holds what the store records about its run (``params.yaml``, ``metrics.json``,
``manifest.json`` and the files themselves), so a damaged ``seglab.db`` is moved aside, never
deleted, and a new one is filled from the folders.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seglab import liveness
from seglab.errors import SeglabError
from seglab.runfolder import FINAL_STATUSES, RunFolder, manifest_status, run_path
from seglab.tracking import Run, Tracker
from seglab.tracking.local import DB_NAME, ImportedTrial, LocalStore, damaged
from seglab.tracking.records import TRACKED_FACTS, flatten
from seglab.tracking.sync import one_line

_SIDE_FILES = ("", "-wal", "-shm")


class _NotFinished(Exception):
    """A folder that is not a finished run's; the message says why."""


@dataclass
class Recovery:
    """What ``recover`` did."""

    moved_to: Path | None
    """Where the old store went (``None`` when there was none)."""
    restored: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """``<folder>: <why>`` for folders that are not complete run folders."""


def check_store(runs_dir: Path) -> str:
    """``ok`` when SQLite's full ``integrity_check`` passes.

    Raises:
        SeglabError: the store is missing or damaged (the message names the recovery).
    """
    path = Path(runs_dir) / DB_NAME
    if not path.is_file():
        raise SeglabError(f"{path}: no tracking store here; pass the --runs-dir of your runs")
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(3)")]
    except sqlite3.DatabaseError as exc:
        raise damaged(path, str(exc)) from None
    if problems != ["ok"]:
        raise damaged(path, problems[0])
    return "ok"


def recover(runs_dir: Path) -> Recovery:
    """Rebuild ``seglab.db`` from every run folder under ``runs_dir``; the old one is moved aside.

    The new store is built in a temporary folder and swapped in only once complete: a failure
    leaves the old store where it was, and no backup. A folder that is a link, or that is
    malformed, or a run still going on another host is skipped with the reason.

    Raises:
        SeglabError: a run on this host is still going (its process is alive): wait for it first.
    """
    runs_dir = Path(runs_dir)
    result = Recovery(None)
    folders = _run_folders(runs_dir, result.skipped)
    busy = [folder.run_id for folder in folders if _going_here(_read(folder.manifest))]
    if busy:
        raise SeglabError(f"run {busy[0]} is still going: let it finish (or stop it) before "
                          "`seglab store recover`")
    staging = Path(tempfile.mkdtemp(prefix=".recover-", dir=runs_dir))
    try:
        _rebuild(staging, folders, result)
        result.moved_to = _move_aside(runs_dir / DB_NAME)
        _move(staging / DB_NAME, runs_dir / DB_NAME)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _run_folders(runs_dir: Path, skipped: list[str]) -> list[RunFolder]:
    """The run folders right under ``runs_dir``; links and names that would leave it are skipped."""
    folders = []
    for path in sorted(manifest.parent for manifest in runs_dir.glob("*/manifest.json")):
        try:
            if path.is_symlink():
                raise SeglabError(f"a link to {path.resolve()}, not a run folder: not followed")
            folders.append(RunFolder(run_path(runs_dir, path.name)))
        except SeglabError as exc:
            skipped.append(f"{path}: {exc}")
    return folders


def _going_here(manifest: Any) -> bool:
    """Whether a manifest names a live process on this host (one elsewhere cannot be checked)."""
    return (isinstance(manifest, dict) and manifest.get("host") in (None, liveness.HOST)
            and isinstance(manifest.get("pid"), int)
            and isinstance(manifest.get("pid_started"), int | float | None)
            and manifest_status(manifest) == "running")


def _rebuild(store_dir: Path, folders: list[RunFolder], result: Recovery) -> None:
    """A new store in ``store_dir`` from ``folders``; what each gave goes into ``result``."""
    tracker = Tracker(LocalStore(store_dir))
    try:
        for folder in folders:
            why = _restore(tracker, folder)
            if why is None:
                result.restored.append(folder.run_id)
            else:
                result.skipped.append(f"{folder.path}: {why}")
    finally:
        tracker.close()


def _restore(tracker: Tracker, folder: RunFolder) -> str | None:
    """Record one run folder in the store; the reason it cannot be, or ``None``."""
    try:
        trial, params, metrics, tags = _facts(folder)
    except _NotFinished as exc:
        return str(exc)
    except (yaml.YAMLError, ValueError, TypeError, AttributeError, OSError) as exc:
        return f"malformed ({one_line(exc)}): fix or move that folder, then recover again"
    store = tracker.store
    store.import_trial(trial)
    store.log_params(folder.run_id, "", flatten(params))
    store.log_metrics(folder.run_id, "", metrics, 0)
    store.log_tags(folder.run_id, "", {k: v for k, v in flatten(tags).items() if v is not None})
    for name, _status, begun, finished in trial.components:
        store.log_metrics(folder.run_id, name, {"seconds": finished - begun}, 0)
    # the artifacts, as the live run recorded them (the same walk over the folder)
    Run(tracker, folder.run_id, "", folder.path.resolve()).log_artifacts(folder.path)
    return None


def _facts(folder: RunFolder) -> tuple[ImportedTrial, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What the store records of one folder (trial, params, metrics, tags), all read and checked
    before anything is written.

    Raises:
        _NotFinished: not a finished run folder (the message says why).
        yaml.YAMLError, ValueError, TypeError, AttributeError: a malformed file or value.
    """
    manifest, metrics = _read(folder.manifest), _read(folder.metrics)
    params = yaml.safe_load(folder.params.read_text()) if folder.params.is_file() else None
    if not isinstance(manifest, dict) or not isinstance(metrics, dict) or not isinstance(params, dict):
        raise _NotFinished("manifest.json, metrics.json or params.yaml is missing or not an object")
    status = folder.settle()
    if status == "running":
        raise _NotFinished(f"still running on host {manifest.get('host')!r} (cannot be checked from here): "
                           "recover again once it has ended")
    if status not in FINAL_STATUSES:
        raise _NotFinished(f"status {status!r} is not a finished run's")
    started = _epoch(manifest.get("started_at")) or folder.manifest.stat().st_mtime
    components, clock = [], started
    for entry in manifest.get("notebooks") or []:
        seconds = float(entry.get("seconds") or 0.0)
        components.append((Path(str(entry.get("notebook"))).stem, str(entry.get("status")),
                           clock, clock + seconds))
        clock += seconds
    pid_started = manifest.get("pid_started")
    trial = ImportedTrial(
        experiment=str(manifest.get("experiment") or params.get("experiment") or "seglab"),
        trial=folder.run_id, status=status, started_at=started,
        ended_at=_epoch(manifest.get("ended_at")), run_dir=str(folder.path.resolve()),
        host=str(manifest.get("host") or ""), pid=int(manifest.get("pid") or 0),
        pid_started=None if pid_started is None else float(pid_started), components=components)
    tags = {key: manifest[key] for key in TRACKED_FACTS if manifest.get(key) is not None}
    return trial, params, metrics, tags


def _move_aside(path: Path) -> Path | None:
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.before-recover-{time.strftime('%Y%m%dT%H%M%S')}")
    _move(path, target)
    return target


def _move(path: Path, target: Path) -> None:
    """Move a SQLite file with its ``-wal`` and ``-shm`` side files."""
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _epoch(text: Any) -> float | None:
    try:
        return dt.datetime.fromisoformat(str(text)).timestamp() if text else None
    except ValueError:
        return None
