"""``seglab.Segmenter``: a segmentation as a model, in the scikit-learn style.

``Segmenter(config, **sections).fit(df)`` runs the pipeline's stages on ``df`` in a run folder of
its own (a temporary one) and keeps the fitted pieces; ``Segmenter.load(folder)`` reads them from
a finished run folder or from a folder written by :meth:`Segmenter.save`. ``predict`` and
``predict_frame`` place new customers with them (:mod:`seglab.intake`,
:mod:`seglab.feature_transform`, :mod:`seglab.placement`); nothing is refitted.

Saved state is JSON, ``.npy`` and Parquet (no pickle), with the SHA-256 of every file in
``checksums.json``, checked on load.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from seglab.artifacts import EMBEDDING, FEATURE_MODEL, FEATURES, FIT_INDEX, PLACEMENT, REFERENCE_ROWS
from seglab.backend import Backend, get_backend
from seglab.backend import resolve as resolve_backend
from seglab.cache import file_digest
from seglab.config import Config, load_config, merge_sections, validate_config
from seglab.errors import SeglabError
from seglab.feature_transform import FeatureTransform
from seglab.intake import InputSchema
from seglab.placement import Placement, Typicality
from seglab.report import read_segments
from seglab.runfolder import RunFolder, atomic_write_text, manifest_status

MODEL_FILE = "segmenter.json"
CHECKSUMS = "checksums.json"
ARRAYS = ("fit_features", "fit_coords", "reference_coords", "reference_labels", "embedding")
FRAMES = ("labels", "profiles")


@dataclass(frozen=True)
class Fitted:
    """Everything a fitted segmentation keeps."""

    schema: InputSchema
    transform: FeatureTransform
    placement: Placement
    groups: dict[int, int] | None
    """Segment -> its coarser group (``None``: the run has no layers)."""
    labels: pd.DataFrame
    """The fitted customers' ``segment`` and ``group``, in the run's row order."""
    embedding: np.ndarray
    profiles: Callable[[], pd.DataFrame]
    """The segment profiles, read on first use (a run's profile table has a column per input
    column and a row per customer: a Dask worker assigning chunks never needs it)."""
    facts: dict[str, Any]
    """``verdict``, ``selected``, ``backend``, ``run`` (where it was fitted)."""


@dataclass(frozen=True)
class Chunk:
    """New rows assigned: the labels frame, unseen categorical levels, the rows' features."""

    frame: pd.DataFrame
    unseen_levels: dict[str, int]
    features: np.ndarray


