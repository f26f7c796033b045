"""Progress bars with an ETA for the stages that can take more than a few seconds.

One place decides how bars look: a widget in Jupyter when ``ipywidgets`` is installed, plain
text otherwise (never ``tqdm.auto``'s "IProgress not found" warning box in a notebook), on
stderr so that stdout and a notebook's displayed results stay clean, refreshed at most every
``MIN_INTERVAL`` seconds so that executed notebooks and CI logs stay small. ``TQDM_DISABLE=1``
in the environment turns every bar off.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm import TqdmWarning

if importlib.util.find_spec("ipywidgets") is None:
    from tqdm import tqdm

    # umap-learn imports tqdm.auto itself, which warns in a kernel without ipywidgets and then
    # draws the same text bars: the warning says nothing a user can act on.
    warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
else:
    from tqdm.auto import tqdm

T = TypeVar("T")
MIN_INTERVAL = 2.0
"""Seconds between redraws."""


def bar_options(desc: str, unit: str = "it") -> dict[str, Any]:
    """tqdm keyword arguments for a seglab bar (also handed to umap-learn's ``tqdm_kwds``)."""
    return {"desc": desc, "unit": unit, "file": sys.stderr, "mininterval": MIN_INTERVAL,
            "dynamic_ncols": True, "leave": False, "disable": disabled()}


def disabled() -> bool:
    """Whether ``TQDM_DISABLE`` turns bars off (explicit options would override tqdm's own check)."""
    return os.environ.get("TQDM_DISABLE", "").lower() in {"1", "true", "yes"}


def progress(items: Iterable[T], desc: str, *, total: int | None = None,
             unit: str = "it") -> Iterator[T]:
    """Iterate over ``items`` with a progress bar.

    Args:
        items: what to iterate over.
        desc: a few words naming the work, e.g. ``"placing rows"``.
        total: number of items when ``items`` has no length.
        unit: what one item is, e.g. ``"chunk"``.

    Yields:
        The items, unchanged.
    """
    yield from tqdm(items, total=total, **bar_options(desc, unit))
