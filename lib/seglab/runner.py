"""``seglab run``: execute the notebooks in order with papermill, as one run folder.

papermill cannot read jupytext ``.py`` files, so each source is read with ``jupytext.read`` and
the resulting notebook object is handed to ``papermill.execute_notebook``. Each notebook gets only
the parameters its ``parameters`` cell declares: ``run_dir`` plus the config sections it names.

The ``direct`` engine calls the same stage functions the notebooks call
(:data:`seglab.stages.NOTEBOOK_STAGES`) in this process, without kernels: same run folder, same
metrics, no executed notebooks. Sweeps and benchmarks use it.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jupytext
import nbformat
import papermill as pm
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager

from seglab import __version__, liveness
from seglab.artifacts import TIMINGS
from seglab.backend import resolve as resolve_backend
from seglab.config import Config, redacted, save_config
from seglab.environment import package_versions
from seglab.errors import SeglabError
from seglab.paths import NOTEBOOKS_DIR, repo_root, resolve
from seglab.runfolder import FINAL_STATUSES, METRIC_KEYS, RunFolder, run_path
from seglab.stages import NOTEBOOK_STAGES
from seglab.tables import require_table_file
from seglab.tracking import Run, open_tracker
from seglab.tracking.records import TRACKED_FACTS

Engine = Literal["notebooks", "direct"]
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]
"""The kernel's own log is not the run's news: its start-up chatter (ipykernel 7's TCP warning
for a local kernel), and on Ctrl-C a 20-line ZMQ traceback from a reply sent on a socket the
shutdown has closed. Cell outputs and errors reach the notebook and the run either way."""
RUN_LEVEL_KEYS = frozenset({"experiment", "tracking", "compare"})
"""Config keys no run notebook declares: the runner's own, and ``compare`` (``seglab compare``
and notebook 06's)."""
COMPARE_NOTEBOOK = "06_weekly_update.py"
"""Not a stage of a run: ``seglab compare`` executes it on two finished runs."""
STAGE_TIMINGS = tuple(step for steps in TIMINGS.values() for step in steps)


@dataclass(frozen=True)
class NotebookPlan:
    """One notebook ready to execute."""

    source: Path
    notebook: nbformat.NotebookNode
    parameters: dict[str, Any]

    @property
    def name(self) -> str:
        return self.source.stem


@dataclass
class RunResult:
    """Outcome of :func:`run_pipeline`."""

    folder: RunFolder
    status: str
    message: str | None = None
    notebooks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "completed"


def notebook_sources(directory: Path | None = None) -> list[Path]:
    """``notebooks/NN_*.py`` in execution order: a run's stages (not :data:`COMPARE_NOTEBOOK`)."""
    folder = directory or resolve(NOTEBOOKS_DIR)
    sources = sorted(path for path in folder.glob("[0-9][0-9]_*.py") if path.name != COMPARE_NOTEBOOK)
    if not sources:
        raise SeglabError(f"no notebooks found in {folder} (expected NN_name.py files)")
    return sources


