"""Property: any table, however hostile, gives a completed run or a one-line error (issue 12).

Hypothesis generates tiny tables (random column types, names with markup and formula
characters, missing values, duplicate ids, tiny and wide shapes) and feeds each through
``seglab data check`` and ``seglab run --engine direct``. Every outcome must be a completed run
or exactly one ``seglab: error:`` line with a non-zero exit: never an exception out of
``main``, never a run left ``running``, never a file outside the runs folder, never a name
unescaped in the report or a formula in the CSV leaderboard. Bounded: a fixed number of
derandomised examples, about a minute.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from seglab.cli import main
from seglab.paths import repo_root
from seglab.runfolder import METRIC_KEYS
from seglab.tracking.leaderboard import FORMULA_STARTS

pytestmark = pytest.mark.slow

MARKUP = "<i>mark</i>"
NAME_PARTS = ["=", "+", "-", "@", "<", ">", "&", "\"", "'", ",", ";", " ", "é", "a", "b", "1", "_"]
RUN_OPTIONS = ["--set", "report.stability_draws=0", "--set", "cluster.baselines=[kmeans]",
               "--set", "reduce.n_epochs=10", "--set", "data.label_column=null",
               "--set", "features.stats_sample=100"]

names = st.one_of(
    st.just(MARKUP),
    st.text(st.sampled_from(NAME_PARTS), min_size=1, max_size=8),
)


@st.composite
def columns(draw: st.DrawFn, n_rows: int) -> list[object]:
    """One column: floats with gaps and infinities, integers, booleans, levels or junk text."""
    kind = draw(st.sampled_from(["float", "int", "bool", "level", "junk"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "float":
        values = rng.normal(size=n_rows).tolist()
        for index in draw(st.lists(st.integers(0, max(n_rows - 1, 0)), max_size=3)):
            if n_rows:
                values[index] = draw(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
        return values
    if kind == "int":
        return rng.integers(0, 5, n_rows).tolist()
    if kind == "bool":
        return rng.integers(0, 2, n_rows).astype(bool).tolist()
    levels = draw(st.lists(names, min_size=1, max_size=4))
    values = [levels[i] for i in rng.integers(0, len(levels), n_rows)]
    if kind == "junk" and n_rows:
        numbers = rng.normal(size=n_rows).round(2).astype(str).tolist()
        values = [numbers[i] if i % 5 else text for i, text in enumerate(values)]  # mostly numbers
    return values


@st.composite
def tables(draw: st.DrawFn) -> pd.DataFrame:
    """A tiny customer table: 0-40 rows, 0-12 feature columns, ids possibly repeated."""
    n_rows = draw(st.sampled_from([0, 1, 2, 3, 5, 12, 40]))
    n_columns = draw(st.integers(0, 12))
    frame = pd.DataFrame({"customer_id": list(range(n_rows))})
    if n_rows and draw(st.booleans()):
        frame.loc[n_rows - 1, "customer_id"] = 0  # a duplicate id
    for position in range(n_columns):
        name = f"{draw(names)}{position}"
        frame[name] = draw(columns(n_rows))
    return frame


def _entries(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _call(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)``: exit code, stdout, stderr; any exception escaping it fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _assert_outcome(code: int, err: str, allowed: set[int]) -> None:
    assert code in allowed, err
    assert "Traceback" not in err, err
    if code != 0:
        errors = [line for line in err.splitlines() if line.startswith("seglab: error:")]
        assert len(errors) == 1, err


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded, the example is printed
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(table=tables(), fmt=st.sampled_from(["csv", "parquet"]), experiment=names,
       method=st.sampled_from(["none", "umap"]))
def test_any_table_gives_a_completed_run_or_one_error_line(table, fmt, experiment, method):
    project_before = sorted(os.listdir(repo_root()))
    with tempfile.TemporaryDirectory(prefix="seglab-hostile-") as scratch:
        root = Path(scratch)
        path = root / f"table.{fmt}"
        if fmt == "csv":
            table.to_csv(path, index=False)
        else:
            table.astype({column: str for column in table.columns
                          if table[column].dtype == object}).to_parquet(path, index=False)
        code, out, err = _call(["data", "check", str(path)])
        if code == 1:  # the report itself lists what would stop a run
            assert "status: FAILED" in out and "Traceback" not in err, out + err
        else:
            _assert_outcome(code, err, {0, 2})

        runs = root / "runs"
        code, _out, err = _call(["run", "--engine", "direct", "--params", "params/tiny.yaml",
                                 "--data", str(path), "--runs-dir", str(runs),
                                 f"--experiment={experiment}", "--set",
                                 f"reduce.method={method}", *RUN_OPTIONS])
        _assert_outcome(code, err, {0, 1, 2})
        event(f"seglab run exit {code}")
        outside = {entry for entry in _entries(root) if entry.split(os.sep)[0] != "runs"}
        assert outside == {path.name}, f"files outside runs/: {outside}"
        folders = [item for item in runs.iterdir() if item.is_dir() and item.name != ".cache"] \
            if runs.exists() else []
        if code == 2:
            assert not folders, "refused before any work, so no run folder"
            return
        (folder,) = folders
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["status"] == ("completed" if code == 0 else "failed")
        if code == 0:
            metrics = json.loads((folder / "metrics.json").read_text())
            assert set(METRIC_KEYS) <= set(metrics)
            assert MARKUP not in (folder / "report.html").read_text()

        code, out, err = _call(["runs", "--runs-dir", str(runs), "--format", "csv"])
        _assert_outcome(code, err, {0})
        for row in csv.reader(io.StringIO(out)):
            assert not any(cell.startswith(FORMULA_STARTS) for cell in row if not _number(cell)), row
    assert sorted(os.listdir(repo_root())) == project_before
