"""The notebook sources: one kernel name, a parameters cell, thin code, references in sync."""

from pathlib import Path

import jupytext
import nbformat
import pytest

from seglab.environment import PROJECT_KERNEL
from seglab.runner import declared_parameters, notebook_sources
from seglab.stages import NOTEBOOK_STAGES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = notebook_sources(ROOT / "notebooks")
REFERENCES = ROOT / "tests" / "reference"


def test_six_stages_in_order():
    assert [p.stem for p in SOURCES] == ["00_kernel_setup", "01_exploration",
                                         "02_dimensionality_reduction", "03_eps_search",
                                         "04_clustering", "05_reporting"]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_header_names_the_project_kernel(source):
    assert jupytext.read(source).metadata["kernelspec"]["name"] == PROJECT_KERNEL


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_declares_run_dir_in_a_parameters_cell(source):
    notebook = jupytext.read(source)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "run_dir" in declared_parameters(notebook)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_ends_with_a_checked_summary_and_installs_nothing(source):
    text = source.read_text()
    code = [c.source for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert code[-1].startswith("# NBVAL_CHECK_OUTPUT")
    assert "pip install" not in text and "os.chdir" not in text


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_the_stage_the_direct_engine_runs(source):
    stage = NOTEBOOK_STAGES[source.stem]
    assert f"stages.{stage.__name__}(folder, config)" in source.read_text()


def _inputs(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in notebook.cells
            if not {"injected-parameters", "papermill-error-cell-tag"} & set(c.metadata.get("tags", []))]


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_reference_notebook_matches_its_source(source):
    reference = REFERENCES / f"{source.stem}.ipynb"
    assert reference.exists(), f"missing {reference.name}: run `make references`"
    stored = nbformat.read(reference, as_version=4)
    assert _inputs(stored) == _inputs(jupytext.read(source)), (
        f"{reference.name} is stale: {source.name} changed; run `make references` and review the diff"
    )
    assert any(c.get("outputs") for c in stored.cells if c.cell_type == "code"), "not executed"
