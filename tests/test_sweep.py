"""Sweeps: grid expansion and validation, the best rule, failing/re-run/interrupted trials, Dask."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from dask.distributed import LocalCluster

from seglab import stages
from seglab.artifacts import EXPLORATION, REDUCTION
from seglab.cache import StageCache
from seglab.cli import main
from seglab.errors import ConfigError
from seglab.paths import resolve
from seglab.sweep import expand, load_grid, parse_grid, parse_rule, plan_sweep, run_sweep, select_best
from seglab.sweep.execute import TrialOutcome, TrialTask
from seglab.sweep.grid import trial_names
from seglab.sweep.run import interleave_by_shared_stages, progress
from seglab.tracking import leaderboard

TINY = resolve("params/tiny.yaml")
FAST_BASE = {"reduce.method": "none", "cluster.algorithm": "dbscan", "cluster.baselines": [],
             "report.stability_draws": 0}


def _grid(tmp_path: Path, grid: dict, name: str = "t") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "base": FAST_BASE, "grid": grid}))
    return path


# -- grid ----------------------------------------------------------------------------------------
def test_grid_times_random_draws_with_readable_unique_names():
    spec = parse_grid({
        "grid": {"cluster.min_samples": [10, 20], "cluster.eps": [0.3]},
        "random": {"draws": 3, "seed": 1, "space": {
            "reduce.n_neighbors": [10, 50], "reduce.min_dist": {"log_uniform": [0.01, 0.5]},
            "cluster.algorithm": {"choice": ["dbscan", "hdbscan"]}}},
    }, "g.yaml", default_name="demo")
    trials = expand(spec)
    assert len(trials) == 6
    assert trials == expand(spec), "seeded draws are reproducible"
    assert all(10 <= t["reduce.n_neighbors"] <= 50 and isinstance(t["reduce.n_neighbors"], int)
               for t in trials)
    assert all(0.01 <= t["reduce.min_dist"] <= 0.5 for t in trials)
    names = trial_names("sweep-demo", trials)
    assert len(set(names)) == 6
    assert names[0].startswith("sweep-demo-ms10-eps0.3-nn")
    assert all(set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789.-_") for name in names)


def test_name_clashes_and_long_values_stay_unique_and_short():
    names = trial_names("sweep-x", [{"cluster.eps": 0.1, "eps.trim": 0.01},
                                    {"cluster.eps": 0.1, "eps.trim": 0.02}])
    assert names == ["sweep-x-eps0.1-trim0.01", "sweep-x-eps0.1-trim0.02"]
    clash = trial_names("sweep-x", [{"a.n_b": 1, "c.n_b": 2}])
    assert clash == ["sweep-x-a_n_b1-c_n_b2"]
    long = trial_names("sweep-x", [{"features.exclude": ["a" * 80, "b" * 80]}])
    assert len(long[0]) <= 120


@pytest.mark.parametrize(("raw", "named"), [
    ({"grid": {"cluster.eps": []}}, "grid.cluster.eps"),
    ({"grid": {"cluster.eps": [0.1]}, "sweep": 1}, "unknown top-level"),
    ({"name": "x"}, "nothing to sweep"),
    ({"random": {"draws": 0, "space": {"cluster.eps": [0.1, 0.2]}}}, "random.draws"),
    ({"random": {"draws": 2, "space": {"cluster.eps": {"normal": [0, 1]}}}}, "unknown distribution"),
    ({"random": {"draws": 2, "space": {"cluster.eps": [0.5, 0.1]}}}, "low < high"),
])
def test_bad_grid_files_name_the_key(raw, named):
    with pytest.raises(ConfigError, match=named):
        parse_grid(raw, "g.yaml")


def test_every_trial_is_validated_before_anything_runs(tmp_path):
    path = _grid(tmp_path, {"cluster.eps": [0.3, -1.0], "cluster.min_sample": [10]})
    with pytest.raises(ConfigError) as error:
        plan_sweep(load_grid(path), TINY)
    assert "cluster.min_sample: unknown key" in str(error.value)
    path = _grid(tmp_path, {"cluster.eps": [0.3, -1.0]})
    with pytest.raises(ConfigError, match=r"1 of 2 trials are invalid: cluster\.eps.*-1\.0"):
        plan_sweep(load_grid(path), TINY)
    assert main(["sweep", "--params", str(TINY), "--grid", str(path),
                 "--runs-dir", str(tmp_path / "runs")]) == 2
    assert not (tmp_path / "runs").exists()


def test_sweep_id_changes_with_the_base_params(tmp_path):
    spec = load_grid(_grid(tmp_path, {"cluster.eps": [0.3]}))
    first, same = plan_sweep(spec, TINY), plan_sweep(spec, TINY)
    other = plan_sweep(spec, TINY, ["reduce.n_components=4"])
    assert first.sweep_id == same.sweep_id != other.sweep_id
    assert first.trials[0].run_id == f"sweep-{first.sweep_id}-eps0.3"
    assert first.trials[0].config.cluster.baselines == []


# -- best rule -------------------------------------------------------------------------------------
def test_rule_parsing():
    rule = parse_rule("max silhouette where noise_fraction<=0.2 and n_clusters >= 3 "
                      "and cluster.algorithm = DBSCAN")
    assert (rule.direction, rule.metric) == ("max", "silhouette")
    assert [(c.key, c.op, c.value) for c in rule.conditions] == [
        ("noise_fraction", "<=", 0.2), ("n_clusters", ">=", 3.0), ("cluster.algorithm", "=", "DBSCAN")]
    assert parse_rule("MIN davies_bouldin").conditions == ()


@pytest.mark.parametrize(("text", "named"), [
    ("", "direction and a metric"),
    ("best silhouette", "expected max or min"),
    ("max silhouete", "unknown key 'silhouete'"),
    ("max silhouette if noise_fraction < 1", "expected 'where'"),
    ("max silhouette where noise_fraction", "KEY OP VALUE"),
    ("max silhouette where noise_fraction ~ 1", "cannot read|unknown operator"),
    ("max silhouette where noise_fraction <= and n_clusters > 2", "missing value"),
    ("max silhouette where noise_fraction < 1 or n_clusters > 2", "expected 'and'"),
])
def test_rule_errors_are_one_line(text, named):
    with pytest.raises(ConfigError, match=named) as error:
        parse_rule(text)
    assert "\n" not in str(error.value)


def test_selection_respects_conditions_direction_and_missing_values():
    frame = pd.DataFrame({
        "trial": list("abcde"), "status": ["completed"] * 4 + ["failed"],
        "ended_at": pd.to_datetime([1, 2, 3, 4, 5], unit="s"),
        "metrics.silhouette": [0.9, 0.6, 0.5, None, 0.99],
        "metrics.noise_fraction": [0.5, 0.1, 0.05, 0.0, 0.0],
        "metrics.n_clusters": [5, 2, 4, 4, 4],
        "params.cluster.algorithm": ["dbscan", "dbscan", "hdbscan", "dbscan", "dbscan"],
    })
    best = lambda text: select_best(frame, parse_rule(text))  # noqa: E731
    assert best("max silhouette")["trial"] == "a"  # the failed run never wins
    assert best("max silhouette where noise_fraction <= 0.2")["trial"] == "b"
    assert best("max silhouette where noise_fraction <= 0.2 and n_clusters >= 3")["trial"] == "c"
    assert best("min noise_fraction")["trial"] == "d"
    assert best("max silhouette where cluster.algorithm = HDBSCAN")["trial"] == "c"
    assert best("max silhouette where n_clusters > 10") is None
    assert best("max ari") is None  # no run has the metric


# -- running ---------------------------------------------------------------------------------------
def test_failing_trial_is_recorded_and_the_sweep_goes_on_on_dask(tmp_path, capsys):
    runs = tmp_path / "runs"
    path = _grid(tmp_path, {"cluster.min_samples": [10, 5000], "cluster.eps": [0.4, 0.6]})
    code = main(["sweep", "--params", str(TINY), "--grid", str(path), "--runs-dir", str(runs),
                 "--workers", "2", "--best", "max silhouette where n_clusters >= 2"])
    out = capsys.readouterr().out
    assert code == 1, "a failed trial makes the exit code non-zero"
    assert "2 completed, 2 failed" in out
    frame = leaderboard(runs)
    assert len(frame) == 4
    statuses = dict(zip(frame["trial"], frame["status"], strict=True))
    assert sorted(statuses.values()) == ["completed", "completed", "failed", "failed"]
    assert all(status == "failed" for name, status in statuses.items() if "ms5000" in name)
    sweep_id = out.split("best_of_sweep=")[1].split(":")[0]
    tagged = leaderboard(runs, filters=[("tags.best_of_sweep", "=", sweep_id)])
    assert len(tagged) == 1 and tagged["trial"].iloc[0] in out
    # features and their (identity) embedding were computed once for all trials
    stored = [entry.stage for entry in StageCache(runs / ".cache").entries()]
    assert stored.count(EXPLORATION) == 1 and stored.count(REDUCTION) == 1


def test_rerun_skips_completed_and_retries_failed_on_an_existing_cluster(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    rule = parse_rule("max silhouette")
    flaky = {"calls": 0}
    original = stages.NOTEBOOK_STAGES["04_clustering"]

    def fails_once(folder, config):
        flaky["calls"] += 1
        if flaky["calls"] == 2:
            raise RuntimeError("disk hiccup")
        return original(folder, config)

    monkeypatch.setitem(stages.NOTEBOOK_STAGES, "04_clustering", fails_once)
    spec = load_grid(_grid(tmp_path, {"cluster.eps": [0.4, 0.6]}))
    first = run_sweep(plan_sweep(spec, TINY), runs_dir=runs, rule=rule, echo=lambda _: None)
    assert [o.status for o in first.outcomes] == ["completed", "failed"]

    wider = load_grid(_grid(tmp_path, {"cluster.eps": [0.4, 0.6, 0.8]}))
    existing = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp://",
                            host="127.0.0.1", dashboard_address=None)
    with existing:  # a cluster that already exists (--scheduler)
        second = run_sweep(plan_sweep(wider, TINY), runs_dir=runs, rule=rule,
                           scheduler=existing.scheduler_address, echo=lambda _: None)
    assert second.skipped == [f"sweep-{first.sweep_id}-eps0.4"]
    assert sorted(o.run_id for o in second.outcomes) == [
        f"sweep-{first.sweep_id}-eps0.6-retry2", f"sweep-{first.sweep_id}-eps0.8"]
    assert all(o.status == "completed" for o in second.outcomes)
    assert second.best is not None
    assert len(leaderboard(runs, filters=[("tags.best_of_sweep", "=", first.sweep_id)])) == 1


def test_ctrl_c_leaves_no_trial_running(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    calls = {"n": 0}
    original = stages.NOTEBOOK_STAGES["04_clustering"]

    def interrupted_second(folder, config):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(folder, config)

    monkeypatch.setitem(stages.NOTEBOOK_STAGES, "04_clustering", interrupted_second)
    plan = plan_sweep(load_grid(_grid(tmp_path, {"cluster.eps": [0.4, 0.5, 0.6]})), TINY)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        run_sweep(plan, runs_dir=runs, rule=parse_rule("max silhouette"), echo=lines.append)
    frame = leaderboard(runs)
    assert sorted(frame["status"]) == ["completed", "interrupted"], "the third never started"
    assert "running" not in set(frame["status"])
    assert any(line.startswith("interrupted:") for line in lines)


def test_trials_that_share_cached_stages_are_spread_and_progress_is_reported():
    def task(name: str, min_samples: int, eps: float) -> TrialTask:
        return TrialTask(name, {"cluster": {"min_samples": min_samples, "eps": eps}}, "runs")

    tasks = [task("a1", 10, 0.1), task("a2", 10, 0.2), task("b1", 20, 0.1), task("b2", 20, 0.2)]
    assert [t.run_id for t in interleave_by_shared_stages(tasks)] == ["a1", "b1", "a2", "b2"]
    done = [TrialOutcome("a1", "completed", cache={"01_exploration": False, "04_clustering": False}),
            TrialOutcome("b1", "completed", cache={"01_exploration": True, "04_clustering": False})]
    assert progress(done, 4, 90.0) == "cache 1/4 stages hit | 1m30s elapsed, 1m30s to go"
