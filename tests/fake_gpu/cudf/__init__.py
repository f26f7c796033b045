"""Fake cuDF: the two readers with cuDF's signatures and typing, over pandas and pyarrow.

Mirrors rapidsai/cudf at 6a22d1d2 (VERSION 26.10.00):

* ``python/cudf/cudf/io/csv.py`` ``read_csv``: its parameters and nothing else (no ``engine``,
  no ``**kwargs``); ``cpp/src/io/csv/reader_impl.cu`` ``infer_column_types``: an all-empty
  column is INT8, a column with any text is STRING (ISO dates too: they are parsed only when
  named in ``parse_dates``), integers beyond int64 are UINT64, or STRING beside negative ones.
* ``python/cudf/cudf/io/parquet.py`` ``read_parquet``: its parameters,
  ``ignore_missing_columns=True`` (a missing column is dropped without a word) and, with
  ``engine="cudf"``, any other keyword refused. Columns are decoded to their plain types:
  dictionaries become their values and all-null columns int8 (how cuDF holds them); the
  pandas metadata is not kept on the frame.
"""

from typing import Any, ClassVar

import cupy
import fakegpu_log
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__version__ = "26.10.2"

_INT64_MAX = np.iinfo(np.int64).max
_TRUE = ("True", "TRUE", "true")
_FALSE = ("False", "FALSE", "false")


class DataFrame(pd.DataFrame):
    """A "device" frame; ``_arrow`` holds the decoded Arrow table of a reader's result."""

    _metadata: ClassVar[list[str]] = ["_arrow"]
    _arrow: pa.Table | None = None

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self)

    def to_cupy(self, dtype: Any = None) -> cupy.ndarray:
        return cupy.asarray(self.to_numpy(dtype=dtype))

    def to_arrow(self, preserve_index: bool | None = None) -> pa.Table:
        """``cudf/core/dataframe.py`` ``DataFrame.to_arrow``."""
        if self._arrow is not None:
            return self._arrow
        return pa.Table.from_pandas(pd.DataFrame(self), preserve_index=preserve_index)


def read_csv(filepath_or_buffer: Any, sep: str = ",", delimiter: str | None = None,
             header: Any = "infer", names: Any = None, index_col: Any = None,
             usecols: Any = None, prefix: Any = None, mangle_dupe_cols: bool = True,
             dtype: Any = None, true_values: Any = None, false_values: Any = None,
             skipinitialspace: bool = False, skiprows: int = 0, skipfooter: int = 0,
             nrows: int | None = None, na_values: Any = None, keep_default_na: bool = True,
             na_filter: bool = True, skip_blank_lines: bool = True, parse_dates: Any = None,
             dayfirst: bool = False, compression: Any = "infer", thousands: str | None = None,
             decimal: str = ".", lineterminator: str = "\n", quotechar: str = '"',
             quoting: int = 0, doublequote: bool = True, comment: str | None = None,
             byte_range: Any = None, storage_options: Any = None,
             bytes_per_thread: int | None = None) -> DataFrame:
    fakegpu_log.record("cudf.read_csv", path=filepath_or_buffer, usecols=usecols)
    text = pd.read_csv(filepath_or_buffer, sep=sep, usecols=usecols, dtype=str,
                       keep_default_na=keep_default_na, nrows=nrows)
    dates = set(parse_dates or ())
    return DataFrame({name: _infer(text[name], name in dates) for name in text.columns})


def _infer(text: pd.Series, as_date: bool) -> pd.Series:
    """One CSV column typed as cuDF's ``infer_column_types`` types it (nullable, as cuDF)."""
    present = text.dropna()
    if present.empty:
        return pd.Series(pd.NA, index=text.index, dtype="Int8", name=text.name)
    if as_date:
        return pd.to_datetime(text).astype("datetime64[ns]")
    if present.isin(_TRUE + _FALSE).all():
        return text.map(lambda v: v in _TRUE if isinstance(v, str) else pd.NA).astype("boolean")
    if pd.to_numeric(present, errors="coerce").isna().any():
        return text
    if not present.str.fullmatch(r"[+-]?\d+").all():
        return text.astype("float64")
    values = [None if pd.isna(v) else int(v) for v in text]
    present_values = [v for v in values if v is not None]
    if max(present_values) <= _INT64_MAX:
        return pd.Series(pd.array(values, dtype="Int64"), index=text.index, name=text.name)
    if min(present_values) < 0:
        return text
    return pd.Series(pd.array(values, dtype="UInt64"), index=text.index, name=text.name)


def read_parquet(filepath_or_buffer: Any, engine: str = "cudf", columns: Any = None,
                 storage_options: Any = None, filesystem: Any = None, filters: Any = None,
                 row_groups: Any = None, use_pandas_metadata: bool = True,
                 categorical_partitions: bool = True, bytes_per_thread: int | None = None,
                 dataset_kwargs: Any = None, nrows: int | None = None,
                 skip_rows: int | None = None, allow_mismatched_pq_schemas: bool = False,
                 ignore_missing_columns: bool = True, case_sensitive_names: bool = True,
                 *args: Any, **kwargs: Any) -> DataFrame:
    if engine not in {"cudf", "pyarrow"}:
        raise ValueError(f"Only supported engines are {{'cudf', 'pyarrow'}}, got {engine=}")
    if engine == "cudf" and set(kwargs) - {"_chunk_read_limit", "_pass_read_limit"}:
        raise ValueError(f"cudf engine doesn't support the following keyword arguments: "
                         f"{list(kwargs)}")
    fakegpu_log.record("cudf.read_parquet", path=filepath_or_buffer, columns=columns,
                       ignore_missing_columns=ignore_missing_columns)
    table = pq.read_table(filepath_or_buffer)
    if columns is not None:
        missing = [name for name in columns if name not in table.column_names]
        if missing and not ignore_missing_columns:
            raise ValueError(f"Requested columns {missing} not found in the Parquet file")
        table = table.select([name for name in columns if name in table.column_names])
    decoded = pa.table({name: _decode(table.column(name)) for name in table.column_names})
    frame = DataFrame(decoded.to_pandas())
    frame._arrow = decoded
    return frame


def _decode(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A Parquet column as cuDF holds it: dictionaries as values, all-null as int8."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    if pa.types.is_null(column.type):
        return pa.chunked_array([pa.nulls(len(column), pa.int8())])
    return column
