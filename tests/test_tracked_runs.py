"""`seglab run` records every run as a trial: locally, and mirrored to SageMaker under moto."""

import json
from pathlib import Path

import boto3
import pytest

from seglab.cli import main
from seglab.tracking import leaderboard

moto = pytest.importorskip("moto", reason="moto is in the dev extra: pip install -e '.[dev]'")
ROOT = Path(__file__).resolve().parents[1]
TINY = str(ROOT / "params" / "tiny.yaml")


def _run(runs: Path, *extra: str) -> int:
    return main(["run", "--params", TINY, "--runs-dir", str(runs), "--engine", "direct", *extra])


@pytest.mark.slow
def test_two_runs_on_the_leaderboard_with_params_and_metrics(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(runs) == 0
    assert _run(runs, "--set", "cluster.eps=0.3") == 0
    capsys.readouterr()
    assert main(["runs", "--runs-dir", str(runs), "--sort", "silhouette", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and {row["status"] for row in rows} == {"completed"}
    assert rows[0]["metrics.silhouette"] >= rows[1]["metrics.silhouette"]
    assert {row.get("params.cluster.eps") for row in rows} >= {0.3}
    board = leaderboard(runs, experiment="seglab-tiny")
    folders = {Path(row) for row in board["run_dir"]}
    assert folders == set(runs.glob("2*"))
    assert set(board["tags.engine"]) == {"direct"} and board["tags.data_fingerprint"].notna().all()


@pytest.mark.slow
def test_a_failed_run_is_a_failed_trial(tmp_path):
    runs = tmp_path / "runs"
    broken = tmp_path / "broken.csv"
    broken.write_text("customer_id,segment,spend\n1,0,3.0\n")
    assert _run(runs, "--data", str(broken)) == 1
    (row,) = leaderboard(runs).to_dict(orient="records")
    assert row["status"] == "failed"


@pytest.fixture
def aws(aws_env):
    with moto.mock_aws():
        yield boto3.client("sagemaker")


@pytest.mark.slow
def test_seglab_run_with_sagemaker_tracking_shows_the_trial(tmp_path, aws):
    runs = tmp_path / "runs"
    assert _run(runs, "--tracking", "sagemaker") == 0
    (folder,) = runs.glob("2*")
    trials = aws.list_trials(ExperimentName="seglab-tiny")["TrialSummaries"]
    assert len(trials) == 1 and folder.name.lower() in trials[0]["TrialName"]
    components = aws.list_trial_components(TrialName=trials[0]["TrialName"])["TrialComponentSummaries"]
    names = {c["TrialComponentName"] for c in components}
    assert any(name.endswith("04-clustering") for name in names), names
    run_component = next(name for name in names if name.endswith("-run"))
    described = aws.describe_trial_component(TrialComponentName=run_component)
    assert described["Status"]["PrimaryStatus"] == "Completed"
    assert "cluster.eps" in {key.replace("_", ".") for key in described["Parameters"]} | set(
        described["Parameters"])
    board = leaderboard(runs)
    assert board.loc[0, "backend"] == "local+sagemaker"
