"""``seglab runs`` (the leaderboard: a table, CSV, JSON or the HTML page) and ``seglab sync``
(replay what a remote missed): the tracking commands of the CLI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seglab.errors import SeglabError
from seglab.leaderboard_html import render_leaderboard
from seglab.paths import DEFAULT_RUNS_DIR, resolve
from seglab.tracking.leaderboard import OPERATORS, format_leaderboard, leaderboard, table_columns
from seglab.tracking.sync import sync


def add_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``runs`` and ``sync`` on the ``seglab`` subcommand parsers.

    Each sets ``handler``: a function of the parsed arguments returning the exit code.
    """
    runs = subparsers.add_parser(
        "runs",
        help="leaderboard of tracked runs",
        description="One row per run from the local tracking store (runs/seglab.db).",
    )
    _add_store_options(runs)
    runs.add_argument(
        "--sort",
        metavar="KEY",
        help="metric or parameter (silhouette, cluster.eps, seconds); metrics sort best-first "
        "descending, prefix + or - to force (--sort=+davies_bouldin); missing values last",
    )
    runs.add_argument(
        "--filter",
        nargs=3,
        action="append",
        default=[],
        metavar=("KEY", "OP", "VALUE"),
        help=f"keep runs where KEY OP VALUE (OP: {' '.join(OPERATORS)}); repeatable",
    )
    runs.add_argument("--format", choices=("table", "csv", "json", "html"), default="table")
    runs.add_argument("--limit", type=_positive, help="show the first N runs (N >= 1)")
    runs.add_argument(
        "--columns",
        help="comma-separated columns for the table (default: status, varying params, headline metrics)",
    )
    runs.add_argument("--output", "-o", type=Path, help="write to this file instead of stdout")
    runs.set_defaults(handler=runs_command)

    replay = subparsers.add_parser(
        "sync",
        help="replay runs a remote tracking backend missed",
        description="Push finished runs whose SageMaker/MLflow mirror failed or never happened.",
    )
    _add_store_options(replay)
    replay.add_argument(
        "--to",
        choices=("sagemaker", "mlflow"),
        help="also push runs never mirrored to this backend (default: only failed/pending ones)",
    )
    replay.add_argument("--s3-prefix", help="with --to sagemaker: upload artifacts under this URI")
    replay.add_argument("--mlflow-uri", help="with --to mlflow: the tracking URI")
    replay.set_defaults(handler=sync_command)

    store = subparsers.add_parser(
        "store",
        help="check the tracking store, or rebuild it from the run folders",
        description="check: SQLite's integrity_check on runs/seglab.db. recover: move a damaged "
        "store aside (kept as seglab.db.before-recover-<time>) and rebuild it from every run folder.",
    )
    store.add_argument("action", choices=("check", "recover"), help="check or recover")
    store.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                       help="runs folder holding seglab.db (%(default)s)")
    store.set_defaults(handler=store_command)


def runs_command(args: argparse.Namespace) -> int:
    """Print or write the leaderboard; exit 0."""
    frame = leaderboard(
        resolve(args.runs_dir),
        experiment=args.experiment,
        sort=args.sort,
        filters=args.filter,
        limit=args.limit,
    )
    columns = None
    if args.format == "table":
        columns = args.columns.split(",") if args.columns else table_columns(frame, args.sort)
    text = (render_leaderboard(frame) if args.format == "html"
            else format_leaderboard(frame, args.format, columns))
    if args.output:
        try:
            args.output.write_text(text)
        except OSError as exc:
            raise SeglabError(f"--output {args.output}: cannot write ({exc.strerror or exc}); "
                              "pick a writable file path") from None
        print(f"{len(frame)} runs written to {args.output}")
    else:
        print(text)
    return 0


def sync_command(args: argparse.Namespace) -> int:
    """Replay missed mirrors; exit 1 if any trial still failed."""
    results = sync(
        resolve(args.runs_dir),
        experiment=args.experiment,
        to=args.to,
        s3_prefix=args.s3_prefix,
        mlflow_uri=args.mlflow_uri,
    )
    failed = [result for result in results if result.error]
    for result in results:
        outcome = f"failed: {result.error}" if result.error else "synced"
        print(f"{result.trial} -> {result.backend}: {outcome}")
    print(f"{len(results) - len(failed)} synced, {len(failed)} failed", file=sys.stderr)
    return 1 if failed else 0


def store_command(args: argparse.Namespace) -> int:
    """``check``: exit 0 when the store is sound; ``recover``: rebuild it, exit 0."""
    from seglab.tracking.recover import check_store, recover

    runs_dir = resolve(args.runs_dir)
    if args.action == "check":
        print(f"{runs_dir / 'seglab.db'}: {check_store(runs_dir)}")
        return 0
    result = recover(runs_dir)
    if result.moved_to is not None:
        print(f"kept the old store as {result.moved_to}")
    for reason in result.skipped:
        print(f"skipped {reason}", file=sys.stderr)
    print(f"rebuilt {runs_dir / 'seglab.db'} from {len(result.restored)} run folders "
          f"({len(result.skipped)} skipped)")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs-dir",
        default=DEFAULT_RUNS_DIR,
        help="runs folder holding seglab.db; relative to the repository root (%(default)s)",
    )
    parser.add_argument("--experiment", help="only this experiment")