def declared_parameters(notebook: nbformat.NotebookNode) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell."""
    return {parameter["name"] for parameter in pm.inspect_notebook(notebook).values()}


def plan_notebooks(config: Config, run_dir: str, kernel: str,
                   sources: list[Path] | None = None) -> list[NotebookPlan]:
    """Read every notebook and decide its parameters; any mismatch is an error before work starts.

    A notebook may declare ``run_dir``, top-level scalars (``seed``, ``backend``) and config
    sections; every config key except the runner's own must be declared by some notebook, so
    no parameter is silently ignored.
    """
    values = config.to_dict()
    allowed = {"run_dir", *values} - RUN_LEVEL_KEYS
    plans, used = [], set()
    for source in sources or notebook_sources():
        notebook = jupytext.read(source)
        notebook.metadata["kernelspec"] = {"name": kernel, "display_name": kernel,
                                           "language": "python"}
        declared = declared_parameters(notebook)
        unknown = declared - allowed
        if unknown:
            raise SeglabError(f"{source.name}: parameters cell declares {sorted(unknown)}, which are "
                              f"not config keys (allowed: run_dir and {sorted(allowed - {'run_dir'})})")
        if "run_dir" not in declared:
            raise SeglabError(f"{source.name}: parameters cell must declare run_dir")
        used |= declared
        parameters = {name: values[name] for name in declared if name != "run_dir"}
        plans.append(NotebookPlan(source, notebook, {"run_dir": run_dir, **parameters}))
    orphans = set(values) - used - RUN_LEVEL_KEYS
    if orphans:
        raise SeglabError(f"config keys {sorted(orphans)} are declared by no notebook: they would "
                          "be ignored; declare them in the notebook's parameters cell")
    return plans


def kernel_argv0(kernel: str) -> str:
    """The interpreter a kernel name starts; unknown names are an error (never a fallback)."""
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(kernel)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise SeglabError(f"kernel {kernel!r} is not registered (registered: {known}); use "
                          "--kernel python3 for this interpreter, or ./setup_kernel.sh") from None
    argv0 = spec.argv[0]
    return sys.executable if argv0 in {"python", "python3"} and kernel == "python3" else argv0


def new_run_id() -> str:
    """Sortable, unique even for runs started in the same second: ``20261126T231500Z-3f9a1c``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_pipeline(
    config: Config,
    *,
    runs_dir: Path,
    kernel: str = "python3",
    run_id: str | None = None,
    engine: Engine = "notebooks",
    echo: Callable[[str], None] = print,
) -> RunResult:
    """Execute every stage into ``runs_dir/<run-id>/``; stop at the first failure.

    ``engine="notebooks"`` executes the notebooks with papermill on ``kernel``;
    ``engine="direct"`` calls their stage functions in this process.
    Returns the result with status ``completed`` or ``failed``; the manifest says the same. A
    ``KeyboardInterrupt`` (or SIGTERM) marks the run ``interrupted`` and propagates. Nothing is
    written before the run id, the data file and the tracking store have been checked, and a
    finished run's files are made read-only.
    """
    argv0 = kernel_argv0(kernel) if engine == "notebooks" else sys.executable
    folder = RunFolder(run_path(runs_dir, run_id or new_run_id()))
    if folder.path.exists():
        raise SeglabError(f"run folder {folder.path} already exists: choose another run id")
    if "://" not in config.data.path:
        require_table_file(str(resolve(config.data.path)))
    resolution = resolve_backend(config.backend)
    config = config.model_copy(update={"backend": resolution.name})
    plans = plan_notebooks(config, _portable(folder.path), kernel)
    tracker = open_tracker(config.tracking, store_dir=runs_dir)
    shown = redacted(config)
    with _terminate_as_interrupt():
        trial = tracker.start_run(config.experiment, folder.run_id, params=shown.to_dict(),
                                  run_dir=folder.path)  # a run the store cannot record never starts
        result = RunResult(folder, "running")
        started = time.perf_counter()
        try:
            folder.create()
            save_config(shown, folder.params)
            manifest = _initial_manifest(folder, config, kernel, argv0, resolution)
            folder.write_json(folder.manifest, {**manifest, "engine": engine,
                                                "tracking": tracker.backend})
            folder.record_metrics(backend=resolution.name)
            _run_stages(plans, folder, config, kernel, engine, trial, result, echo)
        except KeyboardInterrupt as exc:
            result.status = "interrupted"
            result.message = str(exc) or "interrupted by the user (Ctrl-C)"
            raise
        except Exception as exc:
            result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            try:
                _finish(folder, trial, result, time.perf_counter() - started)
            finally:
                tracker.close()
    return result


def _run_stages(plans: list[NotebookPlan], folder: RunFolder, config: Config, kernel: str,
                engine: Engine, trial: Run, result: RunResult, echo: Callable[[str], None]) -> None:
    """Every notebook in order, stopping at the first failure; the outcome goes into ``result``."""
    with _run_kernel(kernel, plans[0].source.parent if engine == "notebooks" else None) as km:
        for index, plan in enumerate(plans, start=1):
            echo(f"[{index}/{len(plans)}] {plan.name} ...")
            entry = _run_stage(plan, folder, config, km, trial)
            result.notebooks.append(entry)
            echo(f"[{index}/{len(plans)}] {plan.name} {entry['status']} "
                 f"({entry['seconds']:.1f} s)")
            if entry["status"] != "completed":
                result.status, result.message = "failed", entry["error"]
                return
    result.status = "completed"


@contextmanager
def _run_kernel(kernel: str, cwd: Path | None) -> Iterator[KernelManager | None]:
    """One kernel for all of a run's notebooks (``None`` for the direct engine).

    Each notebook still runs with its own parameters (its parameters cell, then papermill's
    injected one), and stages hand each other only files; sharing the kernel saves a kernel
    start and the imports of seglab, umap and numba per notebook.
    """
    if cwd is None:
        yield None
        return
    km = KernelManager(kernel_name=kernel)
    km.start_kernel(extra_arguments=KERNEL_ARGUMENTS, cwd=str(cwd))
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM ends the run like Ctrl-C: the
    manifest and the store say ``interrupted`` instead of ``running`` forever."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_stage(plan: NotebookPlan, folder: RunFolder, config: Config, km: KernelManager | None,
               trial: Run) -> dict[str, Any]:
    """One notebook (or its stage function), tracked as a trial component."""
    params = {name: value for name, value in plan.parameters.items() if name != "run_dir"}
    with trial.component(plan.name, params=params) as component:
        entry = (_execute(plan, folder, km) if km is not None
                 else _call_stage(plan, folder, config))
        component.log_metrics({"seconds": entry["seconds"]})
        if "output" in entry and (folder.path / entry["output"]).exists():
            component.log_artifact(folder.path / entry["output"])
        component.end(entry["status"])
    return entry


