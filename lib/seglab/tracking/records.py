"""Plain records shared by the local store and the remote mirrors, and the remote seam.

A trial (one ``seglab run``) is read back from the local store as a :class:`TrialRecord`; a
remote (SageMaker, MLflow) pushes that whole record in one idempotent call, so the live mirror at
the end of a run and ``seglab sync`` are the same code path.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

TRACKED_FACTS = ("engine", "backend", "device", "kernel", "git", "python", "packages",
                 "data_fingerprint", "data_path", "host", "seglab_version", "tracking", "cache")
"""Run manifest entries recorded as tags of the run's trial."""

Status = Literal["running", "completed", "failed", "interrupted"]
FINAL_STATUSES: tuple[str, ...] = ("completed", "failed", "interrupted")

ParamValue = str | int | float | bool | None


class RemoteError(Exception):
    """A remote backend could not record a trial (network, credentials, throttling, limits)."""


@dataclass(frozen=True)
class MetricPoint:
    """One logged metric value."""

    key: str
    value: float
    step: int
    time: float
    """Unix seconds."""


@dataclass(frozen=True)
class Artifact:
    """A file or URI logged by a trial or component."""

    name: str
    uri: str
    """Absolute local path or a remote URI (``s3://``)."""
    kind: Literal["input", "output"] = "output"


@dataclass
class Entity:
    """What a trial or one of its components recorded (SageMaker: one trial component)."""

    name: str
    """Component name; ``""`` for the trial's own record."""
    status: str
    started_at: float
    ended_at: float | None
    params: dict[str, ParamValue] = field(default_factory=dict)
    metrics: list[MetricPoint] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class TrialRecord:
    """One trial with its components, as stored locally."""

    experiment: str
    trial: str
    run_dir: str | None
    summary: Entity
    """The trial-level params, metrics, artifacts and tags."""
    components: list[Entity] = field(default_factory=list)


class Remote(Protocol):
    """A mirror of the local store (SageMaker Experiments, MLflow)."""

    name: str
    """``sagemaker`` or ``mlflow``."""
    target: str
    """Where it writes (S3 prefix or tracking URI, ``""`` for none): enough to rebuild it."""

    def push(self, record: TrialRecord) -> None:
        """Record the whole trial idempotently; raise :class:`RemoteError` on failure."""
        ...


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, ParamValue]:
    """Flatten nested mappings to dotted keys; lists and other values become JSON strings.

    Args:
        mapping: e.g. ``config.to_dict()``.
        prefix: prepended to every key (used by the recursion).

    Returns:
        ``{"cluster.eps": 0.3, "cluster.baselines": '["kmeans", "gmm"]', ...}``.
    """
    flat: dict[str, ParamValue] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        elif value is None or isinstance(value, str | int | float | bool):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


def as_metric(value: Any) -> float | None:
    """A finite float for a numeric metric value (bools count as 0/1), else ``None``."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None
