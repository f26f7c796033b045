"""Run one benchmark case as a child process and measure its wall time and peak memory.

Peak RSS is the larger of two figures: the child's own ``ru_maxrss`` from ``os.wait4`` (exact,
the largest single process among the child and the descendants it waited for) and the peak of
the summed RSS of the child's whole process tree, polled every ``POLL_SECONDS`` (catches the
kernels ``seglab run`` starts beside itself, which ``ru_maxrss`` cannot add up). Linux keeps a
process's high-water mark across ``exec``, so ``ru_maxrss`` also counts the launching process's
RSS at spawn time: keep the launcher small (``python -m bench`` holds about 0.1 GB).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Measurement:
    """What the operating system saw of one child process."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    """User + system time of the child and its waited-for descendants."""
    peak_rss_bytes: int
    maxrss_bytes: int
    """``ru_maxrss`` of the largest single process."""
    tree_peak_bytes: int
    """Peak of the polled sum over the process tree."""


class _TreeSampler(threading.Thread):
    """Polls the summed RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self.done.is_set():
            self.peak = max(self.peak, _tree_rss(root))
            self.done.wait(POLL_SECONDS)


def _tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_measured(argv: list[str], *, log: Path, cwd: Path | None = None,
                 env: dict[str, str] | None = None) -> Measurement:
    """Run ``argv`` to completion with stdout and stderr in ``log``.

    Args:
        argv: the command.
        log: file that receives the child's output.
        cwd: working directory.
        env: environment (default: inherited).

    Returns:
        Exit status, wall and CPU seconds, and peak memory.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as sink:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        sampler = _TreeSampler(child.pid)
        sampler.start()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    maxrss = usage.ru_maxrss * 1024  # kilobytes on Linux
    return Measurement(returncode=child.returncode, wall_seconds=wall,
                       cpu_seconds=usage.ru_utime + usage.ru_stime,
                       peak_rss_bytes=max(maxrss, sampler.peak), maxrss_bytes=maxrss,
                       tree_peak_bytes=sampler.peak)
