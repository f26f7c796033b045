"""``python -m bench.ablation`` (``make bench-ablation``): each feature transform switched against
its default, on the real-table corpus.

For every table: seglab's default run (``params/default.yaml`` plus the table's own overrides,
through :func:`bench.corpus_bench.run_seglab`, i.e. ``run_pipeline(..., engine="direct")``), then
one run per entry of :data:`VARIANTS`, each one default switched. Labelled tables are scored by
ARI against their label; unlabelled ones by verdict, segments, largest share, feature-space
silhouette and subsample stability. All runs happen sequentially in this one process; a
warm-up run on ``small_table`` pays numba's compilation first and is not counted.

Budget: the default run of every table is measured first; when the default's seconds times the
number of variants would take the whole session over ``--budget`` seconds, the slowest tables
are dropped (their default run is kept and shown; the Markdown page names them). Tables then run
fastest first, and the JSON is rewritten after each table, so an interrupted session leaves
every finished table behind (``--render`` rewrites the Markdown page from it).

Example::

    TQDM_DISABLE=1 python -m bench.ablation --out bench/results/ablation.json --summary bench/ABLATION.md
    python -m bench.ablation --tables iris wine --out /tmp/a.json --summary /tmp/a.md
    python -m bench.ablation --render bench/results/ablation.json --summary bench/ABLATION.md
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import get
from bench.corpus_bench import git_commit, run_seglab, work_folder
from bench.machine import load_average

BENCH_DIR = Path(__file__).resolve().parent

LABELLED = ("digits", "wine", "breast_cancer", "iris", "penguins", "crm_mixed", "rfm_groups",
            "holdings_wide", "synth_s0", "small_table")
UNLABELLED = ("fair_affairs", "randhie", "independent8", "rfm_no_groups")
WARMUP_TABLE = "small_table"
"""Run once, uncounted, before anything is measured: it pays numba's compilation."""
KEPT_KEYS = ("n_rows", "n_features_in", "n_features_used", "verdict", "selected", "n_candidates",
             "n_clusters", "largest_cluster_fraction", "noise_fraction", "silhouette",
             "silhouette_feature_space", "stability_ari", "ari", "ami", "status", "error",
             "seconds_wall")
"""``run_seglab`` keys kept in the JSON for every run."""
UNLABELLED_METRICS = (("Verdict", "verdict", "text"), ("Segments", "n_clusters", "int"),
                      ("Largest segment (share of rows)", "largest_cluster_fraction", "percent"),
                      ("Feature-space silhouette (noise excluded)", "silhouette_feature_space", "float"),
                      ("Stability (subsample ARI)", "stability_ari", "float"))
"""Heading, ``metrics.json`` key and cell kind of each unlabelled table's Markdown table."""
OVERRUN = 1.25
"""The session stops once it has taken this many times its budget (an estimate gone wrong)."""
NOTABLE = 0.02
"""A difference from the default smaller than this (after rounding to two decimals, as shown) is
reported as no change."""


def notable(delta: float) -> bool:
    """Whether a difference, rounded as the tables show it, is at least :data:`NOTABLE`."""
    return abs(round(delta, 2)) >= NOTABLE - 1e-9


@dataclass(frozen=True)
class Variant:
    """One column of the ablation: config overrides on top of the default run."""

    name: str
    title: str
    """Column heading."""
    description: str
    """What the variant does, in words (used in the "what this says" paragraphs)."""
    overrides: tuple[str, ...]
    categorical_only: bool = False
    """Run only on tables that have categorical columns (the default run one-hot encoded some)."""


