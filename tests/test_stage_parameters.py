"""A notebook's parameters apply to that execution, and 04 decides what it clusters with.

Fast: open_run and the eps/min_samples decision on hand-made run folders, nothing computed.
The notebooks themselves, executed one by one as a user does, are in test_interactive.py.
"""

from __future__ import annotations

import pytest
import yaml

from seglab import stages
from seglab.artifacts import EPS
from seglab.config import load_config, save_config
from seglab.density_settings import DensitySettings
from seglab.errors import ConfigError, SeglabError
from seglab.paths import resolve
from seglab.runfolder import RunFolder

TINY = resolve("params/tiny.yaml")


def _params(folder: RunFolder) -> dict:
    return yaml.safe_load(folder.params.read_text())


def test_overrides_apply_to_that_execution_only(tmp_path):
    run_dir = str(tmp_path / "run")
    folder, config = stages.open_run(run_dir, cluster={"eps": 0.3, "min_samples": 12})
    assert (config.cluster.eps, config.cluster.min_samples) == (0.3, 12)
    assert _params(folder)["cluster"]["eps"] == 0.3  # the folder says what the stage used
    folder, config = stages.open_run(run_dir, cluster={})
    assert (config.cluster.eps, config.cluster.min_samples) == (None, None)
    assert _params(folder)["cluster"]["eps"] is None


def test_a_reset_restores_the_runners_values_and_keeps_other_stages_sections(tmp_path):
    folder = RunFolder(tmp_path / "run").create()
    save_config(load_config(TINY, overrides=["cluster.eps=0.25"]), folder.params)  # as seglab run
    _, config = stages.open_run(str(folder.path), reduce={"n_neighbors": 10})
    _, config = stages.open_run(str(folder.path), cluster={"eps": 0.4})
    assert config.cluster.eps == 0.4
    assert config.reduce.n_neighbors == 10  # what 02 last ran with
    _, config = stages.open_run(str(folder.path), cluster={})
    assert config.cluster.eps == 0.25
    assert config.cluster.baseline_sample == 2000
    _, config = stages.open_run(str(folder.path), reduce={})
    assert config.reduce.n_neighbors == 15


def test_auto_backend_is_resolved_and_recorded(tmp_path):
    folder, config = stages.open_run(str(tmp_path / "run"), backend="auto", seed=0)
    assert config.backend == "cpu"  # no GPU on this machine
    assert _params(folder)["backend"] == "cpu"
    assert folder.read_metrics()["backend"] == "cpu"
    assert folder.read_json(folder.manifest)["backend"]["requested"] == "auto"
    _, later = stages.open_run(str(folder.path), reduce={})
    assert later.backend == "cpu"


@pytest.mark.parametrize("text", ['{"eps": 0.2}', "eps: 0.2", "{eps: 0.2}"])
def test_a_section_given_as_a_json_or_yaml_string_is_accepted(text):
    assert load_config(TINY, sections={"cluster": text}).cluster.eps == 0.2


@pytest.mark.parametrize(("text", "problem"), [('{"eps": 0.2', "not valid JSON or YAML"),
                                               ("0.2", "not a mapping of cluster keys")])
def test_a_bad_section_string_is_a_one_line_error(text, problem):
    with pytest.raises(ConfigError, match=problem) as raised:
        load_config(TINY, sections={"cluster": text})
    assert "\n" not in str(raised.value) and "-p cluster" in str(raised.value)


def _folder_with_curve(tmp_path, k: int = 10, knee: float = 0.5) -> RunFolder:
    folder = RunFolder(tmp_path / "run").create()
    EPS.write(folder, {"knee_eps": knee, "eps_low": 0.4, "eps_high": 0.6, "min_samples": k})
    return folder


def _decide(folder: RunFolder, **cluster) -> dict:
    """04's decision for an explicit algorithm (``auto`` lets the model selection choose)."""
    config = load_config(TINY, sections={"cluster": {"algorithm": "dbscan", **cluster}})
    return DensitySettings.decide(config.cluster, config.reduce, EPS.read_if_present(folder),
                                  2000, config.seed).to_dict()


def test_04_uses_its_own_eps_else_the_knee(tmp_path):
    folder = _folder_with_curve(tmp_path)
    used = _decide(folder, eps=0.2, min_samples=10)
    assert (used["eps"], used["source"], used["min_samples"]) == (0.2, "cluster.eps", 10)
    used = _decide(folder, min_samples=10)
    assert (used["eps"], used["source"], used["eps_low"]) == (0.5, "knee", 0.4)


def test_04_refuses_a_knee_drawn_for_another_min_samples(tmp_path):
    folder = _folder_with_curve(tmp_path, k=10)
    with pytest.raises(SeglabError, match=r"min_samples 20 differs .* k=10.*re-run notebook 03"):
        _decide(folder, min_samples=20)
    assert _decide(folder, min_samples=20, eps=0.3)["eps"] == 0.3  # no knee needed
    hdbscan_only = _decide(folder, min_samples=20, algorithm="hdbscan", baselines=["kmeans"])
    assert hdbscan_only["eps"] is None and hdbscan_only["min_samples"] == 20


def test_04_without_03_names_the_notebook_to_run(tmp_path):
    with pytest.raises(SeglabError, match="03_eps_search"):
        _decide(RunFolder(tmp_path / "run").create())


def test_a_bad_notebook_parameter_names_the_key_and_changes_nothing(tmp_path):
    folder, _ = stages.open_run(str(tmp_path / "run"), cluster={"eps": 0.3})
    with pytest.raises(ConfigError, match=r"notebook parameters: cluster.eps"):
        stages.open_run(str(folder.path), cluster='{"eps": -1}')
    assert _params(folder)["cluster"]["eps"] == 0.3
