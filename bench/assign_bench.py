"""What `seglab assign` costs: rows per second and peak memory, assigning many customers with a
model fitted on fewer (the issue's target: 10M assigned from a 1M fit, peak RSS <= 3 GiB).

    python -m bench.assign_bench [--fit-rows 1000000] [--assign-rows 10000000]
                                 [--workers 2] [--runs-dir D] [--out FILE] [--set KEY=VALUE ...]

Fits one run (params/demo.yaml, direct engine, no stability draws) on ``--fit-rows`` synthetic
customers unless ``--runs-dir`` already holds one fitted on them, writes ``--assign-rows``
customers of the same synthetic population (the same seed: the first ``--fit-rows`` of them are
the fitted ones, the others are new), then runs ``seglab assign`` in a subprocess, once here
and, with ``--workers``, once on a local Dask cluster. Peak RSS is the largest sum over the process and
its children (the Dask workers), sampled every 0.1 s with psutil.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench.machine import load_average, machine_facts
from seglab.config import load_config
from seglab.paths import resolve
from seglab.runner import run_pipeline
from seglab.synth import write_customers


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    runs = Path(args.runs_dir or tempfile.mkdtemp(prefix="assign-bench-"))
    run = _fitted_run(runs, args.fit_rows, args.set)
    table = Path(f"/tmp/assign_bench_{args.assign_rows}.parquet")
    if not table.exists():
        write_customers(args.assign_rows, table, seed=0)
    report: dict[str, Any] = {"fit_rows": args.fit_rows, "assign_rows": args.assign_rows,
                              "run": str(run), "load_average_before": load_average()}
    report["local"] = _assign(run, table, runs / f"assign-local-{time.strftime('%H%M%S')}", [])
    if args.workers:
        report["dask"] = _assign(run, table, runs / f"assign-dask-{time.strftime('%H%M%S')}",
                                 ["--workers", str(args.workers)])
    report.update(load_average_after=load_average(), machine=machine_facts())
    text = json.dumps(report, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def _fitted_run(runs: Path, rows: int, overrides: list[str]) -> Path:
    """The completed run on ``rows`` customers in ``runs``, fitted now if there is none."""
    done = [p for p in sorted(runs.glob(f"fit-{rows}-*")) if (p / "labels.parquet").exists()]
    if done:
        return done[-1]
    table = Path(f"/tmp/assign_bench_fit_{rows}.parquet")
    if not table.exists():
        write_customers(rows, table, seed=0)
    config = load_config(resolve("params/demo.yaml"), overrides=[
        f"data.path={table}", "report.stability_draws=0", "tracking.backend=local", *overrides])
    result = run_pipeline(config, runs_dir=runs, run_id=f"fit-{rows}-{time.strftime('%H%M%S')}",
                          engine="direct", echo=lambda line: print(line, file=sys.stderr))
    if not result.ok:
        raise SystemExit(f"the fit failed: {result.message}")
    return result.folder.path


def _assign(run: Path, table: Path, out: Path, extra: list[str]) -> dict[str, Any]:
    """One ``seglab assign`` subprocess: seconds, rows per second, peak RSS of its tree."""
    argv = [sys.executable, "-m", "seglab", "assign", str(run), "--data", str(table),
            "--out", str(out), *extra]
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = _peak_rss(psutil.Process(process.pid))
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode:
        raise SystemExit(f"seglab assign failed: {stderr.strip().splitlines()[-1:]}")
    summary = json.loads((out / "assignment.json").read_text())
    return {"argv": argv[3:], "seconds_wall": round(seconds, 1),
            "seconds_assign": summary["seconds"],
            "rows_per_second": round(summary["rows"] / seconds),
            "peak_rss_gib": round(peak / 2**30, 3),
            "unlike_any_share": round(summary["unlike_any_share"], 4),
            "noise_share": round(summary["noise_share"], 4), "stdout": stdout.strip()}


def _peak_rss(process: psutil.Process) -> int:
    """The largest RSS of ``process`` and its children together until it ends."""
    peak = 0
    while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    return peak


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit-rows", type=int, default=1_000_000)
    parser.add_argument("--assign-rows", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2,
                        help="also assign on a local Dask cluster of N workers (0: not)")
    parser.add_argument("--runs-dir", help="runs folder; one holding a fit on --fit-rows rows is "
                                           "reused (default: a new one)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="another config override for the fit (repeatable)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    raise SystemExit(main())
