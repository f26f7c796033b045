"""Last week's run against this week's: everything ``compare.json`` holds, from two run folders.

Reads each run's ``labels.parquet`` (customer id, ``cluster``), its ``params.yaml`` (the id
column and the table) and its table through the project's loader (:mod:`seglab.data`: the same
cleaning as the run). Nothing is written to either run.

Matching uses the customers both runs hold. When they hold none, B's customers are assigned
with A's model (:func:`assign_with_previous`) and B's segments are matched on that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seglab import compare, drift
from seglab.artifacts import SEGMENT_NAMES
from seglab.config import CompareConfig, Config, load_config
from seglab.data import load_customers
from seglab.errors import SeglabError
from seglab.names import carry_names, default_names, names_from_json
from seglab.paths import resolve_uri
from seglab.profiles import NOISE
from seglab.runfolder import RunFolder
from seglab.tables import PARQUET_SUFFIXES, read_table

SHARED = "shared customers"
ASSIGNED = "B's customers assigned with A's model"


@dataclass(frozen=True)
class RunSide:
    """One run as the comparison reads it."""

    folder: RunFolder
    config: Config
    labels: pd.Series
    """``cluster`` per customer id (-1 = noise)."""
    layered: bool
    """``labels.parquet`` has a ``group`` column (a coarser layer, not compared)."""

    @property
    def run_id(self) -> str:
        return self.folder.run_id

    @property
    def segments(self) -> list[int]:
        return sorted(int(s) for s in self.labels.unique() if s != NOISE)

    def names(self) -> dict[int, dict[str, Any]]:
        """The run's segment names: carried ones when it was run with ``--previous``."""
        saved = SEGMENT_NAMES.read_if_present(self.folder)
        return names_from_json(saved) if saved else default_names(self.segments)


def read_run(path: str | Path) -> RunSide:
    """A finished run's labels and config.

    Raises:
        SeglabError: not a run folder, no ``labels.parquet`` (the run did not cluster), or
            labels without the run's id column.
    """
    folder = RunFolder(Path(path)).check()
    if folder.read_json(folder.manifest).get("kind") == "compare":
        raise SeglabError(f"{folder.path} is a comparison (seglab compare), not a run: pass the "
                          "run folders it compared")
    if not folder.params.exists():
        raise SeglabError(f"{folder.path} has no params.yaml: pass a folder made by `seglab run`")
    config = load_config(folder.params)
    if not folder.labels.exists():
        raise SeglabError(f"run {folder.run_id} has no labels.parquet (status "
                          f"{folder.read_json(folder.manifest).get('status', 'unknown')}): compare "
                          "runs that finished clustering")
    frame = pd.read_parquet(folder.labels)
    id_column = config.data.id_column
    if id_column not in frame or "cluster" not in frame:
        raise SeglabError(f"{folder.labels}: expected columns {id_column!r} and 'cluster', found "
                          f"{list(frame.columns)}; the run folder is damaged")
    labels = pd.Series(frame["cluster"].to_numpy(np.int64), index=pd.Index(frame[id_column]),
                       name="cluster")
    return RunSide(folder, config, labels, "group" in frame)


def carried_names(previous: RunSide, labels: pd.Series,
                  settings: CompareConfig) -> tuple[dict[int, dict[str, Any]], str | None]:
    """Names and colours for a new run's segments, carried over from ``previous`` where a
    segment survives (:func:`seglab.names.carry_names`).

    Args:
        previous: the earlier run.
        labels: the new run's ``cluster`` per customer id.
        settings: when a segment survives.

    Returns:
        The names, and a warning when none could be carried (no customer in common).
    """
    segments = sorted(int(s) for s in labels.unique() if s != NOISE)
    if not len(previous.labels.index.intersection(labels.index)):
        return default_names(segments), (f"--previous {previous.run_id}: no customer in common, "
                                          "so no segment name was carried over")
    matching = compare.match(compare.contingency(previous.labels, labels), _thresholds(settings))
    return carry_names(previous.names(), matching.survivors, segments), None


def _thresholds(settings: CompareConfig) -> compare.Thresholds:
    return compare.Thresholds(settings.core_share, settings.part_share)


def table_header(side: RunSide) -> list[str] | None:
    """The input columns of the run's table from its header alone (not the id and label
    columns); ``None`` when the file is not a local file this can read."""
    path = resolve_uri(side.config.data.path)
    if "://" in path or not Path(path).is_file():
        return None
    try:
        names = (pq.read_schema(path).names if path.lower().endswith(PARQUET_SUFFIXES)
                 else list(pd.read_csv(path, nrows=0).columns))
    except (OSError, ValueError, pa.ArrowException):
        return None
    left_out = {side.config.data.id_column, side.config.data.label_column}
    return [str(name) for name in names if name not in left_out]


def check_comparable(a: RunSide, b: RunSide) -> None:
    """Fail before any work when the two tables' headers share no input column.

    Raises:
        SeglabError: no common column.
    """
    header_a, header_b = table_header(a), table_header(b)
    if header_a is not None and header_b is not None and not set(header_a) & set(header_b):
        raise drift.no_shared_column(header_a, header_b)


def read_drift_table(side: RunSide) -> tuple[drift.Table | None, str | None]:
    """The run's cleaned table, or ``None`` and why (moved, or changed since the run)."""
    path = resolve_uri(side.config.data.path)
    try:
        table = load_customers(side.config.data, path)
    except SeglabError as exc:
        return None, f"run {side.run_id}'s table cannot be read ({exc})"
    recorded = side.folder.read_json(side.folder.manifest).get("data_fingerprint")
    if recorded and recorded != table.fingerprint:
        return None, (f"run {side.run_id}'s table {side.config.data.path} has changed since the "
                      "run (fingerprint differs)")
    features = table.features.set_axis(pd.Index(table.ids), axis=0)
    return drift.Table(features, table.categorical_columns), None


