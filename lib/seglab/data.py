"""Load a customer table and apply the input contract (``seglab data check`` reports on it).

The contract (README.md, "Input data"): one row per customer, an id column, numeric,
boolean and categorical feature columns, optionally a ground-truth label column that is never a
feature. What breaks it gets the treatment configured in :class:`~seglab.config.DataConfig`, and
every action is recorded as a :class:`Finding` in the table's :class:`DataReport`:

===========================  =================================================================
problem                      treatment (``data.*`` key)
===========================  =================================================================
no id column, empty table,   always an error
one row, missing label col
rows without an id           dropped (``missing: error`` stops instead)
duplicate ids                ``duplicate_ids``: keep the first row, drop them all, or stop
missing values, infinities   ``missing``: impute the median (numeric) or mode (categorical),
                             drop the rows, or stop; infinities count as missing
junk in a numeric text       ``non_numeric``: coerce to missing, or stop; a text column is
column                       numeric when >= 95 % of its values parse as numbers
categorical (text/category)  ``categorical: onehot`` gives ``col=level`` columns if it has at
                             most ``max_categories`` levels; otherwise it is dropped
booleans                     0/1
text that is not UTF-8       decoded as Latin-1 (recorded)
lists, structs, maps         the column is dropped (a Parquet nested column holds no one value
                             per customer); an id or label column of them is an error
constant columns             ``constant``: drop, or stop
all values missing           the column is dropped
===========================  =================================================================

Features come out as one float32 matrix (a :class:`pandas.DataFrame` over a single
Fortran-ordered block) with no missing or infinite values.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seglab.config import DataConfig, FeaturesConfig
from seglab.errors import DataError
from seglab.kinds import TableKinds, column_kinds
from seglab.tables import read_table

NUMERIC_TEXT_SHARE = 0.95
"""A text column whose non-missing values parse as numbers at least this often is numeric."""


NESTED = (list, tuple, dict, np.ndarray)
"""How pandas gives the values of a Parquet list, struct or map column."""


TABLE = "<table>"
"""The ``column`` of a finding about whole rows or the table itself."""


@dataclass(frozen=True)
class Finding:
    """One problem found in the table and what was done about it.

    Attributes:
        column: the source column, or ``<table>`` for whole rows.
        problem: short name, e.g. ``missing values``, ``duplicate ids``, ``categorical``.
        count: the rows, values or levels concerned (the message says which).
        treatment: what was done, e.g. ``imputed median``, ``dropped column``, ``error``.
        message: one line for a person.
    """

    column: str
    problem: str
    count: int
    treatment: str
    message: str

    @property
    def is_error(self) -> bool:
        """Whether this finding stops a run."""
        return self.treatment == "error"


@dataclass
class DataReport:
    """What the input contract found in a table, and the shape before and after."""

    source: str
    rows_in: int = 0
    columns_in: int = 0
    rows_out: int = 0
    features_out: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """Findings that stop a run."""
        return [finding for finding in self.findings if finding.is_error]

    @property
    def ok(self) -> bool:
        """Whether a run would go ahead with this table."""
        return not self.errors

    def add(self, column: str, problem: str, count: int, treatment: str, message: str) -> None:
        """Record one finding."""
        self.findings.append(Finding(column, problem, int(count), treatment, message))

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON."""
        return {
            "source": self.source,
            "ok": self.ok,
            "rows_in": self.rows_in,
            "columns_in": self.columns_in,
            "rows_out": self.rows_out,
            "features_out": self.features_out,
            "findings": [asdict(finding) for finding in self.findings],
        }

    def render(self) -> str:
        """A plain-text report: shape, one line per finding, and whether a run would proceed."""
        lines = [
            f"data check: {self.source}",
            f"rows: {self.rows_in:,} in, {self.rows_out:,} out; "
            f"columns: {self.columns_in:,} in, {self.features_out:,} features out",
        ]
        if self.findings:
            header = ("column", "problem", "count", "treatment", "note")
            rows = [
                (f.column, f.problem, f"{f.count:,}", f.treatment, _note(f)) for f in self.findings
            ]
            widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
            for row in [header, *rows]:
                cells = [
                    row[i].rjust(w) if i == 2 else row[i].ljust(w) for i, w in enumerate(widths)
                ]
                lines.append("  ".join([*cells, row[4]]).rstrip())
        else:
            lines.append("no problems found")
        errors = self.errors
        lines.append(
            "status: OK, a run would proceed"
            if not errors
            else f"status: FAILED, a run would stop ({len(errors)} error(s) above)"
        )
        return "\n".join(lines)


