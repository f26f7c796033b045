"""Sweep benchmark: eps x min_samples on a large table, on a local Dask cluster, with the cache.

Target (issue 6): 100 trials on 1M rows in <= 10 min with 2 workers, >= 20x cheaper per trial
than without the stage cache, every trial tracked.

Steps, all in a fresh runs folder:

1. a few **uncached** trials (``SEGLAB_CACHE=off``), run like the sweep's (same workers, same
   base parameters, eps from the knee): the cost of a trial without the cache, and the knee eps
   the grid is centred on;
2. the **sweep**: ``eps`` at ``--eps-factors`` times that knee x ``min_samples`` at
   ``--ms-factors`` times the default for the table (``eps.default_min_samples``: it grows with
   the rows per fitted UMAP row), from a cold cache, timed end to end (cluster start included);
3. the leaderboard: how many trials are tracked and completed, per-stage seconds of the cached
   trials, the best run.

Usage::

    python -m bench.sweep_bench --rows 1000000 --table /tmp/c1m.parquet \
        --out bench/results/sweep_1m.json
    python -m bench.sweep_bench --rows 20000 --ms-factors 0.8,1.2 --eps-factors 0.8,1.2   # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from seglab import cache, eps
from seglab.config import load_config
from seglab.paths import resolve
from seglab.runfolder import RunFolder
from seglab.sweep import load_grid, parse_rule, plan_sweep, run_sweep
from seglab.synth import write_customers
from seglab.tracking import leaderboard

BASE = {
    "backend": "cpu",
    "experiment": "sweep-bench",
    "tracking.backend": "local",
    "cluster.algorithm": "dbscan",
    "cluster.baselines": [],
    "report.stability_draws": 0,
}
"""The sweep's base parameters on top of params/demo.yaml (docs/sweeps.md, cheap trials)."""
DEFAULT_MS_FACTORS = "0.5,0.6,0.7,0.8,0.9,1.0,1.15,1.3,1.5,1.75"
DEFAULT_EPS_FACTORS = "0.6,0.7,0.8,0.9,1.0,1.1,1.2,1.35,1.5,1.7"
RULE = "max silhouette where noise_fraction <= 0.2 and n_clusters >= 3"


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    table = Path(args.table)
    if not table.exists():
        write_customers(args.rows, table, seed=0)
    runs = Path(args.runs_dir or tempfile.mkdtemp(prefix="sweep-bench-"))
    work = runs / "grids"
    work.mkdir(parents=True, exist_ok=True)
    overrides = [f"data.path={table}"]
    base = load_config(resolve("params/demo.yaml"), overrides=overrides)
    default_ms = eps.default_min_samples(base.reduce, args.rows)
    min_samples = sorted({max(2, round(default_ms * float(f))) for f in args.ms_factors.split(",")})
    factors = [float(value) for value in args.eps_factors.split(",")]
    started_load = os.getloadavg()

    uncached = _uncached_trials(runs, work, overrides, min_samples, args)
    knee = statistics.median(trial["eps"] for trial in uncached["trials"] if trial["eps"])
    eps_values = sorted({float(f"{knee * factor:.3g}") for factor in factors})
    # min_samples varies fastest: the first trials compute distinct k-distance entries side by side
    grid = _grid_file(work / "sweep.yaml", "bench", {"cluster.eps": eps_values,
                                                     "cluster.min_samples": min_samples})
    plan = plan_sweep(load_grid(grid), resolve("params/demo.yaml"), overrides)
    start = time.perf_counter()
    result = run_sweep(plan, runs_dir=runs, rule=parse_rule(RULE), workers=args.workers,
                       echo=lambda line: print(line, flush=True))
    wall = time.perf_counter() - start

    frame = leaderboard(runs)
    rows = frame[frame["trial"].str.startswith(plan.prefix)]
    trials = [_trial_facts(runs / name) for name in rows["trial"]]
    warm = [trial for trial in trials if trial["cache_hits"] == 3]
    per_trial_uncached = statistics.mean(t["seconds_total"] for t in uncached["trials"])
    per_trial_cached = statistics.mean(t["seconds_total"] for t in warm) if warm else None
    first = max(trials, key=lambda trial: trial["seconds_total"] or 0.0)  # computed 01 and 02
    throughput = (wall - (first["seconds_total"] or 0.0)) / max(len(trials) - 1, 1)
    report = {
        "rows": args.rows,
        "workers": args.workers,
        "trials_planned": len(plan.trials),
        "trials_tracked": len(rows),
        "trials_completed": int((rows["status"] == "completed").sum()),
        "sweep_wall_seconds": round(wall, 1),
        "sweep_target_seconds": 600,
        "uncached": uncached,
        "per_trial_seconds_uncached": round(per_trial_uncached, 2),
        "per_trial_seconds_cached": None if per_trial_cached is None else round(per_trial_cached, 2),
        "per_trial_speedup": (None if not per_trial_cached
                              else round(per_trial_uncached / per_trial_cached, 1)),
        "sweep_speedup_projected": round(per_trial_uncached * len(plan.trials) / args.workers / wall, 1),
        "machine_seconds_per_later_trial": round(throughput, 2),
        "per_trial_speedup_machine": round(per_trial_uncached / throughput, 1),
        "cached_trials": len(warm),
        "cached_trial_stage_seconds_median": _median_stages(warm),
        "knee_eps": knee,
        "default_min_samples": default_ms,
        "grid": {"cluster.eps": eps_values, "cluster.min_samples": min_samples},
        "base": BASE,
        "best_rule": RULE,
        "best": None if result.best is None else str(result.best["trial"]),
        "cache_entries": _cache_summary(runs),
        "machine": _machine(started_load),
        "runs_dir": str(runs),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    if args.summary:
        Path(args.summary).write_text(summary_markdown(report, args.out))
    print(json.dumps({key: report[key] for key in (
        "trials_tracked", "trials_completed", "sweep_wall_seconds", "per_trial_seconds_uncached",
        "per_trial_seconds_cached", "per_trial_speedup", "sweep_speedup_projected")}, indent=1))
    return 0 if report["trials_tracked"] == len(plan.trials) else 1


def summary_markdown(report: dict[str, Any], source: str) -> str:
    """A short Markdown page with the headline figures and the per-stage costs."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "missed"

    speedup = report["per_trial_speedup"] or 0
    lines = [
        "# Sweep benchmark",
        "",
        f"`python -m bench.sweep_bench` (`make bench-sweep`); raw figures in `{source}`.",
        f"{report['rows']:,} rows, {report['trials_planned']} trials (eps x min_samples: "
        f"{len(report['grid']['cluster.eps'])} x {len(report['grid']['cluster.min_samples'])}), "
        f"local Dask cluster of {report['workers']} worker processes, "
        f"{report['machine']['cores']} cores, load average before "
        f"{report['machine']['load_average_before']}, after {report['machine']['load_average_after']}.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| sweep <= 600 s | {report['sweep_wall_seconds']:.0f} s (cold cache, cluster start "
        f"included) | {verdict(report['sweep_wall_seconds'] <= 600)} |",
        f"| >= 20x cheaper per trial than uncached | {report['per_trial_seconds_uncached']:.1f} s "
        f"uncached vs {report['per_trial_seconds_cached'] or float('nan'):.1f} s cached = "
        f"{speedup:.1f}x | {verdict(speedup >= 20)} |",
        f"| 100 tracked | {report['trials_tracked']} tracked, {report['trials_completed']} completed "
        f"| {verdict(report['trials_tracked'] == report['trials_planned'])} |",
        "",
        f"Uncached: {len(report['uncached']['trials'])} trials with `SEGLAB_CACHE=off` on the same "
        f"workers ({report['uncached']['wall_seconds']:.0f} s wall). The sweep runner starts its "
        "first trial alone, so with two of them each had the machine to itself, while the cached "
        "trials ran two at a time on the 2 cores. In machine time: the sweep's wall after its "
        f"first trial over the other trials is {report['machine_seconds_per_later_trial']:.2f} s "
        f"per trial, {report['per_trial_speedup_machine']:.1f}x less than an uncached trial. "
        f"Projected uncached sweep / cached sweep: {report['sweep_speedup_projected']:.1f}x. "
        f"Base parameters: `{json.dumps(report['base'])}`.",
        "",
        f"Median seconds per notebook stage of the {report['cached_trials']} trials that hit the "
        "cache in all three cached stages, and of the uncached trials:",
        "",
        "| stage | cached trial | uncached trial |",
        "|---|---|---|",
    ]
    uncached = _median_stages(report["uncached"]["trials"])
    for stage, seconds in report["cached_trial_stage_seconds_median"].items():
        lines.append(f"| {stage} | {seconds:.2f} | {uncached.get(stage, float('nan')):.2f} |")
    lines += ["", "Stage cache entries (computed once each):", ""]
    for entry in report["cache_entries"]:
        lines.append(f"- {entry['stage']}: {entry['mb']} MB, computed in {entry['compute_seconds']} s")
    return "\n".join(lines) + "\n"


def _uncached_trials(runs: Path, work: Path, overrides: list[str], min_samples: list[int],
                     args: argparse.Namespace) -> dict[str, Any]:
    """``args.uncached`` full trials with the cache off on the sweep's workers (the sweep runner
    starts the first alone, then the rest)."""
    picks = [min_samples[round((i + 1) * (len(min_samples) - 1) / (args.uncached + 1))]
             for i in range(args.uncached)]
    grid = _grid_file(work / "uncached.yaml", "uncached", {"cluster.min_samples": sorted(set(picks))})
    plan = plan_sweep(load_grid(grid), resolve("params/demo.yaml"), overrides)
    os.environ[cache.ENV_ENABLED] = "off"  # the local cluster's workers inherit it
    try:
        start = time.perf_counter()
        run_sweep(plan, runs_dir=runs, rule=parse_rule("max silhouette"), workers=args.workers,
                  echo=lambda line: print("uncached:", line, flush=True))
        wall = time.perf_counter() - start
    finally:
        del os.environ[cache.ENV_ENABLED]
    trials = [_trial_facts(runs / trial.run_id) for trial in plan.trials]
    return {"wall_seconds": round(wall, 1), "trials": trials}


def _trial_facts(run_dir: Path) -> dict[str, Any]:
    folder = RunFolder(run_dir)
    metrics, manifest = folder.read_metrics(), folder.read_json(folder.manifest)
    return {
        "run_id": folder.run_id,
        "status": manifest.get("status"),
        "seconds_total": metrics.get("seconds_total"),
        "eps": metrics.get("eps"),
        "min_samples": metrics.get("min_samples"),
        "n_clusters": metrics.get("n_clusters"),
        "noise_fraction": metrics.get("noise_fraction"),
        "silhouette": metrics.get("silhouette"),
        "cache_hits": sum(bool(entry.get("hit")) for entry in manifest.get("cache", {}).values()),
        "stages": {entry["notebook"].removesuffix(".py"): entry["seconds"]
                   for entry in manifest.get("notebooks", [])},
        "seconds": {key: value for key, value in metrics.items()
                    if key.startswith("seconds_") and value is not None},
    }


def _median_stages(trials: list[dict[str, Any]]) -> dict[str, float]:
    names = {name for trial in trials for name in trial["stages"]}
    return {name: round(statistics.median(t["stages"][name] for t in trials if name in t["stages"]), 2)
            for name in sorted(names)}


def _cache_summary(runs: Path) -> list[dict[str, Any]]:
    store = cache.StageCache(cache.default_dir(runs))
    return [{"stage": entry.stage, "mb": round(entry.bytes / 1e6, 1),
             "compute_seconds": entry.compute_seconds} for entry in store.entries()]


def _grid_file(path: Path, name: str, grid: dict[str, list[Any]]) -> Path:
    path.write_text(yaml.safe_dump({"name": name, "base": BASE, "grid": grid}, sort_keys=False))
    return path


def _machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=resolve("."), check=False).stdout.strip()
    return {"host": platform.node(), "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
            "git_commit": commit or None}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of --table")
    parser.add_argument("--table", default="/tmp/c1m.parquet",
                        help="customer table (generated with seglab's synthesiser if absent)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ms-factors", default=DEFAULT_MS_FACTORS,
                        help="min_samples values as multiples of the table's default")
    parser.add_argument("--eps-factors", default=DEFAULT_EPS_FACTORS,
                        help="eps values as multiples of the uncached trials' knee eps")
    parser.add_argument("--uncached", type=int, default=2, help="uncached trials to time")
    parser.add_argument("--runs-dir", help="fresh runs folder (default: a new temporary one)")
    parser.add_argument("--out", default="bench/results/sweep_1m.json")
    parser.add_argument("--summary", help="also write this Markdown summary (bench/SWEEP.md)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
