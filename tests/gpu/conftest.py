"""GPU parity tests: run on a GPU instance with ``pytest -m gpu tests/gpu`` (cuML installed)."""

from __future__ import annotations

import pytest

from seglab.backend import gpu_status


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, when cuML or a CUDA device is not usable."""
    usable, why = gpu_status()
    if usable:
        return
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=f"GPU tests need cuML and a GPU: {why}"))
