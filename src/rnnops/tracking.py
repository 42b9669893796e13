"""The one module that talks to MLflow.

Default store: SQLite at <paths.mlflow>/mlflow.db with artifacts in <paths.mlflow>/artifacts, both
under paths.root, so a project folder carries its whole history.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rnnops.config import Config, flatten, to_dict

log = logging.getLogger(__name__)

# Tags every run carries; tests and the UI filter on them.
TAG_STAGE = "rnnops.stage"
TAG_GIT_COMMIT = "rnnops.git_commit"
TAG_DATA_HASH = "rnnops.data_sha256"
TAG_TRIAL_STATE = "optuna.trial_state"
TAG_EVALUATED = "rnnops.evaluated_at_commit"  # set on a train run once evaluate reported into it


def tracking_uri(cfg: Config) -> str:
    if cfg.tracking.uri:
        return cfg.tracking.uri
    return f"sqlite:///{(cfg.paths.mlflow / 'mlflow.db').resolve()}"


def configure(cfg: Config) -> str:
    """Point MLflow at the configured store and experiment; returns the experiment id."""
    import mlflow

    cfg.paths.mlflow.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri(cfg))
    experiment = mlflow.get_experiment_by_name(cfg.tracking.experiment)
    if experiment is None:
        artifacts = (cfg.paths.mlflow / "artifacts").resolve()
        experiment_id = mlflow.create_experiment(
            cfg.tracking.experiment, artifact_location=artifacts.as_uri()
        )
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


@contextmanager
def run(
    name: str | None = None,
    *,
    run_id: str | None = None,
    nested: bool = False,
    tags: dict[str, str] | None = None,
) -> Iterator[str]:
    """A run that ends FINISHED, or FAILED when the block raises; yields its id."""
    import mlflow

    with mlflow.start_run(run_id=run_id, run_name=name, nested=nested, tags=tags) as active:
        yield active.info.run_id


def stage_tags(stage: str, data_hash: str | None = None) -> dict[str, str]:
    tags = {TAG_STAGE: stage, TAG_GIT_COMMIT: git_commit()}
    if data_hash:
        tags[TAG_DATA_HASH] = data_hash
    return tags


def log_config(cfg: Config) -> None:
    """The flattened config as params, the resolved config as an artifact."""
    import mlflow

    data = to_dict(cfg)
    mlflow.log_params({k: _param(v) for k, v in flatten(data).items()})
    mlflow.log_dict(data, "config.yaml")


def _param(value: Any) -> Any:
    return "null" if value is None else value


def log_params(params: dict[str, Any]) -> None:
    import mlflow

    mlflow.log_params({k: _param(v) for k, v in params.items()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    import mlflow

    mlflow.log_metrics(metrics, step=step)


def set_tags(tags: dict[str, str]) -> None:
    import mlflow

    mlflow.set_tags(tags)


def log_dict(data: dict[str, Any], name: str) -> None:
    import mlflow

    mlflow.log_dict(data, name)


def log_artifacts(paths: list[Path], folder: str | None = None) -> None:
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=folder)


def log_model(
    model: Any, input_channels: int, horizon: int, output_channels: int, registered_name: str
) -> str:
    """Log the torch model with an explicit signature and register it; returns the version.

    Batch and lookback are variable (-1): a recurrent encoder reads any history length.
    """
    import mlflow
    import numpy as np
    import torch
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    signature = ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, -1, input_channels), "history")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, horizon, output_channels))]),
    )
    info = mlflow.pytorch.log_model(
        model,
        name="model",
        signature=signature,
        registered_model_name=registered_name,
        serialization_format="pickle",
        # Explicit requirements: inferring them would load the model in a subprocess.
        pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "rnnops"],
    )
    version = str(info.registered_model_version)
    log.info("registered %s version %s", registered_name, version)
    return version
