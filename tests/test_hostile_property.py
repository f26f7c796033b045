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


# -- YAML parameters and column names (issue 23) ----------------------------------------------
HOSTILE_TEXT = st.one_of(
    st.just(MARKUP),
    st.just("cost in $\\frac{a}{$"),
    st.text(st.sampled_from([*NAME_PARTS, "$", "\\", "\x00", "\x07", "\t", "\n", "\r", "\x1b",
                             "\u202e", "*", "&", "!", "%", ":", "#", "{", "}", "[", "]"]),
            min_size=1, max_size=12),
    st.builds(lambda text, n: text * n, st.sampled_from(["=$<b>", "a\x01", "é"]),
              st.integers(100, 5000)),  # very long
)
KNOWN_KEYS = ["experiment", "seed", "backend", "data.path", "data.id_column", "data.label_column",
              "features.count_columns", "reduce.method", "cluster.eps", "cluster.baselines",
              "report.title", "tracking.backend", "tracking.mlflow_uri"]


@st.composite
def parameter_files(draw: st.DrawFn) -> str:
    """A parameters file: hostile values under known keys, written safely, pasted raw, or
    reached through YAML aliases."""
    import yaml

    keys = draw(st.lists(st.sampled_from(KNOWN_KEYS), min_size=1, max_size=4, unique=True))
    values = [draw(st.one_of(HOSTILE_TEXT, st.lists(HOSTILE_TEXT, max_size=3),
                             st.floats(allow_nan=True), st.integers())) for _ in keys]
    how = draw(st.sampled_from(["dumped", "raw", "alias"]))
    if how == "dumped":
        nested: dict = {}
        for key, value in zip(keys, values, strict=True):
            *sections, last = key.split(".")
            node = nested
            for section in sections:
                node = node.setdefault(section, {})
            node[last] = value
        return yaml.safe_dump(nested, allow_unicode=draw(st.booleans()))
    if how == "raw":
        return "".join(f"{key.split('.')[0]}:\n  {key.split('.')[-1]}: {value}\n" if "." in key
                       else f"{key}: {value}\n" for key, value in zip(keys, values, strict=True))
    anchors = "".join(f"a{i}: &a{i} {json.dumps(value) if not isinstance(value, float) else 1.0}\n"
                      for i, value in enumerate(values))
    depth = draw(st.integers(1, 6))
    lines = [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}' if level else '*a0'] * 4)}]"
             for level in range(depth)]
    key = keys[0]
    target = draw(st.sampled_from(["*a0", f"*l{depth - 1}"]))
    body = f"{key.split('.')[0]}:\n  {key.split('.')[-1]}: {target}\n" if "." in key else \
        f"{key}: {target}\n"
    return anchors + "\n".join(lines) + "\n" + body


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=parameter_files())
def test_hostile_yaml_parameters_are_a_config_or_one_short_config_error(text):
    from seglab.config import Config, load_config
    from seglab.errors import ConfigError

    with tempfile.TemporaryDirectory(prefix="seglab-yaml-") as scratch:
        path = Path(scratch) / "params.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            config = load_config(path)
        except ConfigError as exc:
            message = str(exc)
            event("ConfigError")
            assert "\n" not in message and "\r" not in message, message
            assert len(message) <= 300, message
            return
    event("valid")
    assert isinstance(config, Config)


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hostile=st.lists(HOSTILE_TEXT, min_size=1, max_size=3), fmt=st.sampled_from(["csv", "parquet"]))
def test_hostile_column_names_are_kept_through_loading_and_features_or_one_clear_error(hostile, fmt):
    from seglab.config import load_config
    from seglab.errors import SeglabError
    from seglab.paths import resolve
    from seglab.runfolder import RunFolder
    from seglab.stages import explore

    frame = pd.read_parquet(resolve("tests/data/tiny_customers.parquet")).head(120)
    numeric = ["spend_total", "spend_12m", "avg_order_value"][:len(hostile)]
    names = [f"{name[:2000]}{index}" for index, name in enumerate(hostile)]
    frame = frame.rename(columns=dict(zip(numeric, names, strict=True)))
    with tempfile.TemporaryDirectory(prefix="seglab-columns-") as scratch:
        path = Path(scratch) / f"table.{fmt}"
        frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path, index=False)
        config = load_config(resolve("params/tiny.yaml"), overrides=[
            f"data.path={json.dumps(str(path))}", "features.stats_sample=100"])
        folder = RunFolder(Path(scratch) / "runs" / "columns").create()
        folder.write_json(folder.manifest, {"status": "running", "pid": os.getpid()})
        try:
            explore(folder, config)
        except SeglabError as exc:
            event("clear error")
            assert "\n" not in str(exc) and len(str(exc)) <= 300, str(exc)
            return
        event("kept")
        profiled = pd.read_parquet(folder.artifact("profile_table.parquet")).columns
        assert set(names) <= set(profiled), sorted(set(names) - set(profiled))
