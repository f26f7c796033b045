"""What the guarantees of docs/guarantees.md cost at 1M rows: hashing, copying, store checks.

    python -m bench.guarantees_cost [--rows 1000000] [--repeat 3]

Times (best of ``--repeat``) SHA-256 of a 1M x 5 float32 embedding and of a 1M x 13 float32
feature matrix (the synthetic table's features), the cache's checked copy of each into a run
folder (what a hit now does instead of a hard link), SHA-256 of a data file of the 1M-row
synthetic table's size, and ``PRAGMA quick_check`` on a tracking store of 1,000 runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seglab.cache import _copy_checked, file_digest
from seglab.tracking.local import LocalStore

PARQUET_BYTES_PER_ROW = 117
"""tests/data/tiny_customers.parquet: 234,519 bytes for 2,000 rows."""


def best(seconds: Callable[[], None], repeat: int) -> float:
    """The fastest of ``repeat`` timed calls, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        seconds()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        arrays = {"embedding (rows x 5 float32)": rng.normal(size=(args.rows, 5)),
                  "features (rows x 13 float32)": rng.normal(size=(args.rows, 13))}
        for name, array in arrays.items():
            path = root / f"{name.split()[0]}.npy"
            np.save(path, array.astype(np.float32), allow_pickle=False)
            digest = file_digest(path)
            size = path.stat().st_size
            hashed = best(lambda path=path: file_digest(path), args.repeat)
            copied = best(lambda path=path, size=size, digest=digest: _copy_checked(
                path, root / "copy.npy", size, digest), args.repeat)
            print(f"{name}: {size / 1e6:.1f} MB, SHA-256 {hashed:.3f} s, checked copy {copied:.3f} s")
        table = root / "table.parquet"
        table.write_bytes(rng.bytes(args.rows * PARQUET_BYTES_PER_ROW))
        hashed = best(lambda: file_digest(table), args.repeat)
        print(f"data file: {table.stat().st_size / 1e6:.1f} MB, SHA-256 {hashed:.3f} s")
        store = LocalStore(root)
        for index in range(1000):
            store.start_trial("bench", f"t{index}", None)
            store.log_params(f"t{index}", "", {f"p{k}": k for k in range(40)})
            store.log_metrics(f"t{index}", "", {f"m{k}": float(k) for k in range(30)}, 0)
            store.end(f"t{index}", "", "completed")
        store.close()
        size = (root / "seglab.db").stat().st_size
        opened = best(lambda: LocalStore(root).close(), args.repeat)
        print(f"store of 1,000 runs: {size / 1e6:.1f} MB, open with quick_check {opened:.3f} s")


if __name__ == "__main__":
    main()
