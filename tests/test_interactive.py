"""Interactive use as a user works: notebooks executed one by one into one run folder.

No runner: each notebook is read from its jupytext source, its ``parameters`` cell edited the
way a user edits it, and executed with nbclient (``python3``: this interpreter). Then batch use
as schedulers run it: the papermill command line on the paired ``.ipynb``. The run folder starts
from ``params/tiny.yaml`` (with ``backend: auto``) as its base ``params.yaml``, as a ``seglab
run`` would have left it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml
from nbclient import NotebookClient

from seglab import stages
from seglab.artifacts import EPS_SEARCH, EXPLORATION, REDUCTION
from seglab.config import load_config
from seglab.runfolder import RunFolder
from seglab.runner import run_pipeline

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TINY = ROOT / "params" / "tiny.yaml"
BIN = Path(sys.executable).parent


def execute(name: str, run_dir: Path, **parameters: Any) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>.py`` with its parameters cell edited: ``name = value``."""
    notebook = jupytext.read(NOTEBOOKS / f"{name}.py")
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    values = {"run_dir": str(run_dir), **parameters}
    lines = []
    for line in cell.source.splitlines():
        assigned = line.split("=", 1)[0].strip()
        lines.append(f"{assigned} = {values[assigned]!r}" if assigned in values else line)
    cell.source = "\n".join(lines)
    NotebookClient(notebook, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return notebook


def _labels(folder: RunFolder) -> np.ndarray:
    return pd.read_parquet(folder.labels)["cluster"].to_numpy()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Notebooks 00-04 with their defaults, one by one, into ``runs/interactive``, on a base
    config that asks for DBSCAN (the parameters under test are DBSCAN's; ``auto`` chooses)."""
    runs = tmp_path_factory.mktemp("runs")
    folder = RunFolder(runs / "interactive").create()
    base = yaml.safe_load(TINY.read_text())
    cluster = {**base["cluster"], "algorithm": "dbscan"}
    folder.params.write_text(yaml.safe_dump({**base, "backend": "auto", "cluster": cluster},
                                            sort_keys=False))
    executed = [execute(name, folder.path)
                for name in ("00_kernel_setup", "01_exploration", "02_dimensionality_reduction",
                             "03_eps_search", "04_clustering")]
    shown = "".join(str(output) for notebook in executed for cell in notebook.cells
                    for output in cell.get("outputs", []))
    assert "IProgress not found" not in shown  # no TqdmWarning box without ipywidgets
    metrics = folder.read_metrics()
    return {"runs": runs, "folder": folder, "labels": _labels(folder), "metrics": metrics}


def test_changing_04s_cluster_parameter_changes_labels_and_metrics(session):
    folder, default = session["folder"], session["metrics"]
    eps = round(default["eps"] * 0.6, 4)
    execute("04_clustering", folder.path, cluster={"eps": eps})
    metrics = folder.read_metrics()
    assert metrics["eps"] == eps and metrics["min_samples"] == default["min_samples"]
    assert metrics["noise_fraction"] > default["noise_fraction"]  # a smaller radius: more noise
    assert not np.array_equal(_labels(folder), session["labels"])
    assert yaml.safe_load(folder.params.read_text())["cluster"]["eps"] == eps  # folder agrees
    assert folder.read_json(stages.CLUSTER_SETTINGS.path(folder))["source"] == "cluster.eps"


def test_resetting_the_parameter_restores_the_default(session):
    folder, default = session["folder"], session["metrics"]
    execute("04_clustering", folder.path, cluster={"eps": round(default["eps"] * 1.5, 4)})
    assert folder.read_metrics()["eps"] != default["eps"]
    execute("04_clustering", folder.path, cluster={})
    metrics = folder.read_metrics()
    assert metrics["eps"] == default["eps"]
    assert metrics["n_clusters"] == default["n_clusters"]
    assert np.array_equal(_labels(folder), session["labels"])
    assert yaml.safe_load(folder.params.read_text())["cluster"]["eps"] is None


def test_04_with_algorithm_auto_chooses_and_judges(session):
    folder = session["folder"]
    execute("04_clustering", folder.path, cluster={"algorithm": "auto"})
    metrics = folder.read_metrics()
    assert metrics["verdict"] in ("clear", "weak", "none") and metrics["n_candidates"] >= 10
    assert stages.CANDIDATES.path(folder).exists()
    execute("04_clustering", folder.path, cluster={})
    assert folder.read_metrics()["verdict"] is None  # back to the base's DBSCAN


def test_interactive_and_seglab_run_share_cache_entries(session):
    folder = session["folder"]
    assert folder.read_metrics()["backend"] == "cpu"  # 00 resolved `auto` and recorded it
    result = run_pipeline(load_config(TINY), runs_dir=session["runs"], engine="direct",
                          echo=lambda line: None)
    assert result.ok, result.message
    interactive = folder.read_json(folder.manifest)["cache"]
    batch = result.folder.read_json(result.folder.manifest)["cache"]
    for stage in (EXPLORATION, REDUCTION, EPS_SEARCH):
        assert batch[stage] == {"hit": True, "key": interactive[stage]["key"]}, stage


def _paired_ipynb(tmp_path: Path) -> Path:
    """What ``make notebooks`` writes next to the source (here into ``tmp_path``)."""
    target = tmp_path / "04_clustering.ipynb"
    subprocess.run([str(BIN / "jupytext"), "--to", "ipynb", "--output", str(target),
                    str(NOTEBOOKS / "04_clustering.py")], check=True, capture_output=True)
    return target


@pytest.mark.parametrize("how", [["-y", "cluster: {eps: %s}"], ["-p", "cluster", '{"eps": %s}']],
                         ids=["yaml", "json-string"])
def test_the_papermill_cli_passes_a_section(session, tmp_path, how):
    folder = session["folder"]
    eps = round(session["metrics"]["eps"] * 0.7, 4)
    args = [*how[:-1], how[-1] % eps]
    done = subprocess.run(
        [str(BIN / "papermill"), str(_paired_ipynb(tmp_path)), str(tmp_path / "out.ipynb"),
         "-k", "python3", "-p", "run_dir", str(folder.path), *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert folder.read_metrics()["eps"] == eps
    assert folder.read_json(stages.CLUSTER_SETTINGS.path(folder))["source"] == "cluster.eps"
