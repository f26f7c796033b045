"""``python -m bench.layers``: which layer of the density hierarchy becomes the segments.

The rule (``cluster.layer: auto``, :func:`seglab.selection.choose`) keeps the stable layers that
score above the shuffled-columns null and takes the finest whose coverage silhouette is within
``cluster.resolution_tolerance`` of the best. The tolerance is chosen here by leave-one-table-out
over every labelled corpus table: for each table, the tolerance with the best mean ARI on the
*other* tables is applied to it, so no table is scored by a rule tuned on itself.

Each table runs seglab's default path once (``run_pipeline``, ``params/default.yaml``, the
table's ``data.*`` only); from its run folder the model selection's candidates and the null are
evaluated once (the same functions the clustering stage calls) and the rule is applied at every
tolerance on the grid. Beside it: the ARI the committed baseline (``bench/results/corpus.json``,
the code before layers) recorded, and the best ARI among the run's kept layers (what a perfect
rule would reach).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import adjusted_rand_score

from bench import corpus
from bench.corpus_bench import run_seglab, work_folder
from bench.markdown import table as markdown_table

TOLERANCES = (0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3)
BENCH_DIR = Path(__file__).resolve().parent
BASELINE = BENCH_DIR / "results" / "corpus.json"


def evaluate(run_dir: Path) -> dict[str, Any]:
    """The rule at every tolerance on one finished run folder: ARI, segments, groups."""
    from seglab import selection, verdict
    from seglab.artifacts import EMBEDDING, FEATURES, FIT_INDEX, NULL_EMBEDDING, NULL_FEATURES, known_segments
    from seglab.config import load_config
    from seglab.runfolder import RunFolder
    from seglab.stages import backend_for

    folder = RunFolder(run_dir)
    config = load_config(folder.params)
    coords, matrix, truth = EMBEDDING.read(folder), FEATURES.read(folder), known_segments(folder)
    backend = backend_for(config)
    sample = selection.sample_rows(FIT_INDEX.read(folder), len(coords),
                                   config.cluster.select_sample, config.seed)
    settings = selection.SearchSettings.for_sample(config.cluster, config.reduce, config.eps,
                                                   len(sample), config.seed)
    scored = selection.evaluate(coords[sample], matrix[sample], backend, settings)
    null = verdict.null_reference(NULL_FEATURES.read(folder), NULL_EMBEDDING.read(folder),
                                  backend, settings)
    by_tolerance, best_layer = {}, None
    for tolerance in TOLERANCES:
        chosen_set = selection.choose(scored, null_score=null.coverage_silhouette,
                                      tolerance=tolerance)
        levels = selection.label_levels(coords, sample, chosen_set, backend)
        by_tolerance[str(tolerance)] = {
            "ari": float(adjusted_rand_score(truth, levels.segments)),
            "n_clusters": int(levels.segments.max(initial=-1) + 1),
            "n_groups": None if levels.groups is None else int(levels.groups.max() + 1),
            "group_ari": (None if levels.groups is None
                          else float(adjusted_rand_score(truth, levels.groups))),
            "selected": selection.describe(chosen_set.chosen),
        }
        layer_aris = [float(adjusted_rand_score(truth, labels)) for labels in levels.layers]
        best_layer = max(layer_aris, default=best_layer)
    neighbours = selection.sample_neighbours(coords, sample, backend)
    candidates = [{**item.row(), "default": item.candidate.default,
                   "smallest": int(np.bincount(item.candidate.labels[item.candidate.labels >= 0],
                                               minlength=1).min()),
                   "ari": float(adjusted_rand_score(truth, selection.extend_labels(
                       len(coords), sample, item.candidate.labels, neighbours)))}
                  for item in scored]
    return {"by_tolerance": by_tolerance, "n_layers": len(chosen_set.layers),
            "best_layer_ari": best_layer, "null_score": null.coverage_silhouette,
            "min_cluster_size": settings.min_cluster_size, "candidates": candidates}


def leave_one_out(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per table, the tolerance that did best on the other tables and its ARI on this one."""
    chosen = {}
    for name in results:
        others = [other for other in results if other != name]
        mean = {tolerance: np.mean([results[other]["by_tolerance"][str(tolerance)]["ari"]
                                    for other in others]) for tolerance in TOLERANCES}
        tolerance = max(TOLERANCES, key=lambda value: (round(mean[value], 4), -value))
        chosen[name] = {"tolerance": tolerance,
                        **results[name]["by_tolerance"][str(tolerance)]}
    return chosen


