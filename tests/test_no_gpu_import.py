"""`import seglab` and a CPU run never import cuML, cuDF or cuVS, even where they are installed."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "lib" / "seglab"
FAKE_GPU = Path(__file__).parent / "fake_gpu"
RAPIDS = ("cuml", "cudf", "cuvs", "cupy")

CPU_RUN = """
import sys
import numpy as np
import seglab, seglab.config, seglab.backend
from seglab.backend import get_backend, resolve
print(resolve("auto").name)
backend = get_backend("cpu")
X = np.random.default_rng(0).normal(size=(300, 3)).astype(np.float32)
labels, _ = backend.dbscan(X, eps=0.5, min_samples=6)
backend.kneighbors(X, 6)
backend.davies_bouldin(X, (X[:, 0] > 0).astype(int))
print(",".join(sorted({m.split(".")[0] for m in sys.modules} & {"cuml", "cudf", "cuvs", "cupy"})))
"""


def _run(pythonpath: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run([sys.executable, "-c", CPU_RUN], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\n")[:2]


def test_cpu_run_without_rapids_imports_none_of_it() -> None:
    assert _run(None) == ["cpu", ""]


def test_cpu_run_with_rapids_installed_imports_no_cuml() -> None:
    """With (fake) RAPIDS importable, ``auto`` probes the device through CuPy only."""
    chosen, imported = _run(str(FAKE_GPU))
    assert chosen == "gpu"
    assert imported == "cupy"


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_only_the_gpu_backend_imports_rapids(module: Path) -> None:
    """Static check: cuML/cuDF/cuVS appear only in backend/gpu.py; CuPy also in the probe."""
    allowed = {PACKAGE / "backend" / "gpu.py": set(RAPIDS),
               PACKAGE / "backend" / "__init__.py": {"cupy"}}.get(module, set())
    tree = ast.parse(module.read_text(), filename=str(module))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert imported & set(RAPIDS) <= allowed