def _note(finding: Finding) -> str:
    """The message without its ``column 'x': `` prefix (the table shows the column)."""
    return finding.message.removeprefix(f"column {finding.column!r}: ")


@dataclass(frozen=True)
class CustomerTable:
    """A validated customer table, ready for the features stage.

    Attributes:
        ids: customer ids, one per row of ``features``.
        features: float32, no missing or infinite values; numeric, 0/1 boolean and one-hot
            (``col=level``) columns.
        categorical_columns: source categorical column -> its one-hot columns.
        truth: ground-truth labels (int, -1 = noise) when ``data.label_column`` is set.
        report: what the input contract found and did.
        fingerprint: content hash of the input table (see :func:`fingerprint`).
    """

    ids: np.ndarray
    features: pd.DataFrame
    categorical_columns: dict[str, list[str]]
    truth: np.ndarray | None
    report: DataReport
    fingerprint: str

    @property
    def n_rows(self) -> int:
        """Number of customers."""
        return len(self.ids)

    def column_kinds(self, cfg: FeaturesConfig, *, seed: int) -> TableKinds:
        """Every feature column's kind with its evidence, ``features.kinds`` and
        ``features.count_columns`` applied (:mod:`seglab.kinds`)."""
        booleans = [f.column for f in self.report.findings if f.problem == "boolean"]
        return column_kinds(self.features, self.categorical_columns, booleans=booleans,
                            overrides=cfg.kinds, basket_hints=cfg.count_columns,
                            sample=cfg.stats_sample, seed=seed)


def fingerprint(frame: pd.DataFrame) -> str:
    """A stable content hash of a table: column names, dtypes and every value.

    Equal content gives an equal fingerprint, whatever the index; changing one value, a name or a
    dtype changes it.

    Args:
        frame: the table as read.

    Returns:
        ``sha256:<hex>``.
    """
    digest = hashlib.sha256()
    for name, dtype in frame.dtypes.items():
        digest.update(f"{name}\x1f{dtype}\x1e".encode())
    digest.update(str(len(frame)).encode())
    if len(frame.columns):
        rows = pd.util.hash_pandas_object(_hashable(frame), index=False).to_numpy()
        digest.update(rows.tobytes())
    return f"sha256:{digest.hexdigest()}"


def _hashable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each nested column's values as JSON text (pandas cannot hash lists)."""
    nested = [index for index in range(frame.shape[1]) if is_nested(frame.iloc[:, index])]
    if not nested:
        return frame
    frame = frame.copy()
    for index in nested:
        frame.isetitem(index, frame.iloc[:, index].map(_as_json))
    return frame


def _as_json(value: Any) -> str:
    return json.dumps(value, default=_plain)


def _plain(item: Any) -> Any:
    return item.tolist() if isinstance(item, np.ndarray) else str(item)


def is_nested(series: pd.Series) -> bool:
    """Whether a column holds lists, arrays or mappings (a Parquet list, struct or map column)."""
    return (pd.api.types.is_object_dtype(series.dtype)
            and pd.api.types.infer_dtype(series, skipna=True).startswith("mixed")
            and bool(series.map(lambda value: isinstance(value, NESTED)).any()))


def load_customers(
    cfg: DataConfig, path: str, reader: Callable[[str], pd.DataFrame] | None = None
) -> CustomerTable:
    """Read, fingerprint and validate a customer table.

    Args:
        cfg: the ``data`` section of the config.
        path: the resolved table path (absolute or ``s3://``).
        reader: decodes the file (the backend's ``read_table``: cuDF on the GPU); default
            :func:`read_table`.

    Returns:
        The validated table.

    Raises:
        DataError: the table cannot be read or breaks the contract with ``error`` treatment.
    """
    return prepare_table((reader or read_table)(path), cfg, source=path)


