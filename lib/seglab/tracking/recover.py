"""``seglab store check|recover``: verify the tracking store, or rebuild it from the run folders.

Every run folder holds what the store records about its run (``params.yaml``, ``metrics.json``,
``manifest.json`` and the files themselves), so a damaged ``seglab.db`` is moved aside, never
deleted, and a new one is filled from the folders.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from seglab.errors import SeglabError
from seglab.runfolder import FINAL_STATUSES, RunFolder, manifest_status
from seglab.tracking import Run, Tracker
from seglab.tracking.local import DB_NAME, ImportedTrial, LocalStore, damaged
from seglab.tracking.records import TRACKED_FACTS, flatten

_SIDE_FILES = ("", "-wal", "-shm")


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
    """Move ``seglab.db`` aside and rebuild it from every run folder under ``runs_dir``.

    Raises:
        SeglabError: a run is still going (its process is alive): wait for it first.
    """
    runs_dir = Path(runs_dir)
    folders = [RunFolder(path.parent) for path in sorted(runs_dir.glob("*/manifest.json"))]
    busy = [folder.run_id for folder in folders
            if manifest_status(_read(folder.manifest) or {}) == "running"]
    if busy:
        raise SeglabError(f"run {busy[0]} is still going: let it finish (or stop it) before "
                          "`seglab store recover`")
    result = Recovery(_move_aside(runs_dir / DB_NAME))
    tracker = Tracker(LocalStore(runs_dir))
    try:
        for folder in folders:
            why = _restore(tracker, folder)
            if why is None:
                result.restored.append(folder.run_id)
            else:
                result.skipped.append(f"{folder.path}: {why}")
    finally:
        tracker.close()
    return result


def _restore(tracker: Tracker, folder: RunFolder) -> str | None:
    """Record one run folder in the store; the reason it cannot be, or ``None``."""
    manifest, metrics = _read(folder.manifest), _read(folder.metrics)
    params = yaml.safe_load(folder.params.read_text()) if folder.params.is_file() else None
    if not isinstance(manifest, dict) or not isinstance(metrics, dict) or not isinstance(params, dict):
        return "manifest.json, metrics.json or params.yaml is missing or not an object"
    status = folder.settle()
    if status not in FINAL_STATUSES:
        return f"status {status!r} is not a finished run's"
    started = _epoch(manifest.get("started_at")) or folder.manifest.stat().st_mtime
    ended = _epoch(manifest.get("ended_at"))
    components, clock = [], started
    for entry in manifest.get("notebooks") or []:
        seconds = float(entry.get("seconds") or 0.0)
        components.append((Path(str(entry.get("notebook"))).stem, str(entry.get("status")),
                           clock, clock + seconds))
        clock += seconds
    tracker.store.import_trial(ImportedTrial(
        experiment=str(manifest.get("experiment") or params.get("experiment") or "seglab"),
        trial=folder.run_id, status=status, started_at=started, ended_at=ended,
        run_dir=str(folder.path.resolve()), host=str(manifest.get("host") or ""),
        pid=int(manifest.get("pid") or 0), pid_started=manifest.get("pid_started"),
        components=components))
    store = tracker.store
    store.log_params(folder.run_id, "", flatten(params))
    store.log_metrics(folder.run_id, "", metrics, 0)
    tags = {key: manifest[key] for key in TRACKED_FACTS if manifest.get(key) is not None}
    store.log_tags(folder.run_id, "", {k: v for k, v in flatten(tags).items() if v is not None})
    for name, _status, begun, finished in components:
        store.log_metrics(folder.run_id, name, {"seconds": finished - begun}, 0)
    # the artifacts, as the live run recorded them (the same walk over the folder)
    Run(tracker, folder.run_id, "", folder.path.resolve()).log_artifacts(folder.path)
    return None


def _move_aside(path: Path) -> Path | None:
    if not path.exists():
        return None
    target = path.with_name(f"{path.name}.before-recover-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in _SIDE_FILES:
        side = Path(f"{path}{suffix}")
        if side.exists():
            os.replace(side, Path(f"{target}{suffix}"))
    return target


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