DEFAULT = Variant("default", "default", "all defaults", ())
VARIANTS: tuple[Variant, ...] = (
    DEFAULT,
    Variant("robust", "robust", "robust scaling (interquartile range) instead of standard scaling",
            ("features.scaling=robust",)),
    Variant("no_shared_scale", "no shared scale",
            "every column standardised on its own (no shared integer scale)",
            ("features.shared_scale=false",)),
    Variant("no_dequantize", "no dequantize", "no de-quantisation of integer columns",
            ("features.dequantize=false",)),
    Variant("no_log", "no log", "no log1p of skewed columns (log_skew_threshold 1000)",
            ("features.log_skew_threshold=1000",)),
    Variant("no_isolation", "no isolation", "the isolation filter off (isolation_threshold null)",
            ("features.isolation_threshold=null",)),
    Variant("categorical", "categorical on", "categorical columns as features (one-hot, weight 1)",
            ("features.include_categorical=true",), categorical_only=True),
    Variant("no_redundancy", "no redundancy filter",
            "no redundancy filter (correlation_threshold 1.0, derived_tolerance null)",
            ("features.correlation_threshold=1.0", "features.derived_tolerance=null")),
    Variant("plain", "plain",
            "plain standardisation (no de-quantisation, no log, no shared scale, no redundancy "
            "filter, no isolation filter)",
            ("features.dequantize=false", "features.log_skew_threshold=1000",
             "features.shared_scale=false", "features.correlation_threshold=1.0",
             "features.derived_tolerance=null", "features.isolation_threshold=null")),
)
"""The default first, then one variant per transform, then everything off at once."""


def variants_for(has_categorical: bool) -> list[Variant]:
    """The variants (default first) that apply to a table."""
    return [v for v in VARIANTS if has_categorical or not v.categorical_only]


RunFn = Callable[[str, Path, Sequence[str]], dict[str, Any]]


def _run_seglab(name: str, directory: Path, overrides: Sequence[str]) -> dict[str, Any]:
    return run_seglab(get(name), directory, overrides)


def _has_categorical(result: dict[str, Any]) -> bool:
    path = Path(result.get("run_dir", "")) / "artifacts" / "categorical.json"
    try:
        return bool(json.loads(path.read_text()))
    except (OSError, ValueError):
        return False


def _kept(result: dict[str, Any]) -> dict[str, Any]:
    return {key: result.get(key) for key in KEPT_KEYS}


def plan(defaults: dict[str, float], n_variants: dict[str, int], spent: float,
         budget: float) -> tuple[list[str], list[str]]:
    """Which tables get their variants within the budget.

    Args:
        defaults: table -> seconds of its default run.
        n_variants: table -> number of variant runs still to do.
        spent: seconds already spent (the default runs).
        budget: seconds the whole session may take.

    Returns:
        The tables to run, fastest first, and the dropped ones, slowest first.
    """
    kept = sorted(defaults, key=defaults.get)
    dropped: list[str] = []
    while kept and spent + sum(defaults[t] * n_variants[t] for t in kept) > budget:
        dropped.append(kept.pop())
    return kept, dropped


