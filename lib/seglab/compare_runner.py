"""``seglab compare RUN_A RUN_B``: notebook 06 executed with papermill into a comparison folder,
tracked as a trial of kind ``compare``.

The folder (README.md, "Week after week") holds ``manifest.json`` (kind
``compare``, both runs), ``compare.json``, ``compare.html``, ``figures/`` and the executed
``notebooks/06_weekly_update.ipynb``. It is built in a hidden staging folder beside its place and
renamed into place once complete: a comparison the inputs rule out (no shared column, no labels)
leaves nothing behind, only its one-line error. Both runs are only read.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import papermill as pm
import yaml

from seglab import __version__
from seglab.config import Config
from seglab.errors import SeglabError
from seglab.paths import NOTEBOOKS_DIR, resolve
from seglab.runfolder import RunFolder, atomic_write_text
from seglab.runner import COMPARE_NOTEBOOK, KERNEL_ARGUMENTS, kernel_argv0, new_run_id
from seglab.tracking import open_tracker
from seglab.weekly import RunSide, check_comparable, read_run

USER_ERRORS = frozenset({"SeglabError", "ConfigError", "DataError"})
"""A notebook failing with one of these failed on its input: the message is the user's news."""
EXPERIMENT = "seglab-compare"
"""The comparisons' experiment in the tracking store (``seglab runs --experiment``)."""


@dataclass(frozen=True)
class Comparison:
    """Outcome of :func:`run_compare`."""

    folder: Path
    compare_id: str
    result: dict[str, Any]


def run_compare(run_a: Path, run_b: Path, config: Config, *, runs_dir: Path,
                out: Path | None = None, kernel: str = "python3") -> Comparison:
    """Compare run A (earlier) with run B (later) into ``out`` (default ``runs_dir/compare-<id>``).

    Raises:
        SeglabError: a folder that is not a finished run with labels, ``out`` already there or
            inside a run, or inputs the comparison rules out (one line, nothing written).
    """
    a, b = read_run(run_a), read_run(run_b)
    check_comparable(a, b)
    compare_id = f"compare-{new_run_id()}"
    target = Path(out) if out is not None else runs_dir / compare_id
    if target.exists():
        raise SeglabError(f"{target} already exists: pass another --out")
    for side in (a, b):
        if target.resolve().is_relative_to(side.folder.path.resolve()):
            raise SeglabError(f"--out {target} is inside run {side.run_id}, which is only read: "
                              "pass a folder outside both runs")
    kernel_argv0(kernel)  # an unknown kernel fails before anything is written
    staging = target.parent / f".{target.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "notebooks").mkdir(parents=True)
    started_at = _now()
    try:
        seconds = _execute(staging, a, b, config, kernel)
        result = json.loads((staging / "compare.json").read_text())
        params, metrics = write_evidence(staging, compare_id, a, b, config, result,
                                         {"kernel": {"name": kernel}, "started_at": started_at,
                                          "notebooks": [{"notebook": COMPARE_NOTEBOOK,
                                                         "status": "completed",
                                                         "seconds": seconds}]})
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    RunFolder(target).freeze()
    _track(target, compare_id, params, metrics, config, runs_dir)
    return Comparison(target, compare_id, result)


def _execute(staging: Path, a: RunSide, b: RunSide, config: Config, kernel: str) -> float:
    """Notebook 06 into ``staging``; returns its seconds. A failure is one line."""
    source = resolve(NOTEBOOKS_DIR) / COMPARE_NOTEBOOK
    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    output = staging / "notebooks" / f"{source.stem}.ipynb"
    parameters = {"previous_run": str(a.folder.path.resolve()),
                  "current_run": str(b.folder.path.resolve()),
                  "out_dir": str(staging.resolve()), "compare": config.compare.model_dump()}
    start = time.perf_counter()
    try:
        pm.execute_notebook(notebook, str(output), parameters=parameters, kernel_name=kernel,
                            language="python", progress_bar=sys.stderr.isatty(), log_output=False,
                            cwd=str(source.parent), extra_arguments=KERNEL_ARGUMENTS)
    except pm.PapermillExecutionError as exc:
        if exc.ename in USER_ERRORS:
            raise SeglabError(exc.evalue.strip()) from None
        raise SeglabError(f"{source.name} failed in cell {exc.exec_count}: {exc.ename}: "
                          f"{exc.evalue.strip()}") from None
    return round(time.perf_counter() - start, 2)


def _side(side: RunSide) -> dict[str, Any]:
    manifest = side.folder.read_json(side.folder.manifest)
    return {"run_id": side.run_id, "path": str(side.folder.path.resolve()),
            "experiment": manifest.get("experiment"),
            "data_fingerprint": manifest.get("data_fingerprint")}


def write_evidence(folder: Path, compare_id: str, a: RunSide, b: RunSide, config: Config,
                   result: dict[str, Any], facts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``manifest.json`` (kind ``compare``, both runs, ``facts``), and ``params.yaml`` and
    ``metrics.json`` as a run folder has them: what the trial records, so that ``seglab store
    recover`` rebuilds the comparison's trial from its folder like a run's.

    Returns:
        The params and the metrics (the flat numbers of ``compare.json``).
    """
    params = {"experiment": EXPERIMENT, "kind": "compare", "compare": {
        "run_a": a.run_id, "run_b": b.run_id, "assigned_with": result["assigned_with"],
        **config.compare.model_dump()}}
    metrics = {key: value for key, value in result.items()
               if isinstance(value, int | float) and not isinstance(value, bool)}
    writer = RunFolder(folder)
    atomic_write_text(writer.params, yaml.safe_dump(params, sort_keys=False))
    writer.write_json(writer.metrics, metrics)
    writer.write_json(writer.manifest, {
        "kind": "compare", "run_id": compare_id, "experiment": EXPERIMENT, "status": "completed",
        "run_a": _side(a), "run_b": _side(b), "python": platform.python_version(),
        "seglab_version": __version__, **facts, "ended_at": _now(),
    })
    return params, metrics


def _track(folder: Path, compare_id: str, params: dict[str, Any], metrics: dict[str, Any],
           config: Config, runs_dir: Path) -> None:
    """A trial of kind ``compare`` whose parameters name both runs (mirrored like any trial)."""
    tracker = open_tracker(config.tracking, store_dir=runs_dir)
    try:
        compared = params["compare"]
        trial = tracker.start_run(EXPERIMENT, compare_id, params=params, run_dir=folder,
                                  tags={"kind": "compare", "run_a": compared["run_a"],
                                        "run_b": compared["run_b"]})
        trial.log_metrics(metrics)
        trial.log_artifacts(folder)
        trial.end("completed")
    finally:
        tracker.close()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
