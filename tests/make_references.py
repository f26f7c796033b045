"""Regenerate the nbval golden notebooks: `make references` (review the diff before committing).

Executes every notebook on ``params/tiny.yaml`` (CPU) with the same runner as ``seglab run``,
then copies the executed notebooks to ``tests/reference/`` without volatile metadata and images.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

from seglab.config import load_config
from seglab.runner import run_pipeline

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "nbval-reference"
VOLATILE_CELL_KEYS = ("papermill", "execution", "ExecuteTime")


def strip_volatile(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop timings, interpreter versions and images (nbval does not compare images)."""
    notebook.metadata.pop("papermill", None)
    notebook.metadata.get("language_info", {}).pop("version", None)
    for cell in notebook.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("image/png", None)
    return notebook


def main() -> int:
    runs_dir = ROOT / "runs" / "references"  # its own tracking store, rebuilt every time
    shutil.rmtree(runs_dir, ignore_errors=True)
    config = load_config(ROOT / "params" / "tiny.yaml")
    result = run_pipeline(config, runs_dir=runs_dir, run_id=RUN_ID, kernel="python3")
    if not result.ok:
        print(f"references not written: {result.message}", file=sys.stderr)
        return 1
    target = ROOT / "tests" / "reference"
    target.mkdir(exist_ok=True)
    for executed in sorted(result.folder.notebooks.glob("*.ipynb")):
        notebook = strip_volatile(nbformat.read(executed, as_version=4))
        nbformat.write(notebook, target / executed.name)
        print(f"wrote {target / executed.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
