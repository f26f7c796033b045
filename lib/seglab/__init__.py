"""seglab: customer segmentation by density clustering (UMAP + DBSCAN), tracked and reproducible."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seglab.segmenter import Segmenter

__version__ = "0.1.0"
__all__ = ["Segmenter", "__version__"]


def __getattr__(name: str) -> Any:
    """``seglab.Segmenter`` imported on first use, so ``import seglab`` stays cheap (and the
    package's root, which every module imports for ``__version__``, sits below no layer)."""
    if name == "Segmenter":
        return importlib.import_module("seglab.segmenter").Segmenter
    raise AttributeError(f"module 'seglab' has no attribute {name!r}")
