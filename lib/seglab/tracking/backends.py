"""Choose the mirror backend (``auto`` resolution without network probing) and build it."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from seglab.config import TrackingConfig
from seglab.errors import ConfigError
from seglab.paths import DEFAULT_RUNS_DIR, resolve
from seglab.tracking.records import Remote

NOTEBOOK_INSTANCE_METADATA = Path("/opt/ml/metadata/resource-metadata.json")
"""Present on SageMaker notebook instances (the SageMaker SDK reads it too)."""


def default_runs_dir() -> Path:
    """The runs folder: ``runs/`` under the repository root (see :mod:`seglab.paths`)."""
    return resolve(DEFAULT_RUNS_DIR)


def resolve_backend(config: TrackingConfig) -> str:
    """``local``, ``sagemaker`` or ``mlflow`` for a tracking config.

    ``auto``: an MLflow URI (``tracking.mlflow_uri`` or ``MLFLOW_TRACKING_URI``) with mlflow
    installed → mlflow; AWS credentials and a region resolvable without network probing → sagemaker
    (the instance role only on a notebook instance); else local.
    """
    if config.backend != "auto":
        return config.backend
    if _mlflow_uri(config.mlflow_uri) and _installed("mlflow"):
        return "mlflow"
    if _installed("boto3") and aws_credentials_available():
        return "sagemaker"
    return "local"


def make_remote(
    backend: str, s3_prefix: str | None, mlflow_uri: str | None, store_dir: Path
) -> Remote | None:
    """Build the mirror for a resolved backend (``None`` for ``local``).

    Raises:
        ConfigError: the backend's extra is not installed, or MLflow has no tracking URI.
    """
    if backend == "local":
        return None
    if backend == "sagemaker":
        if not _installed("boto3"):
            raise ConfigError("tracking.backend=sagemaker needs boto3: pip install 'seglab[sagemaker]'")
        from seglab.tracking.sagemaker import SageMakerRemote

        return SageMakerRemote(s3_prefix)
    if backend == "mlflow":
        uri = _mlflow_uri(mlflow_uri)
        if not uri:
            raise ConfigError(
                "tracking.backend=mlflow needs a tracking URI: set tracking.mlflow_uri or MLFLOW_TRACKING_URI"
            )
        if not _installed("mlflow"):
            raise ConfigError("tracking.backend=mlflow needs mlflow: pip install 'seglab[mlflow]'")
        from seglab.tracking.mlflow import MlflowRemote

        return MlflowRemote(uri, artifact_root=store_dir / "mlflow-artifacts")
    raise ConfigError(f"tracking.backend: unknown backend {backend!r} (auto|local|sagemaker|mlflow)")


def aws_credentials_available() -> bool:
    """Whether AWS credentials and a region resolve without touching the network.

    The EC2/notebook instance role (instance metadata service) is consulted only on a SageMaker
    notebook instance; elsewhere only environment, profile and file providers count.
    """
    import botocore.exceptions
    import botocore.session

    try:
        session = botocore.session.get_session()
        if not session.get_config_variable("region"):
            return False
        resolver = session.get_component("credential_provider")
        if not NOTEBOOK_INSTANCE_METADATA.is_file():
            resolver.remove("iam-role")
        return resolver.load_credentials() is not None
    except botocore.exceptions.BotoCoreError:
        return False


def _mlflow_uri(configured: str | None) -> str | None:
    return configured or os.environ.get("MLFLOW_TRACKING_URI") or None


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None
