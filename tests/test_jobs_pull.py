"""``seglab pull`` against moto's S3 (in-process): a hostile run folder on S3 never writes
outside ``--runs-dir`` and records nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from seglab.cli import main
from seglab.jobs import common
from seglab.jobs.common import Clients, component_name

moto = pytest.importorskip("moto", reason="moto is in the dev extra: pip install -e '.[dev]'")

JOB = "hostile-job"
BUCKET = "seglab-jobs"


class OneComponent:
    """A SageMaker client that knows one job, whose ``run`` artifact is ``run_uri``."""

    def __init__(self, run_uri: str) -> None:
        self.run_uri = run_uri

    def describe_trial_component(self, TrialComponentName: str) -> dict[str, Any]:
        if TrialComponentName != component_name(JOB, "training"):
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "not found"}},
                              "DescribeTrialComponent")
        return {"TrialComponentName": TrialComponentName,
                "OutputArtifacts": {"run": {"Value": self.run_uri}}}


def _pull(monkeypatch: pytest.MonkeyPatch, runs: Path, run_uri: str, keys: dict[str, str]) -> int:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for key, text in keys.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=text.encode())
    aws = Clients(OneComponent(run_uri), None, s3, "us-east-1")
    monkeypatch.setattr(common, "clients", lambda: aws)
    return main(["pull", JOB, "--runs-dir", str(runs)])


MANIFEST = json.dumps({"run_id": "t1", "experiment": "e", "status": "completed"})


@pytest.mark.parametrize(("run_uri", "keys"), [
    (f"s3://{BUCKET}/p/e/t1/run/", {"p/e/t1/run/manifest.json": MANIFEST,
                                    "p/e/t1/run/../../../../escaped.txt": "x"}),
    (f"s3://{BUCKET}/p/e/t1/run/", {"p/e/t1/run/manifest.json": MANIFEST,
                                    "p/e/t1/run/figures/../../../escaped.txt": "x"}),
    (f"s3://{BUCKET}/p/../run/", {"p/../run/manifest.json": MANIFEST, "p/../run/escaped.txt": "x"}),
], ids=["dotdot-key", "dotdot-inside-key", "dotdot-trial"])
def test_a_hostile_s3_run_folder_is_one_line_and_writes_nothing_outside(
        aws_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        run_uri: str, keys: dict[str, str]) -> None:
    runs = tmp_path / "a" / "b" / "runs"
    with moto.mock_aws():
        code = _pull(monkeypatch, runs, run_uri, keys)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("seglab: error:")]
    assert len(errors) == 1 and "not pulled" in errors[0], err
    outside = [path for path in tmp_path.rglob("*") if path.is_file() and runs not in path.parents]
    assert outside == []
    assert not (runs / "t1").exists() and not (runs / "..").resolve().joinpath("manifest.json").exists()
    assert main(["runs", "--runs-dir", str(runs), "--format", "csv"]) == 0
    assert ".." not in capsys.readouterr().out