def _track(trial: Run, folder: RunFolder) -> None:
    """Every metric, every file of the run folder and the manifest's facts (not the status)."""
    manifest = folder.read_json(folder.manifest)
    trial.log_metrics(folder.read_metrics())
    trial.log_artifacts(folder.path)
    trial.log_tags({key: manifest.get(key) for key in TRACKED_FACTS if manifest.get(key) is not None})


def _execute(plan: NotebookPlan, folder: RunFolder, km: KernelManager) -> dict[str, Any]:
    output = folder.notebooks / f"{plan.name}.ipynb"
    entry: dict[str, Any] = {"notebook": plan.source.name, "output": str(output.relative_to(folder.path))}
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            plan.notebook, str(output), parameters=plan.parameters, kernel_name=km.kernel_name,
            language="python", progress_bar=sys.stderr.isatty(), log_output=False,
            request_save_on_cell_execute=True, km=km,
        )
        entry["status"] = "completed"
    except pm.PapermillExecutionError as exc:
        entry.update(status="failed", cell=exc.exec_count,
                     error=f"{plan.source.name} failed in cell {exc.exec_count}: {exc.ename}: "
                           f"{exc.evalue.strip()} (executed notebook: {output})")
    except Exception as exc:  # kernel death, timeouts: still a failed run, never a crash
        entry.update(status="failed", error=f"{plan.source.name} could not run: "
                                            f"{type(exc).__name__}: {exc}")
    entry["seconds"] = round(time.perf_counter() - start, 2)
    return entry


def _call_stage(plan: NotebookPlan, folder: RunFolder, config: Config) -> dict[str, Any]:
    entry: dict[str, Any] = {"notebook": plan.source.name, "engine": "direct"}
    start = time.perf_counter()
    try:
        NOTEBOOK_STAGES[plan.name](folder, config)
        entry["status"] = "completed"
    except Exception as exc:  # a failed stage is a failed run, recorded, never a crash
        entry.update(status="failed",
                     error=f"{plan.name} failed: {type(exc).__name__}: {str(exc).strip()}")
    entry["seconds"] = round(time.perf_counter() - start, 2)
    return entry


def _finish(folder: RunFolder, trial: Run, result: RunResult, seconds: float) -> None:
    """End the run so that a kill at any point leaves manifest and store agreeing.

    Metrics, tracking and freezing come first; the manifest's final status is the last file
    written (the commit point), and the store's status follows it: a run killed in between
    reads ``running`` with a dead owner in the store, and the store's reaper takes the final
    status from the manifest.
    """
    started = folder.manifest.exists()
    if started:
        metrics = folder.read_metrics()
        keys = [*METRIC_KEYS, *(f"seconds_{stage}" for stage in STAGE_TIMINGS)]
        complete = {key: metrics.get(key) for key in keys}
        folder.write_json(folder.metrics, {**complete, **metrics, "seconds_total": round(seconds, 3)})
    status = result.status if result.status in FINAL_STATUSES else "failed"
    error = result.message
    try:
        _track(trial, folder)
    except Exception as exc:  # a run the store could not record did not complete
        if status == "completed":
            status, error = "failed", f"the tracking store could not record the run: {exc}"
        raise
    finally:  # a full disk can fail the store's writes: the folder is still frozen and sealed
        folder.freeze()
        if started:
            folder.seal_manifest(status=status, error=error, notebooks=result.notebooks,
                                 ended_at=_now())
    trial.end(status)


def _initial_manifest(folder: RunFolder, config: Config, kernel: str, argv0: str,
                      resolution: Any) -> dict[str, Any]:
    return {
        "run_id": folder.run_id,
        "experiment": config.experiment,
        "status": "running",
        "started_at": _now(),
        "ended_at": None,
        "notebooks": [],
        "git": _git_facts(),
        "python": platform.python_version(),
        "packages": {k: v for k, v in package_versions().items() if v},
        "backend": {"requested": resolution.requested, "name": resolution.name,
                    "reason": resolution.reason},
        "device": _device(resolution.name, resolution.reason),
        "kernel": {"name": kernel, "argv0": argv0},
        "host": liveness.HOST,
        "pid": os.getpid(),
        "pid_started": liveness.identity()[1],
        "seglab_version": __version__,
    }


def _git_facts() -> dict[str, Any]:
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True,
                                  timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _device(backend: str, reason: str) -> str:
    if backend == "gpu":
        return reason
    return f"CPU {platform.machine()} ({os.cpu_count()} cores)"


def _portable(path: Path) -> str:
    """Repo-relative when inside the checkout (executed notebooks stay portable), else absolute."""
    try:
        return str(path.resolve().relative_to(repo_root()))
    except ValueError:
        return str(path.resolve())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
