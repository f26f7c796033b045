"""The run's input columns as decided by 01, and new customer rows checked and prepared the same way.

:class:`InputSchema` records, for every source column the fitted features read, its kind
(``numeric``: numbers or booleans as 0/1; ``categorical``: one-hot levels), the value a missing
entry gets (the run's median or most common level: imputing with them leaves them as they were,
so they are read back from the prepared table) and, for a categorical column, its levels.
New rows are prepared with these numbers only, never with statistics of the new rows, so a
customer gets the same features whatever else is in their chunk. A level the run never saw
gets no indicator (it is counted); a column whose values no longer parse as its kind is type drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from seglab.data import NUMERIC_TEXT_SHARE, TABLE, CustomerTable
from seglab.errors import DataError


@dataclass(frozen=True)
class InputColumn:
    """One source column: its kind, the value of a missing entry and (categorical) its levels."""

    name: str
    kind: Literal["numeric", "categorical"]
    fill: float | str
    levels: list[str] = field(default_factory=list)

    @property
    def outputs(self) -> list[str]:
        """The prepared columns it becomes (``name`` or its ``name=level`` indicators)."""
        return [f"{self.name}={level}" for level in self.levels] if self.levels else [self.name]


@dataclass
class Prepared:
    """Prepared rows and what was odd about them."""

    frame: pd.DataFrame
    unseen_levels: dict[str, int]
    """Categorical column -> values of a level the run never saw (no indicator set)."""


@dataclass(frozen=True)
class InputSchema:
    """The source columns a run's features read, in the run's terms."""

    id_column: str
    columns: list[InputColumn]
    known: list[str] = field(default_factory=list)
    """Every column of the run's table: one a new table has and the features do not read is
    ignored silently; any other column is new, and listed."""

    @classmethod
    def from_table(cls, table: CustomerTable, id_column: str, used: Sequence[str],
                   label_column: str | None = None) -> InputSchema:
        """The schema of the prepared columns ``used`` of ``table`` (as 01 prepared it)."""
        wanted = set(used)
        columns = []
        indicators = {c for outputs in table.categorical_columns.values() for c in outputs}
        for source, outputs in table.categorical_columns.items():
            if wanted & set(outputs):
                ones = table.features[outputs].to_numpy().sum(axis=0)
                levels = [name.removeprefix(f"{source}=") for name in outputs]
                columns.append(InputColumn(source, "categorical", levels[int(ones.argmax())], levels))
        for name in table.features.columns:
            if name in wanted and name not in indicators:
                fill = float(np.median(table.features[name].to_numpy(np.float64)))
                columns.append(InputColumn(name, "numeric", fill))
        plain = (name for name in table.features.columns if name not in indicators)
        known = {id_column, label_column, *table.categorical_columns, *plain,
                 *(finding.column for finding in table.report.findings)} - {None, TABLE}
        return cls(id_column, columns, sorted(map(str, known)))

    def check_columns(self, names: Sequence[str], *, require_id: bool = False) -> list[str]:
        """The columns of a new table the run's table did not have (ignored); a missing column
        is a :class:`DataError` (the id column only with ``require_id``)."""
        present = set(names)
        needed = [InputColumn(self.id_column, "numeric", 0.0)] if require_id else []
        for column in [*needed, *self.columns]:
            if column.name not in present:
                raise DataError(f"column {column.name!r} is missing from the new table; the run's "
                                "features read it: add it (same name, same meaning)")
        known = {self.id_column, *self.known, *(column.name for column in self.columns)}
        return [str(name) for name in names if name not in known]

    def prepare(self, chunk: pd.DataFrame) -> Prepared:
        """The prepared columns of ``chunk`` (float32), filled as the run filled its own."""
        out: dict[str, np.ndarray] = {}
        unseen: dict[str, int] = {}
        for column in self.columns:
            if column.kind == "numeric":
                out[column.name] = _numbers(chunk[column.name], column)
                continue
            codes, count = _codes(chunk[column.name], column)
            if count:
                unseen[column.name] = count
            for code, name in enumerate(column.outputs):
                out[name] = (codes == code).astype(np.float32)
        return Prepared(pd.DataFrame(out, index=chunk.index), unseen)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``feature_model.json``."""
        return {"id_column": self.id_column, "columns": [asdict(c) for c in self.columns],
                "known": self.known}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> InputSchema:
        """Read back :meth:`to_dict`."""
        return cls(raw["id_column"], [InputColumn(**column) for column in raw["columns"]],
                   raw["known"])


def _numbers(series: pd.Series, column: InputColumn) -> np.ndarray:
    """A numeric or boolean column as float32, missing and infinite values filled."""
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        values = series.to_numpy(np.float32, na_value=np.nan)
    else:
        present = series.notna()
        text = series[present].astype(str).str.strip().str.lower()
        if len(text) and text.isin(("true", "false")).all():
            numbers = (text == "true").astype(np.float32)
        else:
            numbers = pd.to_numeric(series[present], errors="coerce")
            junk = int(numbers.isna().sum())
            if junk > (1 - NUMERIC_TEXT_SHARE) * max(len(text), 1):
                example = series[present][numbers.isna()].iloc[0]
                raise DataError(f"column {column.name!r}: type drift: numeric in the run, now text "
                                f"({junk:,} non-numeric values, e.g. {example!r}); fix the column "
                                "or fit a new run")
        values = np.full(len(series), np.nan, dtype=np.float32)
        values[present.to_numpy()] = numbers.to_numpy(np.float32, na_value=np.nan)
    values = values.copy()
    values[~np.isfinite(values)] = column.fill
    return values


def _codes(series: pd.Series, column: InputColumn) -> tuple[np.ndarray, int]:
    """Level codes (-1: a level the run never saw) and how many values have an unseen level."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not _numeric_levels(column.levels):
        raise DataError(f"column {column.name!r}: type drift: categorical in the run (levels "
                        f"{', '.join(column.levels[:3])}...), now {series.dtype}; fix the column "
                        "or fit a new run")
    present = series.notna().to_numpy()
    text = series.astype(str).to_numpy()
    text[~present] = column.fill
    lookup = {level: code for code, level in enumerate(column.levels)}
    codes = np.fromiter((lookup.get(value, -1) for value in text), dtype=np.int32, count=len(text))
    return codes, int((codes < 0).sum())


def _numeric_levels(levels: Sequence[str]) -> bool:
    return bool(len(levels)) and pd.to_numeric(pd.Series(levels), errors="coerce").notna().all()
