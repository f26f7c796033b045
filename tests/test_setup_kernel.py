"""setup_kernel.sh in every mode, against fake conda/nvidia-smi/systemctl/sudo (tests/fake_bin)
in a temporary HOME laid out like a SageMaker notebook instance."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "setup_kernel.sh"
FAKE_BIN = Path(__file__).parent / "fake_bin"
LIFECYCLE_LIMIT = 16_384
JUPYTEXT_PIN = next(line.strip().strip('",') for line in (ROOT / "pyproject.toml").open()
                    if '"jupytext==' in line)


@dataclass
class Instance:
    """A fake notebook instance: HOME, the env prefix, the call log and the environment."""

    home: Path
    env: dict[str, str]

    @property
    def prefix(self) -> Path:
        return self.home / "SageMaker" / "envs" / "seglab"

    @property
    def calls(self) -> list[str]:
        log = Path(self.env["FAKE_LOG"])
        return log.read_text().splitlines() if log.exists() else []

    def calls_to(self, command: str) -> list[str]:
        return [call for call in self.calls if call.split()[0].endswith(command)]

    def run(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                              env={**self.env, **env}, cwd=self.home, timeout=60, check=False)
        if check:
            assert done.returncode == 0, done.stderr + done.stdout
        return done

    def kernel(self) -> dict:
        spec = self.home / ".local/share/jupyter/kernels/seglab/kernel.json"
        return json.loads(spec.read_text())

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not (self.prefix / ".seglab-ready").exists():
            assert time.monotonic() < deadline, Path(f"{self.prefix}.log").read_text()
            time.sleep(0.1)
        while Path(f"{self.prefix}.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)  # the builder removes its pid file as it exits


@pytest.fixture
def instance(tmp_path: Path) -> Instance:
    home = tmp_path / "home"
    jupyter_bin = home / "anaconda3/envs/JupyterSystemEnv/bin"
    jupyter_bin.mkdir(parents=True)
    shutil.copy(FAKE_BIN / "fake_env_python", jupyter_bin / "python")
    (jupyter_bin / "jupytext-config").write_text(
        '#!/usr/bin/env bash\necho "jupytext-config $*" >>"$FAKE_LOG"\n')
    (jupyter_bin / "jupytext-config").chmod(0o755)
    env = {"HOME": str(home), "PATH": f"{FAKE_BIN}:/usr/bin:/bin",
           "FAKE_LOG": str(tmp_path / "calls.log"), "LANG": "C.UTF-8"}
    return Instance(home=home, env=env)


def test_shellcheck_clean() -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck not installed (apt-get install -y shellcheck)")
    scripts = [SCRIPT, *(p for p in FAKE_BIN.iterdir() if p.is_file())]
    done = subprocess.run([shellcheck, *map(str, scripts)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout


def test_default_mode_creates_the_gpu_env_once_and_registers_it(instance: Instance) -> None:
    instance.run()
    used = (instance.prefix / "environment.yml").read_text()
    assert "cuml=26.10" in used and "cuda-version>=12.2,<13" in used
    assert f"- -e {ROOT}[" in used, "the project path is absolute"
    assert (instance.prefix / ".seglab-ready").read_text().strip() == "gpu"
    kernel = instance.kernel()
    assert kernel["display_name"] == "Python (seglab, GPU)"
    assert kernel["argv"][0] == str(instance.prefix / "bin/python")
    instance.run()
    assert len(instance.calls_to("conda")) == 2, "env create + clean, not repeated"


def test_machine_without_gpu_gets_the_cpu_env(instance: Instance) -> None:
    instance.run(FAKE_GPU="0")
    used = yaml.safe_load((instance.prefix / "environment.yml").read_text())["dependencies"]
    names = {spec.split("=")[0].split(">")[0] for spec in used if isinstance(spec, str)}
    assert not names & {"cuml", "cudf", "cuvs", "cupy", "cuda-version"}
    assert {"python", "umap-learn", "scikit-learn"} <= names
    assert instance.kernel()["display_name"] == "Python (seglab, CPU)"


def test_cuda_13_switch(instance: Instance) -> None:
    instance.run(CUDA_MAJOR="13")
    assert "cuda-version>=13.0,<14" in (instance.prefix / "environment.yml").read_text()


def test_on_create_returns_at_once_and_builds_in_the_background(instance: Instance) -> None:
    started = time.monotonic()
    done = instance.run("--on-create", FAKE_CONDA_SLEEP="2")
    assert time.monotonic() - started < 2, "the lifecycle hook must not wait for conda"
    assert "tail -f" in done.stdout
    again = instance.run("--on-create")
    assert "already running" in again.stdout
    instance.wait_ready()
    assert len([c for c in instance.calls_to("conda") if "env create" in c]) == 1
    assert "done" in Path(f"{instance.prefix}.log").read_text()
    assert instance.kernel()["display_name"] == "Python (seglab, GPU)"


def test_on_start_registers_installs_jupytext_and_restarts_jupyter(instance: Instance) -> None:
    instance.run()
    kernels = instance.home / ".local/share/jupyter/kernels"
    shutil.rmtree(kernels)  # what a stop/start does to ~/.local
    instance.run("--on-start")
    assert instance.kernel()["display_name"] == "Python (seglab, GPU)"
    assert any(call.endswith(f"pip install --quiet {JUPYTEXT_PIN}")
               for call in instance.calls_to("python"))
    assert instance.calls_to("jupytext-config") == ["jupytext-config set-default-viewer python"]
    assert instance.calls_to("systemctl") == [
        "systemctl --no-block restart jupyter-server.service"]
    assert len(instance.calls_to("conda")) == 2, "on-start never rebuilds a ready env"
    instance.run("--on-start")
    assert len(instance.calls_to("systemctl")) == 1, "jupytext present: no second restart"


def test_on_start_rebuilds_a_missing_env(instance: Instance) -> None:
    done = instance.run("--on-start")
    assert "rebuilding" in done.stdout
    assert len(instance.calls_to("systemctl")) == 1, "jupytext is installed meanwhile"
    instance.wait_ready()
    assert instance.kernel()["argv"][0] == str(instance.prefix / "bin/python")


def test_half_built_env_fails_loudly_then_heals_on_start(instance: Instance) -> None:
    failed = instance.run(check=False, FAKE_CONDA_FAIL="1")
    assert failed.returncode != 0
    assert instance.prefix.exists() and not (instance.prefix / ".seglab-ready").exists()
    assert not (instance.home / ".local/share/jupyter/kernels/seglab").exists()
    instance.run("--on-start")
    instance.wait_ready()
    assert "removing the half-built env" in Path(f"{instance.prefix}.log").read_text()
    assert (instance.prefix / "bin/python").exists()


@pytest.mark.parametrize("hook", ["on-create", "on-start"])
def test_printed_lifecycle_scripts_fit_sagemaker(instance: Instance, hook: str) -> None:
    script = instance.run("--print-lifecycle", hook).stdout
    assert len(script) <= LIFECYCLE_LIMIT and "\r" not in script
    assert script.startswith("#!/bin/bash\n")
    assert f'/usr/bin/sudo -u ec2-user -i /bin/bash "{SCRIPT}" --{hook}' in script
    commands = [line.split()[0] for line in script.splitlines()
                if line and not line.startswith(("#", " ", "if", "fi", "set", "exit", "echo"))]
    assert commands and all(c.startswith("/") for c in commands), commands
    assert subprocess.run(["bash", "-n"], input=script, text=True, check=False).returncode == 0


def test_print_lifecycle_prints_both_by_default(instance: Instance) -> None:
    both = instance.run("--print-lifecycle").stdout
    assert "### on-create.sh" in both and "### on-start.sh" in both
    wrong = instance.run("--print-lifecycle", "on-stop", check=False)
    assert wrong.returncode == 1 and "on-create or on-start" in wrong.stderr


def test_current_env_registers_this_interpreter(instance: Instance) -> None:
    instance.run("--current-env", PYTHON=sys.executable)
    kernel = instance.kernel()
    assert kernel["display_name"] == "Python (seglab, current env)"
    assert os.path.samefile(kernel["argv"][0], sys.executable)
    assert instance.calls_to("conda") == []


def test_unknown_option_is_one_line(instance: Instance) -> None:
    done = instance.run("--bogus", check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == "setup_kernel: unknown option '--bogus' (see --help)"