def summary(results: dict[str, dict[str, Any]], loto: dict[str, dict[str, Any]],
            baseline: dict[str, float | None], header: dict[str, Any]) -> str:
    """The markdown section: per table today's ARI, the leave-one-out ARI, the best layer."""
    rows = []
    for name, result in results.items():
        held = loto[name]
        groups = "" if held["n_groups"] is None else f"{held['n_groups']} (ARI {held['group_ari']:.2f})"
        rows.append([name, _fmt(baseline.get(name)), f"{held['ari']:.2f}", str(held["n_clusters"]),
                     groups, f"{held['tolerance']:g}", _fmt(result["best_layer_ari"]),
                     str(result["n_layers"])])
    means = [np.mean([float(row[column]) for row in rows if row[column] != "–"])
             for column in (1, 2, 6)]
    rows.append(["**mean**", f"{means[0]:.3f}", f"{means[1]:.3f}", "", "", "", f"{means[2]:.3f}", ""])
    grid = [[name] + [f"{results[name]['by_tolerance'][str(t)]['ari']:.2f}" for t in TOLERANCES]
            for name in results]
    grid.append(["**mean**"] + [f"{np.mean([results[n]['by_tolerance'][str(t)]['ari'] for n in results]):.3f}"
                                for t in TOLERANCES])
    return "\n".join([
        f"## Latest ({header['started_at']}, commit {header['commit']}, load {header['load']})", "",
        "Leave-one-table-out: each table's segments at the tolerance that did best on the other "
        "tables. *Before*: `bench/results/corpus.json` (the code before layers).", "",
        markdown_table(["table", "ARI before", "ARI (leave-one-out)", "segments",
                        "groups (ARI vs truth)", "tolerance used", "best kept layer's ARI",
                        "kept layers"], rows), "",
        "ARI at every tolerance (all tables):", "",
        markdown_table(["table", *[f"{t:g}" for t in TOLERANCES]], grid), "",
    ])


def _save(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=1, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    """NumPy scalars as Python numbers (for ``json``)."""
    return value.item()


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _baseline_ari() -> dict[str, float | None]:
    saved = json.loads(BASELINE.read_text())
    return {entry["name"]: (entry.get("seglab") or {}).get("ari") for entry in saved["tables"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="*", help="labelled tables (default: all of them)")
    parser.add_argument("--reuse", type=Path,
                        help="JSON {table: run_dir} of finished default runs to evaluate "
                             "instead of running seglab again")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "layers.json",
                        help="results (tables already in it are kept, not measured again)")
    parser.add_argument("--summary", type=Path, default=BENCH_DIR / "LAYERS.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    reuse = json.loads(args.reuse.read_text()) if args.reuse else {}
    names = args.tables or [table.name for table in corpus.CORPUS
                            if table.label_column is not None and table.available()]
    header = {"started_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "commit": os.popen("git rev-parse --short HEAD").read().strip(),
              "load": f"{os.getloadavg()[0]:.1f}"}
    saved = json.loads(args.out.read_text()) if args.out.exists() else {}
    results = {name: saved["tables"][name] for name in names if name in saved.get("tables", {})}
    with work_folder(None, "seglab-layers-") as work_dir:
        for name in names:
            if name in results:  # measured by an earlier, interrupted invocation
                continue
            started = time.perf_counter()
            run_dir = reuse.get(name) or run_seglab(corpus.get(name), work_dir)["run_dir"]
            results[name] = {**evaluate(Path(run_dir)),
                             "seconds": round(time.perf_counter() - started, 1)}
            print(name, json.dumps(results[name]["by_tolerance"]["0.05"]), flush=True)
            _save(args.out, {**header, "tolerances": TOLERANCES, "tables": results})
    loto = leave_one_out(results)
    _save(args.out, {**header, "tolerances": TOLERANCES, "tables": results, "leave_one_out": loto})
    text = summary(results, loto, _baseline_ari(), header)
    intro = args.summary.read_text().split("## Latest")[0] if args.summary.exists() else (
        "# The primary layer: leave-one-table-out\n\n" + __doc__.split("\n\n", 1)[1] + "\n")
    args.summary.write_text(intro + text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
