"""environment.yml parses, agrees with pyproject.toml and provides every package seglab imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).parents[1]
ENV_FILE = ROOT / "environment.yml"
IMPORT_TO_DIST = {"sklearn": "scikit-learn", "yaml": "pyyaml", "umap": "umap-learn",
                  "jupyter_client": "jupyter-client"}
"""Import names that differ from their distribution names."""
PROVIDED_BY = {"botocore": "boto3", "jupyter-client": "ipykernel"}
"""Imported packages that come with a declared one."""
RAPIDS = {"cudf", "cuml", "cuvs", "cupy", "cuda-version"}


def _name(spec: str) -> str:
    return re.split(r"[=<>!\[ ]", spec.strip(), maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def env() -> dict:
    return yaml.safe_load(ENV_FILE.read_text())


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _conda(env: dict) -> dict[str, str]:
    return {_name(d): d for d in env["dependencies"] if isinstance(d, str)}


def _pip(env: dict) -> list[str]:
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return pip


def _installed_extras(env: dict) -> set[str]:
    (editable,) = [line for line in _pip(env) if line.startswith("-e .")]
    match = re.fullmatch(r"-e \.(?:\[([\w,]+)\])?", editable)
    assert match, f"the project is installed editable: {editable!r}"
    return set((match.group(1) or "").split(",")) - {""}


def _declared(env: dict, project: dict) -> set[str]:
    """Distributions the environment installs: conda and pip lines, and the project's own
    requirements with the extras that ``-e .[...]`` names."""
    names = set(_conda(env)) | {_name(line) for line in _pip(env) if not line.startswith("-")}
    requirements = list(project["dependencies"])
    for extra in _installed_extras(env):
        requirements += project["optional-dependencies"][extra]
    return names | {Requirement(r).name.lower() for r in requirements}


def test_rapids_26_10_cuda_12_and_channels(env: dict) -> None:
    conda = _conda(env)
    assert env["channels"] == ["rapidsai", "conda-forge"]
    for package in ("cudf", "cuml", "cuvs"):
        assert conda[package].startswith(f"{package}=26.10")
    assert conda["cuda-version"] == "cuda-version>=12.2,<13"
    assert "cuda-version>=13.0,<14" in ENV_FILE.read_text(), "the CUDA 13 switch is documented"


def test_python_fits_rapids_the_sagemaker_sdk_and_the_project(env: dict, project: dict) -> None:
    python = Version(_conda(env)["python"].split("=")[1])
    assert Version("3.11") <= python <= Version("3.12")
    assert Requirement(f"python{project['requires-python']}").specifier.contains(python)


def test_notebook_tools_pinned_as_in_pyproject(env: dict, project: dict) -> None:
    pins = {Requirement(r).name: str(Requirement(r).specifier) for r in project["dependencies"]}
    for tool in ("jupytext", "papermill"):
        assert pins[tool].startswith("==")
        assert f"{tool}{pins[tool]}" in _pip(env)


def test_conda_versions_satisfy_pyproject(env: dict, project: dict) -> None:
    requirements = [Requirement(r) for r in project["dependencies"]]
    wanted = {r.name.lower(): r.specifier for r in requirements}
    for name, line in _conda(env).items():
        exact = re.fullmatch(rf"{re.escape(name)}=([\d.]+)", line)
        if name in wanted and exact:
            assert wanted[name].contains(Version(exact.group(1))), line


def test_every_imported_package_is_installed(env: dict, project: dict) -> None:
    imported = set()
    for module in (ROOT / "lib" / "seglab").rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"seglab"}
    declared = _declared(env, project)
    missing = set()
    for name in third_party:
        dist = IMPORT_TO_DIST.get(name, name).lower().replace("_", "-")
        if dist not in declared and PROVIDED_BY.get(dist) not in declared:
            missing.add(dist)
    assert not missing, f"environment.yml lacks {sorted(missing)}"


def test_cpu_variant_drops_exactly_the_rapids_lines() -> None:
    cpu = yaml.safe_load("\n".join(line for line in ENV_FILE.read_text().splitlines()
                                   if "# gpu-only" not in line))
    names = {_name(d) for d in cpu["dependencies"] if isinstance(d, str)}
    assert not names & RAPIDS
    assert {"python", "pandas", "scikit-learn", "umap-learn", "ipykernel"} <= names
