"""``python -m bench.spread``: how far a corpus table's ARI moves across seeds and row orders.

Quality floors (``tests/test_quality.py``) are set from this spread, not from one run: another
CPU's floating point reorders ties and sums the way a permutation of the rows does. Each table
runs ``run_pipeline`` (the user's path, ``params/default.yaml``, the table's ``data.*`` only) on
its rows in the original order with ``seed`` 0 and on ``--orders`` permutations, each with its
own seed. The summary gives min / mean / max ARI, how many runs chose each candidate family and
segment count (how often the choice flips), and the floor the rule below gives.

Floor rule: the lowest ARI seen, less half the range seen, less 0.03, rounded down to 0.05.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from bench import corpus
from bench.corpus_bench import run_seglab, work_folder


def permuted(table: corpus.CorpusTable, order: int) -> corpus.CorpusTable:
    """The table with its rows in the ``order``-th random order (0: as built)."""
    if order == 0:
        return table

    def build() -> Any:
        return table.frame().sample(frac=1.0, random_state=order).reset_index(drop=True)

    return dataclasses.replace(table, name=f"{table.name}_order{order}", build=build)


def floor(aris: list[float]) -> float:
    """The floor rule of this module's docstring."""
    low, high = min(aris), max(aris)
    return math.floor((low - (high - low) / 2 - 0.03) * 20) / 20


def measure(name: str, orders: int, work_dir: Path) -> dict[str, Any]:
    """Every run of one table: ARI, choice and seconds per (order, seed)."""
    runs = []
    for order in range(orders + 1):
        table = permuted(corpus.get(name), order)
        result = run_seglab(table, work_dir, [f"seed={order}"])
        runs.append({"order": order, "seed": order, "status": result["status"],
                     "ari": result.get("ari"), "n_clusters": result.get("n_clusters"),
                     "selected": result.get("selected"), "verdict": result.get("verdict"),
                     "seconds": result["seconds_wall"], "error": result["error"]})
        print(f"{name} order {order}: {runs[-1]}", flush=True)
    aris = [run["ari"] for run in runs if run["ari"] is not None]
    choices: dict[str, int] = {}
    for run in runs:
        key = f"{(run['selected'] or '?').split()[0]} k={run['n_clusters']}"
        choices[key] = choices.get(key, 0) + 1
    return {"runs": runs, "min": min(aris, default=None), "max": max(aris, default=None),
            "mean": sum(aris) / len(aris) if aris else None, "choices": choices,
            "floor": floor(aris) if aris else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spread", description=__doc__)
    parser.add_argument("tables", nargs="+", help="corpus table names")
    parser.add_argument("--orders", type=int, default=3, help="permutations besides the original")
    parser.add_argument("--out", type=Path, default=Path("bench/results/spread.json"))
    parser.add_argument("--work-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    with work_folder(args.work_dir, "seglab-spread-") as work_dir:
        for name in args.tables:
            results[name] = measure(name, args.orders, work_dir)
            args.out.write_text(json.dumps(results, indent=1, default=str) + "\n")
            entry = results[name]
            print(f"{name}: ARI {entry['min']:.3f}-{entry['max']:.3f} (mean {entry['mean']:.3f}), "
                  f"choices {entry['choices']}, floor {entry['floor']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
