"""The stage cache: keys follow what a stage reads, entries are verified, never unpickled."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from seglab import cache, stages
from seglab.artifacts import CLUSTERING, EPS_SEARCH, EXPLORATION, REDUCTION
from seglab.cache import StageCache
from seglab.cli import main
from seglab.config import load_config
from seglab.paths import resolve
from seglab.runfolder import RunFolder
from seglab.runner import run_pipeline

FAST = ["reduce.method=none", "cluster.baselines=[]", "report.stability_draws=0"]


def _config(*overrides: str):
    return load_config(resolve("params/tiny.yaml"), overrides=[*FAST, *overrides])


def _prepare(runs: Path, name: str, *overrides: str) -> dict:
    """Run 01-03 into a fresh run folder; return the manifest's cache record."""
    folder = RunFolder(runs / name).create()
    config = _config(*overrides)
    for stage in (stages.explore, stages.reduce_dimensions, stages.search_eps):
        stage(folder, config)
    return folder.read_json(folder.manifest)["cache"]


def _hits(record: dict) -> dict[str, bool]:
    return {stage: entry["hit"] for stage, entry in record.items()}


def test_keys_follow_the_config_a_stage_reads(tmp_path):
    runs = tmp_path / "runs"
    assert _hits(_prepare(runs, "first")) == {EXPLORATION: False, REDUCTION: False, EPS_SEARCH: False}
    # cluster.eps is read by no cached stage: everything is a hit, and the outputs are the same
    assert _hits(_prepare(runs, "eps_by_hand", "cluster.eps=0.4")) == {
        EXPLORATION: True, REDUCTION: True, EPS_SEARCH: True}
    first = json.loads((runs / "first/artifacts/k_distance.json").read_text())
    again = json.loads((runs / "eps_by_hand/artifacts/k_distance.json").read_text())
    assert again == first
    # after a hit, notebook 01 still gets the table and the feature set (read back on use)
    lazy = RunFolder(runs / "lazy").create()
    explored = stages.explore(lazy, _config())
    assert lazy.read_json(lazy.manifest)["cache"][EXPLORATION]["hit"]
    assert explored.feature_set.matrix.shape == (explored.table.n_rows, len(explored.feature_set.names))
    # eps.trim is read by the knee search only
    assert _hits(_prepare(runs, "trimmed", "eps.trim=0.01")) == {
        EXPLORATION: True, REDUCTION: True, EPS_SEARCH: False}
    # a features key changes the features, hence everything downstream (content-addressed)
    changed = _prepare(runs, "features", "features.correlation_threshold=0.9")
    assert _hits(changed)[EXPLORATION] is False
    assert len({entry.key for entry in StageCache(runs / ".cache").entries()
                if entry.stage == EXPLORATION}) == 2


def test_cache_off_by_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_ENABLED, "off")
    assert cache.open_cache(tmp_path) is None
    record = _prepare(tmp_path / "runs", "uncached")
    assert record[EXPLORATION] == {"hit": False, "key": None}
    assert not (tmp_path / "runs" / ".cache").exists()


def _writer(directory: Path, calls: list[int], array: np.ndarray):
    def compute() -> None:
        calls.append(1)
        np.save(directory / "a.npy", array, allow_pickle=False)
        (directory / "a.json").write_text(json.dumps({"rows": len(array)}))
    return compute


def test_damaged_or_partial_entries_are_never_read(tmp_path):
    store = StageCache(tmp_path / "cache")
    key = store.key("demo", {"value": 1})
    calls: list[int] = []
    work = tmp_path / "work"
    work.mkdir()
    compute = _writer(work, calls, np.arange(1000, dtype=np.float32))
    assert store.fetch_or_compute("demo", key, work, ["a.npy", "a.json"], compute) is False
    assert store.fetch_or_compute("demo", key, work, ["a.npy", "a.json"], compute) is True
    assert len(calls) == 1

    entry = store.root / "entries" / "demo" / key[:2] / key
    stored = entry / "a.npy"
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes()[:100])  # truncated: a miss, then replaced
    assert store.fetch_or_compute("demo", key, work, ["a.npy", "a.json"], compute) is False
    assert len(calls) == 2
    assert store.fetch_or_compute("demo", key, work, ["a.npy", "a.json"], compute) is True
    assert np.load(work / "a.npy", allow_pickle=False).shape == (1000,)

    (entry / "entry.json").write_text("{not json")  # unreadable record: a miss
    assert store.fetch_or_compute("demo", key, work, ["a.npy", "a.json"], compute) is False
    leftover = store.root / "staging" / "demo-killed-worker"
    leftover.mkdir(parents=True)
    (leftover / "a.npy").write_bytes(b"half a file")
    assert [item.stage for item in store.entries()] == ["demo"]


def test_stored_files_are_data_not_pickles(tmp_path):
    runs = tmp_path / "runs"
    _prepare(runs, "only")
    files = [path for path in (runs / ".cache" / "entries").rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".npy", ".parquet", ".json"}
    for path in files:
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)  # raises on object arrays
        if path.name != "entry.json":
            assert not path.stat().st_mode & 0o222, f"{path} is writable"
    with pytest.raises(TypeError):
        StageCache(tmp_path).key("demo", {"value": object()})


