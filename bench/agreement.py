"""``python -m bench.agreement`` (``make bench-agreement``): DBSCAN as a cut of the density tree
against exact DBSCAN, on the embedding a seglab run makes.

For each ``--rows``: write the generator's table (seed 0), run ``seglab run --engine direct`` on
``params/demo.yaml`` with :data:`BASE` overrides (the stages up to the embedding and the knee as
every run computes them; the later stages kept cheap), read ``embedding.npy`` and ``eps.json``
from the run folder, then for ``eps`` at :data:`EPS_FACTORS` times the knee and ``min_samples``
at :data:`MS_FACTORS` times the run's, compare :meth:`seglab.backend.density.SpanningTree.dbscan`
(one tree fitted per ``min_samples``) with the ``dbscan`` package's exact DBSCAN
(:func:`compare`). Results: one JSON (``--out``) and a Markdown block in ``--summary``, between
markers, so the prose around it survives a rerun.

Example::

    python -m bench.agreement --rows 200000 1000000 --out bench/results/agreement.json \\
        --summary bench/AGREEMENT.md
    python -m bench.agreement --rows 20000 --out /tmp/a.json --summary /tmp/a.md   # smoke
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from sklearn.metrics import adjusted_rand_score

from bench.machine import load_average, machine_facts
from bench.markdown import replace_block
from seglab.backend.density import SpanningTree
from seglab.synth import write_customers

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PARAMS = REPO / "params" / "demo.yaml"
BASE = ("backend=cpu", "tracking.backend=local", "experiment=agreement-bench",
        "cluster.algorithm=dbscan", "cluster.baselines=[]", "report.stability_draws=0",
        "reduce.null_sample=null")
"""Overrides on params/demo.yaml: the demo's embedding and knee; no selection, baselines,
stability draws or null table (the bench reads only the embedding and ``eps.json``)."""
EPS_FACTORS = (0.8, 1.0, 1.25)
MS_FACTORS = (1, 2)
SWEEP_CUTS = 10
"""The reading's sweep: this many eps at one ``min_samples``."""
SUMMARY_BEGIN = "<!-- agreement-bench:begin -->"
SUMMARY_END = "<!-- agreement-bench:end -->"


