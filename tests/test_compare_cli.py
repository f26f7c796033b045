"""`seglab compare RUN_A RUN_B` through the CLI: the comparison folder, lineage, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jupytext
import pandas as pd
import pytest
from weekly_support import make_run, table_for, two_weeks

from seglab import compare_runner
from seglab.cli import main
from seglab.config import CompareConfig, Config
from seglab.errors import SeglabError
from seglab.runner import COMPARE_NOTEBOOK, declared_parameters, notebook_sources
from seglab.tracking import tracker as tracker_module
from seglab.tracking.leaderboard import leaderboard, table_columns
from seglab.tracking.records import TrialRecord
from seglab.tracking.recover import recover
from seglab.weekly import compare_runs, read_run

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_KEYS = {"run_a", "run_b", "shared_customers", "new_customers", "lost_customers",
                 "moved_share", "transitions", "migration", "psi"}


def seglab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seglab", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def weeks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    weeks = two_weeks()
    root = tmp_path_factory.mktemp("runs")
    make_run(root / "week-a", table_for(weeks.a, seed=1), weeks.a)
    make_run(root / "week-b", table_for(weeks.b, seed=2, shift=1.0), weeks.b)
    return root


def _snapshot(folder: Path) -> dict[str, tuple[bytes, float]]:
    return {str(p): (p.read_bytes(), p.stat().st_mtime) for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_compare_writes_a_tracked_comparison_folder(weeks_dir: Path) -> None:
    before = _snapshot(weeks_dir / "week-a") | _snapshot(weeks_dir / "week-b")
    done = seglab("compare", "week-a", "week-b", "--runs-dir", str(weeks_dir),
                  "--out", str(weeks_dir / "weekly"), "--set", "tracking.backend=local")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "2 of 6 segments held" in done.stdout
    out = weeks_dir / "weekly"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "compare" and manifest["status"] == "completed"
    assert (manifest["run_a"]["run_id"], manifest["run_b"]["run_id"]) == ("week-a", "week-b")
    result = json.loads((out / "compare.json").read_text())
    assert set(result) >= CONTRACT_KEYS and result["summary"][0].startswith("2 of 6 segments held")
    assert (out / "compare.html").is_file() and (out / "notebooks" / "06_weekly_update.ipynb").is_file()
    assert {p.name for p in (out / "figures").iterdir()} == {"alluvial.png", "migration.png"}
    assert all(not p.stat().st_mode & 0o222 for p in out.rglob("*") if p.is_file()), "frozen"
    assert _snapshot(weeks_dir / "week-a") | _snapshot(weeks_dir / "week-b") == before
    board = seglab("runs", "--runs-dir", str(weeks_dir), "--experiment", "seglab-compare",
                   "--format", "json")
    (row,) = json.loads(board.stdout)
    assert row["params.compare.run_a"] == "week-a" and row["params.compare.run_b"] == "week-b"
    assert row["metrics.moved_share"] == pytest.approx(result["moved_share"])
    table = seglab("runs", "--runs-dir", str(weeks_dir), "--experiment", "seglab-compare")
    assert "week-a" in table.stdout and "week-b" in table.stdout


def _error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["compare", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_folders_that_are_not_runs_are_one_line(tmp_path: Path, weeks_dir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    run = str(weeks_dir / "week-a")
    assert "is not a run folder" in _error(capsys, str(tmp_path), run, "--runs-dir", str(tmp_path))
    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for name in ("params.yaml", "manifest.json", "metrics.json"):
        (unlabelled / name).write_bytes((weeks_dir / "week-a" / name).read_bytes())
    assert "has no labels.parquet" in _error(capsys, run, str(unlabelled), "--runs-dir", str(tmp_path))
    assert list(tmp_path.glob("*compare*")) == []


def test_tables_without_a_common_column_are_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    weeks = two_weeks()
    run_a = make_run(tmp_path / "a", table_for(weeks.a, seed=1), weeks.a)
    other = pd.DataFrame({"customer_id": weeks.b.index, "age": 30.0, "tenure": 2.0})
    run_b = make_run(tmp_path / "b", other, weeks.b)
    err = _error(capsys, str(run_a), str(run_b), "--runs-dir", str(tmp_path))
    assert "share no column (A: spend, visits, channel; B: age, tenure)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "a.parquet", "b", "b.parquet"]


def test_an_existing_out_folder_is_refused(weeks_dir: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "week-a", "week-b", "--runs-dir", str(weeks_dir), "--out", str(tmp_path))
    assert "already exists" in err
    inside = str(weeks_dir / "week-b" / "weekly")
    err = _error(capsys, "week-a", "week-b", "--runs-dir", str(weeks_dir), "--out", inside)
    assert "inside run week-b, which is only read" in err


def test_notebook_06_is_not_a_stage_of_a_run() -> None:
    source = ROOT / "notebooks" / COMPARE_NOTEBOOK
    assert source.is_file() and source not in notebook_sources(ROOT / "notebooks")
    assert declared_parameters(jupytext.read(source)) == {"previous_run", "current_run", "out_dir",
                                                          "compare"}


def test_the_comparison_trial_names_both_runs_locally_and_in_the_mirror(
        weeks_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pushed: list[TrialRecord] = []

    class Mirror:
        name, target = "mlflow", "http://127.0.0.1:1"

        def push(self, record: TrialRecord) -> None:
            pushed.append(record)

    monkeypatch.setattr(tracker_module, "make_remote", lambda *args: Mirror())
    a, b = read_run(weeks_dir / "week-a"), read_run(weeks_dir / "week-b")
    folder = tmp_path / "compare-x"
    folder.mkdir()
    params, metrics = compare_runner.write_evidence(folder, "compare-x", a, b, Config(),
                                                    compare_runs(a, b, CompareConfig()), {})
    compare_runner._track(folder, "compare-x", params, metrics, Config(), tmp_path)
    (record,) = pushed
    assert record.experiment == compare_runner.EXPERIMENT
    assert record.summary.params["compare.run_a"] == "week-a"
    assert record.summary.params["compare.run_b"] == "week-b"
    assert record.summary.tags["kind"] == "compare"
    board = leaderboard(tmp_path)
    assert {"params.compare.run_a", "params.compare.run_b"} <= set(table_columns(board))
    recover(tmp_path)  # the store rebuilt from the folders keeps the lineage
    (row,) = leaderboard(tmp_path).to_dict(orient="records")
    assert (row["trial"], row["experiment"]) == ("compare-x", compare_runner.EXPERIMENT)
    assert row["params.compare.run_a"] == "week-a" and row["metrics.moved_share"] == metrics["moved_share"]
    with pytest.raises(SeglabError, match="is a comparison"):
        read_run(folder)
