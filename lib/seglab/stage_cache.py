"""A stage's outputs through the stage cache (:mod:`seglab.cache`), the hit recorded.

``compute`` writes the outputs into ``artifacts/``; the stage then reads them back, so a cache
hit and a fresh computation take the same path from there on. Each stage's hit or miss, and its
key, go into the manifest under ``cache``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from seglab import cache
from seglab.artifacts import Artifact
from seglab.config import Config
from seglab.runfolder import RunFolder


def through_cache(folder: RunFolder, config: Config, stage: str, reads: Mapping[str, Any],
                  outputs: tuple[Artifact, ...], compute: Callable[[], None]) -> None:
    """Run ``compute`` (it writes ``outputs``) unless the cache has them for these ``reads``.

    Args:
        folder: the run folder.
        config: the run's config (its seed and backend are part of every key).
        stage: the stage's name (its notebook's).
        reads: what the outputs depend on: config sections and values, and input files (a
            ``Path`` stands for its content); a ``None`` value (data behind a URI) turns the
            cache off for this stage.
        outputs: the artifacts ``compute`` writes.
        compute: the stage's work.
    """
    store = cache.open_cache(folder.path.parent)
    if store is None or any(value is None for value in reads.values()):
        compute()
        outcome: dict[str, Any] = {"hit": False, "key": None}
    else:
        key = store.key(stage, {**reads, "seed": config.seed, "backend": config.backend})
        names = tuple(output.name for output in outputs)
        outcome = {"hit": store.fetch_or_compute(stage, key, folder.artifacts, names, compute),
                   "key": key}
    folder.update_manifest(cache={**folder.read_json(folder.manifest).get("cache", {}),
                                  stage: outcome})
