"""`seglab run` through the real CLI on params/tiny.yaml, checked against the run-folder contract."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from seglab.runner import notebook_sources

ROOT = Path(__file__).resolve().parents[1]
CONTRACT_METRICS = {
    "n_rows", "n_features_in", "n_features_used", "backend", "eps", "eps_low", "eps_high",
    "min_samples", "n_clusters", "noise_fraction", "largest_cluster_fraction", "silhouette",
    "silhouette_ci_low", "silhouette_ci_high", "silhouette_sample_size",
    "silhouette_feature_space", "davies_bouldin", "calinski_harabasz", "trustworthiness", "ari",
    "ami", "seconds_total",
}
STAGES = {"load", "features", "reduce", "eps", "cluster", "metrics"}
FIGURES = {"k_distance", "embedding_clusters", "silhouette", "segment_profiles"}


def seglab(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seglab", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    done = seglab("run", "--params", "params/tiny.yaml", "--runs-dir", str(runs))
    assert done.returncode == 0, done.stderr[-3000:]
    (folder,) = runs.glob("2*")
    assert f"run {folder.name} completed" in done.stdout
    return folder


@pytest.mark.slow
def test_run_folder_holds_every_contract_file(run_folder):
    for name in ("params.yaml", "manifest.json", "metrics.json", "labels.parquet", "report.html"):
        assert (run_folder / name).is_file(), name
    executed = sorted(p.stem for p in (run_folder / "notebooks").glob("*.ipynb"))
    assert executed == sorted(p.stem for p in notebook_sources(ROOT / "notebooks"))
    assert {p.stem for p in (run_folder / "figures").glob("*.png")} >= FIGURES


@pytest.mark.slow
def test_manifest_records_the_evidence(run_folder):
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["run_id"] == run_folder.name
    assert all(n["status"] == "completed" and n["seconds"] > 0 for n in manifest["notebooks"])
    assert manifest["backend"]["name"] == "cpu" and manifest["kernel"]["name"] == "python3"
    assert manifest["data_fingerprint"].startswith("sha256:")
    assert {"numpy", "umap-learn", "dbscan", "papermill"} <= set(manifest["packages"])
    assert set(manifest["git"]) == {"commit", "dirty"}
    assert manifest["started_at"] <= manifest["ended_at"]


@pytest.mark.slow
def test_metrics_have_every_key_and_sane_values(run_folder):
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert CONTRACT_METRICS | {f"seconds_{s}" for s in STAGES} <= set(metrics)
    assert metrics["n_rows"] == 2000 and metrics["backend"] == "cpu"
    assert metrics["eps_low"] <= metrics["eps_high"]  # 03's stable band around the knee
    assert metrics["verdict"] in ("clear", "weak", "none") and metrics["n_candidates"] >= 10
    chose_dbscan = metrics["selected"].startswith("dbscan")
    assert (metrics["eps"] > 0) if chose_dbscan else metrics["eps"] is None
    assert metrics["silhouette_ci_low"] <= metrics["silhouette"] <= metrics["silhouette_ci_high"]
    assert 0 <= metrics["noise_fraction"] < 0.2 and metrics["n_clusters"] >= 2
    assert metrics["ari"] > 0.3 and metrics["trustworthiness"] > 0.85


@pytest.mark.slow
def test_labels_and_params_are_consistent(run_folder):
    labels = pd.read_parquet(run_folder / "labels.parquet")
    assert list(labels.columns) == ["customer_id", "cluster"] and len(labels) == 2000
    assert labels["customer_id"].is_unique
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert labels["cluster"].nunique() - (labels["cluster"] == -1).any() == metrics["n_clusters"]
    params = yaml.safe_load((run_folder / "params.yaml").read_text())
    assert params["backend"] == "cpu" and params["reduce"]["fit_sample"] == 1500


@pytest.mark.slow
def test_report_is_self_contained_and_rebuildable(run_folder):
    html = (run_folder / "report.html").read_text()
    assert "data:image/png;base64," in html and "http://" not in html and "https://" not in html
    (run_folder / "report.html").unlink()
    done = seglab("report", str(run_folder))
    assert done.returncode == 0, done.stderr
    assert (run_folder / "report.html").read_text().count("<figure>") >= len(FIGURES)


@pytest.mark.slow
def test_a_run_compared_with_itself_holds_everything(run_folder, tmp_path):
    done = seglab("compare", str(run_folder), str(run_folder), "--out", str(tmp_path / "self"),
                  "--runs-dir", str(tmp_path), "--set", "tracking.backend=local")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "self" / "compare.json").read_text())
    metrics = json.loads((run_folder / "metrics.json").read_text())
    assert result["n_survived"] == metrics["n_clusters"] == result["n_segments_b"]
    assert result["moved_share"] == 0 and result["shared_customers"] == metrics["n_rows"]
    assert result["psi"] and set(result["psi"].values()) == {0.0}


@pytest.mark.slow
def test_direct_engine_writes_the_same_run(run_folder, tmp_path):
    done = seglab("run", "--params", "params/tiny.yaml", "--runs-dir", str(tmp_path),
                  "--engine", "direct", "--previous", str(run_folder))
    assert done.returncode == 0, done.stderr[-3000:]
    (direct,) = tmp_path.glob("2*")
    names = json.loads((direct / "artifacts" / "segment_names.json").read_text())
    assert all(entry["carried_from"] == int(label) for label, entry in names.items()), names
    assert not list((direct / "notebooks").glob("*.ipynb"))
    assert {p.name for p in (direct / "figures").glob("*.png")} == {
        p.name for p in (run_folder / "figures").glob("*.png")}
    ours, theirs = (json.loads((f / "metrics.json").read_text()) for f in (direct, run_folder))
    for key in ("n_rows", "n_features_used", "min_samples", "n_clusters"):
        assert ours[key] == theirs[key], key
    for key in ("eps", "noise_fraction", "silhouette", "ari"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-6), key
    assert json.loads((direct / "manifest.json").read_text())["engine"] == "direct"
