"""Turn the case JSON files into ``bench/README.md``: results, targets, stages, scaling plot."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.cases import SEGLAB_STAGES

GIB = 2**30
PLOT = "scaling.png"
CASE_NAMES = {
    "naive": "naive baseline (umap-learn on every row, sklearn DBSCAN, exact silhouette)",
    "library": "seglab library pipeline (`seglab run --engine direct`)",
    "notebooks": "`seglab run` end to end (papermill notebooks)",
}
INTRO = """# Benchmarks: seglab against the naive baseline

Every case runs in its own child process on the same generated table (`seglab data synth
--seed 0`), in one session, so that its peak RSS is its own and ratios compare like with like:

| case | what runs |
|---|---|
{cases}

Peak RSS is the larger of the child's `ru_maxrss` and the polled sum over its process tree (the
notebook kernels included). ARI is against the generator's ground-truth segments, on every row.
Stage seconds come from each run's `metrics.json` (`seconds_<stage>`) or the baseline's own
clock. The machine is shared: the load average before and after each case is given beside it;
compare ratios within one session, not absolute seconds across sessions.

Reproduce: `make bench` (`python -m bench`: 200k rows with the baseline, then `seglab run` at
1M and 5M; 30-60 minutes on 2 cores, mostly the baseline's exact silhouette and the 5M run) or
`make bench BENCH_QUICK=1` (`python -m bench --quick`: every case at 2,000 rows, 1-3 minutes,
what CI runs through `tests/test_bench.py`). One size: `python -m bench --rows 1000000`.
Results: one JSON per case in `bench/results/` (the README is rebuilt from all of them; a
speed-up is only computed against the baseline of the same session). Why the figures are what
they are: `docs/performance.md`.
"""


def load_results(results_dir: Path) -> list[dict[str, Any]]:
    """Every case JSON in ``results_dir``, ordered by rows then case."""
    found = [json.loads(path.read_text()) for path in sorted(results_dir.glob("*_*.json"))]
    results = [result for result in found if "case" in result and "rows" in result]
    order = {case: i for i, case in enumerate(CASE_NAMES)}
    return sorted(results, key=lambda r: (r["rows"], order.get(r["case"], 99)))


def write_readme(results_dir: Path, readme: Path, *, command: str) -> None:
    """Write the Markdown report (and the scaling plot beside the results).

    Args:
        results_dir: folder with the case JSON files.
        readme: Markdown file to (over)write.
        command: the command that produced the results, quoted in the report.
    """
    results = load_results(results_dir)
    plot = results_dir / PLOT
    has_plot = scaling_plot(results, plot)
    parts = [INTRO.format(cases="\n".join(f"| `{k}` | {v} |" for k, v in CASE_NAMES.items())),
             f"Last written by: `{command}`\n", "## Results\n", results_table(results),
             "\n## Targets (issue 5)\n", targets_table(results), "\n## Seconds per stage\n",
             stages_table(results), "\n## Seconds per notebook (seglab; kernel start included "
             "for `notebooks`)\n", notebooks_table(results)]
    if has_plot:
        parts += ["\n## Scaling\n",
                  f"![time and memory vs rows]({os.path.relpath(plot, readme.parent)})\n"]
    readme.write_text("\n".join(parts))


def results_table(results: list[dict[str, Any]]) -> str:
    """One row per case: wall, CPU, memory, quality, speed-up against the same session's baseline."""
    lines = ["| rows | case | wall s | CPU s | peak RSS GiB | ARI | clusters | noise | "
             "speed-up vs naive | load avg before → after | session |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for result in results:
        quality = result.get("quality", {})
        baseline = _baseline(results, result)
        speedup = (f"{baseline['wall_seconds'] / result['wall_seconds']:.1f}×"
                   if baseline and result["case"] != "naive" and result["ok"] else "")
        lines.append(
            f"| {result['rows']:,} | {result['case']}{'' if result['ok'] else ' (FAILED)'} | "
            f"{result['wall_seconds']:.1f} | {result['cpu_seconds']:.1f} | "
            f"{result['peak_rss_bytes'] / GIB:.2f} | {_num(quality.get('ari'), 3)} | "
            f"{_num(quality.get('n_clusters'), 0)} | {_pct(quality.get('noise_fraction'))} | "
            f"{speedup} | {_load(result['load_before'])} → {_load(result['load_after'])} | "
            f"{result['session']} |")
    return "\n".join(lines) + "\n"


def targets_table(results: list[dict[str, Any]]) -> str:
    """The three targets of issue 5 with the measured figure and whether it is met."""
    lines = ["| target | measured | met |", "|---|---|---|"]
    for label, check in _target_checks(results):
        measured, met = check()
        lines.append(f"| {label} | {measured} | {met} |")
    return "\n".join(lines) + "\n"


def _target_checks(results: list[dict[str, Any]]) -> list[tuple[str, Callable[[], tuple[str, str]]]]:
    def find(case: str, rows: int) -> dict[str, Any] | None:
        matches = [r for r in results if r["case"] == case and r["rows"] == rows]
        return matches[-1] if matches else None

    def one_million() -> tuple[str, str]:
        run = find("notebooks", 1_000_000)
        if run is None:
            return "not run", "–"
        ari = run.get("quality", {}).get("ari")
        met = (run["ok"] and run["wall_seconds"] <= 360 and run["peak_rss_bytes"] <= 8 * GIB
               and ari is not None and ari >= 0.85)
        return (f"{run['wall_seconds']:.0f} s, {run['peak_rss_bytes'] / GIB:.2f} GiB, "
                f"ARI {_num(ari, 3)}", _yes(met))

    def versus_naive(case: str, factor: float) -> tuple[str, str]:
        run, naive = find(case, 200_000), find("naive", 200_000)
        if run is None or naive is None or run["session"] != naive["session"]:
            return "not run in one session", "–"
        speedup = naive["wall_seconds"] / run["wall_seconds"]
        ari, naive_ari = run.get("quality", {}).get("ari"), naive.get("quality", {}).get("ari")
        met = (run["ok"] and speedup >= factor and run["peak_rss_bytes"] <= naive["peak_rss_bytes"]
               and ari is not None and naive_ari is not None and ari >= naive_ari)
        return (f"{speedup:.1f}× ({run['wall_seconds']:.0f} s vs {naive['wall_seconds']:.0f} s), "
                f"{run['peak_rss_bytes'] / GIB:.2f} vs {naive['peak_rss_bytes'] / GIB:.2f} GiB, "
                f"ARI {_num(ari, 3)} vs {_num(naive_ari, 3)}", _yes(met))

    def five_million() -> tuple[str, str]:
        run, smaller = find("notebooks", 5_000_000), find("notebooks", 1_000_000)
        if run is None:
            return "not run", "–"
        growth = "; the 1M run is from another session (no per-stage growth)"
        if (smaller is not None and smaller["session"] == run["session"] and run.get("stages")
                and smaller.get("stages")):
            ratios = [f"{stage} {run['stages'][stage] / smaller['stages'][stage]:.1f}×"
                      for stage in SEGLAB_STAGES
                      if run["stages"].get(stage) and smaller["stages"].get(stage)]
            growth = "; 5M/1M per stage: " + ", ".join(ratios)
        met = run["ok"] and run["wall_seconds"] <= 1800 and run["peak_rss_bytes"] <= 20 * GIB
        return (f"{run['wall_seconds']:.0f} s, {run['peak_rss_bytes'] / GIB:.2f} GiB{growth}",
                _yes(met))

    return [
        ("1M rows, `seglab run`: ≤ 6 min, ≤ 8 GiB, ARI ≥ 0.85", one_million),
        ("200k rows, library pipeline: ≥ 10× faster than naive, RSS and ARI not worse",
         lambda: versus_naive("library", 10)),
        ("200k rows, `seglab run` with notebooks: ≥ 5× faster than naive, RSS and ARI not worse",
         lambda: versus_naive("notebooks", 5)),
        ("5M rows, `seglab run`: completes, ≤ 30 min, ≤ 20 GiB, ~linear from 1M", five_million),
    ]


def stages_table(results: list[dict[str, Any]]) -> str:
    """Seconds per stage for every case (blank where a case has no such stage)."""
    lines = ["| rows | case | " + " | ".join(SEGLAB_STAGES) + " |",
             "|---:|---|" + "---:|" * len(SEGLAB_STAGES)]
    for result in results:
        stages = result.get("stages") or {}
        cells = " | ".join(_num(stages.get(stage), 1) for stage in SEGLAB_STAGES)
        lines.append(f"| {result['rows']:,} | {result['case']} | {cells} |")
    return "\n".join(lines) + "\n"


def notebooks_table(results: list[dict[str, Any]]) -> str:
    """Seconds per notebook (or its stage function) for the seglab cases."""
    runs = [r for r in results if r.get("notebooks")]
    names = list(dict.fromkeys(name for r in runs for name in r["notebooks"]))
    lines = ["| rows | case | " + " | ".join(names) + " |", "|---:|---|" + "---:|" * len(names)]
    for result in runs:
        cells = " | ".join(_num(result["notebooks"].get(name), 1) for name in names)
        lines.append(f"| {result['rows']:,} | {result['case']} | {cells} |")
    return "\n".join(lines) + "\n"


def scaling_plot(results: list[dict[str, Any]], path: Path) -> bool:
    """Seconds per stage and peak RSS against rows, one line per case; ``False`` if nothing to plot."""
    ok = [r for r in results if r["ok"]]
    if not ok:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (times, memory) = plt.subplots(1, 2, figsize=(12, 4.5))
    for case in CASE_NAMES:
        runs = sorted((r for r in ok if r["case"] == case), key=lambda r: r["rows"])
        if not runs:
            continue
        rows = [r["rows"] for r in runs]
        times.plot(rows, [r["wall_seconds"] for r in runs], marker="o", linewidth=2,
                   label=f"{case}: total")
        memory.plot(rows, [r["peak_rss_bytes"] / GIB for r in runs], marker="o", label=case)
        if case == "notebooks":
            for stage in SEGLAB_STAGES:
                seconds = [(r["rows"], r["stages"].get(stage)) for r in runs]
                points = [(n, s) for n, s in seconds if s]
                if points:
                    times.plot(*zip(*points, strict=True), marker=".", linestyle="--",
                               label=f"{case}: {stage}")
    for axis, label in ((times, "seconds"), (memory, "peak RSS (GiB)")):
        axis.set_xscale("log")
        axis.set_xlabel("rows")
        axis.set_ylabel(label)
        axis.grid(True, which="both", alpha=0.3)
    times.set_yscale("log")
    times.legend(fontsize=7, ncol=2)
    memory.legend(fontsize=8)
    times.set_title("Wall time: totals and seglab stages")
    memory.set_title("Peak memory")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _baseline(results: list[dict[str, Any]], result: dict[str, Any]) -> dict[str, Any] | None:
    for other in results:
        if (other["case"] == "naive" and other["rows"] == result["rows"]
                and other["session"] == result["session"] and other["ok"]):
            return other
    return None


def _num(value: Any, digits: int) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _load(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def _yes(met: bool) -> str:
    return "yes" if met else "**no**"
