"""The benchmark cases: one child process each, measured, summarised as one JSON per case.

``naive``: :mod:`bench.naive`. ``library``: ``seglab run --engine direct`` (the stage functions
in-process). ``notebooks``: ``seglab run`` end to end, papermill kernels included. Each seglab
case gets its own runs folder, hence its own empty stage cache: it pays what a user's first run
pays and never reuses another case's UMAP.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench.machine import load_average, machine_facts
from bench.measure import run_measured

CASES = ("naive", "library", "notebooks")
SEGLAB_STAGES = ("load", "features", "reduce", "eps", "cluster", "metrics", "stability")
"""``metrics.json`` ``seconds_<stage>`` keys, in pipeline order."""
QUALITY_KEYS = ("ari", "n_clusters", "noise_fraction", "silhouette")
RUN_ID = "run"


@dataclass(frozen=True)
class CaseSpec:
    """One case to run."""

    case: str
    rows: int
    data: Path
    work_dir: Path
    """Scratch space: run folders and logs."""
    params: Path
    session: str
    """Identifies one invocation of the suite: ratios compare cases of the same session only."""


def seglab_executable() -> str:
    """The ``seglab`` script installed beside this interpreter."""
    return str(Path(sys.executable).with_name("seglab"))


def case_command(spec: CaseSpec, out: Path) -> list[str]:
    """The child command of a case; ``out`` receives the naive case's own JSON."""
    if spec.case == "naive":
        return [sys.executable, "-m", "bench.naive", "--data", str(spec.data), "--params",
                str(spec.params), "--out", str(out)]
    engine = "direct" if spec.case == "library" else "notebooks"
    return [seglab_executable(), "run", "--params", str(spec.params), "--data", str(spec.data),
            "--engine", engine, "--tracking", "local", "--runs-dir", str(_runs_dir(spec)),
            "--run-id", RUN_ID, "--experiment", "bench"]


def run_case(spec: CaseSpec) -> dict[str, Any]:
    """Run one case in a child process and gather its result.

    Args:
        spec: the case.

    Returns:
        The JSON-safe result: timings per stage, peak RSS, quality, machine facts, the command.
    """
    own_json = spec.work_dir / f"{_run_id(spec)}.json"
    command = case_command(spec, own_json)
    log = spec.work_dir / f"{_run_id(spec)}.log"
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load_before = load_average()
    env = {key: value for key, value in os.environ.items() if key != "SEGLAB_CACHE_DIR"}
    measured = run_measured(command, log=log, env=env)
    result: dict[str, Any] = {
        "case": spec.case,
        "rows": spec.rows,
        "session": spec.session,
        "started_at": started,
        "command": " ".join(command),
        "ok": measured.returncode == 0,
        **asdict(measured),
        "load_before": load_before,
        "load_after": load_average(),
        "machine": machine_facts(),
    }
    if measured.returncode != 0:
        result["error"] = _tail(log)
        return result
    if spec.case == "naive":
        own = json.loads(own_json.read_text())
        result.update(stages=own["stages"], quality={key: own.get(key) for key in QUALITY_KEYS})
    else:
        result.update(_seglab_result(_runs_dir(spec) / RUN_ID))
    return result


def _seglab_result(run_dir: Path) -> dict[str, Any]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return {
        "stages": {stage: metrics.get(f"seconds_{stage}") for stage in SEGLAB_STAGES},
        "notebooks": {Path(entry["notebook"]).stem: entry["seconds"]
                      for entry in manifest.get("notebooks", [])},
        "quality": {key: metrics.get(key) for key in QUALITY_KEYS},
        "run_dir": str(run_dir),
    }


def _runs_dir(spec: CaseSpec) -> Path:
    return spec.work_dir / "runs" / _run_id(spec)


def _run_id(spec: CaseSpec) -> str:
    return f"{spec.session}-{spec.case}-{spec.rows}"


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
