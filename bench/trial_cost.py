"""What a cached sweep trial costs per stage: 04 (clustering) and 05 (reporting) above all.

    python -m bench.trial_cost [--rows 1000000] [--trials 3] [--runs-dir D] [--out FILE]
                               [--set KEY=VALUE ...]

One run with the direct engine fills the stage cache (features, UMAP, k-distance knee) unless
``--runs-dir`` already holds it, then ``--trials`` runs with the same data and parameters hit it
for 01-03, as the trials of a sweep do. Parameters: the sweep benchmark's base
(``bench.sweep_bench.BASE``: an explicit ``cluster.algorithm: dbscan``) on params/demo.yaml, at
the knee's eps. Prints, per stage, the seconds of each cached trial (the manifest's
per-notebook seconds) and their median, the timed blocks of ``metrics.json`` (``seconds_*``),
and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import load_average, machine_facts
from bench.sweep_bench import BASE
from seglab.config import load_config
from seglab.paths import resolve
from seglab.runner import run_pipeline
from seglab.synth import write_customers


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    table = Path(args.table or f"/tmp/trial_cost_{args.rows}.parquet")
    if not table.exists():
        write_customers(args.rows, table, seed=0)
    runs = Path(args.runs_dir or tempfile.mkdtemp(prefix="trial-cost-"))
    overrides = [f"{key}={json.dumps(value)}" for key, value in BASE.items()]
    config = load_config(resolve("params/demo.yaml"),
                         overrides=[*overrides, f"data.path={table}", *args.set])
    load_before = load_average()
    stamp = time.strftime("%H%M%S")
    first = _trial(config, runs, f"{stamp}-first")
    cached = [_trial(config, runs, f"{stamp}-cached-{index}") for index in range(args.trials)]
    report = {
        "rows": args.rows,
        "overrides": args.set,
        "first": first,
        "cached": cached,
        "cached_stage_seconds_median": {
            stage: round(statistics.median(trial["stages"][stage] for trial in cached), 2)
            for stage in cached[0]["stages"]},
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "machine": machine_facts(),
        "runs_dir": str(runs),
    }
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def _trial(config: Any, runs: Path, run_id: str) -> dict[str, Any]:
    """One direct-engine run: its cache hits, per-notebook seconds and timed blocks."""
    result = run_pipeline(config, runs_dir=runs, run_id=run_id, engine="direct",
                          echo=lambda line: print(line, flush=True))
    folder = result.folder
    manifest, metrics = folder.read_json(folder.manifest), folder.read_metrics()
    return {
        "status": result.status,
        "cache_hits": sorted(stage for stage, entry in manifest.get("cache", {}).items()
                             if entry.get("hit")),
        "stages": {entry["notebook"].removesuffix(".py"): entry["seconds"]
                   for entry in manifest.get("notebooks", [])},
        "seconds": {key: value for key, value in metrics.items()
                    if key.startswith("seconds_") and value is not None},
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--table", help="customer table (default /tmp/trial_cost_ROWS.parquet, "
                                        "generated with seglab's synthesiser if absent)")
    parser.add_argument("--trials", type=int, default=3, help="cached trials to time")
    parser.add_argument("--runs-dir", help="runs folder; one used before keeps its stage cache, "
                                           "so the first run hits it too (default: a new one)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another config override, e.g. cluster.dbscan=tree (repeatable)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
