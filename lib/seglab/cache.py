"""A content-addressed cache of stage outputs, shared by the runs of one runs folder.

A stage's outputs (files in the run folder's ``artifacts/``) are stored under a key that hashes
everything they depend on: the content of the stage's input (the data file, or the artifact an
earlier stage wrote), the config sections the stage reads, the seed, the backend, the seglab
version and a hash of seglab's source files. A sweep over clustering parameters therefore
prepares the features, fits UMAP and computes the k-distance curve once, and every later trial
gets a copy of the stored files in its own run folder.

Safety:

- an entry is written into a private temporary folder and published with one atomic
  ``rename``; concurrent identical computations both succeed and the second copy is dropped;
- a hit proves its content: every file is copied (reflinked where the filesystem can) into the
  run folder and the SHA-256 of the copy, the bytes the run will read, must equal the one
  ``entry.json`` recorded, else the entry is a miss (and is replaced), never an input. Input
  files in a key are hashed in full every time, never remembered by inode or mtime;
- a run folder holds copies, never links: damaging or clearing the cache cannot change a run
  that used it;
- entries hold NumPy (read with ``allow_pickle=False``), Parquet and JSON files only: the
  cache copies bytes and never unpickles anything;
- a cache folder that cannot be written turns the cache off for the run, with one warning;
  staging folders left by killed processes are removed by the next store and by
  ``seglab cache clear``, and ``seglab cache list`` counts them.

Location: ``<runs folder>/.cache`` (``$SEGLAB_CACHE_DIR`` overrides it); ``SEGLAB_CACHE=off``
turns the cache off. ``seglab cache list`` and ``seglab cache clear`` manage it.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seglab import __version__, liveness
from seglab.errors import SeglabError

CACHE_DIR_NAME = ".cache"
ENV_ENABLED = "SEGLAB_CACHE"
"""``off`` (or ``0``, ``false``, ``no``) turns the cache off."""
ENV_DIR = "SEGLAB_CACHE_DIR"
"""A cache folder to use instead of ``<runs folder>/.cache``."""
ENTRY_FILE = "entry.json"
ENTRIES = "entries"
STAGING = "staging"
LEGACY_MEMOS = "fingerprints"
"""Hash memos older seglab versions kept (keyed by inode and mtime, which a rewrite can fake);
never read, removed by ``seglab cache clear``."""
_OFF = {"off", "0", "false", "no"}
_CHUNK = 1 << 22
_FICLONE = 0x40049409
"""Linux ``ioctl`` that shares a file's extents (a reflink) on Btrfs, XFS and similar."""
_OWNER = "@"
"""Separates the host and pid of a staging folder's owner in its name (never in a host name)."""
_UNWRITABLE: set[Path] = set()
"""Cache folders already reported unwritable in this process (one warning each)."""


@dataclass(frozen=True)
class Entry:
    """One stored stage output, as ``seglab cache list`` shows it."""

    stage: str
    key: str
    files: list[str]
    bytes: int
    created: float
    compute_seconds: float | None


def enabled() -> bool:
    """Whether the cache is on (it is unless ``$SEGLAB_CACHE`` says ``off``)."""
    return os.environ.get(ENV_ENABLED, "on").strip().lower() not in _OFF


def default_dir(runs_dir: Path) -> Path:
    """The cache folder of a runs folder: ``$SEGLAB_CACHE_DIR``, else ``<runs_dir>/.cache``."""
    override = os.environ.get(ENV_DIR)
    return Path(override).expanduser().resolve() if override else Path(runs_dir) / CACHE_DIR_NAME


def open_cache(runs_dir: Path) -> StageCache | None:
    """The stage cache of a runs folder, or ``None`` when it is off or cannot be written.

    A folder that cannot be created or written warns once per process and the run goes on
    uncached.
    """
    if not enabled():
        return None
    root = default_dir(runs_dir)
    problem = _unwritable(root)
    if problem is None:
        return StageCache(root)
    if root not in _UNWRITABLE:
        _UNWRITABLE.add(root)
        warnings.warn(f"stage cache: {root} cannot be written ({problem}); the run goes on "
                      f"uncached (fix its permissions, set {ENV_DIR}, or {ENV_ENABLED}=off)",
                      stacklevel=2)
    return None


