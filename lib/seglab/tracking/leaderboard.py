"""The leaderboard: one row per trial, from the local store, as a pandas DataFrame.

Columns: ``trial``, ``experiment``, ``status``, ``started_at``, ``ended_at``, ``seconds``,
``backend``, ``sync``, ``run_dir``, then ``params.*``, ``metrics.*`` (the last value of each
trial-level metric) and ``tags.*``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seglab.errors import SeglabError
from seglab.runfolder import METRIC_KEYS, RunFolder
from seglab.tracking.local import LocalStore

FIXED_COLUMNS = (
    "trial",
    "experiment",
    "status",
    "started_at",
    "ended_at",
    "seconds",
    "backend",
    "sync",
    "run_dir",
)
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
HEADLINE_METRICS = (
    "silhouette",
    "n_clusters",
    "noise_fraction",
    "eps",
    "min_samples",
    "ari",
    "ami",
    "seconds_total",
)
"""Metrics the terminal table shows by default (every metric is in CSV/JSON/HTML)."""
LINEAGE = ("params.compare.run_a", "params.compare.run_b", "params.compare.assigned_with",
           "metrics.moved_share")
"""What the terminal table shows of a comparison (``seglab compare``): which runs it compared,
the model that assigned B's customers when they shared none, and how many customers moved."""

Filter = tuple[str, str, str]


def leaderboard(
    store_dir: str | Path,
    experiment: str | None = None,
    sort: str | None = None,
    filters: Iterable[Filter] = (),
    limit: int | None = None,
) -> pd.DataFrame:
    """All trials of the store as a table.

    Running trials whose process died on this host are turned ``interrupted`` first.

    Args:
        store_dir: the runs folder holding ``seglab.db``.
        experiment: only this experiment.
        sort: a column or a short key (``silhouette`` means ``metrics.silhouette``, else
            ``params.…``, ``tags.…``); ``+key`` ascending, ``-key`` descending; a bare metric sorts
            descending, anything else ascending. Rows lacking the value come last. Default:
            newest first.
        filters: ``(key, op, value)`` with op one of ``= == != < <= > >=``; keys resolve as for
            ``sort``; the value is compared as a number when the column is numeric.
        limit: keep the first ``limit`` rows after sorting.

    Returns:
        One row per trial.

    Raises:
        SeglabError: an unknown sort/filter key or operator, or a non-numeric value for a
            numeric column.
    """
    store = LocalStore(store_dir)
    try:
        reaped = set(store.reap())
        rows = store.summaries(experiment)
    finally:
        store.close()
    for trial in rows["trials"]:  # the dead run's folder says so too, not only the store
        if trial[0] in reaped and trial[5] and (Path(trial[5]) / "manifest.json").is_file():
            RunFolder(Path(trial[5])).settle()
    frame = _frame(rows)
    for key, op, value in filters:
        frame = _apply_filter(frame, key, op, value)
    frame = _sort(frame, sort)
    return frame.head(limit).reset_index(drop=True) if limit else frame.reset_index(drop=True)


def resolve_column(frame: pd.DataFrame, key: str) -> str:
    """The column a key names: exact, else ``metrics.key``, ``params.key``, ``tags.key``.

    Raises:
        SeglabError: no such column.
    """
    for column in (key, f"metrics.{key}", f"params.{key}", f"tags.{key}"):
        if column in frame.columns:
            return column
    if frame.empty:
        return key
    if key.removeprefix("metrics.") in METRIC_KEYS:  # a known metric no run has recorded yet
        return f"metrics.{key.removeprefix('metrics.')}"
    raise SeglabError(
        f"leaderboard: no column {key!r}; use a metric, a parameter (e.g. cluster.eps) or one of "
        f"{', '.join(FIXED_COLUMNS)}"
    )


def table_columns(frame: pd.DataFrame, sort: str | None = None) -> list[str]:
    """Columns for a terminal table: identity, status, the params that differ, headline metrics."""
    columns = ["trial", "experiment", "status", "started_at", "seconds"]
    if "ran_on" in frame and frame["ran_on"].ne("local").any():  # pulled SageMaker jobs (seglab pull)
        columns.insert(3, "ran_on")
    varying = [
        column
        for column in frame.columns
        if column.startswith("params.") and frame[column].astype(str).nunique(dropna=False) > 1
    ]
    lineage = [column for column in LINEAGE if column in frame and frame[column].notna().any()
               and column not in varying]
    metrics = [*lineage, *(f"metrics.{name}" for name in HEADLINE_METRICS if f"metrics.{name}" in frame)]
    if sort:
        sorted_by = resolve_column(frame, sort.lstrip("+-"))
        if sorted_by in frame and sorted_by not in columns + varying + metrics:
            metrics.insert(0, sorted_by)
    return columns + varying + metrics


