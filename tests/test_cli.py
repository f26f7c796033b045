"""The command line: bad input gives one clear line and a non-zero exit; runs are recorded honestly."""

import json
from pathlib import Path

import pandas as pd
import pytest

from seglab.cli import main

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "params" / "tiny.yaml"


def _stderr_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    return err[-1]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["run", "--params", str(TINY), "--set", "cluster.epz=1"], "cluster.epz: unknown key"),
        (["run", "--params", str(TINY), "--set", "reduce.n_components=50"], "reduce.n_components"),
        (["run", "--params", "params/absent.yaml"], "parameters file not found"),
        (["run", "--params", str(TINY), "--kernel", "nokernel"], "kernel 'nokernel' is not registered"),
        (["data", "synth", "--rows", "0", "--out", "x.parquet"], "--rows must be a positive"),
        (["report", "no-such-run"], "is not a run folder"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(argv, named, capsys, tmp_path):
    code = main([*argv, "--runs-dir", str(tmp_path)] if argv[0] in {"run", "report"} else argv)
    assert code != 0
    line = _stderr_line(capsys)
    assert line.startswith("seglab: error:") and named in line
    assert not list(tmp_path.iterdir()), "nothing may be written before the input is valid"


def test_data_synth_and_check(tmp_path, capsys):
    table = tmp_path / "customers.csv"
    assert main(["data", "synth", "--rows", "300", "--seed", "1", "--out", str(table)]) == 0
    frame = pd.read_csv(table)
    assert len(frame) == 300 and {"customer_id", "segment"} <= set(frame.columns)
    capsys.readouterr()
    assert main(["data", "check", str(table), "--params", str(TINY)]) == 0
    assert "300" in capsys.readouterr().out


def test_data_check_reports_a_broken_table(tmp_path, capsys):
    table = tmp_path / "broken.csv"
    table.write_text("customer_id,spend\n")
    code = main(["data", "check", str(table), "--params", str(TINY), "--set", "data.label_column=null"])
    assert code != 0
    output = capsys.readouterr()
    assert "no rows" in output.out


def test_failing_notebook_marks_the_run_failed(tmp_path, capsys):
    broken = tmp_path / "broken.csv"
    broken.write_text("customer_id,segment,spend\n1,0,3.0\n")
    code = main(["run", "--params", str(TINY), "--data", str(broken), "--runs-dir", str(tmp_path / "runs")])
    assert code == 1
    line = _stderr_line(capsys)
    assert "01_exploration.py failed in cell" in line and "DataError" in line
    (folder,) = (tmp_path / "runs").glob("2*")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert [n["status"] for n in manifest["notebooks"]] == ["completed", "failed"]
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["n_clusters"] is None and "seconds_total" in metrics
