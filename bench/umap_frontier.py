"""``python -m bench.umap_frontier`` (``make bench-umap``): the UMAP fit's quality/time frontier.

For every table and fit setting, ``reduce.n_epochs`` x ``reduce.fit_sample``, one run of the
library pipeline (:func:`bench.corpus_bench.run_seglab`: ``run_pipeline(..., engine="direct")``)
in its own runs folder with ``SEGLAB_CACHE=off``: seconds of the reduce stage and of the whole
run (``metrics.json``'s ``seconds_reduce`` and ``seconds_total``), trustworthiness, ARI against
the table's labels, segments and verdict. A fit sample is tried only where the table has more
rows; on smaller tables UMAP fits every row and only the epochs vary.

Tables: the generator at 200k rows (``seglab data synth --rows 200000 --seed 0``) on
``params/demo.yaml``, and labelled corpus tables (:mod:`bench.corpus`) on ``params/default.yaml``.
Warm-up runs (:data:`WARMUP`) pay numba's compilation of each kNN path first and are not counted. The JSON is
rewritten after every run, the Markdown block after every table.

Example::

    TQDM_DISABLE=1 python -m bench.umap_frontier --out bench/results/umap_frontier.json \\
        --summary bench/UMAP.md
    python -m bench.umap_frontier --tables rfm_groups --epochs auto 50 --out /tmp/u.json \\
        --summary /tmp/u.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from bench.corpus import CorpusTable, get
from bench.corpus_bench import DEFAULT_PARAMS, git_commit, run_seglab, work_folder
from bench.machine import load_average, machine_facts
from bench.markdown import replace_block
from seglab.synth import make_customers

BENCH_DIR = Path(__file__).resolve().parent
DEMO_PARAMS = BENCH_DIR.parent / "params" / "demo.yaml"
GENERATOR = CorpusTable("generator_200k", "labelled", "synthetic customers, 200k rows",
                        "customer_id", "segment", "the demo table at the bench's 200k rows",
                        partial(make_customers, 200_000, seed=0), "parquet",
                        "seglab data synth --rows 200000 --seed 0")
"""The generator's table, identical to ``seglab data synth --rows 200000 --seed 0``; run with
params/demo.yaml, which names its count columns."""
CORPUS_TABLES = ("synth_s11", "holdings_wide", "digits_nudged", "rfm_groups")
"""Labelled corpus tables of 4,000-8,000 rows: the largest labelled ones."""
EPOCHS: tuple[int | None, ...] = (None, 100, 50)
"""``reduce.n_epochs``; ``None``: umap-learn's own (200 above 10,000 fitted rows, else 500)."""
FIT_SAMPLES = (50_000, 25_000, 15_000)
"""``reduce.fit_sample``; the first is the default."""
WARMUP = (("small_table", ()), ("holdings_wide", ("reduce.n_epochs=10",)),
          ("synth_s0", ("reduce.n_epochs=10",)))
"""Uncounted runs, one per kNN path: umap-learn's exact (300 rows), nn-descent (5,000 rows in 31
dimensions) and the KD-tree graph with PCA start (6,000 rows in 13)."""
KEPT_KEYS = ("status", "error", "n_rows", "seconds_reduce", "seconds_total", "seconds_wall",
             "trustworthiness", "ari", "n_clusters", "noise_fraction", "verdict")
"""``run_seglab`` keys kept for every run."""
ARI_NOISE = 0.02
"""An ARI change within this much of the default's is read as noise."""
SUMMARY_BEGIN = "<!-- umap-frontier:{label}:begin -->"
SUMMARY_END = "<!-- umap-frontier:{label}:end -->"

RunFn = Callable[[CorpusTable, Path, Sequence[str], Path], dict[str, Any]]


def umap_default_epochs(fit_rows: int) -> int:
    """The epochs umap-learn runs for ``n_epochs=None`` on ``fit_rows`` rows."""
    return 500 if fit_rows <= 10_000 else 200


