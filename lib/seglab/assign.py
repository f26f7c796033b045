"""``seglab assign``: new customers put into a finished run's segments, in a folder of their own.

Everything is checked before any work (the run, its verdict, the new table's columns, its first
chunk's types); the run folder read is never written. The new table is streamed: Parquet row
groups through pyarrow's ``iter_batches``, CSV in chunks, :data:`CHUNK_ROWS` rows at a time, so
memory is bounded by the chunk and the model, not by the table. With ``workers`` or
``scheduler`` the chunks are assigned on Dask (each worker loads the model once from the run
folder), at most two chunks per worker in flight. The folder (README.md, "A segmentation
is a model") is written as ``<out>.partial`` and renamed when complete, then made
read-only: a failed assignment leaves nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seglab import __version__
from seglab.errors import DataError, SeglabError
from seglab.runfolder import RunFolder, atomic_write_text
from seglab.segmenter import Chunk, Segmenter
from seglab.tables import CSV_SUFFIXES, PARQUET_SUFFIXES, require_table_file
from seglab.templating import render

CHUNK_ROWS = 100_000
"""Rows read and assigned at a time."""
MOVED_SHIFT = 0.2
"""A feature whose mean moved by more than this many of the run's standard deviations is listed."""
LABEL_COLUMNS = ("segment", "group", "confidence", "unlike_any")


@dataclass
class Tally:
    """What the chunks add up to: segment counts, flags, unseen levels, feature sums."""

    rows: int = 0
    unlike: int = 0
    segments: dict[int, int] = field(default_factory=dict)
    unseen: dict[str, int] = field(default_factory=dict)
    sums: np.ndarray | None = None

    def add(self, chunk: Chunk) -> None:
        frame, unseen, features = chunk.frame, chunk.unseen_levels, chunk.features
        self.rows += len(frame)
        self.unlike += int(frame["unlike_any"].sum())
        for segment, count in frame["segment"].value_counts().items():
            self.segments[int(segment)] = self.segments.get(int(segment), 0) + int(count)
        for column, count in unseen.items():
            self.unseen[column] = self.unseen.get(column, 0) + count
        sums = features.astype(np.float64).sum(axis=0)
        self.sums = sums if self.sums is None else self.sums + sums


def assign(run: Path, data: str, out: Path, *, force: bool = False, workers: int | None = None,
           scheduler: str | None = None, chunk_rows: int = CHUNK_ROWS) -> dict[str, Any]:
    """Assign the customers of ``data`` to the segments of the finished run ``run``.

    Returns:
        ``assignment.json``'s content.

    Raises:
        SeglabError: one line naming the problem: not a finished run, verdict ``none`` without
            ``force``, a missing column, type drift, an empty table, an ``out`` that exists.
    """
    start = time.perf_counter()
    model = Segmenter.load(run)
    if model.verdict_ == "none" and not force:
        raise SeglabError(f"run {model.run_}'s verdict is none (no segment structure beyond chance):"
                          " its segments should not label customers; pass --force to assign anyway")
    require_table_file(data)
    extra = model.schema.check_columns(_columns(data), require_id=True)
    chunks = _chunks(data, chunk_rows)
    first = next(chunks, None)
    if first is None or first.empty:
        raise DataError(f"{data}: the table has no rows; point --data at a filled table")
    model.assign_chunk(first)  # type drift and bad values stop here, before any file is written
    _check_out(out, run)
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        tally = _write_labels(model, run, _prepend(first, chunks), partial / "labels.parquet",
                              workers, scheduler)
        summary = _summary(model, data, tally, extra, time.perf_counter() - start, workers,
                           scheduler, chunk_rows)
        _write_folder(partial, model, run, data, summary)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    partial.rename(out)
    RunFolder(out).freeze()
    return summary


def _columns(data: str) -> list[str]:
    if data.lower().endswith(PARQUET_SUFFIXES):
        return list(pq.ParquetFile(data).schema_arrow.names)
    if data.lower().endswith(CSV_SUFFIXES):
        return list(pd.read_csv(data, nrows=0).columns)
    raise DataError(f"{data}: unknown table format; use a .csv, .csv.gz, .parquet or .pq file")


def _chunks(data: str, rows: int) -> Iterator[pd.DataFrame]:
    """The table ``rows`` rows at a time, never whole."""
    try:
        if data.lower().endswith(PARQUET_SUFFIXES):
            for batch in pq.ParquetFile(data).iter_batches(batch_size=rows):
                yield batch.to_pandas()
        else:
            yield from pd.read_csv(data, chunksize=rows)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"{data}: unreadable ({str(exc).splitlines()[0]}); check the file") from None


