"""Runner planning: parameters a notebook does not declare, or config nobody reads, are errors."""

from pathlib import Path

import pytest

from seglab.config import load_config
from seglab.errors import SeglabError
from seglab.runner import kernel_argv0, new_run_id, plan_notebooks

HEADER = "# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python (seglab)\n" \
         "#     language: python\n#     name: seglab\n# ---\n\n"


def _notebook(folder: Path, name: str, parameters: str) -> Path:
    path = folder / name
    path.write_text(f'{HEADER}# %% tags=["parameters"]\n{parameters}\n\n# %%\nprint(run_dir)\n')
    return path


def _all_sections(folder: Path) -> list[Path]:
    return [
        _notebook(folder, "00_a.py", 'run_dir = "x"\nseed = 0\nbackend = "auto"\ndata = {}\n'
                                     "features = {}\nreduce = {}"),
        _notebook(folder, "01_b.py", 'run_dir = "x"\neps = {}\ncluster = {}\nmetrics = {}\n'
                                     "report = {}"),
    ]


def test_each_notebook_gets_run_dir_and_exactly_its_sections(tmp_path):
    config = load_config(None, ["cluster.eps=0.3"])
    first, second = plan_notebooks(config, "runs/r1", "python3", _all_sections(tmp_path))
    assert set(first.parameters) == {"run_dir", "seed", "backend", "data", "features", "reduce"}
    assert set(second.parameters) == {"run_dir", "eps", "cluster", "metrics", "report"}
    assert second.parameters["cluster"]["eps"] == 0.3 and second.parameters["run_dir"] == "runs/r1"
    assert first.notebook.metadata["kernelspec"]["name"] == "python3"


def test_a_parameter_that_is_no_config_key_is_an_error(tmp_path):
    sources = [*_all_sections(tmp_path), _notebook(tmp_path, "02_c.py", 'run_dir = "x"\nclusters = {}')]
    with pytest.raises(SeglabError, match=r"02_c.py: parameters cell declares \['clusters'\]"):
        plan_notebooks(load_config(None), "runs/r1", "python3", sources)


def test_config_that_no_notebook_reads_is_an_error(tmp_path):
    sources = [_notebook(tmp_path, "00_a.py", 'run_dir = "x"\nreduce = {}')]
    with pytest.raises(SeglabError, match="declared by no notebook"):
        plan_notebooks(load_config(None), "runs/r1", "python3", sources)


def test_run_dir_is_required(tmp_path):
    sources = [_notebook(tmp_path, "00_a.py", "reduce = {}")]
    with pytest.raises(SeglabError, match="must declare run_dir"):
        plan_notebooks(load_config(None), "runs/r1", "python3", sources)


def test_kernel_resolution_never_falls_back():
    assert Path(kernel_argv0("python3")).name.startswith("python")
    with pytest.raises(SeglabError, match="not registered"):
        kernel_argv0("surely-not-a-kernel")


def test_run_ids_sort_by_time_and_do_not_collide():
    ids = {new_run_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) == len("20261126T231500Z-3f9a1c") for i in ids)
