"""Fake cuML: scikit-learn behind cuML's 26.x signatures, recording every call."""

from typing import Any

import cupy
import numpy as np

__version__ = "26.10.0"


def device_input(name: str, X: Any) -> np.ndarray:
    """The host view of ``X``; a TypeError unless it is a float32 "device" array, the
    contract the GPU backend keeps (data stays on the device between stages)."""
    if not isinstance(X, cupy.ndarray):
        raise TypeError(f"{name}: expected a device (cupy) array, got {type(X).__name__}")
    if X.dtype != np.float32:
        raise TypeError(f"{name}: expected float32, got {X.dtype}")
    return np.asarray(X)


def on_device(a: Any) -> cupy.ndarray:
    """Return a result the way ``output_type="cupy"`` does."""
    return cupy.asarray(a)