def _prepend(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


def _check_out(out: Path, run: Path) -> None:
    if out.exists():
        raise SeglabError(f"{out} already exists: pass a new --out folder")
    if out.resolve().is_relative_to(run.resolve()):
        raise SeglabError(f"{out} is inside the run folder {run} (evidence, read-only): pass an "
                          "--out folder outside it")


def _write_labels(model: Segmenter, run: Path, chunks: Iterator[pd.DataFrame], path: Path,
                  workers: int | None, scheduler: str | None) -> Tally:
    """Stream ``labels.parquet`` chunk by chunk; the tally of every chunk."""
    tally = Tally()
    writer: pq.ParquetWriter | None = None
    results = (_on_dask(run, chunks, workers, scheduler) if workers or scheduler
               else (model.assign_chunk(chunk) for chunk in chunks))
    try:
        for result in results:
            table = pa.Table.from_pandas(result.frame.reset_index(), preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            tally.add(result)
    finally:
        if writer is not None:
            writer.close()
    return tally


_MODELS: dict[str, Segmenter] = {}
"""A Dask worker's loaded models, by run folder (loaded once per worker)."""


def assign_on_worker(run: str, chunk: pd.DataFrame) -> Chunk:
    """One chunk on a Dask worker, with the run's model loaded there once."""
    if run not in _MODELS:
        _MODELS[run] = Segmenter.load(run)
    return _MODELS[run].assign_chunk(chunk)


def _on_dask(run: Path, chunks: Iterator[pd.DataFrame], workers: int | None,
             scheduler: str | None) -> Iterator[Chunk]:
    """The chunks' results in order, at most two chunks per worker in flight."""
    if importlib.util.find_spec("distributed") is None:
        raise SeglabError("--workers/--scheduler need Dask: pip install -e '.[dask]'")
    from seglab.sweep.execute import dask_client  # dask is an optional extra

    with dask_client(workers, scheduler) as client:
        slots = 2 * max(len(client.scheduler_info()["workers"]), 1)
        pending: deque[Any] = deque()
        for chunk in chunks:
            pending.append(client.submit(assign_on_worker, str(run.resolve()), chunk, pure=False))
            if len(pending) >= slots:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _summary(model: Segmenter, data: str, tally: Tally, extra: list[str], seconds: float,
             workers: int | None, scheduler: str | None, chunk_rows: int) -> dict[str, Any]:
    """``assignment.json``: sizes now and in the run, the shares flagged, what moved."""
    run_sizes = pd.Series(model.labels_).value_counts(normalize=True)
    segments = [{"segment": segment, "rows": count, "share": count / tally.rows,
                 "run_share": float(run_sizes.get(segment, 0.0))}
                for segment, count in sorted(tally.segments.items())]
    segments += [{"segment": int(s), "rows": 0, "share": 0.0, "run_share": float(share)}
                 for s, share in run_sizes.items() if int(s) not in tally.segments]
    fitted = model.placement.fit_features
    spread = fitted.std(axis=0)
    shift = (tally.sums / tally.rows - fitted.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    moved = sorted(({"feature": name, "shift": float(value)}
                    for name, value in zip(model.transform.names, shift, strict=True)
                    if abs(value) > MOVED_SHIFT), key=lambda item: -abs(item["shift"]))
    return {
        "run": model.run_, "data": data, "rows": tally.rows, "verdict": model.verdict_,
        "unlike_any_share": tally.unlike / tally.rows,
        "noise_share": tally.segments.get(-1, 0) / tally.rows,
        "unlike_threshold": model.placement.typicality.threshold,
        "unlike_quantile": model.placement.typicality.quantile,
        "segments": segments, "moved": moved, "moved_threshold": MOVED_SHIFT,
        "unseen_levels": tally.unseen, "extra_columns": extra,
        "seconds": round(seconds, 3), "rows_per_second": tally.rows / max(seconds, 1e-9),
        "chunk_rows": chunk_rows, "workers": workers, "scheduler": scheduler,
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _write_folder(folder: Path, model: Segmenter, run: Path, data: str,
                  summary: dict[str, Any]) -> None:
    target = RunFolder(folder)
    target.write_json(folder / "assignment.json", summary)
    atomic_write_text(folder / "assignment.html", render("assignment.html.j2", a=summary))
    target.write_json(target.manifest, {
        "kind": "assign", "status": "completed", "run": model.run_, "run_path": str(run),
        "data": data, "rows": summary["rows"], "seglab_version": __version__,
        "ended_at": summary["finished_at"]})
