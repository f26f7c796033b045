"""Fake cuDF: pandas readers returning a frame with ``to_pandas``/``to_cupy``."""

from typing import Any

import cupy
import fakegpu_log
import pandas as pd

__version__ = "26.10.2"


class DataFrame(pd.DataFrame):
    """A "device" frame."""

    def to_pandas(self) -> pd.DataFrame:
        return pd.DataFrame(self)

    def to_cupy(self, dtype: Any = None) -> cupy.ndarray:
        return cupy.asarray(self.to_numpy(dtype=dtype))


def read_csv(path: Any, **kwargs: Any) -> DataFrame:
    fakegpu_log.record("cudf.read_csv", path=path, **kwargs)
    return DataFrame(pd.read_csv(path, **kwargs))


def read_parquet(path: Any, **kwargs: Any) -> DataFrame:
    fakegpu_log.record("cudf.read_parquet", path=path, **kwargs)
    return DataFrame(pd.read_parquet(path, **kwargs))