def settings(rows: int, epochs: Sequence[int | None],
             fit_samples: Sequence[int]) -> list[dict[str, Any]]:
    """The grid for a table of ``rows`` rows: every epochs value x every fit sample below
    ``rows``, the default fit sample always (on a smaller table it means every row)."""
    samples = [fit_samples[0], *(s for s in fit_samples[1:] if s < rows)]
    return [{"n_epochs": e, "fit_sample": s, "fit_rows": min(s, rows)}
            for s in samples for e in epochs]


def setting_overrides(setting: dict[str, Any], seed: int) -> list[str]:
    """``--set`` overrides of one setting."""
    epochs = "null" if setting["n_epochs"] is None else str(setting["n_epochs"])
    return [f"reduce.n_epochs={epochs}", f"reduce.fit_sample={setting['fit_sample']}",
            f"seed={seed}"]


def run_frontier(tables: Sequence[CorpusTable], work: Path, seeds: Sequence[int],
                 epochs: Sequence[int | None], fit_samples: Sequence[int],
                 save: Callable[[dict[str, Any]], None], run: RunFn = run_seglab,
                 log: Callable[[str], None] = lambda line: print(line, flush=True)) -> dict[str, Any]:
    """Run the grid on every table, a warm-up first.

    Args:
        tables: the tables; the generator's runs on ``params/demo.yaml``, the others on
            ``params/default.yaml``.
        work: scratch folder (one sub-folder per table and setting).
        seeds: pipeline seeds (``seed=``): each setting runs once per seed.
        epochs, fit_samples: the grid (:func:`settings`).
        save: called with the results after every run.
        run: ``run(table, directory, overrides, params) -> metrics`` (a fake one in tests).
        log: one progress line at a time.

    Returns:
        The results: per table its rows and runs (setting, seed and :data:`KEPT_KEYS`).
    """
    results: dict[str, Any] = {
        "commit": git_commit(), "machine": machine_facts(), "seeds": list(seeds),
        "load_average_before": load_average(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "tables": {},
    }
    for name, overrides in WARMUP:
        warm = run(get(name), work / "warmup", overrides, DEFAULT_PARAMS)
        log(f"[umap] warm-up on {name}: {warm.get('seconds_wall')} s (not counted)")
    started = time.perf_counter()
    for table in tables:
        rows = table.frame().shape[0]
        entry: dict[str, Any] = {"rows": rows, "params": _params(table).name, "runs": []}
        results["tables"][table.name] = entry
        for seed in seeds:
            for index, setting in enumerate(settings(rows, epochs, fit_samples)):
                folder = work / f"{table.name}-{seed}-{index}"
                result = run(table, folder, setting_overrides(setting, seed), _params(table))
                shutil.rmtree(folder, ignore_errors=True)
                entry["runs"].append({**setting, "seed": seed,
                                      **{key: result.get(key) for key in KEPT_KEYS}})
                log(f"[umap] {table.name} seed {seed} epochs {setting['n_epochs']} fit "
                    f"{setting['fit_rows']}: reduce {result.get('seconds_reduce')} s, run "
                    f"{result.get('seconds_total')} s, ARI {result.get('ari')}, trust "
                    f"{result.get('trustworthiness')}, {result.get('n_clusters')} segments")
                results.update(seconds_counted=round(time.perf_counter() - started, 1),
                               load_average_after=load_average())
                save(results)
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    save(results)
    return results


def _params(table: CorpusTable) -> Path:
    return DEMO_PARAMS if table.name == GENERATOR.name else DEFAULT_PARAMS


def _label(run: dict[str, Any]) -> str:
    epochs = run["n_epochs"]
    return f"auto ({umap_default_epochs(run['fit_rows'])})" if epochs is None else str(epochs)


def _fmt(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else ""


def _delta(value: Any, reference: Any, digits: int) -> str:
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return ""
    return f"{value - reference:+.{digits}f}"


def render(results: dict[str, Any]) -> str:
    """The Markdown block: one row per table, setting and seed, with the change against that
    table's default (auto epochs, default fit sample) at the same seed."""
    header = ("| table | rows | epochs | fit rows | seed | reduce s | run s | trustworthiness "
              "| ARI | ΔARI | segments | verdict |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, entry in results["tables"].items():
        defaults = {run["seed"]: run for run in entry["runs"]
                    if run["n_epochs"] is None and run["fit_sample"] == FIT_SAMPLES[0]}
        for run in entry["runs"]:
            reference = defaults.get(run["seed"], {})
            status = "" if run.get("status") == "completed" else f" **{run.get('status')}**"
            lines.append(" | ".join([
                f"| {name}", f"{entry['rows']:,}", _label(run), f"{run['fit_rows']:,}",
                str(run["seed"]), _fmt(run.get("seconds_reduce"), 1),
                _fmt(run.get("seconds_total"), 1), _fmt(run.get("trustworthiness"), 3),
                _fmt(run.get("ari"), 3), _delta(run.get("ari"), reference.get("ari"), 3),
                str(run.get("n_clusters", "")), f"{run.get('verdict') or ''}{status}",
            ]) + " |")
    after = results.get("load_average_after", "")
    meta = (f"Code at {results['commit']}; {results.get('seconds_counted', 0):.0f} s counted; "
            f"load average before {results['load_average_before']}, after {after}.")
    return f"{meta}\n\n" + "\n".join(lines) + "\n"


def write_summary(path: Path, block: str, label: str) -> None:
    """Put ``block`` between this label's markers in ``path`` (appended the first time),
    keeping the text around them."""
    replace_block(path, block, SUMMARY_BEGIN.format(label=label), SUMMARY_END.format(label=label),
                  "# The UMAP fit's quality/time frontier\n")


def _epochs(value: str) -> int | None:
    return None if value == "auto" else int(value)


def main(argv: list[str] | None = None) -> int:
    """Run the bench; the JSON and the Markdown block are rewritten as it goes."""
    parser = argparse.ArgumentParser(prog="python -m bench.umap_frontier",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "umap_frontier.json")
    parser.add_argument("--summary", type=Path, default=BENCH_DIR / "UMAP.md")
    parser.add_argument("--label", default="latest", help="block of --summary to (re)write")
    parser.add_argument("--tables", nargs="*", default=None,
                        help=f"'{GENERATOR.name}' and corpus table names (default: the generator "
                             f"and {', '.join(CORPUS_TABLES)})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=_epochs, nargs="+", default=list(EPOCHS),
                        help="reduce.n_epochs values; 'auto' is umap-learn's own (default first)")
    parser.add_argument("--fit-samples", type=int, nargs="+", default=list(FIT_SAMPLES),
                        help="reduce.fit_sample values (the default first)")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only rewrite --summary's block from an earlier --out JSON")
    args = parser.parse_args(argv)
    if args.render is not None:
        write_summary(args.summary, render(json.loads(args.render.read_text())), args.label)
        return 0
    names = args.tables or [GENERATOR.name, *CORPUS_TABLES]
    tables = [GENERATOR if name == GENERATOR.name else get(name) for name in names]
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("SEGLAB_CACHE", "off")
    warnings.filterwarnings("ignore", message=".*n_jobs value 1 overridden.*")
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict[str, Any]) -> None:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        write_summary(args.summary, render(results), args.label)

    with work_folder(args.work_dir, "seglab-umap-") as work:
        results = run_frontier(tables, work, args.seeds, args.epochs, args.fit_samples, save)
    print(f"[umap] {sum(len(t['runs']) for t in results['tables'].values())} runs, "
          f"{results['seconds_counted']:.0f} s counted -> {args.out}, {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
