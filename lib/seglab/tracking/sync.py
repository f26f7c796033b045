"""Push trials from the local store to a remote, live at the end of a run or replayed later."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seglab.errors import SeglabError
from seglab.tracking.backends import make_remote
from seglab.tracking.local import LocalStore
from seglab.tracking.records import Remote


@dataclass(frozen=True)
class SyncResult:
    """What happened to one trial."""

    trial: str
    backend: str
    error: str | None
    """``None`` when the remote now has the trial."""


def push_trial(store: LocalStore, remote: Remote, trial: str) -> str | None:
    """Push one trial and record the outcome in the store.

    Returns:
        ``None`` on success, else a one-line reason.
    """
    try:
        remote.push(store.record(trial))
    except Exception as exc:  # a mirror must never fail the run: any failure is recorded
        error = one_line(exc)
        store.set_sync(trial, remote.name, remote.target, "failed", error)
        return error
    store.set_sync(trial, remote.name, remote.target, "synced", None)
    return None


def sync(
    store_dir: str | Path,
    experiment: str | None = None,
    to: str | None = None,
    s3_prefix: str | None = None,
    mlflow_uri: str | None = None,
) -> list[SyncResult]:
    """Replay finished trials that a remote missed.

    Args:
        store_dir: the runs folder.
        experiment: only this experiment.
        to: ``sagemaker`` or ``mlflow``: also push the trials never mirrored there, with
            ``s3_prefix`` / ``mlflow_uri``; ``None`` replays only pending and failed mirrors.
        s3_prefix: for ``to="sagemaker"``.
        mlflow_uri: for ``to="mlflow"``.

    Returns:
        One result per trial tried.
    """
    store = LocalStore(store_dir)
    try:
        store.reap()
        jobs = store.unsynced(experiment, backend=to)
        if to is not None:
            target = (s3_prefix or "") if to == "sagemaker" else (mlflow_uri or "")
            jobs += [(trial, to, target) for trial in store.never_synced(to, experiment)]
        remotes: dict[tuple[str, str], Remote] = {}
        results = []
        for trial, backend, target in jobs:
            key = (backend, target)
            if key not in remotes:
                remotes[key] = _remote_for(backend, target, Path(store_dir))
            error = push_trial(store, remotes[key], trial)
            results.append(SyncResult(trial, backend, error))
        return results
    finally:
        store.close()


LIMIT = 300


def one_line(exc: BaseException, limit: int = LIMIT) -> str:
    """``Type: first line of the message`` and its root cause, in at most ``limit`` characters.

    A long message is cut in the middle, never at the end, where HTTP clients put the cause
    (``... Connection refused'))``); a chained exception's innermost cause is named too.
    """
    parts = [_first_line(exc)]
    root = exc
    while (root.__cause__ or root.__context__) is not None:
        root = root.__cause__ or root.__context__
    if root is not exc and _first_line(root) not in parts[0]:
        parts.append(f"cause: {_first_line(root)}")
    message = "; ".join(parts)
    if len(message) <= limit:
        return message
    head = limit // 3
    return f"{message[:head]} … {message[-(limit - head - 3):]}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _remote_for(backend: str, target: str, store_dir: Path) -> Remote:
    s3_prefix = (target or None) if backend == "sagemaker" else None
    mlflow_uri = (target or None) if backend == "mlflow" else None
    remote = make_remote(backend, s3_prefix, mlflow_uri, store_dir)
    if remote is None:
        raise SeglabError(f"sync: {backend!r} is not a remote backend (use sagemaker or mlflow)")
    return remote
