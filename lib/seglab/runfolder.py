"""The run folder contract (README.md, "What a run produces"): one folder per run, the only
way stages share data.

``runs/<run-id>/`` holds ``params.yaml``, ``manifest.json``, ``metrics.json``, ``labels.parquet``,
``figures/*.png``, ``report.html`` and ``notebooks/NN_*.ipynb``; intermediate arrays handed from
one stage to the next live under ``artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np

from seglab import liveness
from seglab.errors import SeglabError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

METRIC_KEYS: tuple[str, ...] = (
    "n_rows", "n_features_in", "n_features_used", "backend", "eps", "eps_low", "eps_high",
    "min_samples", "n_clusters", "noise_fraction", "largest_cluster_fraction", "silhouette",
    "silhouette_ci_low", "silhouette_ci_high", "silhouette_sample_size",
    "silhouette_feature_space", "davies_bouldin", "calinski_harabasz", "trustworthiness", "ari",
    "ami", "stability_ari", "verdict", "selected", "n_candidates", "n_groups", "n_layers",
    "seconds_total",
)
"""Every run's ``metrics.json`` holds these keys (``null`` where not applicable), plus
``seconds_<stage>`` per stage: the run folder contract's list (with model selection's ``verdict``,
``selected`` and ``n_candidates``, and with layers ``n_groups`` and ``n_layers``)."""
FINAL_STATUSES = ("completed", "failed", "interrupted")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A run id is one plain folder name: letters, digits, ``.``, ``_``, ``-``, not starting with
a dot (so never ``..``) and never a path."""
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def run_path(runs_dir: Path, run_id: str) -> Path:
    """The folder of run ``run_id`` under ``runs_dir``; nothing user-given leaves ``runs_dir``.

    Raises:
        SeglabError: ``run_id`` is not a plain folder name.
    """
    if not RUN_ID.fullmatch(run_id):
        raise SeglabError(f"run id {run_id!r} is not a plain folder name: use letters, digits, "
                          "'.', '_' and '-' (starting with a letter or digit), at most 200")
    path = Path(runs_dir) / run_id
    if path.resolve().parent != Path(runs_dir).resolve():  # e.g. a symlink planted in runs/
        raise SeglabError(f"run folder {path} resolves outside {runs_dir}: remove that link")
    return path


def manifest_status(manifest: dict[str, Any]) -> str:
    """A manifest's status, with the tracking store's liveness rule applied.

    A ``running`` manifest whose process (host, pid and start time) is gone is ``interrupted``.
    """
    status = str(manifest.get("status") or "unknown")
    pid = manifest.get("pid")
    if status == "running" and isinstance(pid, int) and not liveness.alive(
            pid, manifest.get("pid_started"), manifest.get("host")):
        return "interrupted"
    return status