def _frame(rows: dict[str, list[tuple[Any, ...]]]) -> pd.DataFrame:
    trials = pd.DataFrame(
        rows["trials"],
        columns=[
            "trial",
            "experiment",
            "status",
            "started_at",
            "ended_at",
            "run_dir",
            "remotes",
            "sync",
        ],
    )
    trials["seconds"] = trials["ended_at"] - trials["started_at"]
    trials["backend"] = ["local" + (f"+{r}" if r else "") for r in trials.pop("remotes")]
    for column in ("started_at", "ended_at"):
        trials[column] = pd.to_datetime(trials[column], unit="s", utc=True)
    frame = trials[list(FIXED_COLUMNS)].set_index("trial", drop=False)
    for prefix in ("params", "metrics", "tags"):
        long = pd.DataFrame(rows[prefix], columns=["trial", "key", "value"])
        if long.empty:
            continue
        wide = long.pivot(index="trial", columns="key", values="value")
        wide = wide.reindex(sorted(wide.columns), axis=1).add_prefix(f"{prefix}.")
        frame = frame.join(wide.infer_objects())
    frame["ran_on"] = frame["tags.ran_on"].fillna("local") if "tags.ran_on" in frame else "local"
    return frame


def _apply_filter(frame: pd.DataFrame, key: str, op: str, value: str) -> pd.DataFrame:
    if op not in OPERATORS:
        raise SeglabError(f"--filter {key} {op} {value}: unknown operator (use {' '.join(OPERATORS)})")
    column = resolve_column(frame, key)
    if column not in frame:
        return frame
    series = frame[column]
    target: Any = value
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        try:
            target = float(value)
        except ValueError:
            raise SeglabError(f"--filter {key} {op} {value}: {column} is numeric, give a number") from None
    else:
        series = series.map(lambda item: "" if item is None else str(item).lower())
        target = value.lower()
    keep = OPERATORS[op](series, target).fillna(False).astype(bool)
    return frame[keep]


def _sort(frame: pd.DataFrame, sort: str | None) -> pd.DataFrame:
    if not sort:
        return frame.sort_values("started_at", ascending=False)
    direction, key = (sort[0], sort[1:]) if sort[0] in "+-" else ("", sort)
    column = resolve_column(frame, key)
    if column not in frame:
        return frame
    ascending = direction == "+" or (not direction and not column.startswith("metrics."))
    return frame.sort_values(column, ascending=ascending, na_position="last", kind="stable")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection);
leading whitespace does not stop it (spreadsheets trim it: `` =cmd``)."""


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells starting like a formula begin with ``'`` (OWASP's rule).

    Numbers stay numbers: only text (names, tags, parameters as text) can carry a formula.
    """
    def cell(value: Any) -> Any:
        formula = isinstance(value, str) and (value.startswith(FORMULA_STARTS)
                                              or value.lstrip().startswith(FORMULA_STARTS))
        return f"'{value}" if formula else value

    safe = frame.copy()
    for column in safe.columns:
        if pd.api.types.is_object_dtype(safe[column]) or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(cell)
    safe.columns = [cell(column) for column in safe.columns]
    return safe


def format_leaderboard(frame: pd.DataFrame, fmt: str, columns: Sequence[str] | None = None) -> str:
    """Render as ``table`` (selected columns), ``csv`` or ``json`` (records).

    The sortable HTML page is presentation: :func:`seglab.leaderboard_html.render_leaderboard`.
    """
    if fmt == "table":
        shown = frame[[resolve_column(frame, column) for column in columns]] if columns else frame
        if shown.empty:
            return "no runs recorded yet (start one with `seglab run`)"
        shown = shown.copy()
        if "started_at" in shown:
            shown["started_at"] = shown["started_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
        shown.columns = [column.split(".", 1)[1] if "." in column else column for column in shown.columns]
        return shown.to_string(index=False, na_rep="-", float_format=lambda number: f"{number:.4g}")
    if fmt == "csv":
        return neutralise_formulas(frame).to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", indent=1)
    raise SeglabError(f"--format {fmt}: unknown format (table, csv or json; html: "
                      "seglab.leaderboard_html.render_leaderboard)")
