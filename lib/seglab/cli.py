"""The ``seglab`` command line (README.md, "Command line")."""

from __future__ import annotations

import argparse
import errno
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from seglab import tracking_cli as tracking_commands
from seglab.errors import SeglabError
from seglab.jobs import cli as job_commands
from seglab.paths import DEFAULT_PARAMS, DEFAULT_RUNS_DIR, resolve
from seglab.run_options import add_run_options, run_overrides
from seglab.sweep.rule import DEFAULT_RULE

if TYPE_CHECKING:
    from seglab.config import Config
    from seglab.kinds import TableKinds

FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
"""No space left, a file over the size limit (``ulimit -f``), the disk quota exceeded."""
FULL_DISK_SQLITE = (10, 13)
"""SQLite's primary result codes SQLITE_IOERR ("disk I/O error") and SQLITE_FULL."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line to stderr and return a non-zero exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except SeglabError as exc:
        print(f"seglab: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.OperationalError) as exc:
        what = _unwritable(exc)
        if what is None:
            raise
        print(f"seglab: error: cannot write {what}: the disk is full or a file size limit "
              "(ulimit -f) was reached; free space, then run `seglab store recover` so that the "
              "tracking store agrees with the run folders", file=sys.stderr)
        return 2
    except sqlite3.DatabaseError as exc:  # damage quick_check could not see when opening
        if type(exc) is not sqlite3.DatabaseError:  # locked, constraint...: not damage
            raise
        print(f"seglab: error: the tracking store is damaged ({exc}); run `seglab store "
              "recover` to rebuild it from the run folders", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("seglab: interrupted", file=sys.stderr)
        return 130


def _unwritable(exc: OSError | sqlite3.OperationalError) -> str | None:
    """What could not be written when ``exc`` says the disk is full, else ``None``."""
    if isinstance(exc, OSError):
        return f"{exc.filename or 'a file'} ({exc.strerror})" if exc.errno in FULL_DISK_ERRNOS else None
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # extended codes keep the primary one below
    return f"the tracking store ({exc})" if code in FULL_DISK_SQLITE else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seglab", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(commands)
    tracking_commands.add_commands(commands)
    _add_data(commands)
    _add_report(commands)
    _add_compare(commands)
    _add_sweep(commands)
    _add_assign(commands)
    _add_cache(commands)
    job_commands.add_commands(commands, add_run_options)
    return parser


# -- run ---------------------------------------------------------------------------------------
def _add_run(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser("run", help="execute the notebooks in order as one tracked run")
    add_run_options(run)
    run.add_argument("--previous", metavar="RUN",
                     help="an earlier run (folder or run id): segments that survive from it keep "
                          "its names and colours (sets report.previous_run)")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from seglab.config import load_config
    from seglab.runner import run_pipeline

    overrides = run_overrides(args)
    if args.previous:
        from seglab.weekly import read_run

        previous = read_run(_run_folder(args.previous, args.runs_dir)).folder.path.resolve()
        overrides.append(f"report.previous_run={json.dumps(str(previous))}")
    config = load_config(resolve(args.params), overrides=overrides)
    result = run_pipeline(config, runs_dir=resolve(args.runs_dir), kernel=args.kernel,
                          run_id=args.run_id, engine=args.engine,
                          echo=lambda line: print(line, file=sys.stderr))
    print(f"run {result.folder.run_id} {result.status}: {result.folder.path}")
    if not result.ok:
        print(f"seglab: error: {result.message}", file=sys.stderr)
        return 1
    print(_summary(result.folder.read_metrics()))
    return 0


def _summary(metrics: dict) -> str:
    def show(key: str, pattern: str) -> str:
        value = metrics.get(key)
        return "n/a" if value is None else pattern.format(value)

    verdict = f"verdict {metrics['verdict']}: " if metrics.get("verdict") else ""
    return (f"  {verdict}{show('n_rows', '{:,}')} customers, {show('n_clusters', '{}')} segments, "
            f"noise {show('noise_fraction', '{:.1%}')}, silhouette {show('silhouette', '{:.3f}')} "
            f"[{show('silhouette_ci_low', '{:.3f}')}, {show('silhouette_ci_high', '{:.3f}')}], "
            f"ARI {show('ari', '{:.3f}')}, {show('seconds_total', '{:.0f}')} s")


# -- data ----------------------------------------------------------------------------------------
def _add_data(commands: argparse._SubParsersAction) -> None:
    data = commands.add_parser("data", help="generate or check customer tables")
    actions = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    synth = actions.add_parser("synth", help="write the synthetic sparse customer table")
    synth.add_argument("--rows", type=int, required=True, help="number of customers")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", required=True, help="output .parquet or .csv")
    synth.set_defaults(handler=_synth)
    check = actions.add_parser("check", help="report what a run would drop or fix in a table")
    check.add_argument("path", help="CSV or Parquet customer table")
    check.add_argument("--params", default=DEFAULT_PARAMS, help="treatments from (%(default)s)")
    check.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    check.set_defaults(handler=_check)


def _synth(args: argparse.Namespace) -> int:
    from seglab.synth import write_customers

    if args.rows < 1:
        raise SeglabError(f"--rows must be a positive number of customers (got {args.rows})")
    path = write_customers(args.rows, resolve(args.out), seed=args.seed)
    print(f"wrote {args.rows:,} customers to {path}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from seglab.config import load_config
    from seglab.data import check_table
    from seglab.paths import resolve_uri

    config = load_config(resolve(args.params), overrides=args.overrides)
    report = check_table(resolve_uri(args.path), config.data)
    print(report.render())
    if report.ok:
        print(_kinds_of(resolve_uri(args.path), config).render())
    return 0 if report.ok else 1


def _kinds_of(path: str, config: Config) -> TableKinds:
    """The kind of every feature column a run would use, with the evidence."""
    from seglab.data import load_customers

    return load_customers(config.data, path).column_kinds(config.features, seed=config.seed)


# -- report --------------------------------------------------------------------------------------
def _add_report(commands: argparse._SubParsersAction) -> None:
    report = commands.add_parser("report", help="(re)build report.html for a run")
    report.add_argument("run", help="run folder, or a run id under --runs-dir")
    report.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR)
    report.set_defaults(handler=_report)


def _run_folder(run: str, runs_dir: str) -> Path:
    """A run given as a folder, or as a run id under ``runs_dir``."""
    from seglab.runfolder import run_path

    candidate = Path(run)
    return candidate if candidate.is_dir() else run_path(resolve(runs_dir), run)


def _report(args: argparse.Namespace) -> int:
    from seglab.report import build_report
    from seglab.runfolder import RunFolder

    folder = RunFolder(_run_folder(args.run, args.runs_dir)).check()
    status = folder.settle()
    build_report(folder)
    if folder.finished:
        folder.freeze()
    print(f"wrote {folder.report} (run {status})")
    return 0


# -- assign --------------------------------------------------------------------------------------
def _add_assign(commands: argparse._SubParsersAction) -> None:
    assign = commands.add_parser(
        "assign", help="put new customers into a finished run's segments (its own folder)")
    assign.add_argument("run", metavar="RUN", help="a finished run: its folder or its run id")
    assign.add_argument("--data", required=True, help="the new customers (CSV or Parquet)")
    assign.add_argument("--out", help="the new assignment folder (default: "
                                      "assignments/<run id>-<UTC time>)")
    assign.add_argument("--force", action="store_true",
                        help="assign even when the run's verdict is none")
    assign.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                        help="where a run id is looked up (%(default)s)")
    _add_dask_options(assign, "assign", "here")
    assign.set_defaults(handler=_assign)


def _add_dask_options(parser: argparse.ArgumentParser, verb: str, default: str) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where a command's work runs on Dask."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help=f"{verb} on a local Dask cluster of N processes (default: {default})")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help=f"{verb} on an existing Dask cluster, e.g. tcp://10.0.0.5:8786")


def _assign(args: argparse.Namespace) -> int:
    import datetime as dt

    from seglab.assign import assign

    if args.workers is not None and args.workers < 1:
        raise SeglabError(f"--workers must be at least 1 (got {args.workers})")
    run = _run_folder(args.run, args.runs_dir)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    out = resolve(args.out) if args.out else resolve("assignments") / f"{run.name}-{stamp}"
    summary = assign(run, str(resolve(args.data)), out, force=args.force, workers=args.workers,
                     scheduler=args.scheduler)
    for column in summary["extra_columns"]:
        print(f"seglab: note: column {column!r} is not read by the run; ignored", file=sys.stderr)
    for column, count in summary["unseen_levels"].items():
        print(f"seglab: note: column {column!r}: {count:,} value(s) of levels the run never saw",
              file=sys.stderr)
    print(f"assigned {summary['rows']:,} customers to run {summary['run']}'s segments "
          f"({summary['unlike_any_share']:.1%} unlike any): {out}")
    return 0


# -- compare ------------------------------------------------------------------------------------
def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare", help="an earlier run against a later one: transitions, migration, drift")
    compare.add_argument("run_a", metavar="RUN_A", help="the earlier run: folder or run id")
    compare.add_argument("run_b", metavar="RUN_B", help="the later run: folder or run id")
    compare.add_argument("--out", help="comparison folder (default: <runs-dir>/compare-<id>)")
    compare.add_argument("--params", default=DEFAULT_PARAMS,
                         help="the compare section and tracking from (%(default)s)")
    compare.add_argument("--set", dest="overrides", action="append", default=[],
                         metavar="KEY=VALUE", help="e.g. compare.core_share=0.6 (repeatable)")
    compare.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                         help="run ids and the tracking store (%(default)s)")
    compare.add_argument("--kernel", default="python3", help="kernel for notebook 06 (%(default)s)")
    compare.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from seglab.compare_runner import run_compare
    from seglab.config import load_config

    config = load_config(resolve(args.params), overrides=args.overrides)
    done = run_compare(_run_folder(args.run_a, args.runs_dir),
                       _run_folder(args.run_b, args.runs_dir), config,
                       runs_dir=resolve(args.runs_dir),
                       out=resolve(args.out) if args.out else None, kernel=args.kernel)
    print(f"comparison {done.compare_id}: {done.folder}")
    print(f"  {done.result['summary'][0]}")
    return 0


# -- sweep ---------------------------------------------------------------------------------------
def _add_sweep(commands: argparse._SubParsersAction) -> None:
    sweep = commands.add_parser(
        "sweep", help="many tracked runs from a grid or random draws (docs/sweeps.md)")
    sweep.add_argument("--params", default=DEFAULT_PARAMS, help="base parameters (%(default)s)")
    sweep.add_argument("--grid", required=True, help="grid YAML, e.g. params/sweep_eps_min_samples.yaml")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a dotted key of the base parameters (repeatable)")
    _add_dask_options(sweep, "run", "serially, here")
    sweep.add_argument("--best", default=DEFAULT_RULE, metavar="RULE",
                       help="pick the best run: max|min METRIC [where KEY OP VALUE [and ...]], e.g. "
                            "'max silhouette where noise_fraction <= 0.2 and n_clusters >= 3' "
                            "(default: '%(default)s')")
    sweep.add_argument("--engine", choices=["direct", "notebooks"], default="direct",
                       help="direct: stage functions in-process (default); notebooks: papermill")
    sweep.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where run folders go (%(default)s)")
    sweep.add_argument("--dry-run", action="store_true", help="list the trials and stop")
    sweep.add_argument("--on", choices=["local", "dask", "sagemaker"],
                       help="where the trials run (default: local; --workers/--scheduler imply dask)")
    sweep.add_argument("--max-concurrent", type=int, default=4, metavar="N",
                       help="--on sagemaker: jobs in flight at once (%(default)s)")
    job_commands.add_job_options(sweep, required=False)
    sweep.set_defaults(handler=_sweep)


def _sweep(args: argparse.Namespace) -> int:
    from seglab.sweep import load_grid, parse_rule, plan_sweep, run_sweep

    if args.workers is not None and args.workers < 1:
        raise SeglabError(f"--workers must be at least 1 (got {args.workers})")
    dask = args.workers is not None or args.scheduler is not None
    if args.on == "dask" and not dask:
        raise SeglabError("--on dask needs --workers N (a local cluster) or --scheduler ADDRESS")
    if args.on in ("local", "sagemaker") and dask:
        raise SeglabError(f"--on {args.on}: --workers/--scheduler run trials on Dask; drop them "
                          "or use --on dask")
    rule = parse_rule(args.best)
    plan = plan_sweep(load_grid(resolve(args.grid)), resolve(args.params), args.overrides)
    print(f"sweep {plan.sweep_id}: {len(plan.trials)} trials", file=sys.stderr)
    if args.dry_run:
        for trial in plan.trials:
            print(trial.run_id)
        return 0
    if args.on == "sagemaker":
        result = job_commands.sweep_on_sagemaker(args, plan, rule)
    else:
        result = run_sweep(plan, runs_dir=resolve(args.runs_dir), rule=rule, workers=args.workers,
                           scheduler=args.scheduler, engine=args.engine,
                           echo=lambda line: print(line, file=sys.stderr))
    completed = len(result.outcomes) - len(result.failed)
    print(f"sweep {result.sweep_id}: {completed} completed, {len(result.failed)} failed, "
          f"{len(result.skipped)} skipped (completed before)")
    if result.best is None:
        print(f"best by {rule.text!r}: no completed run satisfies the rule")
    else:
        print(f"best by {rule.text!r}: {result.best['trial']} ({result.best['run_dir']})")
        print(f"  tagged best_of_sweep={result.sweep_id}: seglab runs --filter "
              f"tags.best_of_sweep = {result.sweep_id}")
    return 1 if result.failed else 0


# -- cache ---------------------------------------------------------------------------------------
def _add_cache(commands: argparse._SubParsersAction) -> None:
    cache = commands.add_parser("cache", help="list or clear the stage cache of a runs folder")
    actions = cache.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, helptext in (("list", "one line per stored stage output"),
                           ("clear", "remove stored stage outputs")):
        action = actions.add_parser(name, help=helptext)
        action.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                            help="runs folder whose cache (<runs-dir>/.cache) to use (%(default)s)")
        action.add_argument("--stage", help="only this stage: 01_exploration, "
                            "02_dimensionality_reduction or 03_eps_search")
        action.set_defaults(handler=_cache_list if name == "list" else _cache_clear)


def _cache_list(args: argparse.Namespace) -> int:
    from seglab.cache import StageCache, default_dir

    store = StageCache(default_dir(resolve(args.runs_dir)))
    entries = [entry for entry in store.entries() if args.stage in (None, entry.stage)]
    for entry in entries:
        seconds = "" if entry.compute_seconds is None else f"  computed in {entry.compute_seconds:.1f} s"
        print(f"{entry.stage:8} {entry.key[:16]}  {entry.bytes / 1e6:9.1f} MB  "
              f"{', '.join(entry.files)}{seconds}")
    total = sum(entry.bytes for entry in entries)
    print(f"{len(entries)} entries, {total / 1e6:.1f} MB in {store.root}", file=sys.stderr)
    if leftovers := store.leftovers():
        print(f"{len(leftovers)} staging folders left by killed processes; `seglab cache clear` "
              "removes them", file=sys.stderr)
    return 0


def _cache_clear(args: argparse.Namespace) -> int:
    from seglab.cache import StageCache, default_dir

    store = StageCache(default_dir(resolve(args.runs_dir)))
    removed, freed = store.clear(args.stage)
    print(f"removed {removed} entries ({freed / 1e6:.1f} MB) from {store.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