def assign_with_previous(a: RunSide, b: RunSide) -> pd.Series:
    """A's segment for each of B's customers, from A's fitted model (unlike-any: -2).

    Raises:
        SeglabError: ``seglab.segmenter`` is not available, or B's table cannot be read.
    """
    try:
        from seglab.segmenter import Segmenter
    except ImportError:
        raise SeglabError("runs share no customers; assigning B's customers with A's model "
                          "needs seglab.segmenter") from None
    frame = read_table(resolve_uri(b.config.data.path))
    predicted = Segmenter.load(a.folder.path).predict_frame(frame)
    segments = predicted["segment"].to_numpy(np.int64)
    segments = np.where(predicted["unlike_any"].to_numpy(bool), compare.UNLIKE_ANY, segments)
    return pd.Series(segments, index=predicted.index, name="cluster")


def compare_runs(a: RunSide, b: RunSide, settings: CompareConfig) -> dict[str, Any]:
    """Everything ``compare.json`` holds for A (earlier) against B (later).

    Args:
        a, b: :func:`read_run`.
        settings: the ``compare`` config section.

    Returns:
        The comparison (JSON-safe): the contract's keys (README.md, "Week after week") first,
        flat counts for the tracker.

    Raises:
        SeglabError: the tables share no column.
    """
    shared = a.labels.index.intersection(b.labels.index)
    basis = SHARED if len(shared) else ASSIGNED
    before = a.labels if len(shared) else assign_with_previous(a, b)
    matching = compare.match(compare.contingency(before, b.labels, a.segments),
                             _thresholds(settings))
    moves = compare.migration(matching)
    table_a, note_a = read_drift_table(a)
    table_b, note_b = read_drift_table(b)
    tables = _drift(a, b, table_a, table_b, matching, settings)
    names_a = a.names()
    result: dict[str, Any] = {
        "run_a": a.run_id, "run_b": b.run_id, "basis": basis,
        "assigned_with": a.run_id if basis == ASSIGNED else None,
        "shared_customers": len(shared),
        "new_customers": len(b.labels.index.difference(a.labels.index)),
        "lost_customers": len(a.labels.index.difference(b.labels.index)),
        "moved_share": round(compare.moved_share(moves), 6),
        "transitions": [step.to_dict() for step in matching.transitions],
        "matching": [{"a": x, "b": y} for x, y in matching.pairs.items()],
        "links": matching.links,
        "migration": [{"a": int(row.a), "b": int(row.b), "customers": int(row.customers),
                       "share_of_a": round(float(row.share_of_a), 6), "moved": bool(row.moved)}
                      for row in moves.itertuples(index=False)],
        **tables,
        "drift_note": "; ".join(note for note in (note_a, note_b) if note) or None,
        "segments_a": _sizes(a.labels), "segments_b": _sizes(b.labels),
        "new_by_segment": _sizes(b.labels.loc[b.labels.index.difference(a.labels.index)]),
        "lost_by_segment": _sizes(a.labels.loc[a.labels.index.difference(b.labels.index)]),
        "layers": {"a": a.layered, "b": b.layered},
        "names_a": {str(label): entry for label, entry in names_a.items()},
        "names": {str(label): entry for label, entry in
                  carry_names(names_a, matching.survivors, b.segments).items()},
        "thresholds": settings.model_dump(mode="json"),
        **{f"n_{kind}": matching.count(kind) for kind in compare.KINDS},
        "n_segments_a": len(a.segments), "n_segments_b": len(b.segments),
    }
    return result


def _drift(a: RunSide, b: RunSide, table_a: drift.Table | None, table_b: drift.Table | None,
           matching: compare.Matching, settings: CompareConfig) -> dict[str, Any]:
    """PSI per shared column and profile drift per continuing segment (empty without tables)."""
    if table_a is None or table_b is None:
        return {"psi": {}, "psi_flags": {}, "segment_drift": [], "columns_only_in_a": [],
                "columns_only_in_b": [], "n_psi_watch": None, "n_psi_shifted": None,
                "max_psi": None}
    columns = drift.shared_columns(table_a, table_b)
    psi = drift.column_psi(table_a, table_b, columns, settings.psi_bins)
    flags = {column: drift.psi_flag(value, settings.psi_watch, settings.psi_alert)
             for column, value in psi.items()}
    in_a = a.labels.reindex(table_a.features.index).to_numpy()
    in_b = b.labels.reindex(table_b.features.index).to_numpy()
    segment_drift = []
    for step in matching.transitions:
        if step.kind not in ("survived", "split", "merged"):
            continue
        rows_a, rows_b = np.isin(in_a, step.a), np.isin(in_b, step.b)
        segment_drift.append({
            "kind": step.kind, "a": list(step.a), "b": list(step.b),
            "customers_a": int((a.labels.isin(step.a)).sum()),
            "customers_b": int((b.labels.isin(step.b)).sum()),
            "columns": drift.profile_drift(table_a, rows_a, table_b, rows_b, columns,
                                           settings.top_columns),
        })
    return {"psi": psi, "psi_flags": flags, "segment_drift": segment_drift,
            "columns_only_in_a": columns.only_a, "columns_only_in_b": columns.only_b,
            "n_psi_watch": sum(flag == "watch" for flag in flags.values()),
            "n_psi_shifted": sum(flag == "shifted" for flag in flags.values()),
            "max_psi": max(psi.values(), default=None)}


def _sizes(labels: pd.Series) -> dict[str, int]:
    counts = labels.value_counts().sort_index()
    return {str(int(label)): int(count) for label, count in counts.items()}