def check_table(path: str, cfg: DataConfig) -> DataReport:
    """What the input contract would drop, fix or stop on, without stopping at the first error.

    Errors that would stop a run are recorded as findings with treatment ``error``; an
    unreadable file still raises.

    Args:
        path: the table (absolute or ``s3://``).
        cfg: the ``data`` section of the config.

    Returns:
        The report; ``report.ok`` is False when a run would stop.

    Raises:
        DataError: the table cannot be read.
    """
    frame = read_table(path)
    report = DataReport(source=path)
    try:
        _Preparer(frame, cfg, report, strict=False).run()
    except DataError as exc:
        report.add(TABLE, "fatal", 0, "error", str(exc))
    return report


def prepare_table(frame: pd.DataFrame, cfg: DataConfig, *, source: str) -> CustomerTable:
    """Apply the input contract to a table.

    Args:
        frame: the table as read (left unchanged).
        cfg: the ``data`` section of the config.
        source: where the table came from, for messages.

    Returns:
        The validated table; its ``fingerprint`` is that of ``frame``.

    Raises:
        DataError: one line naming the column, the value and the fix.
    """
    report = DataReport(source=source)
    ids, features, categorical, truth = _Preparer(frame, cfg, report, strict=True).run()
    return CustomerTable(ids, features, categorical, truth, report, fingerprint(frame))


@dataclass
class _Column:
    """One feature column converted: float32 values (NaN = missing), or categorical codes."""

    name: str
    values: np.ndarray | None = None
    codes: np.ndarray | None = None
    levels: list[str] = field(default_factory=list)

    @property
    def missing(self) -> np.ndarray:
        return np.isnan(self.values) if self.values is not None else self.codes < 0

    def take(self, rows: np.ndarray | None) -> None:
        """Keep only ``rows`` (a boolean mask; ``None`` keeps all)."""
        if rows is None:
            return
        if self.values is not None:
            self.values = self.values[rows]
        else:
            self.codes = self.codes[rows]

    def drop_unused_levels(self) -> None:
        """Forget levels that no (remaining) row has, renumbering the codes."""
        used = np.unique(self.codes)
        if len(used) < len(self.levels):
            self.levels = [self.levels[code] for code in used]
            self.codes = np.searchsorted(used, self.codes).astype(np.int32)

    @property
    def outputs(self) -> list[str]:
        return (
            [f"{self.name}={level}" for level in self.levels]
            if self.codes is not None
            else [self.name]
        )


