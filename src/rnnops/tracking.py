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
TAG_MODEL_HASH = "rnnops.model_sha256"  # on a train run: the hash of the model file it wrote


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


def configure_reader(cfg: Config) -> str:
    """Point MLflow at the store to read models from, creating nothing there (rnnops predict and
    generate may run in any folder): tracking.uri; else the project's SQLite file, as the stages
    use it; else MLFLOW_TRACKING_URI, as MLflow's own tools read it. Returns the URI."""
    import os

    import mlflow

    from rnnops.errors import UserError

    db = (cfg.paths.mlflow / "mlflow.db").resolve()
    uri = cfg.tracking.uri or (f"sqlite:///{db}" if db.is_file() else
                               os.environ.get("MLFLOW_TRACKING_URI"))
    if not uri:
        raise UserError(f"no MLflow store at {db}; run from the project folder, or set "
                        "paths.root, tracking.uri or MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    return uri


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


def reopenable(run_id: str) -> bool:
    """Whether a run can be continued: it is in this store and not deleted (MLflow's own error
    for either is a traceback)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return mlflow.MlflowClient().get_run(run_id).info.lifecycle_stage == "active"
    except MlflowException:
        return False


def find_train_run(experiment_id: str, model_file: Path) -> dict[str, Any]:
    """The train run that wrote `model_file` (found by its hash; the newest run, if the same
    model was trained twice) and its registered version: {"run_id", "registered_model",
    "model_version"}. One line if this store holds none (another store, or deleted)."""
    import mlflow
    from mlflow import MlflowClient

    from rnnops.data.download import sha256_of
    from rnnops.errors import UserError

    experiment = mlflow.get_experiment(experiment_id)
    model_hash = sha256_of(model_file)
    runs = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id], output_format="list", max_results=1,
        filter_string=f"tags.`{TAG_MODEL_HASH}` = '{model_hash}'",
        order_by=["attributes.start_time DESC"])
    if not runs:
        raise UserError(f"{model_file}: no run of experiment {experiment.name!r} in "
                        f"{mlflow.get_tracking_uri()} trained this model (another store, or the "
                        "run was deleted); run the train stage again")
    run_id = runs[0].info.run_id
    versions = MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    version = max(versions, key=lambda v: int(v.version)) if versions else None
    return {"run_id": run_id,
            "registered_model": version.name if version else None,
            "model_version": str(version.version) if version else None}


@contextmanager
def train_run(run_id: str) -> Iterator[str]:
    """The train stage's run reopened (evaluate adds to it)."""
    with run(run_id=run_id) as reopened:
        yield reopened


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


def log_implementations(chosen: dict[str, str]) -> None:
    """What model.implementation=auto picked per layer (timed on this machine, so results may
    differ elsewhere by rounding), as params: `implementation.<layer>`."""
    if chosen:
        log_params({f"implementation.{layer}": impl for layer, impl in chosen.items()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    import mlflow

    mlflow.log_metrics(metrics, step=step)


def set_tags(tags: dict[str, str]) -> None:
    import mlflow

    mlflow.set_tags(tags)


def log_dict(data: dict[str, Any], name: str) -> None:
    import mlflow

    mlflow.log_dict(data, name)


def log_text(text: str, name: str) -> None:
    import mlflow

    mlflow.log_text(text, name)


def log_artifacts(paths: list[Path], folder: str | None = None) -> None:
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=folder)


def _log_service(service: Any, signature: Any, registered_name: str | None,
                 metadata: dict[str, Any]) -> Any:
    """Log a serving object (rnnops.serving) as a pyfunc with rnnops.serving as loader module."""
    import tempfile

    import mlflow
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "service"
        service.save(folder)
        return mlflow.pyfunc.log_model(
            name="model",
            loader_module="rnnops.serving",
            data_path=str(folder),
            signature=signature,
            registered_model_name=registered_name,
            metadata=metadata,
            # Explicit requirements: inferring them would load the model in a subprocess.
            pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "rnnops"],
        )


def log_model(model: Any, data: Any, lookback: int, horizon: int,
              registered_name: str) -> str:
    """Log the forecaster as a pyfunc that takes a raw history in original units and returns the
    forecast in original units (rnnops.serving.forecast), register it; returns the version.

    The signature declares the output; the input is a DataFrame with the data's columns or an
    array (time, channels), of any length >= lookback, which the service checks itself (a
    column schema would turn arrays away).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from rnnops.serving.forecast import ForecastService

    service = ForecastService.from_training(model, data, lookback, horizon)
    signature = ModelSignature(
        inputs=None,
        outputs=Schema([ColSpec("long", "step"),
                        *(ColSpec("double", name) for name in service.targets)]),
    )
    info = _log_service(service, signature, registered_name, {
        "rnnops_kind": "forecaster", "columns": service.columns, "targets": service.targets,
        "lookback": lookback, "horizon": horizon})
    version = str(info.registered_model_version)
    log.info("registered %s version %s", registered_name, version)
    return version


def log_language_model(model: Any, vocab: Any, level: str, registered_name: str) -> str:
    """Log a language model as a pyfunc that continues prompts (rnnops.serving.generate) and
    register it; returns the version. Decoding options are pyfunc params."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

    from rnnops.serving.generate import DEFAULTS, TextGenerator

    kinds = {str: "string", int: "long", float: "double"}
    signature = ModelSignature(
        inputs=Schema([ColSpec("string", "prompt")]),
        outputs=Schema([ColSpec("string", "prompt"), ColSpec("string", "text")]),
        params=ParamSchema([ParamSpec(k, kinds[type(v)], v) for k, v in DEFAULTS.items()]),
    )
    info = _log_service(TextGenerator(model, vocab, level), signature, registered_name,
                        {"rnnops_kind": "language_model", "level": level,
                         "vocab_size": len(vocab)})
    version = str(info.registered_model_version)
    log.info("registered %s version %s", registered_name, version)
    return version


# --- registry: the champion alias ---------------------------------------------------------------

CHAMPION = "champion"
TEST_SET_TAG = "rnnops.test_set"  # on a version: the data it was scored on


def _score_tag(metric: str) -> str:
    return f"rnnops.test_{metric}"


def promote_if_better(name: str, version: str, metric: str, value: float,
                      test_set: str | None = None) -> dict[str, Any]:
    """Tag the version with its test metric and move the `champion` alias to it only when it is
    lower than the current champion's (or there is none). Both numbers are recorded as tags on
    the version: rnnops.test_<metric> and rnnops.champion_test_<metric>. `test_set`
    (provenance.test_set_id) names the data scored; a champion scored on other data (another
    horizon, lookback or column set) is not compared with, and keeps the alias."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    version = str(version)
    try:
        champion = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        champion = None
    held_by = str(champion.version) if champion is not None else None  # MLflow 3: an int
    already = held_by == version
    previous = None
    if champion is not None and _score_tag(metric) in champion.tags:
        previous = float(champion.tags[_score_tag(metric)])
    champion_set = champion.tags.get(TEST_SET_TAG) if champion is not None else None
    other_data = test_set is not None and champion_set is not None and champion_set != test_set
    if test_set is not None:
        client.set_model_version_tag(name, version, TEST_SET_TAG, test_set)
    if already:
        promoted, held_by, previous = True, None, None  # evaluated again: it stays champion
    elif other_data:
        # Its forecasts have another shape or come from other windows: a lower score means
        # nothing, and moving the alias would change what `rnnops predict` and servers return.
        log.warning("champion %s v%s was scored on other data (%s; this version: %s), so the "
                    "scores are not compared and the alias stays. Register models of other data "
                    "under their own name (tracking.registered_model=...)", name, held_by,
                    champion_set, test_set)
        promoted, previous = False, None
    elif champion is not None and previous is None:
        log.warning("champion %s v%s has no test %s to compare with; the alias stays. Move it "
                    "with MlflowClient().set_registered_model_alias if you mean to", name,
                    held_by, metric)
        promoted = False
    else:
        promoted = previous is None or value < previous
    client.set_model_version_tag(name, version, _score_tag(metric), repr(float(value)))
    client.set_model_version_tag(name, version, f"rnnops.champion_test_{metric}",
                                 "none" if previous is None else repr(previous))
    client.set_model_version_tag(name, version, "rnnops.champion_version", held_by or "none")
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    log.info("%s v%s: test %s %.5g vs champion %s: %s", name, version, metric, value,
             f"v{held_by} (other data)" if other_data else
             "none" if previous is None else f"v{held_by} {previous:.5g}",
             "champion" if promoted else "alias unchanged")
    return {"name": name, "version": version, "value": float(value),
            "champion_version": held_by, "champion_value": previous, "promoted": promoted,
            "already_champion": already, "champion_other_data": other_data}


def model_uri(model: str) -> str:
    """models:/ URI of `NAME` (its latest version), `NAME@ALIAS` or `NAME/VERSION` (URIs pass
    through). MLflow 3 reads a bare models:/NAME as a logged model's id, hence /latest."""
    if ":/" in model:
        return model
    if "@" not in model and "/" not in model:
        return f"models:/{model}/latest"
    return f"models:/{model}"


def load_service(model: str) -> tuple[Any, str]:
    """The pyfunc of a registered model and its kind (forecaster or language_model); an unknown
    name, alias or version is one clear UserError."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from rnnops.errors import UserError

    uri = model_uri(model)
    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except MlflowException as exc:
        known = ", ".join(m.name for m in mlflow.MlflowClient().search_registered_models())
        reason = str(exc).splitlines()[0]
        raise UserError(f"model {model!r}: {reason} (registered models in "
                        f"{mlflow.get_tracking_uri()}: {known or 'none'})") from None
    kind = (loaded.metadata.metadata or {}).get("rnnops_kind")
    if kind is None:
        raise UserError(f"model {model!r} was not logged by rnnops (no rnnops_kind metadata)")
    return loaded, kind


def registered_models() -> dict[str, tuple[str, ...]]:
    """The registered models in the current store, by name, with their aliases."""
    import mlflow

    return {m.name: tuple(m.aliases or ()) for m in
            mlflow.MlflowClient().search_registered_models()}