def file_digest(path: Path) -> str:
    """SHA-256 of a regular file's bytes, as ``sha256:<hex>``.

    Raises:
        SeglabError: ``path`` is not a regular file (a device or a pipe would never end).
    """
    if not stat.S_ISREG(os.stat(path).st_mode):  # before open: opening a FIFO blocks
        raise SeglabError(f"{path}: not a regular file; point data.path at a CSV or Parquet file")
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over seglab's own Python sources (names and bytes), computed once per process."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\x00")
        digest.update(source.read_bytes())
    return digest.hexdigest()


class StageCache:
    """The stage cache in one folder.

    Args:
        root: the cache folder (created on first write).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def key(self, stage: str, inputs: Mapping[str, Any]) -> str:
        """The content address of a stage's outputs.

        Args:
            stage: the stage name (its notebook's, e.g. ``01_exploration``).
            inputs: everything the outputs depend on: config sections (pydantic models) and
                values, and input files (a ``Path`` stands for the SHA-256 of its bytes,
                computed in full on every call).

        Returns:
            A hex SHA-256 over the stage, the inputs, the seglab version and a hash of seglab's
            source (an edited checkout never reads entries its old code wrote).
        """
        document = {"stage": stage, "seglab": __version__, "code": code_fingerprint(),
                    "inputs": inputs}
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=self._plain)
        return hashlib.sha256(text.encode()).hexdigest()

    def fetch_or_compute(self, stage: str, key: str, directory: Path, outputs: Iterable[str],
                         compute: Callable[[], None]) -> bool:
        """Copy a stored entry's files into ``directory``, or compute and store them.

        Args:
            stage: the stage name (entries are grouped by it).
            key: from :meth:`key`.
            directory: where the stage writes ``outputs`` (the run folder's ``artifacts/``).
            outputs: file names the stage writes into ``directory``.
            compute: writes every output into ``directory``.

        Returns:
            True on a hit (nothing computed; every copy matched its recorded SHA-256), False
            on a miss.

        Raises:
            SeglabError: ``compute`` did not write one of ``outputs``.
        """
        names = list(outputs)
        entry = self._entry_dir(stage, key)
        if self._serve(entry, directory, names):
            return True
        for name in names:
            (directory / name).unlink(missing_ok=True)
        started = time.perf_counter()
        compute()
        missing = [name for name in names if not (directory / name).is_file()]
        if missing:
            raise SeglabError(f"stage {stage} did not write {missing} into {directory}: "
                              "its outputs list is wrong (a bug in seglab.stages)")
        self._store(stage, key, entry, directory, names, time.perf_counter() - started)
        return False

    def entries(self) -> list[Entry]:
        """Every readable entry, oldest first (damaged ones are left out; ``clear`` removes them)."""
        found = []
        for path in sorted((self.root / ENTRIES).glob("*/*/*")):
            record = _read_entry(path)
            if record is not None:
                files = record["files"]
                found.append(Entry(stage=record["stage"], key=record["key"], files=sorted(files),
                                   bytes=sum(int(item["size"]) for item in files.values()),
                                   created=float(record["created"]),
                                   compute_seconds=record.get("compute_seconds")))
        return sorted(found, key=lambda item: item.created)

    def leftovers(self) -> list[Path]:
        """Staging folders whose writer has died (killed mid-store), oldest name first."""
        return [path for path in sorted((self.root / STAGING).glob("*")) if not _owner_alive(path)]

    def clear(self, stage: str | None = None) -> tuple[int, int]:
        """Remove entries (of one stage, or all with leftover staging folders and old memos).

        Returns:
            ``(entries removed, bytes freed)``.
        """
        entries = sorted((self.root / ENTRIES).glob(f"{stage or '*'}/*/*"))
        leftovers = [] if stage else [*self.leftovers(),
                                      *sorted((self.root / LEGACY_MEMOS).glob("*"))]
        freed = sum(_size(path) for path in entries + leftovers)
        for path in entries + leftovers:
            _remove(path)
        return len(entries), freed

    # -- internals --------------------------------------------------------------------------
    def _plain(self, value: Any) -> Any:
        if isinstance(value, Path):
            return file_digest(value)
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        raise TypeError(f"cache key input of type {type(value).__name__} is not supported")

    def _entry_dir(self, stage: str, key: str) -> Path:
        return self.root / ENTRIES / stage / key[:2] / key

    def _serve(self, entry: Path, directory: Path, names: list[str]) -> bool:
        """Copy every file of a complete entry into ``directory``, each checked against its hash.

        Returns False (and leaves none of ``names`` in ``directory``) when the entry is absent,
        incomplete, or any copy's size or SHA-256 differs from the record.
        """
        record = _read_entry(entry)
        if record is None or sorted(record["files"]) != sorted(names):
            return False
        directory.mkdir(parents=True, exist_ok=True)
        try:
            for name in names:
                expected = record["files"][name]
                if not _copy_checked(entry / name, directory / name, expected["size"],
                                     expected["sha256"]):
                    raise OSError(f"{entry / name} differs from its record")
        except OSError:  # damaged, or removed meanwhile (seglab cache clear): compute instead
            for name in names:
                (directory / name).unlink(missing_ok=True)
            return False
        return True

    def _verified(self, entry: Path, names: list[str]) -> bool:
        """Whether the entry lists exactly ``names`` and each file has its recorded size and hash."""
        record = _read_entry(entry)
        if record is None or sorted(record["files"]) != sorted(names):
            return False
        try:
            return all((entry / name).stat().st_size == record["files"][name]["size"]
                       and file_digest(entry / name) == record["files"][name]["sha256"]
                       for name in names)
        except (OSError, SeglabError):
            return False

    def _store(self, stage: str, key: str, entry: Path, directory: Path, names: list[str],
               seconds: float) -> None:
        try:
            self._publish(stage, key, entry, directory, names, seconds)
        except OSError as exc:  # a full disk or a concurrent clear: the run still has its files
            warnings.warn(f"stage cache: could not store {stage} {key[:12]} ({exc}); "
                          "the run goes on uncached", stacklevel=3)

    def _publish(self, stage: str, key: str, entry: Path, directory: Path, names: list[str],
                 seconds: float) -> None:
        for leftover in self.leftovers():
            _remove(leftover)
        staging = self.root / STAGING
        staging.mkdir(parents=True, exist_ok=True)
        owner = f"{_OWNER}{liveness.HOST}{_OWNER}{os.getpid()}{_OWNER}"
        scratch = Path(tempfile.mkdtemp(dir=staging, prefix=f"{stage}-{key[:12]}{owner}"))
        try:
            files = {}
            for name in names:
                shutil.copyfile(directory / name, scratch / name)
                os.chmod(scratch / name, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                files[name] = {"size": (scratch / name).stat().st_size,
                               "sha256": file_digest(scratch / name)}
            record = {"stage": stage, "key": key, "seglab": __version__, "created": time.time(),
                      "compute_seconds": round(seconds, 3), "files": files}
            (scratch / ENTRY_FILE).write_text(json.dumps(record, indent=1))
            entry.parent.mkdir(parents=True, exist_ok=True)
            if entry.exists() and not self._verified(entry, names):
                _remove(entry)  # damaged: replace it
            with contextlib.suppress(OSError):  # another worker published it first: keep theirs
                os.rename(scratch, entry)
        finally:
            if scratch.exists():
                _remove(scratch)


def _read_entry(entry: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((entry / ENTRY_FILE).read_text())
        files = record["files"]
        if not isinstance(files, dict) or record["key"] != entry.name:
            return None
        for item in files.values():
            int(item["size"]), str(item["sha256"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _copy_checked(source: Path, target: Path, size: int, sha256: str) -> bool:
    """Copy ``source`` to ``target`` (a reflink where possible) and prove the copy's content.

    The copy is hashed after it is written, so what the run reads is what was checked; a
    mismatch leaves no ``target``.

    Returns:
        Whether the copy has ``size`` bytes and SHA-256 ``sha256``.
    """
    partial = target.with_name(f".{target.name}.part")
    partial.unlink(missing_ok=True)
    target.unlink(missing_ok=True)
    with open(source, "rb") as src, open(partial, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        except OSError:  # no reflinks here (ext4, overlayfs, tmpfs): copy the bytes
            shutil.copyfileobj(src, dst, _CHUNK)
    os.chmod(partial, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    if partial.stat().st_size != size or file_digest(partial) != sha256:
        partial.unlink()
        return False
    os.replace(partial, target)
    return True


def _owner_alive(staging: Path) -> bool:
    """Whether the process named in a staging folder's name (``…@host@pid@…``) still runs."""
    parts = staging.name.split(_OWNER)
    if len(parts) != 4 or not parts[2].isdigit():
        return False  # an older seglab's folder, or a stray one: nobody owns it
    return liveness.alive(int(parts[2]), None, parts[1])


def _unwritable(root: Path) -> str | None:
    """Why files cannot be created in ``root`` (creating it if needed), or ``None`` if they can."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
