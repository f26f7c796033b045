"""``python -m bench`` (``make bench``): seglab against the naive baseline, one JSON per case.

Default: 200k rows (naive baseline, library pipeline, ``seglab run`` with notebooks), then
``seglab run`` at 1M and 5M rows; results in ``bench/results/``, the tables and the scaling plot
in ``bench/README.md``. ``--quick`` (or ``BENCH_QUICK=1``): every case at 2,000 rows into
``bench/results/tmp/quick/``, about a minute, for CI.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.cases import CASES, CaseSpec, run_case, seglab_executable
from bench.readme import write_readme

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
QUICK_ROWS = 2_000


def main(argv: list[str] | None = None) -> int:
    """Run the suite; returns the exit status (1 when a case failed)."""
    args = _parse(argv)
    quick = args.quick or os.environ.get("BENCH_QUICK") == "1"
    rows = args.rows or ([QUICK_ROWS] if quick else [200_000, 1_000_000, 5_000_000])
    baseline_rows = set(args.baseline_rows or ([QUICK_ROWS] if quick else [200_000]))
    results_dir = args.results_dir or (BENCH_DIR / "results" / "tmp" / "quick" if quick
                                       else BENCH_DIR / "results")
    readme = args.readme or (results_dir / "README.md" if quick else BENCH_DIR / "README.md")
    work_dir = args.work_dir or BENCH_DIR / "results" / "tmp"
    session = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    results_dir.mkdir(parents=True, exist_ok=True)

    failed = False
    if not args.readme_only:
        for n_rows in rows:
            data = _synthetic_table(work_dir, n_rows)
            cases = CASES if n_rows in baseline_rows else args.scale_cases
            for case in cases:
                spec = CaseSpec(case=case, rows=n_rows, data=data, work_dir=work_dir,
                                params=args.params, session=session)
                print(f"[bench] {case} at {n_rows:,} rows ...", flush=True)
                result = {**run_case(spec), "suite_command": command}
                (results_dir / f"{case}_{n_rows}.json").write_text(json.dumps(result, indent=2))
                print(f"[bench] {case} at {n_rows:,} rows: {result['wall_seconds']:.1f} s, "
                      f"{result['peak_rss_bytes'] / 2**30:.2f} GiB, ok={result['ok']}", flush=True)
                failed |= not result["ok"]
    write_readme(results_dir, readme, command=command)
    print(f"[bench] wrote {readme}")
    return 1 if failed else 0


def _synthetic_table(work_dir: Path, n_rows: int) -> Path:
    """``seglab data synth`` output for ``n_rows`` (seed 0), generated once and reused."""
    path = work_dir / f"customers_{n_rows}.parquet"
    if not path.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([seglab_executable(), "data", "synth", "--rows", str(n_rows), "--seed", "0",
                        "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI mode: every case at 2,000 rows")
    parser.add_argument("--rows", type=int, nargs="+", help="table sizes (default 200k 1M 5M)")
    parser.add_argument("--baseline-rows", type=int, nargs="+",
                        help="sizes at which every case runs, the naive baseline included")
    parser.add_argument("--scale-cases", nargs="+", choices=CASES, default=["notebooks"],
                        help="cases at the other sizes (default: notebooks)")
    parser.add_argument("--params", type=Path, default=REPO / "params" / "demo.yaml")
    parser.add_argument("--results-dir", type=Path, help="where the JSON per case goes")
    parser.add_argument("--readme", type=Path, help="Markdown file the tables are written into")
    parser.add_argument("--work-dir", type=Path, help="generated tables, run folders and logs")
    parser.add_argument("--readme-only", action="store_true",
                        help="rebuild the README from the JSON already in --results-dir")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(main())
