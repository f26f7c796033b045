"""Fake CuPy: NumPy with a distinct "device" array type and counted host transfers."""

from typing import Any

import fakegpu_log
import numpy as np

from cupy import cuda  # noqa: F401  (cupy.cuda.runtime, as in CuPy)

__version__ = "14.0.1"


class ndarray(np.ndarray):
    """A "device" array; NumPy ufuncs and methods keep the type."""


class MemoryPool:
    """``cupy.cuda.MemoryPool``: keeps freed device blocks cached (still taken from the
    device, as ``memGetInfo`` sees it) until ``free_all_blocks``."""

    def __init__(self) -> None:
        self.cached_bytes = 2 * 2**30

    def free_all_blocks(self) -> None:
        self.cached_bytes = 0


_POOL = MemoryPool()


def get_default_memory_pool() -> MemoryPool:
    """The pool CuPy allocates from by default."""
    return _POOL


def _to_device(value: Any) -> Any:
    if isinstance(value, np.ndarray) and not isinstance(value, ndarray):
        return value.view(ndarray)
    if isinstance(value, tuple):
        return tuple(_to_device(v) for v in value)
    return value


def asarray(a: Any, dtype: Any = None) -> ndarray:
    """Copy host data to the "device"."""
    return np.array(a, dtype=dtype, copy=None).view(ndarray)


def asnumpy(a: Any) -> np.ndarray:
    """Copy "device" data to the host, recording the transfer."""
    host = np.asarray(a)
    fakegpu_log.HOST_TRANSFERS.append(host.shape)
    return host


def __getattr__(name: str) -> Any:
    attr = getattr(np, name)
    if isinstance(attr, type) or not callable(attr):
        return attr

    def on_device(*args: Any, **kwargs: Any) -> Any:
        return _to_device(attr(*args, **kwargs))

    return on_device
