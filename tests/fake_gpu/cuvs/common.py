"""Fake ``cuvs.common.Resources``: a CUDA stream whose work lands only at ``sync()``.

Mirrors rapidsai/cuvs at ff0c8076 (26.08.00), ``python/cuvs/cuvs/common/resources.pyx``:
``Resources(stream=None)`` and ``sync()``; "If resources are supplied, you will need to
explicitly synchronize yourself by calling ``resources.sync()`` before accessing the output."
Here queued work (a build's output) is written into its buffers only when ``sync()`` runs.
"""

from collections.abc import Callable
from typing import Any


class Resources:
    """A CUDA stream and handle, in cuVS."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream
        self._queued: list[Callable[[], None]] = []

    def enqueue(self, work: Callable[[], None]) -> None:
        """Queue work on this stream (fake only)."""
        self._queued.append(work)

    def sync(self) -> None:
        """Wait for the stream: run what was queued."""
        while self._queued:
            self._queued.pop(0)()
