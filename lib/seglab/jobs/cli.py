"""``seglab submit``, ``seglab job``, ``seglab pull`` and the options of ``seglab sweep --on sagemaker``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from seglab.errors import SeglabError
from seglab.paths import DEFAULT_RUNS_DIR, resolve


def add_commands(commands: argparse._SubParsersAction,  # type: ignore[type-arg]
                 add_run_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``submit``, ``job`` and ``pull``; ``add_run_options`` adds ``seglab run``'s options."""
    submit = commands.add_parser("submit", help="the run as a SageMaker job (docs/sagemaker_jobs.md)")
    add_run_options(submit)
    add_job_options(submit, required=True)
    submit.add_argument("--wait", action="store_true",
                        help="poll until the job ends, then pull its run folder into --runs-dir")
    submit.set_defaults(handler=_submit)

    job = commands.add_parser("job", help="the entrypoint inside the container (`train` calls it)",
                              description="Reads SageMaker's layout under /opt/ml (SM_ROOT overrides).")
    job.set_defaults(handler=_job)

    pull = commands.add_parser("pull", help="finished jobs' run folders into runs/ and the local store")
    pull.add_argument("target", nargs="?", metavar="JOB|TRIAL", help="a job name, run id or SageMaker trial")
    pull.add_argument("--experiment", help="every job of this experiment")
    pull.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR, help="where run folders go (%(default)s)")
    pull.set_defaults(handler=_pull)


def add_job_options(parser: argparse.ArgumentParser, required: bool) -> None:
    """The options every job needs (``submit``; ``sweep --on sagemaker``)."""
    parser.add_argument("--image", required=required, help="the container image URI (ECR)")
    parser.add_argument("--role", required=required, help="the SageMaker execution role ARN")
    parser.add_argument("--s3-prefix", required=required, metavar="S3",
                        help="s3://bucket/prefix for inputs and run folders")
    parser.add_argument("--job-type", choices=["training", "processing"], default="training")
    parser.add_argument("--instance-type", help="default ml.m5.xlarge (ml.g4dn.xlarge with --backend gpu)")
    parser.add_argument("--max-runtime", type=int, default=24 * 3600, metavar="S",
                        help="stop the job after S seconds (%(default)s)")
    parser.add_argument("--poll", type=float, default=30.0, metavar="S", help=argparse.SUPPRESS)


def sweep_on_sagemaker(args: argparse.Namespace, plan: Any, rule: Any) -> Any:
    """Run a planned sweep as SageMaker jobs (``seglab sweep --on sagemaker``)."""
    from seglab.jobs.common import clients
    from seglab.jobs.sweep import JobOptions, run_on_sagemaker

    missing = [flag for flag in ("image", "role", "s3_prefix") if not getattr(args, flag)]
    if missing:
        raise SeglabError(f"--on sagemaker needs {', '.join('--' + m.replace('_', '-') for m in missing)}")
    if args.max_concurrent < 1:
        raise SeglabError(f"--max-concurrent must be at least 1 (got {args.max_concurrent})")
    options = JobOptions(args.image, args.role, args.s3_prefix, args.job_type, args.instance_type,
                         args.max_runtime, args.engine)
    return run_on_sagemaker(plan, runs_dir=resolve(args.runs_dir), rule=rule, aws=clients(), options=options,
                            max_concurrent=args.max_concurrent, poll_s=args.poll, echo=_stderr)


def _submit(args: argparse.Namespace) -> int:
    from seglab.config import load_config
    from seglab.jobs.common import clients, console_url, job_status
    from seglab.jobs.pull import pull
    from seglab.jobs.submit import prepare, submit, wait
    from seglab.run_options import run_overrides

    if args.tracking:
        raise SeglabError("--tracking: a job records on its own SageMaker trial component; drop --tracking")
    if args.run_id is None:
        from seglab.runner import new_run_id

        args.run_id = new_run_id()
    config = load_config(resolve(args.params), overrides=run_overrides(args))
    sub = prepare(config, trial=args.run_id, image=args.image, role=args.role, s3_prefix=args.s3_prefix,
                  kind=args.job_type, instance_type=args.instance_type, max_runtime=args.max_runtime,
                  engine=args.engine, kernel=args.kernel)
    aws = clients()
    experiment = submit(sub, aws)
    print(f"submitted {sub.kind} job {sub.job} (trial {experiment['TrialName']} of experiment "
          f"{experiment['ExperimentName']})")
    print(f"  {console_url(aws.region, sub.kind, sub.job)}")
    if not args.wait:
        print(f"  when it has finished: seglab pull {sub.job}")
        return 0
    final = wait(aws, sub.kind, sub.job, echo=_stderr, poll_s=args.poll)
    status = job_status(final, sub.kind)
    try:
        pull(aws, resolve(args.runs_dir), sub.job, echo=_stderr)
    except SeglabError as exc:
        _stderr(f"warning: not pulled: {exc}")
    if status != "Completed":
        reason = final.get("FailureReason", "no reason given")
        print(f"seglab: error: job {sub.job} {status.lower()}: {reason}", file=sys.stderr)
        return 1
    return 0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def _job(args: argparse.Namespace) -> int:
    from seglab.jobs.entrypoint import main

    return main()


def _pull(args: argparse.Namespace) -> int:
    from seglab.jobs.common import clients
    from seglab.jobs.pull import pull

    if bool(args.target) == bool(args.experiment):
        raise SeglabError("seglab pull: give a job name, a run id or --experiment NAME (one of them)")
    results = pull(clients(), resolve(args.runs_dir), args.target, args.experiment, echo=_stderr)
    pulled = sum(result.outcome == "pulled" for result in results)
    pending = sum(result.outcome == "pending" for result in results)
    print(f"{pulled} pulled, {len(results) - pulled - pending} already here, {pending} not finished",
          file=sys.stderr)
    return 0
