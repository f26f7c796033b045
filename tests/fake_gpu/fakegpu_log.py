"""What the fake RAPIDS packages were asked to do, for assertions."""

from typing import Any

CALLS: list[tuple[str, dict[str, Any]]] = []
"""``(qualified name, keyword arguments)`` per constructor, fit or build call."""
HOST_TRANSFERS: list[tuple[int, ...]] = []
"""Shape of every array moved to the host with ``cupy.asnumpy``."""


def record(name: str, **kwargs: Any) -> None:
    """Append one call to :data:`CALLS`."""
    CALLS.append((name, kwargs))


def calls(name: str) -> list[dict[str, Any]]:
    """Keyword arguments of every recorded call named ``name``."""
    return [kwargs for called, kwargs in CALLS if called == name]


def reset() -> None:
    """Forget everything recorded so far."""
    CALLS.clear()
    HOST_TRANSFERS.clear()