def run_ablation(tables: Sequence[str], work: Path, budget: float, save: Callable[[dict], None],
                 run: RunFn = _run_seglab,
                 log: Callable[[str], None] = lambda line: print(line, flush=True)) -> dict[str, Any]:
    """Run the grid: a warm-up, every table's default run, then the variants of the tables that
    fit the budget, fastest table first.

    Args:
        tables: corpus table names.
        work: scratch folder (one sub-folder per table, removed once the table is done).
        budget: seconds the counted session may take (see :func:`plan`); past
            :data:`OVERRUN` times it, the session stops and the rest is recorded as unfinished.
        save: called with the results after the default runs and after every table.
        run: ``run(table_name, directory, overrides) -> metrics`` (a fake one in tests).
        log: one progress line at a time.

    Returns:
        The results: variants, per-table runs, dropped and unfinished tables, seconds, load.
    """
    results: dict[str, Any] = {
        "commit": git_commit(),
        "variants": [{"name": v.name, "title": v.title, "description": v.description,
                      "overrides": list(v.overrides), "categorical_only": v.categorical_only}
                     for v in VARIANTS],
        "labelled": [t for t in tables if get(t).label_column],
        "unlabelled": [t for t in tables if not get(t).label_column],
        "budget_seconds": budget, "load_average_before": load_average(),
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tables": {}, "dropped": [], "unfinished": [],
    }
    started = time.perf_counter()
    warm = run(WARMUP_TABLE, work / "warmup", ())
    results["warmup_seconds"] = warm.get("seconds_wall")
    log(f"[ablation] warm-up on {WARMUP_TABLE}: {warm.get('seconds_wall')} s (not counted)")
    counted_from = time.perf_counter()
    defaults: dict[str, float] = {}
    n_variants: dict[str, int] = {}
    for name in tables:
        result = run(name, work / name, DEFAULT.overrides)
        has_categorical = _has_categorical(result)
        results["tables"][name] = {"kind": get(name).kind, "has_categorical": has_categorical,
                                   "runs": {DEFAULT.name: _kept(result)}}
        defaults[name] = float(result.get("seconds_wall") or 0.0)
        n_variants[name] = len(variants_for(has_categorical)) - 1
        log(f"[ablation] {name} default: {result.get('status')} ari={result.get('ari')} "
            f"verdict={result.get('verdict')} ({defaults[name]} s)")
    spent = time.perf_counter() - counted_from
    kept, dropped = plan(defaults, n_variants, spent, budget)
    results.update(default_seconds=defaults, dropped=dropped,
                   estimate_seconds=round(spent + sum(defaults[t] * n_variants[t] for t in kept), 1))
    log(f"[ablation] defaults took {spent:.0f} s; estimate {results['estimate_seconds']} s; "
        f"dropped: {dropped or 'none'}")
    save(results)
    results["unfinished"] = list(kept)
    over_time = False
    for name in kept:
        entry = results["tables"][name]
        for variant in variants_for(entry["has_categorical"])[1:]:
            over_time = time.perf_counter() - counted_from > OVERRUN * budget
            if over_time:
                log(f"[ablation] over {OVERRUN} x budget: stopping before {name} {variant.name}")
                break
            result = run(name, work / name, variant.overrides)
            entry["runs"][variant.name] = _kept(result)
            log(f"[ablation] {name} {variant.name}: {result.get('status')} ari={result.get('ari')} "
                f"verdict={result.get('verdict')} ({result.get('seconds_wall')} s)")
        if over_time:
            break
        results["unfinished"].remove(name)
        shutil.rmtree(work / name, ignore_errors=True)
        results["seconds_counted"] = round(time.perf_counter() - counted_from, 1)
        save(results)
    results["seconds_counted"] = round(time.perf_counter() - counted_from, 1)
    results["seconds_total"] = round(time.perf_counter() - started, 1)
    results["load_average_after"] = load_average()
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    save(results)
    return results


# --- rendering --------------------------------------------------------------------------------

