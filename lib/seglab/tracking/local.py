"""The local tracking store: one SQLite file (WAL mode) under the runs folder.

Safe under concurrent writers (every write is one short ``BEGIN IMMEDIATE`` transaction with a
busy timeout) and under killed processes (SQLite's journal keeps the file consistent; a trial
left ``running`` by a dead process is turned ``interrupted`` by :meth:`LocalStore.reap`).
Artifacts are not copied: the store keeps paths into the run folder.

The schema is versioned with ``PRAGMA user_version`` and migrated forward on open.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seglab import liveness
from seglab.errors import SeglabError
from seglab.tracking.records import (
    FINAL_STATUSES,
    Artifact,
    Entity,
    MetricPoint,
    ParamValue,
    TrialRecord,
    as_metric,
)

DB_NAME = "seglab.db"
BUSY_TIMEOUT_S = 60.0

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # version 1
        "CREATE TABLE experiments (name TEXT PRIMARY KEY, created_at REAL NOT NULL)",
        """CREATE TABLE trials (
            name TEXT PRIMARY KEY,
            experiment TEXT NOT NULL REFERENCES experiments(name),
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            updated_at REAL NOT NULL,
            run_dir TEXT,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            pid_started REAL)""",
        "CREATE INDEX trials_experiment ON trials(experiment, started_at)",
        "CREATE INDEX trials_status ON trials(status)",
        """CREATE TABLE components (
            trial TEXT NOT NULL REFERENCES trials(name),
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            PRIMARY KEY (trial, name))""",
        """CREATE TABLE params (
            trial TEXT NOT NULL REFERENCES trials(name),
            component TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (trial, component, key))""",
        """CREATE TABLE metrics (
            trial TEXT NOT NULL REFERENCES trials(name),
            component TEXT NOT NULL,
            key TEXT NOT NULL,
            value REAL NOT NULL,
            step INTEGER NOT NULL,
            time REAL NOT NULL)""",
        "CREATE INDEX metrics_trial ON metrics(trial, component, key)",
        """CREATE TABLE artifacts (
            trial TEXT NOT NULL REFERENCES trials(name),
            component TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            uri TEXT NOT NULL,
            PRIMARY KEY (trial, component, kind, name))""",
        """CREATE TABLE tags (
            trial TEXT NOT NULL REFERENCES trials(name),
            component TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (trial, component, key))""",
        """CREATE TABLE syncs (
            trial TEXT NOT NULL REFERENCES trials(name),
            backend TEXT NOT NULL,
            target TEXT NOT NULL,
            state TEXT NOT NULL,
            error TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (trial, backend))""",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_HOST = liveness.HOST


class LocalStore:
    """The SQLite tracking store of one runs folder.

    Args:
        store_dir: the runs folder; the database is ``<store_dir>/seglab.db`` (created if absent).

    Raises:
        SeglabError: the file is not a seglab database or is newer than this seglab.
    """

    def __init__(self, store_dir: str | Path) -> None:
        self.path = Path(store_dir) / DB_NAME
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            problems = [row[0] for row in self._conn.execute("PRAGMA quick_check(3)")]
        except (sqlite3.OperationalError, OSError) as exc:  # unreadable folder, locked too long
            raise SeglabError(
                f"{self.path}: cannot open the tracking database ({exc}); "
                "check the folder's permissions or pass another --runs-dir"
            ) from None
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, str(exc)) from None
        if problems != ["ok"]:
            self._conn.close()
            raise damaged(self.path, problems[0])

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def import_trial(self, record: ImportedTrial) -> None:
        """Insert a finished trial as a run folder recorded it (``seglab store recover``).

        Raises:
            SeglabError: a trial of that name already exists.
        """
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments VALUES (?, ?)",
                         (record.experiment, record.started_at))
            try:
                conn.execute(
                    "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.trial, record.experiment, record.status, record.started_at,
                     record.ended_at, record.ended_at or record.started_at, record.run_dir,
                     record.host, record.pid, record.pid_started),
                )
            except sqlite3.IntegrityError:
                raise SeglabError(f"{self.path}: trial {record.trial!r} already exists") from None
            conn.executemany(
                "INSERT INTO components VALUES (?, ?, ?, ?, ?)",
                [(record.trial, *component) for component in record.components],
            )

    # ---- writes -----------------------------------------------------------------------------

    def start_trial(
        self,
        experiment: str,
        trial: str,
        run_dir: str | None,
        remote: tuple[str, str] | None = None,
    ) -> None:
        """Insert a ``running`` trial owned by this process.

        Args:
            experiment: experiment name (created if new).
            trial: unique trial name (the run id).
            run_dir: the run folder, or ``None``.
            remote: ``(backend, target)`` of the mirror that must receive this trial.

        Raises:
            SeglabError: a trial of that name already exists.
        """
        now = time.time()
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO experiments VALUES (?, ?)", (experiment, now))
            try:
                conn.execute(
                    "INSERT INTO trials VALUES (?, ?, 'running', ?, NULL, ?, ?, ?, ?, ?)",
                    (trial, experiment, now, now, run_dir, _HOST, *liveness.identity()),
                )
            except sqlite3.IntegrityError:
                raise SeglabError(
                    f"{self.path}: trial {trial!r} already exists; start the run with a new run id"
                ) from None
            if remote is not None:
                conn.execute("INSERT INTO syncs VALUES (?, ?, ?, 'pending', NULL, ?)", (trial, *remote, now))

    def start_component(self, trial: str, name: str) -> None:
        """Insert (or restart) a ``running`` component of a trial."""
        now = time.time()
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO components VALUES (?, ?, 'running', ?, NULL)",
                (trial, name, now),
            )
            _touch(conn, trial, now)

    def log_params(self, trial: str, component: str, params: Mapping[str, ParamValue]) -> None:
        """Upsert parameters (values kept with their JSON type)."""
        rows = [(trial, component, key, json.dumps(value)) for key, value in params.items()]
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO params VALUES (?, ?, ?, ?)", rows)
            _touch(conn, trial, time.time())

    def log_metrics(self, trial: str, component: str, metrics: Mapping[str, Any], step: int) -> None:
        """Append numeric values as metrics; text values become tags; ``None``/NaN are skipped."""
        now = time.time()
        numbers, texts = [], []
        for key, value in metrics.items():
            number = as_metric(value)
            if number is not None:
                numbers.append((trial, component, key, number, step, now))
            elif isinstance(value, str):
                texts.append((trial, component, key, value))
        with self._write() as conn:
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", numbers)
            conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", texts)
            _touch(conn, trial, now)

    def log_tags(self, trial: str, component: str, tags: Mapping[str, Any]) -> None:
        """Upsert tags (values stored as text)."""
        rows = [(trial, component, key, str(value)) for key, value in tags.items()]
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)", rows)
            _touch(conn, trial, time.time())

    def log_artifacts(self, trial: str, component: str, artifacts: Iterable[Artifact]) -> None:
        """Upsert artifacts by (kind, name)."""
        rows = [(trial, component, item.kind, item.name, item.uri) for item in artifacts]
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO artifacts VALUES (?, ?, ?, ?, ?)", rows)
            _touch(conn, trial, time.time())

    def end(self, trial: str, component: str, status: str) -> None:
        """Set the final status and end time of a trial (``component=""``) or component.

        Ending a trial also ends its components that are still running, with the same status.
        """
        now = time.time()
        with self._write() as conn:
            if component:
                conn.execute(
                    "UPDATE components SET status = ?, ended_at = ? WHERE trial = ? AND name = ?",
                    (status, now, trial, component),
                )
            else:
                conn.execute(
                    "UPDATE trials SET status = ?, ended_at = ?, updated_at = ? WHERE name = ?",
                    (status, now, now, trial),
                )
                conn.execute(
                    "UPDATE components SET status = ?, ended_at = ? WHERE trial = ? AND status = 'running'",
                    (status, now, trial),
                )
            _touch(conn, trial, now)

    def set_sync(self, trial: str, backend: str, target: str, state: str, error: str | None) -> None:
        """Record whether a remote has the trial (``pending``, ``synced`` or ``failed``)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO syncs VALUES (?, ?, ?, ?, ?, ?)",
                (trial, backend, target, state, error, time.time()),
            )

    def reap(self) -> list[str]:
        """End the running trials whose process on this host has died: with the final status
        their run folder's manifest holds (the run was killed after writing it), else
        ``interrupted``.

        Returns:
            The names of the trials it changed.
        """
        rows = self._conn.execute(
            "SELECT name, pid, pid_started, run_dir FROM trials WHERE status = 'running' AND host = ?",
            (_HOST,),
        ).fetchall()
        dead = [(name, run_dir) for name, pid, started, run_dir in rows if not liveness.alive(pid, started)]
        reaped = []
        for name, run_dir in dead:
            status = _final_status(run_dir)
            with self._write() as conn:
                changed = conn.execute(
                    "UPDATE trials SET status = ?, ended_at = updated_at "
                    "WHERE name = ? AND status = 'running'",
                    (status, name),
                ).rowcount
                conn.execute(
                    "UPDATE components SET status = ? WHERE trial = ? AND status = 'running'",
                    (status, name),
                )
            if changed:
                reaped.append(name)
        return reaped

    # ---- reads ------------------------------------------------------------------------------

    def record(self, trial: str) -> TrialRecord:
        """Everything stored for one trial.

        Raises:
            SeglabError: no such trial.
        """
        row = self._conn.execute(
            "SELECT experiment, status, started_at, ended_at, run_dir FROM trials WHERE name = ?",
            (trial,),
        ).fetchone()
        if row is None:
            raise SeglabError(f"{self.path}: no trial named {trial!r} (list them with `seglab runs`)")
        experiment, status, started_at, ended_at, run_dir = row
        entities = {"": Entity("", status, started_at, ended_at)}
        for name, c_status, c_started, c_ended in self._conn.execute(
            "SELECT name, status, started_at, ended_at FROM components WHERE trial = ? ORDER BY started_at",
            (trial,),
        ):
            entities[name] = Entity(name, c_status, c_started, c_ended)
        query = "SELECT component, key, value FROM params WHERE trial = ? ORDER BY rowid"
        for component, key, value in self._conn.execute(query, (trial,)):
            entities[component].params[key] = json.loads(value)
        query = "SELECT component, key, value FROM tags WHERE trial = ?"
        for component, key, value in self._conn.execute(query, (trial,)):
            entities[component].tags[key] = value
        query = "SELECT component, key, value, step, time FROM metrics WHERE trial = ? ORDER BY rowid"
        for component, key, value, step, stamp in self._conn.execute(query, (trial,)):
            entities[component].metrics.append(MetricPoint(key, value, step, stamp))
        query = "SELECT component, kind, name, uri FROM artifacts WHERE trial = ? ORDER BY rowid"
        for component, kind, name, uri in self._conn.execute(query, (trial,)):
            entities[component].artifacts.append(Artifact(name, uri, kind))
        summary = entities.pop("")
        return TrialRecord(experiment, trial, run_dir, summary, list(entities.values()))

    def summaries(self, experiment: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
        """Trial-level rows for a leaderboard, in long form.

        Returns:
            ``trials``: (name, experiment, status, started_at, ended_at, run_dir, remotes,
            sync) rows; ``params``, ``metrics`` (the last value per key: highest step, then
            latest) and ``tags``: (trial, key, value) rows.
        """
        where, args = ("WHERE t.experiment = ?", (experiment,)) if experiment else ("", ())
        trials = self._conn.execute(
            "SELECT t.name, t.experiment, t.status, t.started_at, t.ended_at, t.run_dir, "
            "group_concat(s.backend), group_concat(s.backend || ':' || s.state) "
            f"FROM trials t LEFT JOIN syncs s ON s.trial = t.name {where} "
            "GROUP BY t.name ORDER BY t.started_at",
            args,
        ).fetchall()
        scope = "component = '' AND trial IN (SELECT name FROM trials t " + where + ")"
        params = self._conn.execute(f"SELECT trial, key, value FROM params WHERE {scope}", args).fetchall()
        tags = self._conn.execute(f"SELECT trial, key, value FROM tags WHERE {scope}", args).fetchall()
        metrics = self._conn.execute(
            "SELECT trial, key, value FROM (SELECT trial, key, value, row_number() OVER "
            "(PARTITION BY trial, key ORDER BY step DESC, time DESC, rowid DESC) AS rank "
            f"FROM metrics WHERE {scope}) WHERE rank = 1",
            args,
        ).fetchall()
        return {
            "trials": trials,
            "params": [(trial, key, json.loads(value)) for trial, key, value in params],
            "metrics": metrics,
            "tags": tags,
        }

    def unsynced(
        self, experiment: str | None = None, backend: str | None = None
    ) -> list[tuple[str, str, str]]:
        """Finished trials a remote still lacks: (trial, backend, target) rows.

        Args:
            experiment: only this experiment.
            backend: only this backend.
        """
        query = (
            "SELECT s.trial, s.backend, s.target FROM syncs s JOIN trials t ON t.name = s.trial "
            "WHERE s.state != 'synced' AND t.status != 'running'"
        )
        args: list[str] = []
        if experiment:
            query += " AND t.experiment = ?"
            args.append(experiment)
        if backend:
            query += " AND s.backend = ?"
            args.append(backend)
        return self._conn.execute(query + " ORDER BY t.started_at", args).fetchall()

    def never_synced(self, backend: str, experiment: str | None = None) -> list[str]:
        """Finished trials that were never mirrored to ``backend``."""
        query = (
            "SELECT name FROM trials t WHERE status != 'running' AND NOT EXISTS "
            "(SELECT 1 FROM syncs s WHERE s.trial = t.name AND s.backend = ?)"
        )
        args = [backend]
        if experiment:
            query += " AND experiment = ?"
            args.append(experiment)
        return [name for (name,) in self._conn.execute(query + " ORDER BY started_at", args)]

    # ---- internals --------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                if type(exc) is not sqlite3.DatabaseError:  # locked, constraint...: not damage
                    raise
                raise damaged(self.path, str(exc)) from None

    def _migrate(self) -> None:
        with self._write() as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SeglabError(
                    f"{self.path}: schema version {version} is newer than this seglab's "
                    f"({SCHEMA_VERSION}); upgrade seglab"
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@dataclass(frozen=True)
class ImportedTrial:
    """A finished trial as its run folder recorded it (for :meth:`LocalStore.import_trial`)."""

    experiment: str
    trial: str
    status: str
    started_at: float
    ended_at: float | None
    run_dir: str
    host: str
    pid: int
    pid_started: float | None
    components: list[tuple[str, str, float, float | None]]
    """``(name, status, started_at, ended_at)`` per stage."""


def damaged(path: Path, detail: str) -> SeglabError:
    """The one-line error for a store SQLite cannot read, with the recovery command."""
    detail = " ".join(detail.replace("*** in database main ***", "").split())[:160]
    return SeglabError(
        f"{path}: the tracking store is damaged ({detail}); run `seglab store recover "
        f"--runs-dir {path.parent}` to rebuild it from the run folders (the old file is kept)"
    )


def _final_status(run_dir: str | None) -> str:
    """The final status a dead run's manifest holds, else ``interrupted``."""
    try:
        manifest = json.loads((Path(run_dir) / "manifest.json").read_text()) if run_dir else None
    except (OSError, ValueError):
        manifest = None
    status = manifest.get("status") if isinstance(manifest, dict) else None
    return status if status in FINAL_STATUSES else "interrupted"


def _touch(conn: sqlite3.Connection, trial: str, now: float) -> None:
    conn.execute("UPDATE trials SET updated_at = ? WHERE name = ?", (now, trial))
