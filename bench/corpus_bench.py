"""``python -m bench.corpus_bench`` (``make bench-corpus``): seglab's default run on every corpus
table, beside the yardsticks.

For each table of :data:`bench.corpus.CORPUS`: write the file, run the user's default path
(``run_pipeline`` with ``engine="direct"`` on ``params/default.yaml`` plus the table's
``data.*`` overrides and ``tracking.backend=local``: no per-table hint), read whatever
``metrics.json`` holds, then run :mod:`bench.yardsticks` on the same file (the expert yardsticks
with the table's declared ``structure``). A failed run or yardstick is recorded with its
message; the bench goes on. Results: one JSON (``--out``) and a Markdown table (``--summary``).

Example::

    python -m bench.corpus_bench --out bench/results/corpus.json --summary bench/CORPUS.md
    python -m bench.corpus_bench --tables digits iris --out /tmp/c.json --summary /tmp/c.md
    python -m bench.corpus_bench --render bench/results/corpus_before.json --label before
    python -m bench.corpus_bench --reuse-yardsticks bench/results/corpus_before.json \\
        --set cluster.algorithm=hdbscan --out /tmp/c.json --summary /tmp/c.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import yardsticks
from bench.corpus import CORPUS, CorpusTable, get
from bench.machine import load_average
from bench.yardsticks import YARDSTICKS, run_yardsticks

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
DEFAULT_PARAMS = REPO / "params" / "default.yaml"
SEGLAB_KEYS = ("n_rows", "n_features_in", "n_features_used", "verdict", "selected", "n_candidates",
               "n_clusters", "largest_cluster_fraction", "noise_fraction", "silhouette",
               "silhouette_feature_space", "stability_ari", "ari", "ami", "eps", "min_samples",
               "seconds_total")
"""``metrics.json`` keys the summary shows (absent keys are shown as blanks)."""
SUMMARY_BEGIN = "<!-- corpus-bench:{label}:begin -->"
SUMMARY_END = "<!-- corpus-bench:{label}:end -->"


def run_seglab(table: CorpusTable, directory: str | Path, overrides: Iterable[str] = (),
               params: str | Path = DEFAULT_PARAMS) -> dict[str, Any]:
    """seglab's default user path on one corpus table; never raises for a failed run.

    Args:
        table: the corpus table.
        directory: scratch folder; the table goes to ``data/``, the run to
            ``runs/<name>-<random hex>/``.
        overrides: further ``KEY=VALUE`` config overrides (after the table's own).
        params: the parameters file (``params/default.yaml``).

    Returns:
        Everything ``metrics.json`` holds, plus ``status`` (``completed``/``failed``),
        ``error`` (the message, or ``None``), ``seconds_wall`` and ``run_dir``.
    """
    from seglab.config import load_config
    from seglab.runner import run_pipeline

    directory = Path(directory)
    path = table.write(directory / "data")
    runs_dir = directory / "runs"
    run_id = f"{table.name}-{secrets.token_hex(3)}"  # a reused folder's store knows older runs
    run_dir = runs_dir / run_id
    started = time.perf_counter()
    status, error = "failed", None
    try:
        config = load_config(params, overrides=[*table.overrides(path), "tracking.backend=local",
                                                *overrides])
        result = run_pipeline(config, runs_dir=runs_dir, run_id=run_id, engine="direct",
                              echo=lambda _line: None)
        status, error = result.status, result.message
    except Exception as exc:  # the bench records a crash as a result
        error = f"{type(exc).__name__}: {exc}"
    metrics_file = run_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.exists() else {}
    return {**metrics, "status": status, "error": error,
            "seconds_wall": round(time.perf_counter() - started, 2), "run_dir": str(run_dir)}


def fingerprint(path: Path, structure: yardsticks.Structure = yardsticks.NO_STRUCTURE) -> str:
    """SHA-256 of a table file, its declared structure and the yardsticks' source: equal
    fingerprints, equal yardstick results (they do not depend on seglab's code)."""
    digest = hashlib.sha256(path.read_bytes())
    digest.update(Path(yardsticks.__file__).read_bytes())
    digest.update(repr(structure).encode())
    return digest.hexdigest()


def bench_table(table: CorpusTable, work_dir: Path, overrides: Iterable[str] = (),
                earlier: dict[str, Any] | None = None) -> dict[str, Any]:
    """seglab and the yardsticks on one table.

    Args:
        table: the corpus table.
        work_dir: scratch folder.
        overrides: extra config overrides for the seglab run.
        earlier: this table's entry from an earlier bench JSON: its yardsticks are reused when
            the fingerprint (table file and yardstick code) is unchanged.
    """
    entry: dict[str, Any] = {"name": table.name, "kind": table.kind, "shape": table.shape,
                             "source": table.source, "format": table.fmt,
                             "id_column": table.id_column, "label_column": table.label_column,
                             "expected": table.expected}
    if not table.available():
        entry["skipped"] = f"needs {', '.join(table.requires)} (pip install -e '.[corpus]')"
        return entry
    seglab = {key: value for key, value in run_seglab(table, work_dir, overrides).items()
              if key != "run_dir"}
    path = work_dir / "data" / table.filename
    frame_shape = _shape(path)
    entry.update(rows=frame_shape[0], columns=frame_shape[1], fingerprint=fingerprint(path, table.structure),
                 seglab=seglab)
    if earlier and earlier.get("fingerprint") == entry["fingerprint"] and "yardsticks" in earlier:
        entry.update(yardsticks=earlier["yardsticks"], seconds_yardsticks=earlier.get("seconds_yardsticks"),
                     yardsticks_reused=True)
        return entry
    started = time.perf_counter()
    try:
        entry["yardsticks"] = run_yardsticks(path, table.id_column, table.label_column,
                                             structure=table.structure)
    except Exception as exc:
        entry["yardsticks"] = {"error": f"{type(exc).__name__}: {exc}"}
    entry["seconds_yardsticks"] = round(time.perf_counter() - started, 2)
    return entry


def _shape(path: Path) -> tuple[int, int]:
    from bench.yardsticks import read_table

    frame = read_table(path)
    return int(frame.shape[0]), int(frame.shape[1])


@contextmanager
def work_folder(given: Path | None, prefix: str) -> Iterator[Path]:
    """``given``, kept afterwards, else a new temporary folder removed when the block ends."""
    if given is not None:
        yield given
        return
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def git_commit() -> str:
    """The checkout's short commit, ``+dirty`` when it has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, check=True,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lib", "params", "notebooks"],
                               cwd=REPO, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _percent(value: Any) -> str:
    return f"{100 * value:.0f}%" if isinstance(value, int | float) else ""


def _yardstick_cell(entry: dict[str, Any], name: str) -> str:
    result = entry.get("yardsticks", {}).get("yardsticks", {}).get(name, {})
    if "error" in result:
        return "error"
    if "skipped" in result or not result:
        return ""
    if entry.get("label_column"):
        return f"{_fmt(result.get('ari'))} ({result.get('n_clusters')})"
    return (f"{result.get('n_clusters')} cl, {_percent(result.get('largest_cluster_fraction'))}, "
            f"sil {_fmt(result.get('silhouette_feature_space'))}")


def summary_table(results: dict[str, Any]) -> str:
    """The Markdown table of one bench session, with a failures list under it."""
    header = ("| table | rows | cols | kind | seglab status | verdict | segments | largest | noise "
              "| silhouette (emb / feat) | stability | ARI | seconds | KMeans k | GMM k "
              "| UMAP+DBSCAN | UMAP+HDBSCAN | KMeans k, expert | UMAP-hellinger+PLSCAN | StepMix (BIC k) "
              "| k-prototypes k |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    failures = []
    for entry in results["tables"]:
        if "skipped" in entry:
            lines.append(f"| {entry['name']} | | | {entry['kind']} | skipped: {entry['skipped']} |"
                         + " |" * (header.count("|") - 5))
            continue
        seglab = entry["seglab"]
        status = seglab["status"]
        if status != "completed":
            failures.append(f"- **{entry['name']}**: {seglab.get('error')}")
        silhouettes = f"{_fmt(seglab.get('silhouette'))} / {_fmt(seglab.get('silhouette_feature_space'))}"
        lines.append(" | ".join([
            f"| {entry['name']}", str(entry["rows"]), str(entry["columns"]), entry["kind"],
            "ok" if status == "completed" else f"**{status}**", _fmt(seglab.get("verdict")),
            _fmt(seglab.get("n_clusters")), _percent(seglab.get("largest_cluster_fraction")),
            _percent(seglab.get("noise_fraction")), silhouettes, _fmt(seglab.get("stability_ari")),
            _fmt(seglab.get("ari")), _fmt(seglab.get("seconds_wall"), 0),
            *(_yardstick_cell(entry, name) for name in YARDSTICKS),
        ]) + " |")
    notes = ["", "Yardstick cells: ARI (clusters found) on labelled tables; clusters, largest share "
             "and feature-space silhouette on unlabelled ones. KMeans/GMM are given the true k.",
             "Expert yardsticks use the table's declared structure (count / categorical / numeric "
             "columns), never given to seglab: KMeans on Hellinger rows of the counts, standardised "
             "numerics and one-hot categoricals; UMAP (hellinger) on basket shares + PLSCAN; StepMix "
             "latent classes with k by BIC; k-prototypes with the true k. Blank: not applicable.",
             "Largest and noise are shares of all rows; seconds are seglab's wall time."]
    if failures:
        notes += ["", "Failed seglab runs:", "", *failures]
    return "\n".join(lines + notes) + "\n"


def write_summary(path: Path, results: dict[str, Any], label: str, heading: str) -> None:
    """Put this session's table under ``heading`` in ``path``, replacing an earlier one with the
    same ``label`` and keeping every other section."""
    begin, end = SUMMARY_BEGIN.format(label=label), SUMMARY_END.format(label=label)
    meta = (f"Run {results['finished_at']} with `{results['command']}`; {results['total_seconds']:.0f} s "
            f"for the whole corpus (load average {results['load_average_before']} before)."
            + (f" {results['note']}" if results.get("note") else ""))
    block = f"{begin}\n## {heading}\n\n{meta}\n\n{summary_table(results)}{end}\n"
    text = path.read_text() if path.exists() else _summary_intro()
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _summary_intro() -> str:
    rows = ["| table | rows x cols | kind | label | shape | a correct answer |", "|---|---|---|---|---|---|"]
    for table in CORPUS:
        frame = table.frame() if table.available() else None
        size = f"{frame.shape[0]:,} x {frame.shape[1]}" if frame is not None else "(extra missing)"
        rows.append(f"| {table.name} | {size} | {table.kind} | {table.label_column or ''} | "
                    f"{table.shape} | {table.expected} |")
    return "\n".join([
        "# The real-table corpus: seglab's default run against the yardsticks",
        "",
        "Tables: `bench/corpus.py` (builders, offline, seeded); yardsticks: `bench/yardsticks.py`;",
        "driver: `make bench-corpus` (`python -m bench.corpus_bench`). Each seglab run is",
        "`run_pipeline(..., engine=\"direct\")` on `params/default.yaml` with the table's `data.*`",
        "overrides and `tracking.backend=local`, no per-table hint: what a user passing",
        "`--data PATH --set data.id_column=...` gets. Columns counted with the id and label columns.",
        "",
        *rows,
    ])


def main(argv: list[str] | None = None) -> int:
    """Run the bench; returns 0 (failed seglab runs are results, not errors)."""
    parser = argparse.ArgumentParser(prog="python -m bench.corpus_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results" / "corpus.json")
    parser.add_argument("--summary", type=Path, default=BENCH_DIR / "CORPUS.md")
    parser.add_argument("--label", default="latest",
                        help="section of --summary to (re)write: e.g. 'before' or 'latest'")
    parser.add_argument("--heading", default=None, help="its heading (default: 'Latest (code at <commit>)')")
    parser.add_argument("--tables", nargs="*", default=None, help="corpus table names (default: all)")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="scratch folder for tables and runs (default: a temporary folder)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="extra config override for every seglab run (repeatable)")
    parser.add_argument("--reuse-yardsticks", type=Path, default=None, metavar="JSON",
                        help="take yardstick results from an earlier --out JSON where the table "
                             "and the yardstick code are unchanged (they do not depend on seglab)")
    parser.add_argument("--render", type=Path, default=None, metavar="JSON",
                        help="only rewrite --summary's section from an earlier --out JSON")
    args = parser.parse_args(argv)
    if args.render is not None:
        results = json.loads(args.render.read_text())
        write_summary(args.summary, results, args.label,
                      args.heading or f"{args.label.capitalize()} (code at {results['commit']})")
        return 0
    tables = [get(name) for name in args.tables] if args.tables else list(CORPUS)
    commit = git_commit()
    command = "python -m bench.corpus_bench " + " ".join(argv if argv is not None else sys.argv[1:])
    warnings.filterwarnings("ignore", message=".*n_jobs value 1 overridden.*")
    os.environ.setdefault("SEGLAB_CACHE", "off")
    earlier = {}
    if args.reuse_yardsticks is not None and args.reuse_yardsticks.exists():
        earlier = {entry["name"]: entry for entry in json.loads(args.reuse_yardsticks.read_text())["tables"]}
    results: dict[str, Any] = {"commit": commit, "command": command, "overrides": args.overrides,
                               "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "load_average_before": load_average(), "tables": []}
    started = time.perf_counter()
    with work_folder(args.work_dir, "seglab-corpus-") as work:
        for table in tables:
            print(f"[corpus] {table.name} ...", flush=True)
            entry = bench_table(table, work, args.overrides, earlier.get(table.name))
            seglab = entry.get("seglab", {})
            print(f"[corpus] {table.name}: {seglab.get('status', entry.get('skipped'))} "
                  f"ari={seglab.get('ari')} clusters={seglab.get('n_clusters')} "
                  f"({seglab.get('seconds_wall')} s; yardsticks {entry.get('seconds_yardsticks')} s)",
                  flush=True)
            results["tables"].append(entry)
    results["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    heading = args.heading or f"{args.label.capitalize()} (code at {commit})"
    write_summary(args.summary, results, args.label, heading)
    print(f"[corpus] {len(tables)} tables in {results['total_seconds']:.0f} s -> {args.out}, {args.summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
