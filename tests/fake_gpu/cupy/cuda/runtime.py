"""Fake ``cupy.cuda.runtime``: one 16 GiB device, or none when ``FAKE_GPU_COUNT=0``."""

import os
from typing import Any

GIB = 2**30


class CUDARuntimeError(RuntimeError):
    """What CuPy raises when the runtime or driver fails."""


def getDeviceCount() -> int:
    count = int(os.environ.get("FAKE_GPU_COUNT", "1"))
    if count == 0:
        raise CUDARuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")
    return count


def getDevice() -> int:
    return 0


def getDeviceProperties(device: int) -> dict[str, Any]:
    getDeviceCount()
    return {"name": b"Fake GPU", "totalGlobalMem": 16 * GIB}


def memGetInfo() -> tuple[int, int]:
    """8 GiB free, less what CuPy's pool keeps cached; 16 GiB in all."""
    import cupy

    return 8 * GIB - cupy.get_default_memory_pool().cached_bytes, 16 * GIB


def deviceSynchronize() -> None:
    """Nothing runs asynchronously here."""
