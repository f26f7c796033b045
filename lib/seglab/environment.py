"""Facts about the interpreter, packages and kernels (notebook 00, run manifests)."""

from __future__ import annotations

import sys
from importlib import metadata

from jupyter_client.kernelspec import KernelSpecManager

PROJECT_KERNEL = "seglab"
REPORTED_PACKAGES = ("seglab", "numpy", "scipy", "pandas", "scikit-learn", "umap-learn", "dbscan",
                     "matplotlib", "papermill", "jupytext", "ipykernel", "cuml", "cudf", "cupy")
REQUIRED_PACKAGES = REPORTED_PACKAGES[:11]
"""Installed by every environment; the rest only on GPU machines."""


def package_versions(names: tuple[str, ...] = REPORTED_PACKAGES) -> dict[str, str | None]:
    """Installed version of each package, ``None`` when it is not installed."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def missing_packages() -> list[str]:
    """Required packages this interpreter lacks (a kernel pointing at the wrong env shows here)."""
    return [name for name, version in package_versions(REQUIRED_PACKAGES).items() if version is None]


def registered_kernels() -> dict[str, str]:
    """Kernel name -> interpreter it starts, for every kernelspec Jupyter can find."""
    manager = KernelSpecManager()
    return {name: manager.get_kernel_spec(name).argv[0] for name in sorted(manager.find_kernel_specs())}


def interpreter() -> str:
    return sys.executable