class _Preparer:
    """Applies the contract to one table, recording each action in ``report``.

    With ``strict=False`` (``data check``), a configured ``error`` treatment is recorded and the
    work goes on with the mildest treatment, so that one report lists every problem.
    """

    def __init__(self, frame: pd.DataFrame, cfg: DataConfig, report: DataReport, *, strict: bool):
        self.frame = frame
        self.cfg = cfg
        self.report = report
        self.strict = strict
        self.source = report.source

    def run(self) -> tuple[np.ndarray, pd.DataFrame, dict[str, list[str]], np.ndarray | None]:
        frame, cfg, report = self.frame, self.cfg, self.report
        report.rows_in, report.columns_in = frame.shape
        self._check_shape()
        keep = self._row_mask_for_ids()
        feature_names = [c for c in frame.columns if c not in (cfg.id_column, cfg.label_column)]
        columns = [col for name in feature_names if (col := self._convert(name)) is not None]
        columns = [col for col in columns if not self._all_missing(col, keep)]
        if cfg.missing == "drop":
            keep = self._drop_rows_with_missing(columns, keep)
        rows = None if keep.all() else keep
        n_out = int(keep.sum())
        if n_out < 2:
            raise DataError(
                f"{self.source}: only {n_out} row(s) left after dropping rows; "
                "check data.missing and data.duplicate_ids, or fix the file"
            )
        for col in columns:
            col.take(rows)
        if cfg.missing != "drop":
            for col in columns:
                self._impute(col)
        columns = [col for col in columns if not self._constant(col)]
        if not columns:
            raise DataError(
                f"{self.source}: no usable feature columns left; see `seglab data check`"
            )
        ids = self._column_array(cfg.id_column, rows)
        truth = self._truth(rows) if cfg.label_column else None
        categorical = {col.name: col.outputs for col in columns if col.codes is not None}
        features = _assemble(columns, n_out)
        report.rows_out, report.features_out = features.shape
        return ids, features, categorical, truth

    # -- findings ------------------------------------------------------------------------------

    def _record(
        self, column: str, problem: str, count: int, message: str, *,
        treatment: str, done: str, stop: bool = False, fix: str = "",
    ) -> None:  # fmt: skip
        """Record a treatment, or (``stop``) an error: raised when strict, else recorded.

        After a recorded error the caller carries on with its fallback treatment.
        """
        if not stop:
            self.report.add(column, problem, count, treatment, f"{message}; {done}")
        elif self.strict:
            raise DataError(f"{self.source}: {message}; {fix}")
        else:
            self.report.add(column, problem, count, "error", f"{message}; {fix}")

    # -- table and rows ------------------------------------------------------------------------

    def _check_shape(self) -> None:
        frame, cfg = self.frame, self.cfg
        if cfg.id_column not in frame.columns:
            shown = ", ".join(map(str, frame.columns[:20])) + (
                ", ..." if frame.shape[1] > 20 else ""
            )
            raise DataError(
                f"{self.source}: id column {cfg.id_column!r} not found; set data.id_column to one "
                f"of: {shown}"
            )
        if cfg.label_column is not None and cfg.label_column not in frame.columns:
            raise DataError(
                f"{self.source}: label column {cfg.label_column!r} not found; set "
                "data.label_column to an existing column or to null"
            )
        for role, name in (("id", cfg.id_column), ("label", cfg.label_column)):
            if name is not None and is_nested(frame[name]):
                raise DataError(
                    f"{self.source}: {role} column {name!r} holds lists or mappings; it needs one "
                    f"plain value per row: set data.{role}_column to such a column"
                )
        if len(frame) == 0:
            raise DataError(
                f"{self.source}: the table has no rows; point data.path at a filled table"
            )
        if len(frame) == 1:
            raise DataError(
                f"{self.source}: the table has a single row; clustering needs many customers"
            )

    def _row_mask_for_ids(self) -> np.ndarray:
        ids = self.frame[self.cfg.id_column]
        name = self.cfg.id_column
        keep = ~ids.isna().to_numpy()
        n_missing = int((~keep).sum())
        if n_missing:
            self._record(
                name,
                "missing ids",
                n_missing,
                f"column {name!r}: {n_missing:,} row(s) without an id",
                treatment="dropped rows",
                done="rows dropped",
                stop=self.cfg.missing == "error",
                fix="fill them in, or set data.missing: impute or drop to drop those rows",
            )
        policy = self.cfg.duplicate_ids
        repeated = ids.duplicated(keep="first").to_numpy() & keep
        n_repeated = int(repeated.sum())
        if not n_repeated:
            return keep
        example = ids[repeated].iloc[0]
        message = f"column {name!r}: {n_repeated:,} row(s) repeat an earlier id (e.g. {example!r})"
        if policy != "drop":
            self._record(
                name,
                "duplicate ids",
                n_repeated,
                message,
                treatment="kept first",
                done="kept the first row of each id",
                stop=policy == "error",
                fix="deduplicate the file or set data.duplicate_ids: keep_first or drop",
            )
            return keep & ~repeated
        every = ids.duplicated(keep=False).to_numpy() & keep
        n_every = int(every.sum())
        self._record(
            name,
            "duplicate ids",
            n_every,
            message,
            treatment="dropped rows",
            done=f"dropped all {n_every:,} rows sharing an id",
        )
        return keep & ~every

    def _drop_rows_with_missing(self, columns: list[_Column], keep: np.ndarray) -> np.ndarray:
        incomplete = np.zeros(len(keep), dtype=bool)
        for col in columns:
            missing = col.missing & keep
            if missing.any():
                count = int(missing.sum())
                self._record(
                    col.name,
                    "missing values",
                    count,
                    f"column {col.name!r}: {count:,} missing value(s)",
                    treatment="dropped rows",
                    done="rows dropped",
                )
                incomplete |= missing
        return keep & ~incomplete

    # -- columns -------------------------------------------------------------------------------

    def _convert(self, name: str) -> _Column | None:
        """Turn one source column into float values or categorical codes (``None``: dropped)."""
        series = self.frame[name]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype):
            self.report.add(
                name, "boolean", len(series), "0/1", f"column {name!r}: boolean, as 0/1"
            )
            return _Column(name, values=series.to_numpy(np.float32, na_value=np.nan, copy=True))
        if pd.api.types.is_numeric_dtype(dtype):
            values = series.to_numpy(dtype=np.float32, na_value=np.nan, copy=True)
            return _Column(name, values=self._finite(name, values))
        if isinstance(dtype, pd.CategoricalDtype):
            return self._categorical(name, series)
        if is_nested(series):
            kind = "lists or mappings (a Parquet list, struct or map column)"
        elif pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
            return self._text(name, self._decoded(name, series))
        else:
            kind = f"type {dtype}"
        self.report.add(
            name,
            "unsupported type",
            len(series),
            "dropped column",
            f"column {name!r}: {kind}, not numeric, boolean or categorical; dropped",
        )
        return None

    def _finite(self, name: str, values: np.ndarray) -> np.ndarray:
        """Infinities become missing values (recorded)."""
        infinite = np.isinf(values)
        if infinite.any():
            count = int(infinite.sum())
            values[infinite] = np.nan
            self._record(
                name,
                "infinite values",
                count,
                f"column {name!r}: {count:,} infinite value(s)",
                treatment="set to missing",
                done="treated as missing values",
            )
        return values

    def _decoded(self, name: str, series: pd.Series) -> pd.Series:
        """Text of a column read as bytes (a CSV that is not UTF-8): UTF-8, else Latin-1 (recorded)."""
        if pd.api.types.infer_dtype(series, skipna=True) != "bytes":
            return series
        latin = series.map(lambda value: isinstance(value, bytes) and not _is_utf8(value))
        count = int(latin.sum())
        self.report.add(name, "not UTF-8", count, "decoded as Latin-1",
                        f"column {name!r}: {count:,} value(s) are not UTF-8 text (e.g. "
                        f"{series[latin].iloc[0]!r}); decoded as Latin-1: save the file as UTF-8")
        return series.map(lambda value: value.decode("utf-8" if _is_utf8(value) else "latin-1")
                          if isinstance(value, bytes) else value)

    def _text(self, name: str, series: pd.Series) -> _Column | None:
        present = series.notna()
        n_present = int(present.sum())
        booleans = _as_boolean(series[present])
        if booleans is not None:
            values = np.full(len(series), np.nan, dtype=np.float32)
            values[present.to_numpy()] = booleans
            self.report.add(
                name, "boolean", n_present, "0/1", f"column {name!r}: true/false text, as 0/1"
            )
            return _Column(name, values=values)
        numbers = pd.to_numeric(series, errors="coerce")
        junk = present & numbers.isna()
        n_junk = int(junk.sum())
        if n_present == 0 or n_present - n_junk < NUMERIC_TEXT_SHARE * n_present:
            return self._categorical(name, series)
        values = numbers.to_numpy(dtype=np.float32, na_value=np.nan)
        if n_junk:
            example = series[junk].iloc[0]
            self._record(
                name,
                "non-numeric values",
                n_junk,
                f"column {name!r}: {n_junk:,} non-numeric value(s) in a numeric column "
                f"(e.g. {example!r})",
                treatment="set to missing",
                done="treated as missing values",
                stop=self.cfg.non_numeric == "error",
                fix="fix them or set data.non_numeric: coerce",
            )
        return _Column(name, values=self._finite(name, values))

    def _categorical(self, name: str, series: pd.Series) -> _Column | None:
        codes, uniques = pd.factorize(series, sort=True)
        levels = [str(level) for level in uniques]
        message = f"column {name!r}: categorical, {len(levels):,} levels"
        if self.cfg.categorical == "drop":
            self._record(
                name,
                "categorical",
                len(levels),
                message,
                treatment="dropped column",
                done="dropped (data.categorical: drop)",
            )
            return None
        if len(levels) > self.cfg.max_categories:
            self._record(
                name,
                "too many levels",
                len(levels),
                message,
                treatment="dropped column",
                done=f"dropped (more than data.max_categories = {self.cfg.max_categories})",
            )
            return None
        if len(levels) > 1:
            self._record(
                name,
                "categorical",
                len(levels),
                message,
                treatment="one-hot",
                done=f"one-hot encoded as {name}=<level>",
            )
        return _Column(name, codes=codes.astype(np.int32), levels=levels)

    def _all_missing(self, col: _Column, keep: np.ndarray) -> bool:
        """Whether every value of ``col`` in the ``keep`` rows is missing (then it is dropped)."""
        if (~col.missing & keep).any():
            return False
        self._record(
            col.name,
            "all missing",
            int(keep.sum()),
            f"column {col.name!r}: every value is missing",
            treatment="dropped column",
            done="dropped",
        )
        return True

    def _impute(self, col: _Column) -> None:
        missing = col.missing
        count = int(missing.sum())
        if not count:
            return
        if col.values is not None:
            fill = float(np.nanmedian(col.values))
            col.values[missing] = fill
            treatment, shown = "imputed median", f"{fill:.6g}"
        else:
            mode = int(np.bincount(col.codes[~missing]).argmax())
            col.codes[missing] = mode
            treatment, shown = "imputed mode", repr(col.levels[mode])
        self._record(
            col.name,
            "missing values",
            count,
            f"column {col.name!r}: {count:,} missing value(s)",
            treatment=treatment,
            done=f"filled with {shown}",
            stop=self.cfg.missing == "error",
            fix="fix the file or set data.missing: impute or drop",
        )

    def _constant(self, col: _Column) -> bool:
        if col.values is not None:
            low, high = float(col.values.min()), float(col.values.max())
            if low != high:
                return False
            shown = f"{low:.6g}"
        else:
            col.drop_unused_levels()
            if len(col.levels) > 1:
                return False
            shown = repr(col.levels[0])
        self._record(
            col.name,
            "constant",
            len(col.missing),
            f"column {col.name!r}: every value is {shown}",
            treatment="dropped column",
            done="dropped",
            stop=self.cfg.constant == "error",
            fix="remove the column or set data.constant: drop",
        )
        return True

    # -- ids and labels ------------------------------------------------------------------------

    def _column_array(self, name: str, rows: np.ndarray | None) -> np.ndarray:
        values = self.frame[name].to_numpy()
        return values if rows is None else values[rows]

    def _truth(self, rows: np.ndarray | None) -> np.ndarray:
        """Ground-truth labels as int64 (-1 = noise or missing); text labels become codes."""
        name = self.cfg.label_column
        series = self.frame[name] if rows is None else self.frame[name][rows]
        numbers = pd.to_numeric(series, errors="coerce")
        present = series.notna()
        if (numbers.notna() == present).all() and (numbers.dropna() % 1 == 0).all():
            labels = numbers.fillna(-1).to_numpy(dtype=np.int64)
        else:
            codes, uniques = pd.factorize(series, sort=True)
            labels = codes.astype(np.int64)
            self.report.add(
                name,
                "text labels",
                len(uniques),
                "coded",
                f"label column {name!r}: {len(uniques)} text labels, coded 0..{len(uniques) - 1}",
            )
        n_missing = int((~present).sum())
        if n_missing:
            self.report.add(
                name,
                "missing labels",
                n_missing,
                "set to -1",
                f"label column {name!r}: {n_missing:,} missing label(s), scored as noise (-1)",
            )
        return labels


def _is_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _as_boolean(values: pd.Series) -> np.ndarray | None:
    """0/1 for a text/object column holding only booleans or ``true``/``false`` text, else None."""
    if len(values) == 0:
        return None
    if pd.api.types.is_object_dtype(values.dtype) and values.map(type).eq(bool).all():
        return values.to_numpy(dtype=np.float32)
    if values.map(type).eq(str).all():
        lowered = values.str.strip().str.lower()
        if lowered.isin(("true", "false")).all():
            return (lowered == "true").to_numpy(dtype=np.float32)
    return None


def _assemble(columns: Sequence[_Column], n_rows: int) -> pd.DataFrame:
    """One float32 Fortran-ordered block (each column contiguous), filled column by column."""
    names = [name for col in columns for name in col.outputs]
    matrix = np.empty((n_rows, len(names)), dtype=np.float32, order="F")
    j = 0
    for col in columns:
        if col.values is not None:
            matrix[:, j] = col.values
            j += 1
        else:
            for code in range(len(col.levels)):
                matrix[:, j] = col.codes == code
                j += 1
        col.values = col.codes = None
    return pd.DataFrame(matrix, columns=names, copy=False)
