"""Running a sweep's trials: in this process, or on Dask (a local cluster or an existing one).

Each trial is one :func:`seglab.runner.run_pipeline` call with its own run id, tracked in the
runs folder's store like any ``seglab run``. A trial that fails is recorded as failed and the
others go on. Dask workers must see the same runs folder and data (a shared file system) and
have seglab installed; each worker runs one trial at a time (``--nthreads 1``: matplotlib's
pyplot is not thread-safe).
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seglab.config import validate_config
from seglab.errors import SeglabError
from seglab.runfolder import RunFolder
from seglab.tracking.local import LocalStore

OUTCOME_METRICS = ("silhouette", "noise_fraction", "n_clusters", "eps", "min_samples")


@dataclass(frozen=True)
class TrialTask:
    """What a worker needs to run one trial (plain data: it travels to Dask workers)."""

    run_id: str
    config: dict[str, Any]
    runs_dir: str
    engine: str = "direct"


@dataclass(frozen=True)
class TrialOutcome:
    """How a trial ended: ``completed``, ``failed`` or ``interrupted``."""

    run_id: str
    status: str
    message: str | None = None
    seconds: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, bool] = field(default_factory=dict)
    """Each cached stage the trial went through: whether the stage cache had it."""


def run_trial(task: TrialTask) -> TrialOutcome:
    """Run one trial to the end; a failure is an outcome, never an exception.

    A ``KeyboardInterrupt`` propagates (the runner has marked the trial ``interrupted``).
    """
    from seglab.runner import run_pipeline  # heavy imports stay out of the Dask client

    folder = RunFolder(Path(task.runs_dir) / task.run_id)
    try:
        with warnings.catch_warnings():  # density warnings stay in the trial's manifest
            warnings.simplefilter("ignore", UserWarning)
            result = run_pipeline(validate_config(task.config), runs_dir=Path(task.runs_dir),
                                  run_id=task.run_id, engine=task.engine,  # type: ignore[arg-type]
                                  echo=lambda _line: None)
        status, message = result.status, result.message
    except SeglabError as exc:  # refused before the trial started (e.g. its folder exists)
        status, message = "failed", str(exc)
    except Exception as exc:  # recorded as failed by the runner; the sweep goes on
        status, message = "failed", f"{type(exc).__name__}: {exc}"
    metrics = folder.read_metrics() if folder.metrics.exists() else {}
    cache = folder.read_json(folder.manifest).get("cache", {})
    return TrialOutcome(task.run_id, status, message, metrics.get("seconds_total"),
                        {key: metrics.get(key) for key in OUTCOME_METRICS},
                        {stage: bool(entry.get("hit")) for stage, entry in cache.items()})


def run_serial(tasks: Sequence[TrialTask], report: Callable[[TrialOutcome], None]) -> None:
    """Run the trials one after another in this process."""
    for task in tasks:
        report(run_trial(task))


def run_on_dask(tasks: Sequence[TrialTask], report: Callable[[TrialOutcome], None], *,
                workers: int | None = None, scheduler: str | None = None) -> None:
    """Run the trials on Dask: a new local cluster of ``workers`` processes, or ``scheduler``.

    The first trial runs alone, so the stages all trials share (features, UMAP, k-distance)
    are computed once and then read from the stage cache. On ``KeyboardInterrupt`` pending
    trials are cancelled and the interrupt propagates.
    """
    if importlib.util.find_spec("distributed") is None:
        raise SeglabError("--workers/--scheduler need Dask: pip install -e '.[dask]'")
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        client.run(prepare_worker)
        pending = list(tasks)
        for batch in (pending[:1], pending[1:]):
            futures = {client.submit(run_trial, task, key=f"trial-{task.run_id}", pure=False): task
                       for task in batch}
            try:
                for future in as_completed(futures):
                    report(_outcome(future, futures[future]))
            except KeyboardInterrupt:
                client.cancel(list(futures))
                raise


def prepare_worker() -> None:
    """Load seglab's pipeline and hash its source on every worker at the same moment.

    Workers then run the same code and compute the same cache keys even if the checkout is
    edited while the sweep runs.
    """
    import seglab.runner  # noqa: F401  (the stage code, loaded now)
    from seglab.cache import code_fingerprint

    code_fingerprint()


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A client of a new local cluster of ``workers`` processes, or of ``scheduler``."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as exc:
            raise SeglabError(f"--scheduler {scheduler}: cannot connect ({exc}); check the "
                              "address (tcp://host:8786) and that the scheduler runs") from None
        with client:
            yield client
        return
    with LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client


def _outcome(future: Any, task: TrialTask) -> TrialOutcome:
    try:
        return future.result()
    except Exception as exc:  # the worker died (KilledWorker) or the task was lost
        return TrialOutcome(task.run_id, "failed", f"worker lost the trial: {type(exc).__name__}: {exc}")


def mark_interrupted(runs_dir: Path) -> list[str]:
    """Turn ``interrupted`` the trials left ``running`` by dead processes, store and manifest.

    Returns:
        Their run ids.
    """
    store = LocalStore(runs_dir)
    try:
        names = store.reap()
    finally:
        store.close()
    for name in names:
        folder = RunFolder(runs_dir / name)
        if folder.read_json(folder.manifest).get("status") == "running":
            folder.update_manifest(status="interrupted")
    return names
