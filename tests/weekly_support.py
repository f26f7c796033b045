"""Two "weeks" of the same customers with known changes, and run folders made of them.

Week A has segments 0-5 and noise. Week B (labels 10-15, so that nothing matches by number):

- 0 survives as 10, except :data:`MIGRATING` of its customers, who move to 11;
- 1 survives as 11;
- 2 splits into 12 and 13 (55 / 45);
- 3 and 4 merge into 14;
- 5 vanishes: its customers scatter into noise, 10 and 11;
- 15 is new, made of new customers only;
- :data:`LEAVING` of A's customers leave, and new customers arrive (in 10, 11 and 15).

The tables behind the runs: two numeric columns and one categorical column whose values
follow the segment; in week B ``spend`` shifts by one standard deviation (PSI far above 0.25),
the others keep their distribution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seglab.config import Config, DataConfig, save_config
from seglab.data import fingerprint

SIZES_A = {0: 1500, 1: 1200, 2: 1000, 3: 600, 4: 500, 5: 400, -1: 300}
MIGRATING = 0.08
LEAVING = 0.10
NEW_CUSTOMERS = {10: 150, 11: 150, 15: 450}
EXPECTED = {
    "survived": [((0,), (10,)), ((1,), (11,))],
    "split": [((2,), (12, 13))],
    "merged": [((3, 4), (14,))],
    "vanished": [((5,), ())],
    "new": [((), (15,))],
}


@dataclass(frozen=True)
class Weeks:
    """Both weeks' labels (indexed by customer id) and what is known by construction."""

    a: pd.Series
    b: pd.Series
    moved: pd.Series
    """Per shared customer: whether they changed segment (a migrant, or a vanished segment's)."""
    migrated: float
    """Share of segment 0's shared customers now in 11."""


def two_weeks(seed: int = 0) -> Weeks:
    """The labels of both weeks (module docstring)."""
    rng = np.random.default_rng(seed)
    a = np.concatenate([np.full(n, s) for s, n in SIZES_A.items()])
    ids = np.arange(len(a))
    b = np.full(len(a), -1)
    moved = np.zeros(len(a), dtype=bool)
    for old, new in ((0, 10), (1, 11), (3, 14), (4, 14), (-1, -1)):
        b[a == old] = new
    zero = np.flatnonzero(a == 0)
    migrants = rng.choice(zero, size=round(MIGRATING * len(zero)), replace=False)
    b[migrants], moved[migrants] = 11, True
    two = np.flatnonzero(a == 2)
    b[two] = np.where(rng.random(len(two)) < 0.55, 12, 13)
    five = np.flatnonzero(a == 5)
    b[five], moved[five] = rng.choice([-1, 10, 11], size=len(five), p=[0.4, 0.3, 0.3]), True
    stay = rng.random(len(a)) >= LEAVING
    new_labels = np.concatenate([np.full(n, s) for s, n in NEW_CUSTOMERS.items()])
    new_ids = np.arange(len(a), len(a) + len(new_labels))
    weeks_b = pd.Series(np.concatenate([b[stay], new_labels]),
                        index=np.concatenate([ids[stay], new_ids]))
    kept_zero = stay[zero]
    migrated = float(np.isin(zero[kept_zero], migrants).mean())
    return Weeks(pd.Series(a, index=ids), weeks_b, pd.Series(moved[stay], index=ids[stay]),
                 migrated)


def table_for(labels: pd.Series, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    """A customer table whose columns follow the segment (``shift``: added to ``spend``, in
    standard deviations of a segment)."""
    rng = np.random.default_rng(seed)
    segment = labels.to_numpy()
    centre = np.where(segment < 0, 2.0, segment % 10).astype(float)
    return pd.DataFrame({
        "customer_id": labels.index.to_numpy(),
        "spend": 10 * centre + rng.normal(shift * 3, 3, len(segment)),
        "visits": 3 * centre + rng.normal(0, 1, len(segment)),
        "channel": np.where(centre % 2 == 0, "web", "store"),
    })


def make_run(folder: Path, table: pd.DataFrame, labels: pd.Series, *,
             id_column: str = "customer_id", group: bool = False) -> Path:
    """A finished run folder with these labels, its table written beside it (no pipeline)."""
    folder.mkdir(parents=True)
    path = folder.parent / f"{folder.name}.parquet"
    table.to_parquet(path, index=False)
    save_config(Config(data=DataConfig(path=str(path), id_column=id_column)), folder / "params.yaml")
    (folder / "manifest.json").write_text(json.dumps({
        "run_id": folder.name, "status": "completed", "data_fingerprint": fingerprint(table)}))
    (folder / "metrics.json").write_text("{}")
    frame = pd.DataFrame({id_column: labels.index.to_numpy(), "cluster": labels.to_numpy()})
    if group:
        frame["group"] = np.where(frame["cluster"] >= 0, frame["cluster"] // 2, -1)
    frame.to_parquet(folder / "labels.parquet", index=False)
    for path in folder.rglob("*"):
        path.chmod(0o444)
    return folder