class Segmenter:
    """Fit a segmentation, place new customers in it, save it and load it back.

    Args:
        config: a parameters file, a :class:`~seglab.config.Config` or ``None`` (the defaults).
        **sections: config sections to override, e.g. ``reduce={"n_neighbors": 15}``.
    """

    def __init__(self, config: str | Path | Config | None = None, **sections: Any) -> None:
        base = config if isinstance(config, Config) else load_config(config)
        self.config = validate_config(merge_sections(base.to_dict(), sections), "Segmenter")
        self._fitted: Fitted | None = None

    # -- fitting and loading -------------------------------------------------------------------
    def fit(self, df: pd.DataFrame) -> Segmenter:
        """Run every stage on ``df`` (its index is the id when it lacks ``data.id_column``)."""
        from seglab.runner import run_pipeline  # the pipeline is only needed to fit

        id_column = self.config.data.id_column
        table = df if id_column in df.columns else df.rename_axis(id_column).reset_index()
        with tempfile.TemporaryDirectory(prefix="seglab-fit-") as scratch:
            path = Path(scratch) / "table.parquet"
            table.to_parquet(path, index=False)
            config = validate_config(merge_sections(self.config.to_dict(), {
                "data": {"path": str(path)}, "tracking": {"backend": "local"}}), "Segmenter")
            result = run_pipeline(config, runs_dir=Path(scratch) / "runs", engine="direct",
                                  echo=lambda _: None)
            if not result.ok:
                raise SeglabError(f"the fit failed: {result.message}")
            self._fitted = _from_run(RunFolder(result.folder.path))
            self._fitted.profiles()  # read (and kept) before the scratch folder goes
        return self

    @classmethod
    def load(cls, folder: str | Path) -> Segmenter:
        """A finished run folder, or a folder written by :meth:`save`."""
        path = Path(folder)
        fitted = _from_saved(path) if (path / MODEL_FILE).exists() else _from_run(RunFolder(path))
        model = cls.__new__(cls)
        model.config, model._fitted = None, fitted
        return model

    def save(self, folder: str | Path) -> Path:
        """Write the fitted state to a new folder (JSON, ``.npy``, Parquet, ``checksums.json``)."""
        fitted = self._state
        target = Path(folder)
        if target.exists() and any(target.iterdir()):
            raise SeglabError(f"{target} is not empty: save a Segmenter into a new folder")
        target.mkdir(parents=True, exist_ok=True)
        place = fitted.placement
        arrays = {"fit_features": place.fit_features, "fit_coords": place.fit_coords,
                  "reference_coords": place.reference_coords,
                  "reference_labels": place.reference_labels, "embedding": fitted.embedding}
        for name, array in arrays.items():
            np.save(target / f"{name}.npy", np.asarray(array), allow_pickle=False)
        fitted.labels.to_parquet(target / "labels.parquet", index=False)
        profiles = fitted.profiles()
        profiles.reset_index().to_parquet(target / "profiles.parquet", index=False)
        atomic_write_text(target / MODEL_FILE, json.dumps({
            "schema": fitted.schema.to_dict(), "transform": fitted.transform.to_dict(),
            "typicality": place.typicality.to_dict(), "embedded": place.embedded,
            "groups": None if fitted.groups is None else {str(k): v for k, v in fitted.groups.items()},
            "profiles_index": profiles.index.name, **fitted.facts}, indent=1))
        digests = {path.name: file_digest(path) for path in sorted(target.iterdir())}
        atomic_write_text(target / CHECKSUMS, json.dumps(digests, indent=1))
        return target

    # -- prediction ----------------------------------------------------------------------------
    def predict(self, df: pd.DataFrame) -> np.ndarray:
        """The segment of each row of ``df`` (``-1``: noise), as the fitted run would label it."""
        return self.predict_frame(df)["segment"].to_numpy()

    def predict_frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """One row per customer (index: the id column, else ``df``'s index): ``segment``,
        ``group``, ``confidence`` (0..1) and ``unlike_any``."""
        return self.assign_chunk(df).frame

    def assign_chunk(self, df: pd.DataFrame) -> Chunk:
        """:meth:`predict_frame`, the unseen categorical levels and the rows' features (extra
        columns are ignored; a missing column or type drift is a :class:`~seglab.errors.DataError`)."""
        fitted = self._state
        fitted.schema.check_columns(df.columns)
        prepared = fitted.schema.prepare(df)
        features = fitted.transform.apply(prepared.frame)
        assigned = fitted.placement.assign(features, _backend())
        group = pd.array(pd.Series(assigned.segment).map(fitted.groups or {}), dtype="Int64")
        index = (pd.Index(df[fitted.schema.id_column], name=fitted.schema.id_column)
                 if fitted.schema.id_column in df.columns else df.index)
        frame = pd.DataFrame({"segment": assigned.segment, "group": group,
                              "confidence": assigned.confidence,
                              "unlike_any": assigned.unlike_any}, index=index)
        return Chunk(frame, prepared.unseen_levels, features)

    # -- fitted attributes ---------------------------------------------------------------------
    @property
    def _state(self) -> Fitted:
        if self._fitted is None:
            raise SeglabError("this Segmenter is not fitted: call fit(df) or Segmenter.load(folder)")
        return self._fitted

    @property
    def schema(self) -> InputSchema:
        """The source columns the features read."""
        return self._state.schema

    @property
    def transform(self) -> FeatureTransform:
        """The fitted feature transform."""
        return self._state.transform

    @property
    def placement(self) -> Placement:
        """The fitted rows, the reference rows and the unlike-any threshold."""
        return self._state.placement

    @property
    def labels_(self) -> np.ndarray:
        """The fitted customers' segments (``-1``: noise)."""
        return self._state.labels["segment"].to_numpy()

    @property
    def groups_(self) -> np.ndarray | None:
        """The fitted customers' coarser groups, ``None`` when the run has no layers."""
        return None if self._state.groups is None else self._state.labels["group"].to_numpy()

    @property
    def verdict_(self) -> str | None:
        """``clear``, ``weak`` or ``none`` (model selection), ``None`` for a fixed algorithm."""
        return self._state.facts["verdict"]

    @property
    def selected_(self) -> str | None:
        """The chosen candidate, e.g. ``dbscan eps=0.31 min_samples=20``."""
        return self._state.facts["selected"]

    @property
    def profiles_(self) -> pd.DataFrame:
        """Standardised difference from all customers, per segment and profile column."""
        return self._state.profiles()

    @property
    def embedding_(self) -> np.ndarray:
        """The fitted customers' coordinates in the embedding."""
        return self._state.embedding

    @property
    def run_(self) -> str:
        """The run the segmentation was fitted in."""
        return self._state.facts["run"]