@dataclass(frozen=True)
class RunFolder:
    """Typed access to the files of one run folder."""

    path: Path

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def params(self) -> Path:
        return self.path / "params.yaml"

    @property
    def manifest(self) -> Path:
        return self.path / "manifest.json"

    @property
    def metrics(self) -> Path:
        return self.path / "metrics.json"

    @property
    def labels(self) -> Path:
        return self.path / "labels.parquet"

    @property
    def report(self) -> Path:
        return self.path / "report.html"

    @property
    def figures(self) -> Path:
        return self.path / "figures"

    @property
    def notebooks(self) -> Path:
        return self.path / "notebooks"

    @property
    def artifacts(self) -> Path:
        return self.path / "artifacts"

    @property
    def finished(self) -> bool:
        """Whether the run has ended: its manifest holds a final status (completed, failed or
        interrupted), or says ``running`` while its process is dead (the store's liveness rule)."""
        return manifest_status(self.read_json(self.manifest)) in FINAL_STATUSES

    def create(self) -> RunFolder:
        """Make the folder and its sub-folders; returns ``self``."""
        for folder in (self.path, self.figures, self.notebooks, self.artifacts):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    def artifact(self, name: str) -> Path:
        """Path of an intermediate file; missing ones raise a clear error on read."""
        return self.artifacts / name

    def require(self, name: str, produced_by: str) -> Path:
        """Path of an artifact an earlier stage must have written."""
        path = self.artifact(name)
        if not path.exists():
            raise SeglabError(
                f"{path} not found: run notebook {produced_by} first (same run_dir), or `seglab run`"
            )
        return path

    def settle(self) -> str:
        """The run's status; a run whose process died is marked ``interrupted`` in its manifest.

        The manifest then tells the truth on its own: ``ended_at`` is the last time the dead
        process wrote it.
        """
        manifest = self.read_json(self.manifest)
        status = manifest_status(manifest)
        if status == "interrupted" and manifest.get("status") == "running":
            last = dt.datetime.fromtimestamp(self.manifest.stat().st_mtime, dt.UTC)
            manifest.update(status=status, ended_at=last.isoformat(timespec="seconds"),
                            error=manifest.get("error") or "the run's process died (killed)")
            self.write_json(self.manifest, manifest)
        return status

    def freeze(self) -> None:
        """Make every file of the finished run read-only (the folder itself stays removable)."""
        for path in [self.path, *self.path.rglob("*")]:
            if path.is_file() and not path.is_symlink():
                path.chmod(path.stat().st_mode & ~_WRITE_BITS)

    def check(self) -> RunFolder:
        """``self`` if this is a run folder whose JSON files are objects, else a clear error.

        Raises:
            SeglabError: no manifest or metrics, or one that is not a JSON object.
        """
        for path in (self.manifest, self.metrics):
            try:
                value = json.loads(path.read_text())
            except FileNotFoundError:
                raise SeglabError(f"{self.path} is not a run folder (no {path.name}): pass a "
                                  "folder made by `seglab run`, or a run id") from None
            except (OSError, ValueError) as exc:
                raise SeglabError(f"{path}: unreadable ({exc}); the run folder is damaged") from None
            if not isinstance(value, dict):
                raise SeglabError(f"{path}: expected a JSON object, found "
                                  f"{type(value).__name__}; the run folder is damaged")
        return self

    # -- JSON, arrays, figures -------------------------------------------------------------
    def read_json(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text()) if path.exists() else {}

    def write_json(self, path: Path, data: dict[str, Any], read_only: bool = False) -> None:
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable),
                          read_only)

    def save_array(self, name: str, array: np.ndarray) -> None:
        with _atomic_path(self.artifact(name)) as tmp, open(tmp, "wb") as handle:
            np.save(handle, array, allow_pickle=False)

    def load_array(self, name: str, produced_by: str) -> np.ndarray:
        return np.load(self.require(name, produced_by), allow_pickle=False)

    def save_frame(self, name: str, frame: pd.DataFrame) -> None:
        """Write ``artifacts/<name>`` as Parquet (atomic), without the index."""
        with _atomic_path(self.artifact(name)) as tmp:
            frame.to_parquet(tmp, index=False)

    def save_figure(self, figure: Figure, name: str) -> Figure:
        """Save ``figure`` as ``figures/<name>.png`` and release it from pyplot.

        The returned figure still displays in a notebook (as a cell's value), but it is no longer
        shown twice by the inline backend nor kept alive across many runs in one process.
        """
        self.figures.mkdir(parents=True, exist_ok=True)
        figure.savefig(self.figures / f"{name}.png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        return figure

    def update_manifest(self, **facts: Any) -> None:
        """Merge ``facts`` into ``manifest.json`` (atomic; later values win)."""
        self.write_json(self.manifest, {**self.read_json(self.manifest), **facts})

    def seal_manifest(self, **facts: Any) -> None:
        """Merge ``facts`` (the final status) into ``manifest.json``, which appears read-only in
        one ``rename``: a run's last write, after its files are frozen and tracked."""
        self.write_json(self.manifest, {**self.read_json(self.manifest), **facts}, read_only=True)

    # -- metrics ---------------------------------------------------------------------------
    def read_metrics(self) -> dict[str, Any]:
        return self.read_json(self.metrics)

    def record_metrics(self, **values: Any) -> None:
        """Merge ``values`` into ``metrics.json`` (atomic; later values win)."""
        self.write_json(self.metrics, {**self.read_metrics(), **values})

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Record the wall time of the block as ``seconds_<stage>``."""
        start = time.perf_counter()
        yield
        self.record_metrics(**{f"seconds_{stage}": round(time.perf_counter() - start, 3)})


def atomic_write_text(path: Path, text: str, read_only: bool = False) -> None:
    """Write ``text`` so readers see the old or the new file, never half of one (``read_only``:
    the new file has no write bits from the start)."""
    with _atomic_path(path) as tmp:
        Path(tmp).write_text(text)
        if read_only:
            os.chmod(tmp, os.stat(tmp).st_mode & ~_WRITE_BITS)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


NEW_FILE_MODE = 0o666 & ~_umask()
"""The mode ``open()`` gives a new file here (0644 under the usual umask 022). Atomic writes
give their file this mode too (``mkstemp`` makes 0600), so every file of a finished run has
one mode once frozen: 0444 under umask 022."""


@contextmanager
def _atomic_path(path: Path) -> Iterator[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, NEW_FILE_MODE)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
