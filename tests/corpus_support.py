"""Running seglab on a corpus table from a test (the path users run)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from bench.corpus import CorpusTable, get
from bench.corpus_bench import run_seglab


def run_on_corpus(name: str, tmp_path: Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Write corpus table ``name`` under ``tmp_path`` and run seglab's default path on it.

    Returns ``metrics.json`` as a dict plus ``status`` (``completed``/``failed``), ``error``,
    ``seconds_wall`` and ``run_dir``. Skips the test when the table's package (the ``corpus``
    extra) is not installed.
    """
    table = available(get(name))
    return run_seglab(table, tmp_path, overrides)


def available(table: CorpusTable) -> CorpusTable:
    """``table``, or a skip naming the extra when its data package is not installed."""
    if not table.available():
        pytest.skip(f"{table.name} needs {table.requires} (pip install -e '.[corpus]')")
    return table
