"""Decode a CSV or Parquet file into a pandas frame, with one-line messages for what fails.

Below the pipeline: :mod:`seglab.data` applies the input contract to what this reads, and the
backends' ``read_table`` (the GPU one decodes Parquet with cuDF) falls back to it.
"""

from __future__ import annotations

import importlib.util
import zlib
from pathlib import Path

import pandas as pd
import pyarrow as pa

from seglab.errors import DataError

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) customer table.

    Args:
        path: an absolute or working-directory-relative path, or an ``s3://`` URI.
        columns: read only these columns (``None``: all).

    Returns:
        The table as read.

    Raises:
        DataError: unknown suffix, missing file, ``s3fs`` not installed, unreadable content.
    """
    name = path.lower()
    if not name.startswith("s3://"):
        require_table_file(path)
    elif not name.endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
        raise DataError(f"{path}: unknown table format; use a .csv, .csv.gz, .parquet or .pq file")
    elif importlib.util.find_spec("s3fs") is None:
        raise DataError(f"{path}: reading from S3 needs s3fs; run pip install -e '.[s3]'")
    try:
        if name.endswith(PARQUET_SUFFIXES):
            return pd.read_parquet(path, columns=columns)
        return pd.read_csv(path, usecols=columns, engine="pyarrow")
    except (OSError, EOFError, zlib.error, ValueError, pa.ArrowException) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: could not read the table ({reason}); check that it is a valid "
            f"{'Parquet' if name.endswith(PARQUET_SUFFIXES) else 'CSV'} file"
        ) from None


def require_table_file(path: str) -> None:
    """Check, before any work, that ``path`` is an existing regular file in a known format.

    Args:
        path: an absolute local path (URIs are checked when read).

    Raises:
        DataError: unknown suffix, missing file, or not a regular file (a device such as
            ``/dev/zero`` or a pipe would never finish reading).
    """
    if not path.lower().endswith(CSV_SUFFIXES + PARQUET_SUFFIXES):
        raise DataError(f"{path}: unknown table format; use a .csv, .csv.gz, .parquet or .pq file")
    file = Path(path)
    if not file.exists():
        raise DataError(f"{path}: file not found; check data.path or pass --data with an existing file")
    if not file.is_file():
        raise DataError(f"{path}: not a regular file; pass --data with a CSV or Parquet file")
