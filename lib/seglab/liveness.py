"""Whether the process that owns a run (or a cache staging folder) is still alive.

One rule for the tracking store, the run folder's manifest and the stage cache: an owner is
identified by host, pid and the process's start time, so a reused pid does not count as alive.
An owner on another host is assumed alive (it cannot be checked from here).
"""

from __future__ import annotations

import socket

import psutil

HOST = socket.gethostname()


def identity() -> tuple[int, float | None]:
    """``(pid, start time)`` of this process (start time ``None`` when it cannot be read)."""
    process = psutil.Process()
    try:
        return process.pid, process.create_time()
    except psutil.Error:
        return process.pid, None


def alive(pid: int, started: float | None, host: str | None = HOST) -> bool:
    """Whether process ``pid`` (started at ``started``, on ``host``) still runs.

    Args:
        pid: the owner's process id.
        started: its start time (Unix seconds), or ``None`` to trust the pid alone.
        host: its host name; any host but this one counts as alive.
    """
    if host is not None and host != HOST:
        return True
    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > 1.0:
            return False
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True