def test_concurrent_identical_computations_publish_one_entry(tmp_path):
    store = StageCache(tmp_path / "cache")
    key = store.key("demo", {"value": 2})
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker(index: int) -> None:
        work = tmp_path / f"work{index}"
        work.mkdir()

        def compute() -> None:
            barrier.wait(timeout=10)  # both are computing at once
            np.save(work / "a.npy", np.ones(10), allow_pickle=False)

        results.append(store.fetch_or_compute("demo", key, work, ["a.npy"], compute))

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [False, False]
    assert len(store.entries()) == 1
    assert not any((store.root / "staging").iterdir())


def test_cache_list_and_clear_commands(tmp_path, capsys):
    runs = tmp_path / "runs"
    _prepare(runs, "one")
    assert main(["cache", "list", "--runs-dir", str(runs)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == [EXPLORATION, REDUCTION, EPS_SEARCH]
    assert main(["cache", "clear", "--stage", EPS_SEARCH, "--runs-dir", str(runs)]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert main(["cache", "clear", "--runs-dir", str(runs)]) == 0
    assert "removed 2 entries" in capsys.readouterr().out
    assert StageCache(runs / ".cache").entries() == []


def test_keys_change_with_seglab_source_and_inputs(tmp_path, monkeypatch):
    store = StageCache(tmp_path)
    before = store.key("demo", {"value": 1})
    assert store.key("demo", {"value": 1}) == before
    assert store.key("demo", {"value": 2}) != before
    assert store.key("other", {"value": 1}) != before
    monkeypatch.setattr(cache, "code_fingerprint", lambda: "edited checkout")
    assert store.key("demo", {"value": 1}) != before


def _dbscan_run(runs: Path, name: str, *overrides: str) -> RunFolder:
    config = load_config(resolve("params/tiny.yaml"), overrides=[
        "cluster.algorithm=dbscan", "cluster.baselines=[]", "report.stability_draws=0",
        "tracking.backend=local", *overrides])
    result = run_pipeline(config, runs_dir=runs, run_id=name, engine="direct", echo=lambda _: None)
    assert result.ok, result.message
    return result.folder


def test_a_dbscan_sweep_cuts_one_cached_tree_and_agrees_with_exact_dbscan(tmp_path):
    runs = tmp_path / "runs"
    knee = _dbscan_run(runs, "knee", "cluster.dbscan=tree")
    eps = round(knee.read_metrics()["eps"] * 0.8, 5)
    narrower = _dbscan_run(runs, "narrower", f"cluster.eps={eps}", "cluster.dbscan=tree")
    exact = _dbscan_run(runs, "exact", f"cluster.eps={eps}")  # the default: refit

    def cached(folder: RunFolder) -> dict:
        return folder.read_json(folder.manifest)["cache"]

    assert cached(knee)[CLUSTERING]["hit"] is False
    assert cached(narrower)[CLUSTERING]["hit"] is True  # another eps: the same tree, no refit
    assert CLUSTERING not in cached(exact)
    labels = {folder.run_id: pd.read_parquet(folder.labels)["cluster"].to_numpy()
              for folder in (narrower, exact)}
    assert adjusted_rand_score(labels["narrower"], labels["exact"]) >= 0.99
    assert narrower.read_metrics()["n_clusters"] == exact.read_metrics()["n_clusters"]


def test_a_sweep_over_the_layer_scores_the_candidates_once(tmp_path):
    """Choosing another layer re-reads the cached candidates and null: same scores, same layers,
    other segments; nothing refitted."""
    runs = tmp_path / "runs"
    folders = {}
    for layer in ("auto", "coarsest", "finest"):
        folder = RunFolder(runs / layer).create()
        config = _config("reduce.method=umap", "reduce.null_sample=500", f"cluster.layer={layer}")
        for stage in (stages.explore, stages.reduce_dimensions, stages.search_eps,
                      stages.cluster_customers):
            stage(folder, config)
        folders[layer] = folder
    hits = {layer: folder.read_json(folder.manifest)["cache"][CLUSTERING]["hit"]
            for layer, folder in folders.items()}
    assert hits == {"auto": False, "coarsest": True, "finest": True}
    layers = {layer: json.loads((folder.artifacts / "selection.json").read_text())["layers"]
              for layer, folder in folders.items()}
    strip = [{key: value for key, value in record.items() if key != "role"}
             for record in layers["auto"]]
    assert len(strip) >= 2
    for layer in ("coarsest", "finest"):
        assert [{key: value for key, value in record.items() if key != "role"}
                for record in layers[layer]] == strip
    counts = {layer: folder.read_metrics()["n_clusters"] for layer, folder in folders.items()}
    assert counts["coarsest"] == layers["auto"][0]["n_clusters"]
    assert counts["finest"] == layers["auto"][-1]["n_clusters"]
    assert counts["coarsest"] < counts["finest"]
