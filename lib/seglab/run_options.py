"""``seglab run``'s options, shared by ``seglab submit`` (:mod:`seglab.jobs.cli`)."""

from __future__ import annotations

import argparse
import json

from seglab.paths import DEFAULT_PARAMS, DEFAULT_RUNS_DIR


def add_run_options(run: argparse.ArgumentParser) -> None:
    """``seglab run``'s options (``seglab submit`` takes them too)."""
    run.add_argument("--params", default=DEFAULT_PARAMS, help="YAML parameters file (%(default)s)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a dotted config key, e.g. cluster.eps=0.3 (repeatable)")
    run.add_argument("--data", help="customer table (sets data.path)")
    run.add_argument("--experiment", help="experiment name (sets experiment)")
    run.add_argument("--backend", choices=["auto", "cpu", "gpu"], help="sets backend")
    run.add_argument("--tracking", choices=["auto", "local", "sagemaker", "mlflow"],
                     help="sets tracking.backend")
    run.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where run folders go (%(default)s)")
    run.add_argument("--kernel", default="python3",
                     help="Jupyter kernel (default python3 = this interpreter; never a fallback)")
    run.add_argument("--run-id", help="run folder name (default: UTC time + random suffix)")
    run.add_argument("--engine", choices=["notebooks", "direct"], default="notebooks",
                     help="notebooks: execute them with papermill (default); direct: call their "
                          "stage functions in this process (no executed notebooks; faster)")


def run_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` values plus the convenience flags, as dotted overrides.

    A flag's value is text as given (quoted for the YAML parser): ``--experiment 1`` or
    ``--data @x.csv`` are a name and a path, never a number or a YAML syntax error.
    """
    flags = {"data.path": args.data, "experiment": args.experiment, "backend": args.backend,
             "tracking.backend": args.tracking}
    return [*args.overrides, *(f"{key}={json.dumps(value, ensure_ascii=False)}"
                               for key, value in flags.items() if value)]