def _number(value: Any, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _percent(value: Any) -> str:
    return f"{100 * value:.0f}%" if isinstance(value, int | float) else ""


def _cell(run: dict[str, Any] | None, default: dict[str, Any], key: str, kind: str) -> str:
    """One table cell: the value, and for a variant its difference from the default (bold when
    it is at least :data:`NOTABLE`, or when a verdict changed)."""
    if run is None:
        return ""
    if run.get("status") != "completed":
        return "**failed**"
    value, base = run.get(key), default.get(key)
    if kind == "text":
        text = "" if value is None else str(value)
        return f"**{text}**" if run is not default and value != base else text
    shown = _percent(value) if kind == "percent" else _number(value, 0 if kind == "int" else 2)
    if run is default or not isinstance(value, int | float) or not isinstance(base, int | float) \
            or default.get("status") != "completed":
        return shown
    delta = value - base
    if kind == "int":
        return f"{shown} (**{delta:+d}**)" if delta else shown
    if kind == "percent":
        return f"{shown} (**{100 * delta:+.0f}**)" if notable(delta) else shown
    return f"{shown} (**{delta:+.2f}**)" if notable(delta) else f"{shown} ({delta:+.2f})"


def metric_table(results: dict[str, Any], tables: Sequence[str], key: str, kind: str) -> str:
    """Markdown: a row per table, a column per variant (default first)."""
    header = "| table | " + " | ".join(v["title"] for v in results["variants"]) + " |"
    lines = [header, "|---" * (len(results["variants"]) + 1) + "|"]
    for name in tables:
        entry = results["tables"].get(name)
        if entry is None:
            continue
        runs = entry["runs"]
        default = runs.get(DEFAULT.name, {})
        cells = []
        for v in results["variants"]:
            if v["categorical_only"] and not entry["has_categorical"]:
                cells.append("n/a")
            elif v["name"] in runs:
                cells.append(_cell(runs[v["name"]], default, key, kind))
            elif name in results["dropped"]:
                cells.append("dropped")
            else:
                cells.append("not run")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _change_words(results: dict[str, Any], variant: dict[str, Any]) -> list[str]:
    """Plain sentences of what the numbers show for one variant against the default."""
    sentences: list[str] = []
    lower, higher, same, failed = [], [], [], []
    for name in results["labelled"]:
        runs = results["tables"].get(name, {}).get("runs", {})
        run, base = runs.get(variant["name"]), runs.get(DEFAULT.name)
        if run is None or base is None:
            continue
        if run.get("status") != "completed" or base.get("status") != "completed":
            if run.get("status") != base.get("status"):
                failed.append(f"{name} ({'variant' if run.get('status') != 'completed' else 'default'} "
                              "failed)")
            continue
        delta = (run.get("ari") or 0.0) - (base.get("ari") or 0.0)
        words = f"{name} from {_number(base.get('ari'))} to {_number(run.get('ari'))}"
        (same if not notable(delta) else lower if delta < 0 else higher).append(words)
    if lower:
        sentences.append("It lowers ARI on " + "; ".join(lower) + ".")
    if higher:
        sentences.append("It raises ARI on " + "; ".join(higher) + ".")
    if same:
        sentences.append(f"{len(same)} labelled table(s) move by less than {NOTABLE}"
                         + (" (all of them)" if not lower and not higher else "") + ".")
    if failed:
        sentences.append("Failures: " + ", ".join(failed) + ".")
    changes = []
    for name in results["unlabelled"]:
        runs = results["tables"].get(name, {}).get("runs", {})
        run, base = runs.get(variant["name"]), runs.get(DEFAULT.name)
        if run is None or base is None:
            continue
        if run.get("status") != "completed" or base.get("status") != "completed":
            changes.append(f"{name}: default {base.get('status')}, variant {run.get('status')}")
            continue
        parts = []
        if run.get("verdict") != base.get("verdict") or run.get("n_clusters") != base.get("n_clusters"):
            parts.append(f"{base.get('verdict')} with {base.get('n_clusters')} segment(s) -> "
                         f"{run.get('verdict')} with {run.get('n_clusters')}")
        for key, label in (("silhouette_feature_space", "silhouette"), ("stability_ari", "stability")):
            a, b = base.get(key), run.get(key)
            if isinstance(a, int | float) and isinstance(b, int | float) and notable(b - a):
                parts.append(f"{label} {_number(a)} -> {_number(b)}")
            elif (a is None) != (b is None):
                parts.append(f"{label} {_number(a) or 'none'} -> {_number(b) or 'none'}")
        if parts:
            changes.append(f"{name}: " + ", ".join(parts))
    if changes:
        sentences.append("Unlabelled: " + "; ".join(changes) + ".")
    elif any(variant["name"] in results["tables"].get(n, {}).get("runs", {})
             for n in results["unlabelled"]):
        sentences.append("Unlabelled tables: same verdict and segments, silhouette and stability "
                         f"within {NOTABLE}.")
    return sentences or ["Not run on any table."]


def render(results: dict[str, Any]) -> str:
    """The Markdown page."""
    labelled = [t for t in results["labelled"] if t in results["tables"]]
    unlabelled = [t for t in results["unlabelled"] if t in results["tables"]]
    variant_lines = [f"- **{v['title']}**: {v['description']}"
                     + (f" (`{' '.join(v['overrides'])}`)" if v["overrides"] else "")
                     + ("; only tables with categorical columns" if v["categorical_only"] else "")
                     for v in results["variants"]]
    seconds = results.get("seconds_counted")
    finished = results.get("finished_at", "(interrupted)")
    cost = [f"Code at {results.get('commit')}. Session: started {results.get('started_at')}, "
            f"finished {finished}; "
            f"{_number(seconds, 0) or '?'} s counted (all default runs and variants, sequential, one "
            f"process), plus a {_number(results.get('warmup_seconds'), 0)} s uncounted warm-up run "
            f"on {WARMUP_TABLE} (numba compilation). Budget {results['budget_seconds']:.0f} s, estimate "
            f"after the default runs {results.get('estimate_seconds')} s. Load average (1, 5, 15 min) "
            f"{results.get('load_average_before')} before, {results.get('load_average_after')} after, on "
            "a 2-core machine shared with other work: the seconds are this machine's, not a "
            "benchmark of seglab's speed."]
    if results.get("dropped"):
        slow = ", ".join(f"{t} ({results['default_seconds'][t]:.0f} s per run)" for t in results["dropped"])
        cost.append(f"Dropped for time (default run only, variants not run): {slow}.")
    else:
        cost.append("No table was dropped for time.")
    if results.get("unfinished"):
        cost.append("Unfinished (session stopped): " + ", ".join(results["unfinished"]) + ".")
    sections = [
        "# Feature-transform ablation on the real-table corpus",
        "",
        "Generated by `make bench-ablation` (`python -m bench.ablation`, results in "
        "`bench/results/ablation.json`); do not edit by hand.",
        "",
        "## Method",
        "",
        "Each table of `bench/corpus.py` listed below is run through seglab's user path "
        "(`bench.corpus_bench.run_seglab`: `run_pipeline(..., engine=\"direct\")` on "
        "`params/default.yaml` with the table's own `data.*` overrides), once with every default "
        "and once per variant, each variant switching one feature transform against its default "
        "(`plain` switches them all off at once, leaving plain standardisation). Everything else, "
        "seeds included, is identical, so a difference is the transform's effect on this table at "
        "this seed, not a sampling interval. Labelled tables are scored by the adjusted Rand index "
        "against their label (noise points count as one more cluster); unlabelled ones by "
        "seglab's verdict, its number of segments, the largest segment's share of rows, the "
        "feature-space silhouette (noise excluded) and the subsample stability (ARI across "
        "resamples). Cells show the variant's value and, in brackets, its difference from the "
        f"default; a difference of {NOTABLE} or more as shown (or any change of verdict or segment "
        "count) is in bold. `n/a`: the variant does not apply (no categorical column).",
        "",
        "Variants:",
        "",
        *variant_lines,
        "",
        *cost,
        "",
        "## Labelled tables: ARI",
        "",
        metric_table(results, labelled, "ari", "float"),
        "",
        "## Unlabelled tables",
        "",
        *(line for heading, key, kind in UNLABELLED_METRICS
          for line in (f"### {heading}", "", metric_table(results, unlabelled, key, kind), "")),
        "## What this says",
        "",
        f"Only what the numbers above show; \"moves by less than {NOTABLE}\" means no measurable "
        "change on that table at this seed.",
        "",
    ]
    for variant in results["variants"][1:]:
        sections += [f"- **{variant['title']}**: " + " ".join(_change_words(results, variant)), ""]
    failures = [f"- {name} / {vname}: {run.get('error')}"
                for name, entry in results["tables"].items()
                for vname, run in entry["runs"].items() if run.get("status") != "completed"]
    if failures:
        sections += ["## Failed runs", "", *failures, ""]
    return "\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    """Run the ablation (or only render it); returns 0."""
    parser = argparse.ArgumentParser(prog="python -m bench.ablation", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "ablation.json")
    parser.add_argument("--summary", type=Path, default=BENCH_DIR / "ABLATION.md")
    parser.add_argument("--tables", nargs="*", default=None,
                        help="corpus table names (default: the labelled and unlabelled lists)")
    parser.add_argument("--budget", type=float, default=35 * 60,
                        help="seconds the counted session may take; slowest tables dropped to fit")
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only rewrite --summary from an earlier --out JSON")
    args = parser.parse_args(argv)
    if args.render is not None:
        args.summary.write_text(render(json.loads(args.render.read_text())))
        return 0
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("SEGLAB_CACHE", "off")
    warnings.filterwarnings("ignore", message=".*n_jobs value 1 overridden.*")
    tables = args.tables or [*LABELLED, *UNLABELLED]
    for name in tables:
        get(name)  # a KeyError names the valid tables before anything runs
    args.out.parent.mkdir(parents=True, exist_ok=True)

    def save(results: dict[str, Any]) -> None:
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
        args.summary.write_text(render(results))

    with work_folder(args.work_dir, "seglab-ablation-") as work:
        results = run_ablation(tables, work, args.budget, save)
    print(f"[ablation] {len(results['tables'])} tables, {results['seconds_counted']:.0f} s counted "
          f"-> {args.out}, {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
