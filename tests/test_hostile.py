"""A hostile, careless user (issue 12): every case stays a regression test.

Run folders are evidence (nothing outside a finished run changes it), the cache proves what it
serves, the store's damage is one line with the recovery, and hostile input stays contained:
a one-line error with a non-zero exit, never a traceback, a run left ``running`` or a file
outside the runs folder.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fault_support import FAST, QUICK, TINY, check_guarantees, dead_owner, run_faulted, run_folder

from seglab import cache, cli, report
from seglab.artifacts import EXPLORATION, REDUCTION
from seglab.cli import main
from seglab.config import load_config, redact_uri
from seglab.errors import ConfigError, SeglabError
from seglab.paths import repo_root, resolve
from seglab.runfolder import RunFolder
from seglab.runner import run_pipeline
from seglab.tracking import leaderboard
from seglab.tracking.local import LocalStore
from seglab.tracking.sync import one_line

UMAP_FAST = ["reduce.n_epochs=10", "cluster.baselines=[]", "report.stability_draws=0"]


def _run(runs: Path, run_id: str, *overrides: str, fast: list[str] = FAST) -> int:
    argv = ["run", "--engine", "direct", "--params", TINY, "--runs-dir", str(runs),
            "--run-id", run_id]
    for override in [*fast, *overrides]:
        argv += ["--set", override]
    return main(argv)


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("seglab: error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors[0]


def _entry_file(runs: Path, stage: str, name: str) -> Path:
    (path,) = (runs / ".cache" / "entries" / stage).glob(f"*/*/{name}")
    return path


# -- 1. a changed cache file is never served ------------------------------------------------
def test_a_rewritten_entry_with_size_and_mtime_restored_is_a_miss(tmp_path):
    runs = tmp_path / "runs"
    assert _run(runs, "first") == 0
    assert _run(runs, "warm") == 0  # a hit: an inode-keyed memo of the hash would exist now
    expected = np.load(runs / "first" / "artifacts" / "embedding.npy")
    stored = _entry_file(runs, REDUCTION, "embedding.npy")
    facts = stored.stat()
    stored.chmod(0o644)
    original = stored.read_bytes()
    header = len(original) - np.load(stored).nbytes
    stored.write_bytes(original[:header] + bytes(len(original) - header))  # all-zero embedding
    os.utime(stored, ns=(facts.st_atime_ns, facts.st_mtime_ns))
    assert stored.stat().st_size == facts.st_size

    assert _run(runs, "second") == 0
    manifest = json.loads((runs / "second" / "manifest.json").read_text())
    assert manifest["cache"][REDUCTION]["hit"] is False
    assert manifest["cache"][EXPLORATION]["hit"] is True
    served = np.load(runs / "second" / "artifacts" / "embedding.npy")
    assert np.array_equal(served, expected) and np.abs(served).sum() > 0


def test_a_changed_data_file_with_size_and_mtime_restored_changes_the_key(tmp_path):
    table = tmp_path / "customers.csv"
    frame = pd.read_parquet(resolve("tests/data/tiny_customers.parquet")).head(300)
    frame.to_csv(table, index=False)
    store = cache.StageCache(tmp_path / "cache")
    before = store.key(EXPLORATION, {"data": table})
    facts = table.stat()
    text = table.read_text()
    table.write_text(text.replace("web", "wob", 1))  # same size
    os.utime(table, ns=(facts.st_atime_ns, facts.st_mtime_ns))
    assert store.key(EXPLORATION, {"data": table}) != before


# -- 2. damaging the cache never rewrites a finished run ----------------------------------------
def test_truncating_an_entry_leaves_earlier_runs_whole_and_finished_runs_read_only(tmp_path):
    runs = tmp_path / "runs"
    assert _run(runs, "done") == 0
    kept = (runs / "done" / "artifacts" / "embedding.npy").read_bytes()
    stored = _entry_file(runs, REDUCTION, "embedding.npy")
    stored.chmod(0o644)
    with open(stored, "r+b") as handle:
        handle.truncate(10)
    assert (runs / "done" / "artifacts" / "embedding.npy").read_bytes() == kept
    assert (runs / "done" / "artifacts" / "embedding.npy").stat().st_nlink == 1
    files = [path for path in (runs / "done").rglob("*") if path.is_file()]
    assert files and all(not path.stat().st_mode & 0o222 for path in files)


def test_every_file_of_a_finished_run_has_one_mode_0444(tmp_path):
    """Atomic writes (manifest, metrics, report, artifacts) were 0400 while figures were 0444."""
    runs = tmp_path / "runs"
    previous = os.umask(0o022)
    try:
        assert _run(runs, "done", fast=QUICK) == 0
        assert main(["report", str(runs / "done")]) == 0  # the one rewrite of a finished run
    finally:
        os.umask(previous)
    modes = {str(path.relative_to(runs / "done")): oct(path.stat().st_mode & 0o777)
             for path in (runs / "done").rglob("*") if path.is_file()}
    assert {"report.html", "manifest.json", "metrics.json", "figures/embedding.png",
            "artifacts/features.npy"} <= set(modes)
    assert set(modes.values()) == {"0o444"}, modes


def test_a_finished_run_refuses_a_notebook_rerun_in_place(tmp_path):
    from seglab.stages import open_run

    runs = tmp_path / "runs"
    assert _run(runs, "done") == 0
    with pytest.raises(SeglabError, match="finished run"):
        open_run(str(runs / "done"))



def test_a_killed_run_refuses_a_notebook_rerun_in_place_before_anything_settled_it(tmp_path):
    from seglab.stages import open_run

    folder = RunFolder(tmp_path / "runs" / "killed").create()
    folder.write_json(folder.manifest, dead_owner())  # killed during 04: nothing settled it yet
    before = sorted(path for path in folder.path.rglob("*") if path.is_file())
    manifest = folder.manifest.read_bytes()
    with pytest.raises(SeglabError, match="finished run"):
        open_run(str(folder.path), cluster={}, metrics={})
    assert sorted(path for path in folder.path.rglob("*") if path.is_file()) == before
    assert folder.manifest.read_bytes() == manifest

# -- 3. a damaged store: one line, a recovery, and no run that cannot be recorded -----------------
def _damage_pages(database: Path) -> None:
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(database, "r+b") as handle:  # header page intact, the b-tree pages garbage
        handle.seek(page)
        handle.write(b"\xa5" * (database.stat().st_size - page))


def test_a_damaged_store_is_one_line_and_recovered_from_the_run_folders(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert _run(runs, "kept", "experiment=hostile") == 0
    before = leaderboard(runs)
    _damage_pages(runs / "seglab.db")
    capsys.readouterr()

    assert main(["runs", "--runs-dir", str(runs)]) == 2
    assert "seglab store recover" in _one_line_error(capsys)
    assert _run(runs, "refused") == 2
    assert "seglab store recover" in _one_line_error(capsys)
    assert not (runs / "refused").exists(), "a run the store cannot record never starts"
    assert main(["store", "check", "--runs-dir", str(runs)]) == 2
    _one_line_error(capsys)

    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    assert "from 1 run folders" in capsys.readouterr().out
    assert list(runs.glob("seglab.db.before-recover-*")), "the damaged file is kept"
    assert main(["store", "check", "--runs-dir", str(runs)]) == 0
    after = leaderboard(runs)
    columns = [column for column in before.columns
               if column.startswith(("params.", "metrics.", "tags."))]
    assert set(columns) <= set(after.columns)
    row, again = before.iloc[0], after.iloc[0]
    assert (again["trial"], again["experiment"], again["status"]) == ("kept", "hostile", "completed")
    for column in columns:
        assert str(again[column]) == str(row[column]), column
    assert abs(again["seconds"] - row["seconds"]) < 2.0
    record = LocalStore(runs).record("kept")
    assert {artifact.name for artifact in record.summary.artifacts} >= {
        "metrics.json", "labels.parquet", "report.html", "artifacts/embedding.npy"}
    assert [component.name for component in record.components][:2] == [
        "00_kernel_setup", "01_exploration"]


# -- 4. run ids stay inside the runs folder --------------------------------------------------------
@pytest.mark.parametrize("run_id", ["../../escaped", "ABSOLUTE", "..", "a/b", ".hidden"])
def test_run_ids_never_leave_the_runs_folder(tmp_path, capsys, run_id):
    runs = tmp_path / "deep" / "runs"
    absolute = tmp_path / "absolute-run"
    assert _run(runs, str(absolute) if run_id == "ABSOLUTE" else run_id) == 2
    assert "plain folder name" in _one_line_error(capsys)
    assert not (tmp_path / "escaped").exists() and not absolute.exists()
    assert not runs.exists() or not any(runs.iterdir())


def test_report_takes_run_ids_only_inside_the_runs_folder(tmp_path, capsys):
    assert main(["report", "../../no-such-run", "--runs-dir", str(tmp_path / "runs")]) == 2
    assert "plain folder name" in _one_line_error(capsys)


# -- 5. a killed run's folder tells the truth on its own ---------------------------------------------
def _start_and_signal(tmp_path: Path, sig: signal.Signals) -> tuple[Path, int]:
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "seglab", "run", "--engine", "direct", "--params", TINY,
            "--runs-dir", str(runs), "--run-id", "victim", "--set", "cluster.baselines=[]"]
    process = subprocess.Popen(argv, cwd=repo_root(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env={**os.environ, "TQDM_DISABLE": "1"})
    features = runs / "victim" / "artifacts" / "features.npy"
    deadline = time.monotonic() + 120
    while not features.exists():  # then UMAP runs for seconds: the run is mid-way
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.1)
    process.send_signal(sig)
    process.communicate(timeout=120)
    return runs / "victim", process.returncode


@pytest.mark.slow
def test_sigkill_leaves_a_folder_that_reads_interrupted(tmp_path, capsys):
    folder, code = _start_and_signal(tmp_path, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert json.loads((folder / "manifest.json").read_text())["status"] == "running"
    twin = folder.parent / "twin"  # the same killed run, settled by `seglab runs` instead
    shutil.copytree(folder, twin)
    assert main(["runs", "--runs-dir", str(folder.parent)]) == 0
    assert json.loads((folder / "manifest.json").read_text())["status"] == "interrupted"
    shutil.rmtree(folder)
    twin.rename(folder)
    assert main(["report", str(folder)]) == 0
    assert "(run interrupted)" in capsys.readouterr().out
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["ended_at"]
    assert "interrupted" in (folder / "report.html").read_text()
    assert leaderboard(folder.parent).loc[0, "status"] == "interrupted"


@pytest.mark.slow
def test_sigterm_is_recorded_as_interrupted_by_the_run_itself(tmp_path):
    folder, code = _start_and_signal(tmp_path, signal.SIGTERM)
    assert code == 130
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert "SIGTERM" in manifest["error"]
    assert LocalStore(folder.parent).record("victim").summary.status == "interrupted"


def test_a_full_disk_is_one_line_the_folder_frozen_and_the_store_recovered(tmp_path):
    """``ulimit -f 200``: the store's WAL cannot grow past 200 KB, as on a full disk."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200 * 1024, 200 * 1024))

    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "seglab", "run", "--engine", "direct", "--params", TINY,
            "--runs-dir", str(runs), "--run-id", "full"] + [part for item in FAST for part in ("--set", item)]
    done = subprocess.run(argv, cwd=repo_root(), capture_output=True, text=True, timeout=300,
                          preexec_fn=limit, env={**os.environ, "TQDM_DISABLE": "1"})
    errors = [line for line in done.stderr.splitlines() if line.startswith("seglab: error:")]
    assert done.returncode != 0 and len(errors) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "disk I/O error" in errors[0] and "free space, then run `seglab store recover`" in errors[0]
    folder = runs / "full"
    assert json.loads((folder / "manifest.json").read_text())["status"] == "failed"
    writable = [path for path in folder.rglob("*") if path.is_file() and path.stat().st_mode & 0o222]
    assert writable == []
    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    assert leaderboard(runs).loc[0, "status"] == "failed"


