"""The tracker: a trial (``Run``) and its stage components, recorded in the local store and
mirrored to the remote, if any. Opened by :func:`open_tracker`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from seglab.config import TrackingConfig
from seglab.errors import SeglabError
from seglab.tracking.backends import default_runs_dir, make_remote, resolve_backend
from seglab.tracking.local import LocalStore
from seglab.tracking.records import FINAL_STATUSES, Artifact, Remote, Status, flatten
from seglab.tracking.sync import push_trial

log = logging.getLogger("seglab.tracking")


class _Scope:
    """Logging methods shared by a run (trial) and its components."""

    def __init__(self, tracker: Tracker, trial: str, component: str, run_dir: Path | None) -> None:
        self._tracker = tracker
        self._store = tracker.store
        self.trial = trial
        self._component = component
        self.run_dir = run_dir
        self.status: Status = "running"

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record parameters; nested mappings become dotted keys (``cluster.eps``)."""
        self._store.log_params(self.trial, self._component, flatten(params))

    def log_metrics(self, metrics: Mapping[str, Any], step: int = 0) -> None:
        """Record metric values at ``step``; ``None``/NaN are skipped, text values become tags."""
        self._store.log_metrics(self.trial, self._component, metrics, step)

    def log_metric(self, name: str, value: float, step: int = 0) -> None:
        """Record one metric value (SageMaker ``Tracker.log_metric``)."""
        self.log_metrics({name: value}, step)

    def log_tags(self, tags: Mapping[str, Any]) -> None:
        """Record tags as text; nested mappings become dotted keys, ``None`` values are skipped."""
        flat = {key: value for key, value in flatten(tags).items() if value is not None}
        self._store.log_tags(self.trial, self._component, flat)

    def log_artifact(self, path: str | Path, name: str | None = None) -> Artifact:
        """Record an output file by path (nothing is copied).

        Args:
            path: an existing file.
            name: defaults to the path relative to the run folder (else the file name).

        Returns:
            The stored artifact.

        Raises:
            SeglabError: the file does not exist.
        """
        file = Path(path).resolve()
        if not file.is_file():
            raise SeglabError(f"{path}: artifact file not found (log files that exist)")
        return self._log_ref(name or self._artifact_name(file), str(file), "output")

    def log_input(self, name: str, value: str | Path) -> Artifact:
        """Record an input reference, a path or URI (SageMaker ``Tracker.log_input``)."""
        return self._log_ref(name, str(value), "input")

    def log_output(self, name: str, value: str | Path) -> Artifact:
        """Record an output reference, a path or URI (SageMaker ``Tracker.log_output``)."""
        return self._log_ref(name, str(value), "output")

    def end(self, status: Status = "completed") -> None:
        """Finish with ``completed``, ``failed`` or ``interrupted``; later calls do nothing."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(FINAL_STATUSES)}, not {status!r}")
        if self.status != "running":
            return
        self.status = status
        self._store.end(self.trial, self._component, status)

    log_parameters = log_params
    """SageMaker ``Tracker.log_parameters``."""

    def log_parameter(self, name: str, value: Any) -> None:
        """Record one parameter (SageMaker ``Tracker.log_parameter``)."""
        self.log_params({name: value})

    def __enter__(self) -> _Scope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.end("completed")
        elif issubclass(exc_type, Exception):
            self.end("failed")
        else:  # KeyboardInterrupt, SystemExit
            self.end("interrupted")

    def _log_ref(self, name: str, uri: str, kind: Literal["input", "output"]) -> Artifact:
        artifact = Artifact(name, uri, kind)
        self._store.log_artifacts(self.trial, self._component, [artifact])
        return artifact

    def _artifact_name(self, file: Path) -> str:
        if self.run_dir is not None and file.is_relative_to(self.run_dir):
            return file.relative_to(self.run_dir).as_posix()
        return file.name


class Component(_Scope):
    """One stage of a trial (SageMaker: a trial component), with its own params and metrics."""

    def __enter__(self) -> Component:
        return self


class Run(_Scope):
    """One trial: its own params, metrics, artifacts and tags, and its components.

    Use it as a context manager: a normal exit records ``completed``, an exception ``failed``,
    an interrupt ``interrupted``. Ending mirrors the trial to the remote backend, if any.
    """

    def __init__(self, tracker: Tracker, trial: str, experiment: str, run_dir: Path | None) -> None:
        super().__init__(tracker, trial, "", run_dir)
        self.experiment = experiment

    def component(self, name: str, params: Mapping[str, Any] | None = None) -> Component:
        """Start a stage; use it as a context manager (``failed`` on an exception).

        Args:
            name: stage name, e.g. ``reduce``; unique within the trial.
            params: the stage's parameters.
        """
        if not name:
            raise ValueError("a component needs a name")
        self._store.start_component(self.trial, name)
        stage = Component(self._tracker, self.trial, name, self.run_dir)
        if params:
            stage.log_params(params)
        return stage

    def log_artifacts(self, folder: str | Path) -> list[Artifact]:
        """Record every file under ``folder`` (hidden files and checkpoints skipped).

        Returns:
            The stored artifacts, named by their path relative to the run folder.
        """
        root = Path(folder).resolve()
        files = sorted(
            path
            for path in root.rglob("*")
            if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
        )
        artifacts = [Artifact(self._artifact_name(path), str(path)) for path in files]
        self._store.log_artifacts(self.trial, "", artifacts)
        return artifacts

    def end(self, status: Status = "completed") -> None:
        """Finish the trial (and its running components), then mirror it to the remote."""
        was_running = self.status == "running"
        super().end(status)
        if was_running:
            self._tracker.mirror(self.trial)

    def __enter__(self) -> Run:
        return self


class Tracker:
    """Records trials in the local store and mirrors them to an optional remote.

    Args:
        store: the local SQLite store.
        remote: SageMaker or MLflow mirror, or ``None``.
    """

    def __init__(self, store: LocalStore, remote: Remote | None = None) -> None:
        self.store = store
        self.remote = remote

    @property
    def backend(self) -> str:
        """``local``, or the remote's name (the local store records in every case)."""
        return self.remote.name if self.remote else "local"

    def start_run(
        self,
        experiment: str,
        trial: str,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        run_dir: str | Path | None = None,
    ) -> Run:
        """Start a trial owned by this process.

        Args:
            experiment: experiment name.
            trial: unique trial name (the run id).
            params: effective parameters (nested mappings become dotted keys).
            tags: facts about the run (git commit, device, data fingerprint...).
            run_dir: the run folder; artifacts inside it are named relative to it.

        Returns:
            The run, to use as a context manager.

        Raises:
            SeglabError: a trial of that name already exists.
        """
        folder = Path(run_dir).resolve() if run_dir is not None else None
        remote = (self.remote.name, self.remote.target) if self.remote else None
        self.store.start_trial(experiment, trial, str(folder) if folder else None, remote)
        run = Run(self, trial, experiment, folder)
        if params:
            run.log_params(params)
        if tags:
            run.log_tags(tags)
        return run

    def mirror(self, trial: str) -> None:
        """Push a trial to the remote; on failure warn once and leave it for ``seglab sync``."""
        if self.remote is None:
            return
        error = push_trial(self.store, self.remote, trial)
        if error:
            log.warning(
                "tracking: trial %s is recorded locally but not in %s (%s); "
                "replay it later with `seglab sync`",
                trial,
                self.remote.name,
                error,
            )

    def close(self) -> None:
        """Close the local store."""
        self.store.close()


def open_tracker(config: TrackingConfig | None = None, store_dir: str | Path | None = None) -> Tracker:
    """Open the local store and the configured mirror.

    Args:
        config: the ``tracking`` section (``backend`` auto|local|sagemaker|mlflow, ``s3_prefix``,
            ``mlflow_uri``); ``None`` = defaults (auto).
        store_dir: the runs folder holding ``seglab.db``; ``None`` = :func:`default_runs_dir`.

    Returns:
        A tracker; ``tracker.backend`` says which mirror ``auto`` chose.

    Raises:
        ConfigError: a backend asked for explicitly cannot work (missing extra, no URI).
    """
    config = config or TrackingConfig()
    folder = Path(store_dir) if store_dir is not None else default_runs_dir()
    backend = resolve_backend(config)
    remote = make_remote(backend, config.s3_prefix, config.mlflow_uri, folder)
    return Tracker(LocalStore(folder), remote)