def exact_dbscan(X: np.ndarray, eps: float, min_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``dbscan`` package (Wang, Gu and Shun 2020): exact DBSCAN, 2-20 dimensions.

    Like scikit-learn's, its ``min_samples`` counts the point itself and a neighbour at exactly
    ``eps`` is in the neighbourhood.

    Returns:
        Labels (-1 = noise) and the core mask.
    """
    import dbscan

    labels, core = dbscan.DBSCAN(np.ascontiguousarray(X, dtype=np.float64), eps=float(eps),
                                 min_samples=int(min_samples))
    return np.asarray(labels, dtype=np.int64), np.asarray(core, dtype=bool)


def kth_distances(X: np.ndarray, min_samples: int) -> np.ndarray:
    """Distance to the ``min_samples``-th neighbour, the point itself counted, in float64
    (scipy's KD-tree, exact): a point is core at ``eps`` when it is at most ``eps``."""
    points = np.ascontiguousarray(X, dtype=np.float64)
    return cKDTree(points).query(points, k=[int(min_samples)], workers=-1)[0][:, 0]


def compare(X: np.ndarray, eps: float, min_samples: int, tree: SpanningTree | None = None,
            kth: np.ndarray | None = None) -> dict[str, Any]:
    """The tree's DBSCAN cut against the ``dbscan`` package at one ``(eps, min_samples)``.

    Parameters
    ----------
    X : points ``(n, d)``.
    eps, min_samples : DBSCAN's parameters (``min_samples`` counts the point itself).
    tree : a :class:`SpanningTree` of ``X`` at ``min_samples``, fitted here when ``None``.
    kth : :func:`kth_distances` of ``X`` at ``min_samples``, computed here when ``None``.

    Returns
    -------
    ``core_ari``: ARI on the points the package calls core; ``core_masks_equal`` (tree and
    package) and, against the float64 reference core mask, ``core_errors_tree`` and
    ``core_errors_package``; ``border``: the package's border points (clustered, not core);
    ``border_elsewhere``: of those, how many the tree gives another cluster (clusters matched by
    their core points, :func:`border_elsewhere`); ``border_noise_mismatch``: points clustered in
    one result and noise in the other; noise and cluster counts, the ARI on all points and the
    seconds of each call.
    """
    started = time.perf_counter()
    exact, core = exact_dbscan(X, eps, min_samples)
    exact_seconds = time.perf_counter() - started
    tree = tree or fit_tree(X, min_samples)[0]
    started = time.perf_counter()
    cut = tree.dbscan(eps)
    cut_seconds = time.perf_counter() - started
    tree_core = tree.core_distances <= eps
    reference = (kth if kth is not None else kth_distances(X, min_samples)) <= eps
    border = ~core & (exact >= 0)
    return {
        "eps": float(eps), "min_samples": int(min_samples), "n": len(X),
        "core": int(core.sum()), "core_reference": int(reference.sum()),
        "core_masks_equal": bool(np.array_equal(core, tree_core)),
        "core_mask_differences": int((core != tree_core).sum()),
        "core_errors_tree": int((tree_core != reference).sum()),
        "core_errors_package": int((core != reference).sum()),
        "core_ari": float(adjusted_rand_score(exact[core], cut[core])),
        "all_ari": float(adjusted_rand_score(exact, cut)),
        "clusters_exact": int(exact.max() + 1), "clusters_tree": int(cut.max() + 1),
        "noise_exact": int((exact < 0).sum()), "noise_tree": int((cut < 0).sum()),
        "border": int(border.sum()),
        "border_elsewhere": border_elsewhere(exact, cut, core),
        "border_noise_mismatch": int(((exact < 0) != (cut < 0)).sum()),
        "seconds_exact": round(exact_seconds, 3), "seconds_cut": round(cut_seconds, 3),
    }


def fit_tree(X: np.ndarray, min_samples: int) -> tuple[SpanningTree, float]:
    """The spanning tree and its dendrogram (built by the first cut otherwise), timed."""
    started = time.perf_counter()
    tree = SpanningTree(X, min_samples)
    tree.linkage  # noqa: B018 (built here so that the cuts are timed alone)
    return tree, time.perf_counter() - started


def border_elsewhere(exact: np.ndarray, cut: np.ndarray, core: np.ndarray) -> int:
    """Exact DBSCAN's border points that the cut puts in another cluster (noise excluded).

    Each exact cluster is matched to the cut's cluster that holds most of its core points.
    """
    border = ~core & (exact >= 0) & (cut >= 0)
    if not border.any():
        return 0
    pairs, counts = np.unique(np.stack([exact[core], cut[core]]), axis=1, return_counts=True)
    match = np.full(exact.max() + 1, -2, dtype=np.int64)
    for exact_label, cut_label in pairs[:, np.argsort(counts, kind="stable")].T:
        match[exact_label] = cut_label  # largest count last: it wins
    return int((match[exact[border]] != cut[border]).sum())


def embed(rows: int, work: Path) -> dict[str, Any]:
    """The embedding and knee of a ``seglab run --engine direct`` on the generator's table.

    The table and the runs folder live in ``work``; a rerun hits the runs folder's stage cache.
    """
    table = work / f"customers_{rows}.parquet"
    if not table.exists():
        write_customers(rows, table, seed=0)
    run_id = f"agreement-{rows}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    argv = [sys.executable, "-m", "seglab", "run", "--params", str(PARAMS), "--data", str(table),
            "--engine", "direct", "--runs-dir", str(work / "runs"), "--run-id", run_id,
            *[arg for override in BASE for arg in ("--set", override)]]
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    artifacts = work / "runs" / run_id / "artifacts"
    knee = json.loads((artifacts / "eps.json").read_text())
    return {"coords": np.load(artifacts / "embedding.npy"), "knee_eps": knee["knee_eps"],
            "min_samples": knee["min_samples"], "run_dir": str(artifacts.parent),
            "seconds_run": round(seconds, 1)}


def bench_rows(rows: int, work: Path) -> dict[str, Any]:
    """Every ``(eps, min_samples)`` pair on one table's embedding: one tree per ``min_samples``."""
    run = embed(rows, work)
    coords = run.pop("coords")
    fit_tree(coords[:2000], 10)[0].dbscan(run["knee_eps"])  # numba compiles on first use
    pairs, fits, references = [], {}, {}
    for ms_factor in MS_FACTORS:
        min_samples = int(run["min_samples"] * ms_factor)
        tree, fits[min_samples] = fit_tree(coords, min_samples)
        started = time.perf_counter()
        kth = kth_distances(coords, min_samples)
        references[min_samples] = time.perf_counter() - started
        for eps_factor in EPS_FACTORS:
            entry = compare(coords, run["knee_eps"] * eps_factor, min_samples, tree, kth)
            pairs.append({"eps_factor": eps_factor, "ms_factor": ms_factor, **entry})
            print(f"{rows} rows, {eps_factor} x eps, {min_samples} min_samples: "
                  f"core ARI {entry['core_ari']:.4f}, cut {entry['seconds_cut']} s, "
                  f"exact {entry['seconds_exact']} s", flush=True)
        del tree, kth
    return {"rows": rows, "dims": int(coords.shape[1]), **run,
            "seconds_fit": {str(key): round(value, 2) for key, value in fits.items()},
            "seconds_reference": {str(key): round(value, 2) for key, value in references.items()},
            "pairs": pairs}


def sweep_seconds(result: dict[str, Any], min_samples: int) -> tuple[float, float]:
    """A :data:`SWEEP_CUTS`-eps sweep at ``min_samples``: one fit plus cuts, and exact calls
    (medians of the measured calls)."""
    pairs = [pair for pair in result["pairs"] if pair["min_samples"] == min_samples]
    cut = statistics.median(pair["seconds_cut"] for pair in pairs)
    exact = statistics.median(pair["seconds_exact"] for pair in pairs)
    return result["seconds_fit"][str(min_samples)] + SWEEP_CUTS * cut, SWEEP_CUTS * exact


def render(report: dict[str, Any]) -> str:
    """The Markdown block: how it was run, one row per pair, the sweep cost per ``min_samples``."""
    lines = [
        f"Run {report['finished_at']} with `{report['command']}`; {report['machine']['cores']} "
        f"cores, load average {report['load_average_before']} before, "
        f"{report['load_average_after']} after. Raw figures: `bench/results/agreement.json`.",
        "",
        "| rows | eps (x knee) | min_samples | core points | core masks | core errors tree / package "
        "| core ARI | all ARI | clusters package / tree | noise package / tree | border points "
        "| border elsewhere | cut s | exact s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in report["results"]:
        for pair in result["pairs"]:
            masks = ("equal" if pair["core_masks_equal"]
                     else f"{pair['core_mask_differences']} differ")
            lines.append(
                f"| {result['rows']:,} | {pair['eps']:.4f} ({pair['eps_factor']}) "
                f"| {pair['min_samples']} | {pair['core']:,} | {masks} "
                f"| {pair['core_errors_tree']} / {pair['core_errors_package']} | {pair['core_ari']:.4f} "
                f"| {pair['all_ari']:.4f} | {pair['clusters_exact']} / {pair['clusters_tree']} "
                f"| {pair['noise_exact']:,} / {pair['noise_tree']:,} | {pair['border']:,} "
                f"| {pair['border_elsewhere']:,} ({_share(pair['border_elsewhere'], pair['border'])})"
                f" | {pair['seconds_cut']:.2f} | {pair['seconds_exact']:.2f} |")
    lines += ["", f"Tree fits and a {SWEEP_CUTS}-eps sweep (one fit + {SWEEP_CUTS} cuts against "
              f"{SWEEP_CUTS} exact calls, medians of the calls above):", "",
              "| rows | embedding | min_samples | fit s | reference s | sweep by cuts s | sweep exact s |",
              "|---|---|---|---|---|---|---|"]
    for result in report["results"]:
        for min_samples, fit in result["seconds_fit"].items():
            cuts, exact = sweep_seconds(result, int(min_samples))
            lines.append(f"| {result['rows']:,} | {result['dims']}-D, `seglab run` "
                         f"{result['seconds_run']:.0f} s | {min_samples} | {fit:.1f} "
                         f"| {result['seconds_reference'][min_samples]:.1f} "
                         f"| {cuts:.1f} | {exact:.1f} |")
    return "\n".join(lines) + "\n"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} %" if whole else "-"


def write_summary(path: Path, block: str) -> None:
    """Put ``block`` between the markers in ``path`` (appended the first time), keeping the text
    around them."""
    replace_block(path, block, SUMMARY_BEGIN, SUMMARY_END,
                  "# DBSCAN by tree cut against exact DBSCAN\n")


def main(argv: list[str] | None = None) -> int:
    """Run the bench, write the JSON and the summary block."""
    parser = argparse.ArgumentParser(prog="python -m bench.agreement",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "agreement.json")
    parser.add_argument("--summary", type=Path, default=BENCH_DIR / "AGREEMENT.md")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "seglab-agreement",
                        help="tables and runs (kept: a rerun reuses the stage cache)")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"command": "python -m bench.agreement " + " ".join(argv or sys.argv[1:]),
                              "machine": machine_facts(), "load_average_before": load_average()}
    report["results"] = [bench_rows(rows, args.work) for rows in args.rows]
    report.update(load_average_after=load_average(),
                  finished_at=f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    write_summary(args.summary, render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
