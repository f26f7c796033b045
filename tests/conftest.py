"""Suite-wide guard: a test that opens a non-loopback network connection fails; AWS test env.

Tests run offline; AWS and MLflow are exercised through moto (in-process) and servers on
127.0.0.1. The guard is lifted only for an explicit live AWS session (``SEGLAB_AWS_LIVE=1``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

_ORIGINAL = {"connect": socket.socket.connect, "connect_ex": socket.socket.connect_ex}


class NetworkAccessError(RuntimeError):
    """A test tried to reach a non-loopback address."""


def _check_loopback(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0])
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        ip = None
    mapped = getattr(ip, "ipv4_mapped", None)
    if ip is not None and (ip.is_loopback or (mapped is not None and mapped.is_loopback)):
        return
    raise NetworkAccessError(
        f"test tried to connect to {address!r}: the suite is offline, use 127.0.0.1 "
        "(moto's mock_aws, a loopback server) or SEGLAB_AWS_LIVE=1 for the live AWS test"
    )


def _guarded(name: str) -> Any:
    original = _ORIGINAL[name]

    def connect(self: socket.socket, address: Any) -> Any:
        _check_loopback(self, address)
        return original(self, address)

    return connect


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("SEGLAB_AWS_LIVE") == "1":
        return
    for name in _ORIGINAL:
        setattr(socket.socket, name, _guarded(name))


def pytest_unconfigure(config: pytest.Config) -> None:
    for name, original in _ORIGINAL.items():
        setattr(socket.socket, name, original)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy AWS credentials and region for moto; no profile, no instance-metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MLFLOW_TRACKING_URI", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def corpus_run(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``corpus_run(name, overrides=())``: :func:`corpus_support.run_on_corpus` in this test's
    ``tmp_path``."""
    from corpus_support import run_on_corpus

    def run(name: str, overrides: Iterable[str] = ()) -> dict[str, Any]:
        return run_on_corpus(name, tmp_path / name, overrides)

    return run