@pytest.mark.parametrize("error", [OSError(errno.ENOSPC, "No space left on device", "r/report.html"),
                                   OSError(errno.EFBIG, "File too large", "r/labels.parquet")])
def test_a_file_that_cannot_be_written_is_one_line_naming_it(monkeypatch, capsys, error):
    def fail(args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "_report", fail)
    assert main(["report", "r"]) == 2
    line = _one_line_error(capsys)
    assert f"cannot write {error.filename} ({error.strerror})" in line and "free space" in line


@pytest.mark.slow
def test_ctrl_c_is_one_line_without_the_kernels_traceback(tmp_path):
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "seglab", "run", "--params", TINY, "--runs-dir", str(runs),
            "--run-id", "stopped", "--set", "cluster.baselines=[]"]
    process = subprocess.Popen(  # its own group, SIGINT handled as a terminal's Ctrl-C is
        argv, cwd=repo_root(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True, env={**os.environ, "TQDM_DISABLE": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    features = runs / "stopped" / "artifacts" / "features.npy"
    deadline = time.monotonic() + 180
    while not features.exists():  # notebook 01 is still finishing its cell
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "ZMQError" not in err, err
    assert err.strip().splitlines()[-1] == "seglab: interrupted"
    assert json.loads((runs / "stopped" / "manifest.json").read_text())["status"] == "interrupted"


def test_a_dead_owner_reads_interrupted_without_the_store(tmp_path):
    folder = RunFolder(tmp_path / "runs" / "ghost").create()
    folder.write_json(folder.manifest, dead_owner())
    assert folder.settle() == "interrupted"
    assert folder.read_json(folder.manifest)["status"] == "interrupted"


# -- 6. the one-hot mapping is data, never parsed from column names --------------------------------
def test_numeric_columns_named_with_equals_are_not_one_hot_levels(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.read_parquet(resolve("tests/data/tiny_customers.parquet")).head(400)
    frame["ratio=x"] = rng.integers(15, 30, len(frame)).astype(float)  # numeric, '=' in its name
    table = tmp_path / "customers.parquet"
    frame.to_parquet(table)
    runs = tmp_path / "runs"
    assert _run(runs, "eq", f"data.path={table}", "features.isolation_threshold=null") == 0
    folder = RunFolder(runs / "eq")
    cards = report.report_context(folder)["cards"]
    assert cards
    for shown in cards:
        for mix in shown["card"].mix:
            assert mix.column != "ratio"
            assert all(0.0 <= level.share <= 1.0 for level in mix.levels), mix
    mapping = json.loads(folder.artifact("categorical.json").read_text())
    assert "ratio" not in mapping and "ratio=x" not in str(mapping)
    assert mapping["channel"] == ["channel=web", "channel=store", "channel=app"]


def test_columns_named_with_dollars_are_no_mathtext_and_the_run_completes(tmp_path):
    frame = pd.read_parquet(resolve("tests/data/tiny_customers.parquet")).head(400)
    hostile = ["cost in $\\frac{a}{$", "$x$", "$\\$"]
    frame = frame.rename(columns=dict(zip(["spend_total", "spend_12m", "avg_order_value"], hostile,
                                          strict=True)))  # the most distinctive: drawn in 05
    table = tmp_path / "customers.parquet"
    frame.to_parquet(table)
    runs = tmp_path / "runs"
    assert _run(runs, "dollars", f"data.path={table}") == 0
    profiled = pd.read_parquet(RunFolder(runs / "dollars").artifact("profile_table.parquet")).columns
    assert set(hostile) <= set(profiled)


def test_a_parquet_table_with_list_and_struct_columns_runs_without_them(tmp_path):
    frame = pa.Table.from_pandas(pd.read_parquet(resolve("tests/data/tiny_customers.parquet")).head(400))
    frame = frame.append_column("tags", pa.array([["a", "b"], None] * 200))
    frame = frame.append_column("address", pa.array([{"city": "Köln"}, None] * 200))
    table = tmp_path / "nested.parquet"
    pq.write_table(frame, table)
    runs = tmp_path / "runs"
    assert _run(runs, "nested", f"data.path={table}") == 0
    found = json.loads(RunFolder(runs / "nested").artifact("features.json").read_text())["data"]
    assert {"tags", "address"} <= {item["column"] for item in found["findings"]
                                   if item["treatment"] == "dropped column"}


# -- 7. an unwritable cache folder: the run goes on, with one warning --------------------------------
def test_an_unwritable_cache_folder_warns_once_and_the_run_goes_on(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(cache.ENV_DIR, str(blocker / "cache"))
    monkeypatch.setattr(cache, "_UNWRITABLE", set(), raising=False)
    config = load_config(resolve(TINY), overrides=FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_pipeline(config, runs_dir=tmp_path / "runs", engine="direct", echo=lambda _: None)
    assert result.ok, result.message
    about_cache = [str(item.message) for item in caught if "stage cache" in str(item.message)]
    assert len(about_cache) == 1 and "cannot be written" in about_cache[0]


# -- 8. CSV exports never carry a formula ------------------------------------------------------------
def test_csv_cells_that_start_like_a_formula_are_neutralised(tmp_path, capsys):
    store = LocalStore(tmp_path)
    names = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "plain"]
    for index, name in enumerate(names):
        store.start_trial(name, f"t{index}", None)
        store.log_metrics(f"t{index}", "", {"eps": -0.5}, 0)
        store.end(f"t{index}", "", "completed")
    store.close()
    assert main(["runs", "--runs-dir", str(tmp_path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    experiments = sorted(row["experiment"] for row in rows)
    assert experiments == sorted(["'" + name for name in names[:4]] + ["plain"])
    assert {row["metrics.eps"] for row in rows} == {"-0.5"}, "numbers stay numbers"


def test_csv_cells_with_whitespace_before_a_formula_are_neutralised(tmp_path, capsys):
    store = LocalStore(tmp_path)
    names = [" =cmd|' /C calc'!A0", "\n+1+1", "\u00a0@SUM(A1)", "  plain"]
    for index, name in enumerate(names):
        store.start_trial(name, f"t{index}", None)
        store.end(f"t{index}", "", "completed")
    store.close()
    assert main(["runs", "--runs-dir", str(tmp_path), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    expected = ["'" + name for name in names[:3]] + ["  plain"]
    assert sorted(row["experiment"] for row in rows) == sorted(expected)


# -- 9. validation gaps ------------------------------------------------------------------------------
@pytest.mark.parametrize(("override", "named"), [
    ("seed=1099511627776", "seed"),
    ("cluster.eps=.inf", "cluster.eps"),
    ("metrics.confidence=.nan", "metrics.confidence"),
])
def test_impossible_values_are_config_errors(override, named):
    with pytest.raises(ConfigError, match=named):
        load_config(resolve(TINY), overrides=[override])


def test_a_bad_set_is_blamed_on_the_set_not_the_file(tmp_path, capsys):
    assert _run(tmp_path / "runs", "x", "cluster.epsilon=0.3") == 2
    line = _one_line_error(capsys)
    assert "--set cluster.epsilon=0.3" in line and "tiny.yaml" not in line


def test_a_two_row_table_is_a_data_error(tmp_path, capsys):
    table = tmp_path / "two.csv"
    pd.DataFrame({"customer_id": [1, 2], "a": [1.0, 2.0], "b": [3.0, 1.0], "c": [0.5, 0.7]}).to_csv(
        table, index=False)
    code = _run(tmp_path / "runs", "two", f"data.path={table}", "data.label_column=null",
                fast=UMAP_FAST)
    assert code == 1
    line = _one_line_error(capsys)
    assert "DataError" in line and "too few" in line and "n_neighbors" not in line


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["device", "fifo", "missing", "folder"])
def test_a_table_that_is_no_regular_file_fails_before_any_work(tmp_path, capsys, kind):
    path = {"device": Path("/dev/zero"), "fifo": tmp_path / "pipe.csv",
            "missing": tmp_path / "absent.parquet", "folder": tmp_path / "dir.csv"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    if kind == "folder":
        path.mkdir()
    runs = tmp_path / "runs"
    main(["run", "--engine", "notebooks", "--params", TINY, "--runs-dir", str(runs),
          "--data", str(path)])
    line = _one_line_error(capsys)
    assert str(path) in line
    assert not runs.exists() or not [item for item in runs.iterdir() if item.is_dir()]


@pytest.mark.parametrize("content", ["[1, 2]", "\"text\"", "{broken", None])
def test_report_refuses_folders_that_are_not_runs(tmp_path, capsys, content):
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    if content is not None:
        (folder / "metrics.json").write_text(content)
        (folder / "manifest.json").write_text("{}")
    assert main(["report", str(folder)]) == 2
    _one_line_error(capsys)
    assert not (folder / "report.html").exists()


def test_runs_output_to_a_bad_path_and_a_negative_limit(tmp_path, capsys):
    LocalStore(tmp_path).close()
    assert main(["runs", "--runs-dir", str(tmp_path), "-o", str(tmp_path / "no" / "such" / "x.csv")]) == 2
    assert "--output" in _one_line_error(capsys)
    with pytest.raises(SystemExit) as stopped:
        main(["runs", "--runs-dir", str(tmp_path), "--limit", "-1"])
    assert stopped.value.code == 2
    assert "at least 1" in capsys.readouterr().err


def test_leftover_staging_folders_are_shown_and_cleaned(tmp_path, capsys):
    store = cache.StageCache(tmp_path / "runs" / ".cache")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    leftover = store.root / "staging" / f"reduce-0123456789ab@{os.uname().nodename}@{dead}@x1"
    leftover.mkdir(parents=True)
    (leftover / "embedding.npy").write_bytes(b"half a file")
    mine = store.root / "staging" / f"reduce-0123456789ab@{os.uname().nodename}@{os.getpid()}@x2"
    mine.mkdir()
    assert store.leftovers() == [leftover]
    assert main(["cache", "list", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "1 staging folders left by killed processes" in capsys.readouterr().err
    work = tmp_path / "work"
    work.mkdir()
    store.fetch_or_compute("demo", store.key("demo", {}), work, ["a.json"],
                           lambda: (work / "a.json").write_text("{}"))
    assert not leftover.exists() and mine.exists(), "a live writer's folder is left alone"


# -- 10. the MLflow mirror's messages and parameters ---------------------------------------------------
def test_credentials_in_a_tracking_uri_are_never_recorded(tmp_path):
    runs = tmp_path / "runs"
    assert _run(runs, "secret", "tracking.mlflow_uri=https://alice:s3cret@mlflow.example/x") == 0
    assert "s3cret" not in (runs / "secret" / "params.yaml").read_text()
    params = LocalStore(runs).record("secret").summary.params
    assert params["tracking.mlflow_uri"] == "https://***@mlflow.example/x"
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert redact_uri("arn:aws:sagemaker:us-east-1:1:mlflow-tracking-server/a@b") == (
        "arn:aws:sagemaker:us-east-1:1:mlflow-tracking-server/a@b")


def test_a_long_error_keeps_its_root_cause():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as cause:
            raise RuntimeError("HTTPConnectionPool(host='127.0.0.1'): Max retries exceeded with "
                               "url: /api/2.0/mlflow/" + "x" * 400) from cause
    except RuntimeError as exc:
        line = one_line(exc)
    assert len(line) <= 300 and "\n" not in line
    assert line.startswith("RuntimeError: HTTPConnectionPool")
    assert line.endswith("Connection refused")


@pytest.mark.parametrize("name", ["1", "@team", "&;<", "yes", "[a]"])
def test_flag_values_are_text_never_yaml(name):
    from seglab.cli import build_parser, run_overrides

    args = build_parser().parse_args(["run", f"--experiment={name}", f"--data={name}.csv"])
    config = load_config(resolve(TINY), overrides=run_overrides(args))
    assert config.experiment == name and config.data.path == f"{name}.csv"


# -- 11. recovery from hostile folders: nothing written outside, nothing lost -----------------------
def test_recover_never_follows_a_link_out_of_the_runs_folder(tmp_path, capsys):
    runs = tmp_path / "runs"
    run_folder(runs / "kept")
    elsewhere = run_folder(tmp_path / "elsewhere" / "victim", **dead_owner())
    before = {path: path.read_bytes() for path in elsewhere.rglob("*") if path.is_file()}
    (runs / "linked").symlink_to(elsewhere, target_is_directory=True)
    capsys.readouterr()

    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    captured = capsys.readouterr()
    assert "from 1 run folders (1 skipped)" in captured.out
    assert "linked" in captured.err and "not followed" in captured.err and "Traceback" not in captured.err
    assert {path: path.read_bytes() for path in elsewhere.rglob("*") if path.is_file()} == before
    board = leaderboard(runs)
    assert board["trial"].tolist() == ["kept"]
    assert not board["run_dir"].astype(str).str.contains("elsewhere").any()


@pytest.mark.parametrize(("broken", "what"), [
    ("params.yaml", "cluster: [unclosed\n  eps: {"),
    ("manifest.json", {"pid": "abc"}),
    ("manifest.json", {"notebooks": [{"notebook": "00_kernel_setup.py", "seconds": "fast"}]}),
    ("manifest.json", {"pid_started": "yesterday"}),
], ids=["bad-yaml", "pid-abc", "seconds-fast", "pid-started-text"])
def test_recover_skips_a_malformed_folder_with_one_line_and_keeps_every_good_run(
        tmp_path, capsys, broken, what):
    runs = tmp_path / "runs"
    run_folder(runs / "kept")
    LocalStore(runs).close()  # an old store to move aside
    bad = (run_folder(runs / "bad", params=what) if broken == "params.yaml"
           else run_folder(runs / "bad", **what))
    capsys.readouterr()

    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    warnings_ = [line for line in captured.err.splitlines() if line.startswith("skipped")]
    assert len(warnings_) == 1 and str(bad) in warnings_[0] and "malformed" in warnings_[0], captured.err
    assert leaderboard(runs)["trial"].tolist() == ["kept"]
    assert len(list(runs.glob("seglab.db.before-recover-*"))) == 1


def test_a_recovery_that_fails_midway_loses_nothing_and_leaves_no_backup(tmp_path, monkeypatch):
    from seglab.tracking import recover as recovery

    runs = tmp_path / "runs"
    run_folder(runs / "kept")
    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    for backup in runs.glob("seglab.db.before-recover-*"):
        backup.unlink()
    run_folder(runs / "second")

    def crash(tracker, folder):
        if folder.run_id == "second":
            raise RuntimeError("the machine fell over")
        return restore(tracker, folder)

    restore = recovery._restore
    monkeypatch.setattr(recovery, "_restore", crash)
    for _retry in range(2):
        with pytest.raises(RuntimeError):
            recovery.recover(runs)
    assert leaderboard(runs)["trial"].tolist() == ["kept"], "the old store is still in place"
    assert not list(runs.glob("seglab.db.before-recover-*")), "no backup per failed try"
    assert [path.name for path in runs.iterdir() if path.name.startswith(".recover")] == []


def test_a_run_going_on_another_host_is_skipped_not_blocking(tmp_path, capsys):
    runs = tmp_path / "runs"
    run_folder(runs / "kept")
    run_folder(runs / "remote", status="running", host="elsewhere.example")
    capsys.readouterr()

    assert main(["store", "recover", "--runs-dir", str(runs)]) == 0
    captured = capsys.readouterr()
    assert "remote" in captured.err and "another host" not in captured.out
    assert "elsewhere.example" in captured.err
    assert leaderboard(runs)["trial"].tolist() == ["kept"]


# -- 12. a kill while the run ends: manifest and store agree ------------------------------------------
@pytest.mark.slow
def test_a_kill_while_the_run_ends_leaves_manifest_and_store_agreeing(tmp_path):
    points = ["kill:before-final-manifest", "kill:after-final-manifest", "kill:store-end"]
    for point, run in run_faulted(tmp_path, points).items():
        assert run.code == -signal.SIGKILL, run.stderr
        row = check_guarantees(run.runs, ["victim"]).iloc[0]  # a reader settles both
        assert row["status"] == ("interrupted" if point == "kill:before-final-manifest"
                                 else "completed"), point
        if row["status"] == "completed":
            assert row["metrics.n_rows"] > 0
