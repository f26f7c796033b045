"""The seam between the pipeline and the compute libraries: ``auto | cpu | gpu``.

Stages never branch on the backend; they ask the resolved :class:`Backend` for the tool
(``backend.dbscan(...)``). The CPU backend uses scikit-learn, umap-learn and the ``dbscan``
package; the GPU backend uses cuML/CuPy, imported only inside :mod:`seglab.backend.gpu`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from seglab.backend.density import DensityTree, Selection
from seglab.errors import SeglabError

BackendName = Literal["auto", "cpu", "gpu"]
GMM_REG_COVAR = 1e-4
"""Added to the diagonal of every Gaussian mixture covariance: a UMAP embedding (min_dist 0)
can pack a segment onto a nearly flat sheet, whose covariance scikit-learn's default 1e-6
cannot invert (a basket table crashed notebook 04)."""


class Backend(Protocol):
    """What a stage may ask of a backend. Arrays in and out are backend arrays
    (NumPy on CPU, CuPy on GPU) unless a method says NumPy."""

    name: str
    """``cpu`` or ``gpu``."""
    device: str
    """Human-readable device, e.g. ``CPU (2 cores)`` or ``NVIDIA A10G``."""

    def read_table(self, path: str, columns: list[str] | None = None) -> Any:
        """Decode a CSV/Parquet table into a pandas frame (same errors as
        :func:`seglab.tables.read_table`)."""

    def asarray(self, x: Any) -> Any:
        """Move host data to the backend as float32."""

    def to_numpy(self, x: Any) -> np.ndarray:
        """Move backend data to the host."""

    def umap_fit(self, X: Any, *, n_components: int, n_neighbors: int, min_dist: float,
                 n_epochs: int | None, seed: int) -> tuple[Any, Any]:
        """Fit UMAP; return ``(embedding, model)``."""

    def umap_transform(self, model: Any, X: Any) -> Any:
        """Place new rows into a fitted UMAP embedding."""

    def kneighbors(self, X: Any, k: int, query: Any | None = None) -> tuple[Any, Any]:
        """k nearest neighbours of ``query`` (default ``X``, self included) in ``X``:
        ``(distances, indices)`` each ``(n_query, k)``, sorted by distance. Exact, except that
        a backend may answer very large queries in many dimensions approximately (the CPU
        backend: pynndescent above 300k query rows and 8 dimensions, recall@10 ~0.97); the
        k-distance curve of the low-dimensional embedding is always exact."""

    def dbscan(self, X: Any, *, eps: float, min_samples: int) -> tuple[Any, Any]:
        """Exact DBSCAN; ``(labels int64 with -1 = noise, core_mask bool)``.
        ``min_samples`` counts the point itself."""

    def hdbscan(self, X: Any, *, min_cluster_size: int, min_samples: int,
                selection: Selection = "eom") -> Any:
        """HDBSCAN labels (-1 = noise) with excess-of-mass or leaf cluster selection."""

    def density_tree(self, X: Any, *, min_samples: int) -> DensityTree:
        """The density hierarchy of ``X`` at ``min_samples``: DBSCAN at any eps and HDBSCAN
        selections without refitting where the backend can (:mod:`seglab.backend.density`)."""

    def kmeans(self, X: Any, *, n_clusters: int, seed: int) -> Any:
        """KMeans labels."""

    def gaussian_mixture(self, X: Any, *, n_components: int, seed: int) -> Any:
        """Gaussian-mixture labels (full covariance)."""

    def silhouette_samples(self, X: Any, labels: Any) -> Any:
        """Per-point silhouette over the given points (callers exclude noise and sample)."""

    def trustworthiness(self, X: Any, embedding: Any, *, n_neighbors: int) -> float:
        """Trustworthiness of ``embedding`` w.r.t. ``X`` (callers cap the rows)."""

    def davies_bouldin(self, X: Any, labels: Any) -> float:
        """Davies-Bouldin index (lower is better); callers exclude noise."""

    def calinski_harabasz(self, X: Any, labels: Any) -> float:
        """Calinski-Harabasz index (higher is better); callers exclude noise."""


@dataclass(frozen=True)
class Resolution:
    """Which backend a run uses and why (recorded in the manifest)."""

    requested: str
    name: str
    reason: str


def gpu_status() -> tuple[bool, str]:
    """Whether cuML and a CUDA device are usable, without importing cuML.

    The device is probed through CuPy (a cuML dependency), which also catches a driver too old
    for the installed CUDA build, something ``nvidia-smi`` alone would not.
    """
    for package, label in (("cuml", "cuML"), ("cupy", "CuPy")):
        if importlib.util.find_spec(package) is None:
            return False, f"{label} is not installed"
    try:
        import cupy

        runtime = cupy.cuda.runtime
        count = runtime.getDeviceCount()
        name = runtime.getDeviceProperties(0)["name"] if count else None
    except Exception as exc:  # CUDA runtime/driver errors come in several types
        detail = (str(exc).splitlines() or [type(exc).__name__])[0]
        return False, f"no usable CUDA device ({detail})"
    if not count:
        return False, "no CUDA device (CUDA lists none)"
    name = name.decode() if isinstance(name, bytes) else str(name)
    return True, f"cuML installed and GPU 0: {name}"


def resolve(requested: BackendName = "auto") -> Resolution:
    """Decide the backend for ``requested``; ``gpu`` without a usable GPU is an error."""
    if requested == "cpu":
        return Resolution(requested, "cpu", "requested")
    usable, why = gpu_status()
    if requested == "gpu":
        if not usable:
            raise SeglabError(f"backend gpu requested but {why}: use --backend cpu or install "
                              "RAPIDS (see README, 'GPU and SageMaker')")
        return Resolution(requested, "gpu", why)
    if requested != "auto":
        raise SeglabError(f"backend {requested!r} is not one of auto, cpu, gpu")
    return Resolution(requested, "gpu" if usable else "cpu", why)


def get_backend(requested: BackendName = "auto") -> Backend:
    """Resolve and instantiate the backend; GPU modules are imported only here."""
    resolution = resolve(requested)
    if resolution.name == "gpu":
        from seglab.backend.gpu import GpuBackend

        return GpuBackend(reason=resolution.reason)
    from seglab.backend.cpu import CpuBackend

    return CpuBackend(reason=resolution.reason)