@cache
def _backend() -> Backend:
    """This machine's backend (the fitted numbers do not depend on the one that fitted them)."""
    return get_backend(resolve_backend("auto").name)


def _from_run(folder: RunFolder) -> Fitted:
    """The fitted pieces of a completed run folder (of the features, only the fitted rows are
    read)."""
    folder.check()
    status = manifest_status(folder.read_json(folder.manifest))
    if status != "completed":
        raise SeglabError(f"{folder.path}: the run is {status}, not completed: only a completed "
                          "run's segments can be assigned")
    if not FEATURE_MODEL.exists(folder) or not REFERENCE_ROWS.exists(folder):
        raise SeglabError(f"{folder.path} has no fitted model (artifacts/feature_model.json): the "
                          "run is older than `seglab assign`; run it again with this seglab")
    config = load_config(folder.params)
    features = np.load(FEATURES.path(folder), mmap_mode="r", allow_pickle=False)
    embedding = np.load(EMBEDDING.path(folder), allow_pickle=False)
    fit_index = FIT_INDEX.read(folder)
    reference = REFERENCE_ROWS.read(folder)
    runs = pd.read_parquet(folder.labels, columns=[c for c in ("cluster", "group")
                                                   if c in pq.read_schema(folder.labels).names])
    groups = None
    labels = pd.DataFrame({"segment": runs["cluster"]})
    if "group" in runs:
        labels["group"] = runs["group"].astype("Int64")
        pairs = labels.iloc[reference].dropna(subset=["group"])
        groups = {int(s): int(g.mode().iloc[0]) for s, g in pairs.groupby("segment")["group"]}
    else:
        labels["group"] = pd.array([pd.NA] * len(labels), dtype="Int64")
    model = FEATURE_MODEL.read(folder)
    metrics = folder.read_metrics()
    placement = Placement(
        fit_features=np.ascontiguousarray(features[fit_index]), fit_coords=embedding[fit_index],
        reference_coords=embedding[reference],
        reference_labels=labels["segment"].to_numpy()[reference].astype(np.int64),
        typicality=Typicality(**PLACEMENT.read(folder)),
        embedded=config.reduce.method != "none")
    return Fitted(InputSchema.from_dict(model["schema"]),
                  FeatureTransform.from_dict(model["transform"]), placement, groups, labels,
                  embedding, cache(lambda: read_segments(folder).gaps),
                  {"verdict": metrics.get("verdict"), "selected": metrics.get("selected"),
                   "backend": config.backend, "run": folder.run_id})


def _from_saved(path: Path) -> Fitted:
    """What :meth:`Segmenter.save` wrote, its checksums verified."""
    listed = json.loads((path / CHECKSUMS).read_text()) if (path / CHECKSUMS).exists() else {}
    for name in (MODEL_FILE, *(f"{a}.npy" for a in ARRAYS), *(f"{f}.parquet" for f in FRAMES)):
        if name not in listed or not (path / name).exists() or file_digest(path / name) != listed[name]:
            raise SeglabError(f"{path / name}: missing or changed since it was saved (checksum); "
                              "save the Segmenter again")
    raw = json.loads((path / MODEL_FILE).read_text())
    arrays = {name: np.load(path / f"{name}.npy", allow_pickle=False) for name in ARRAYS}
    labels = pd.read_parquet(path / "labels.parquet")
    labels["group"] = labels["group"].astype("Int64")
    profiles = pd.read_parquet(path / "profiles.parquet").set_index(raw["profiles_index"] or "index")
    profiles.index.name = raw["profiles_index"]
    placement = Placement(arrays["fit_features"], arrays["fit_coords"], arrays["reference_coords"],
                          arrays["reference_labels"], Typicality(**raw["typicality"]),
                          raw["embedded"])
    groups = None if raw["groups"] is None else {int(k): v for k, v in raw["groups"].items()}
    return Fitted(InputSchema.from_dict(raw["schema"]), FeatureTransform.from_dict(raw["transform"]),
                  placement, groups, labels, arrays["embedding"], lambda: profiles,
                  {key: raw[key] for key in ("verdict", "selected", "backend", "run")})
