"""Paths anchored at the repository root, so notebooks and the CLI work from any folder."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from seglab.errors import SeglabError


@cache
def repo_root() -> Path:
    """The project folder: ``$SEGLAB_ROOT``, else the checkout holding this package, else the
    nearest folder above the working directory that has ``notebooks/`` and ``params/``."""
    if env := os.environ.get("SEGLAB_ROOT"):
        return Path(env).resolve()
    candidates = [Path(__file__).resolve().parents[2], *[Path.cwd(), *Path.cwd().parents]]
    for folder in candidates:
        if (folder / "notebooks").is_dir() and (folder / "params").is_dir():
            return folder
    raise SeglabError("cannot find the seglab project folder: run from the checkout or set SEGLAB_ROOT")


def resolve(path: str | Path) -> Path:
    """An absolute path for ``path``; relative paths are taken from the repository root."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else repo_root() / candidate


def resolve_uri(path: str) -> str:
    """Like :func:`resolve` but leaves URIs (``s3://…``) untouched."""
    return path if "://" in path else str(resolve(path))


NOTEBOOKS_DIR = "notebooks"
DEFAULT_PARAMS = "params/default.yaml"
DEFAULT_RUNS_DIR = "runs"
