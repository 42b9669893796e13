"""The one module that talks to MLflow.

Default store: SQLite at <paths.mlflow>/mlflow.db with artifacts in <paths.mlflow>/artifacts, both
under paths.root, so a project folder carries its whole history.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow
import psutil
import torch
from filelock import FileLock
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from rnnops.atomic import staged
from rnnops.config import Config, flatten, to_dict
from rnnops.data.download import sha256_of
from rnnops.errors import ConfigError, DataError, UserError
from rnnops.masking import mask, masked
from rnnops.names import CHAMPION
from rnnops.sqlite_registry import reader_uri

log = logging.getLogger(__name__)

# Tags every run carries; tests and the UI filter on them.
TAG_STAGE = "rnnops.stage"
TAG_GIT_COMMIT = "rnnops.git_commit"
TAG_DATA_HASH = "rnnops.data_sha256"
TAG_TRIAL_STATE = "optuna.trial_state"
TAG_EVALUATED = "rnnops.evaluated_at_commit"  # set on a train run once evaluate reported into it
TAG_MODEL_HASH = "rnnops.model_sha256"  # on a train run: the hash of the model file it wrote
# The process that holds a run open: a RUNNING run whose process is gone is closed by the next
# stage that opens the store (close_stale_runs).
TAG_HOST = "rnnops.host"
TAG_PID = "rnnops.pid"
TAG_PID_STARTED = "rnnops.pid_started"  # the process's start time: pids are reused
TAG_CLOSED = "rnnops.closed_because"  # on a run closed for its dead process


def tracking_uri(cfg: Config) -> str:
    if cfg.tracking.uri:
        return cfg.tracking.uri
    return f"sqlite:///{(cfg.paths.mlflow / 'mlflow.db').resolve()}"


def quiet_mlflow() -> None:
    """MLflow's own INFO lines (store migrations, "Successfully registered model") repeat what
    rnnops logs in its own words; its warnings stay. Against a tracking server it would also
    print each run's address with an emoji on every run end, and a progress bar for every
    download; the train stage logs the address once instead."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def configure(cfg: Config) -> str:
    """Point MLflow at the configured store and experiment; returns the experiment id. The first
    process creates the store; RUNNING runs whose process died are closed (KILLED)."""
    quiet_mlflow()
    uri = tracking_uri(cfg)
    server = is_server(uri)
    if server:
        check_server(uri)
    else:
        cfg.paths.mlflow.mkdir(parents=True, exist_ok=True)
    # Two processes creating one SQLite store at once both run its migrations, and one fails
    # ("duplicate column name"); a server store serialises that itself.
    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.get_experiment_by_name(cfg.tracking.experiment)
        if experiment is None:
            # A tracking server chooses the location itself (its proxied artifact store), so
            # that every client, on any machine, reads the files it logs; a local store keeps
            # them beside its database.
            artifacts = None if server else (cfg.paths.mlflow / "artifacts").resolve().as_uri()
            try:
                experiment_id = mlflow.create_experiment(
                    cfg.tracking.experiment, artifact_location=artifacts)
            except MlflowException:  # another process (another machine) created it first
                experiment = mlflow.get_experiment_by_name(cfg.tracking.experiment)
                if experiment is None:
                    raise
                experiment_id = experiment.experiment_id
        else:
            experiment_id = experiment.experiment_id
        mlflow.set_experiment(experiment_id=experiment_id)
        close_stale_runs()
    return experiment_id


def is_server(uri: str) -> bool:
    """Whether `uri` is a tracking server (MLflow's REST API) rather than a store it opens."""
    return uri.startswith(("http://", "https://"))


SERVER_TIMEOUT_S = 15


def check_server(uri: str) -> None:
    """A tracking server that cannot be reached, or refuses the credentials, is one line on
    tracking.uri (its password masked) before anything runs; MLflow itself would retry for
    minutes and end in a traceback."""
    import requests

    probe = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search"
    try:
        answer = requests.get(probe, params={"max_results": 1}, timeout=SERVER_TIMEOUT_S)
    except requests.RequestException as exc:
        reason = (f"no answer within {SERVER_TIMEOUT_S} s" if isinstance(exc, requests.Timeout)
                  else "connection refused or host unknown"
                  if isinstance(exc, requests.ConnectionError) else type(exc).__name__)
        raise ConfigError("tracking.uri", f"cannot reach the tracking server {masked(uri)} "
                          f"({reason}); start it (docs/scaling.md) or fix the address") from None
    if answer.status_code in (401, 403):
        raise ConfigError("tracking.uri", f"the tracking server {masked(uri)} refused the "
                          f"credentials (HTTP {answer.status_code}); set the user and password "
                          "in the URL or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD")
    if answer.status_code != 200:
        raise ConfigError("tracking.uri", f"{masked(uri)} answered HTTP {answer.status_code} "
                          "to MLflow's API: is it an MLflow tracking server?")


@contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock beside a SQLite store's file while the block runs (nothing for other
    stores): processes started together create and open the store one at a time."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.endswith(":memory:"):
        yield
        return
    path = Path(uri[len(prefix):].split("?")[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=300):
        yield


def process_tags() -> dict[str, str]:
    """This process as the run tags that let a later stage tell whether it is still alive."""
    return {TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid()),
            TAG_PID_STARTED: f"{psutil.Process().create_time():.2f}"}


def _process_alive(pid: int, started: str | None) -> bool:

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or f"{process.create_time():.2f}" == started
    except psutil.NoSuchProcess:  # zombies included
        return False
    except psutil.Error:  # not ours to look at: it exists
        return True


def close_stale_runs() -> list[str]:
    """Close the RUNNING runs of this store that a process on this machine opened and that
    process has ended (kill -9, out of memory, a full disk that stopped MLflow itself): KILLED,
    tagged with why, and a model it was logging (not finished) removed. Runs of other machines
    are left alone: whether their process lives cannot be seen from here. Returns their ids."""
    client = MlflowClient()
    host = socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    closed: list[str] = []
    page = None
    while experiments:
        runs = client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=500,
                                  page_token=page)
        for found in runs:
            tags = found.data.tags
            if tags.get(TAG_HOST) != host or not tags.get(TAG_PID, "").isdigit():
                continue
            pid = int(tags[TAG_PID])
            if pid == os.getpid() or _process_alive(pid, tags.get(TAG_PID_STARTED)):
                continue
            run_id = found.info.run_id
            why = (f"its process {host}:{pid} ended without closing it (killed, or out of memory "
                   f"or disk); closed by {host}:{os.getpid()}")
            discard_models(run_id, unfinished_only=True)
            client.set_tag(run_id, TAG_CLOSED, why)
            client.set_terminated(run_id, status="KILLED")
            log.warning("MLflow run %s (%s) was left RUNNING by a process that is gone; marked "
                        "KILLED", run_id, tags.get("mlflow.runName", "?"))
            closed.append(run_id)
        page = runs.token
        if not page:
            break
    return closed


def configure_reader(cfg: Config) -> str:
    """Point MLflow at the store to read models from, creating nothing there (rnnops predict and
    generate may run in any folder): tracking.uri; else the project's SQLite file, as the stages
    use it; else MLFLOW_TRACKING_URI, as MLflow's own tools read it. Returns the URI."""
    quiet_mlflow()
    uri = reader_uri(cfg.paths.mlflow, cfg.tracking.uri)
    if is_server(uri):
        check_server(uri)
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
    """A run that ends FINISHED, or FAILED when the block raises; yields its id. The run is
    tagged with this process (reopened ones too), so that a run left RUNNING by a process that
    died is closed by the next stage (close_stale_runs)."""
    with mlflow.start_run(run_id=run_id, run_name=name, nested=nested,
                          tags=mask(tags) if tags else None) as active:
        mlflow.set_tags(process_tags())
        yield active.info.run_id


def create_run(experiment_id: str, name: str, tags: dict[str, str]) -> str:
    """A new run, not entered (tracking.run(run_id=...) opens it); tagged with this process
    like every run, so that it is closed if the process dies before it opens it."""
    created = MlflowClient().create_run(experiment_id, run_name=name,
                                        tags={**mask(tags), **process_tags()})
    return created.info.run_id


RUN_RECORD = "mlflow_run.json"  # beside a training's checkpoints: the run it logs to
TAG_RESUMED = "rnnops.resumed_from"  # on a train run: where the last resume continued from


@contextmanager
def training_run(cfg: Config, name: str, checkpoints: Path, resume_from: Path | None,
                 tags: dict[str, str]) -> Iterator[str]:
    """The MLflow run of a training, recorded beside its checkpoints: a resume from a good
    checkpoint (`resume_from`) continues the run the interrupted training logged to (closed as
    KILLED meanwhile by configure), so its curves hold every epoch; else a new run, which logs
    the config. Yields the run id."""
    previous = _recorded_run(cfg, checkpoints) if resume_from is not None else None
    with run(None if previous else name, run_id=previous, tags=tags) as run_id:
        if previous:
            set_tags({TAG_RESUMED: str(resume_from)})
            log.info("continuing MLflow run %s", run_id)
        else:
            log_config(cfg)
        uri = tracking_uri(cfg)
        if is_server(uri):
            experiment = mlflow.active_run().info.experiment_id
            log.info("MLflow run: %s/#/experiments/%s/runs/%s", masked(uri).rstrip("/"),
                     experiment, run_id)
        checkpoints.mkdir(parents=True, exist_ok=True)
        with staged(checkpoints / RUN_RECORD) as (record,):
            record.write_text(json.dumps({"run_id": run_id,
                                          "tracking_uri": masked(tracking_uri(cfg))}))
        yield run_id


def _recorded_run(cfg: Config, checkpoints: Path) -> str | None:
    """The MLflow run of the interrupted training whose checkpoints are in `checkpoints`, if
    this store still has it (a run that finished was not interrupted: training again logs to a
    new one)."""
    path = checkpoints / RUN_RECORD
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        run_id = record["run_id"]
    except (ValueError, KeyError, TypeError):
        log.warning("%s: unreadable; the resumed training logs to a new MLflow run", path)
        return None
    status = (run_status(run_id)
              if record.get("tracking_uri") == masked(tracking_uri(cfg)) else None)
    if status is None:
        log.warning("MLflow run %s of the interrupted training is not in this store (deleted, "
                    "or another tracking.uri); the resumed training logs to a new run", run_id)
    return run_id if status not in (None, "FINISHED") else None  # finished: not interrupted


def reopenable(run_id: str) -> bool:
    """Whether a run can be continued: it is in this store and not deleted (MLflow's own error
    for either is a traceback)."""
    return run_status(run_id) is not None


def run_status(run_id: str) -> str | None:
    """RUNNING, FINISHED, FAILED or KILLED; None for a run this store lacks or has deleted."""
    try:
        found = mlflow.MlflowClient().get_run(run_id)
    except MlflowException:
        return None
    return found.info.status if found.info.lifecycle_stage == "active" else None


def find_train_run(experiment_id: str, model_file: Path) -> dict[str, Any]:
    """The train run that wrote `model_file` (found by its hash; the newest run, if the same
    model was trained twice) and its registered version: {"run_id", "registered_model",
    "model_version"}. One line if this store holds none (another store, or deleted)."""
    experiment = mlflow.get_experiment(experiment_id)
    model_hash = sha256_of(model_file)
    runs = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id], output_format="list", max_results=1,
        filter_string=f"tags.`{TAG_MODEL_HASH}` = '{model_hash}'",
        order_by=["attributes.start_time DESC"])
    if not runs:
        raise UserError(f"{model_file}: no run of experiment {experiment.name!r} in "
                        f"{masked(mlflow.get_tracking_uri())} trained this model (another store, "
                        "or the run was deleted); run the train stage again")
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
    data = mask(to_dict(cfg))  # a password in any URL-valued key never reaches the store
    mlflow.log_params({k: _param(v) for k, v in flatten(data).items()})
    mlflow.log_dict(data, "config.yaml")


def _param(value: Any) -> Any:
    return "null" if value is None else value


def log_params(params: dict[str, Any]) -> None:

    mlflow.log_params({k: _param(v) for k, v in mask(params).items()})


def log_implementations(chosen: dict[str, str]) -> None:
    """What model.implementation=auto picked per layer (timed on this machine, so results may
    differ elsewhere by rounding), as params: `implementation.<layer>`."""
    if chosen:
        log_params({f"implementation.{layer}": impl for layer, impl in chosen.items()})


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:

    mlflow.log_metrics(metrics, step=step)


def set_tags(tags: dict[str, str]) -> None:

    mlflow.set_tags(mask(tags))


# The run page's description in MLflow's UI (the "Description" box above a run's parameters).
NOTE = "mlflow.note.content"
SPLITS = {"train": "training", "val": "validation", "test": "testing"}  # split -> MLflow context


TAG_INIT_FROM = "rnnops.init_from"  # on a train run: the weights it started from
TAG_TRAINED = "rnnops.trained"  # the train stage's sentence, which evaluate's follows


def describe_run(text: str, evaluated: bool = False) -> None:
    """The active run's description: the train stage's sentence; with `evaluated`, that sentence
    followed by `text` (a second evaluation replaces the first's)."""
    if evaluated:
        run = mlflow.get_run(mlflow.active_run().info.run_id)
        text = f"{run.data.tags.get(TAG_TRAINED, '')} {text}".strip()
    else:
        mlflow.set_tag(TAG_TRAINED, masked(text))
    mlflow.set_tag(NOTE, masked(text))


def log_datasets(name: str, source: Path, digest: str, columns: list[str] | None) -> None:
    """The prepared data's splits as the run's MLflow datasets (the run page's Datasets panel,
    and the logged model's lineage): `name`/split, found at `source`, with `digest` (the
    prepared data's sha256, shortened to the length MLflow stores) and the columns as schema.
    The model logged last in this run is linked to them too."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import LoggedModelInput

    with warnings.catch_warnings():  # a local path matches two equivalent source kinds
        warnings.simplefilter("ignore")
        origin = resolve_dataset_source(str(source.resolve()))
    schema = Schema([ColSpec("double", c) for c in columns]) if columns else None
    model, run = mlflow.last_logged_model(), mlflow.active_run()
    if model is not None and (run is None or model.source_run_id != run.info.run_id):
        model = None  # a model of another run this process logged
    for split, context in SPLITS.items():
        dataset = MetaDataset(origin, name=f"{name}/{split}", digest=digest[:36], schema=schema)
        mlflow.log_input(dataset, context=context,
                         model=LoggedModelInput(model.model_id) if model is not None else None)


def log_dict(data: dict[str, Any], name: str) -> None:

    mlflow.log_dict(data, name)


def log_text(text: str, name: str) -> None:

    mlflow.log_text(text, name)


def log_artifacts(paths: list[Path], folder: str | None = None) -> None:

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path=folder)


def log_service(service: Any, registered_name: str | None) -> str | None:
    """Log a serving object (rnnops.serving: it saves itself into a folder, with a manifest of
    its files' hashes that every load checks, and describes its interface) as a pyfunc with
    rnnops.serving as loader module, register it (unless `registered_name` is None); returns
    the version. The signature is the
    service's own: for a forecaster it declares the output only, since the input is a history of
    any length >= lookback that the service checks itself (a column schema would turn arrays
    away); a language model's decoding options are params."""
    spec = service.interface()

    def schema(columns):
        return None if columns is None else Schema([ColSpec(kind, name) for kind, name in columns])

    kinds = {str: "string", int: "long", float: "double", bool: "boolean"}
    params = spec.get("params")
    signature = ModelSignature(
        inputs=schema(spec.get("inputs")), outputs=schema(spec["outputs"]),
        params=ParamSchema([ParamSpec(k, kinds[type(v)], v) for k, v in params.items()])
        if params else None)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # No input example: MLflow would load the model and run it on one to check the
        # signature, while a forecaster's input has no fixed length; the warning that it is
        # missing is noise to every run.
        warnings.filterwarnings("ignore", message=".*input example was not provided")
        folder = Path(tmp) / "service"
        service.save(folder)
        # MLflow prints "Successfully registered model" itself, to stderr; rnnops logs it.
        with contextlib.redirect_stderr(io.StringIO()):
            info = mlflow.pyfunc.log_model(
                name="model",
                loader_module="rnnops.serving",
                data_path=str(folder),
                signature=signature,
                registered_model_name=registered_name,
                metadata=spec["metadata"],
                # Explicit requirements: inferring them would load the model in a subprocess.
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "rnnops"],
            )
    if registered_name is None:
        log.info("model logged with the run, not registered (tracking.register=false)")
        return None
    version = str(info.registered_model_version)
    log.info("registered %s version %s", registered_name, version)
    return version


def served_input_error(message: str) -> Exception:
    """An input error of a served model as MLflow's scoring server answers it: status 400 with
    this message (it answers other exceptions with a generic one)."""
    return _served_input_error_class()(message, error_code=INVALID_PARAMETER_VALUE)


@functools.cache
def _served_input_error_class() -> type:
    """Made on first use (one class, not one per error). Also a DataError, so `rnnops generate`
    reports it as a user error."""
    class ServedInputError(MlflowException, DataError):
        """MLflow's scoring server puts the whole request in front of a failed prediction's
        message ("Failed to predict data '<the frame>'. Error: ..."), which would send the
        caller's data back in the answer: the message stays as it was first set."""

        @property
        def message(self) -> str:
            return self._message

        @message.setter
        def message(self, value: str) -> None:
            if not hasattr(self, "_message"):
                self._message = value

    return ServedInputError


@contextmanager
def discarded_on_error(run_id: str) -> Iterator[None]:
    """Models the run logs in the block are removed again if the block raises (a full disk while
    the artifacts or the outputs are written, a signal): no half-uploaded logged model and no
    registered version of a FAILED run is left for `rnnops predict` or a server to pick up."""
    before = {m.model_id for m in _run_models(run_id)}
    try:
        yield
    except BaseException:
        try:
            discard_models(run_id, keep=before)
        except Exception as exc:  # the store itself may be what failed: close_stale_runs retries
            log.warning("could not remove the model logged by run %s: %s", run_id, exc)
        raise


def _run_models(run_id: str) -> list[Any]:

    experiment = mlflow.MlflowClient().get_run(run_id).info.experiment_id
    return mlflow.search_logged_models(experiment_ids=[experiment], output_format="list",
                                       filter_string=f"source_run_id = '{run_id}'")


def discard_models(run_id: str, keep: set[str] | None = None,
                   unfinished_only: bool = False) -> list[str]:
    """Remove the models `run_id` logged (but those in `keep`; with `unfinished_only`, only those
    whose logging never finished): their registered versions, their artifacts and the logged
    model itself. A registered model left without versions goes too. Returns the model ids."""
    client = MlflowClient()
    removed = []
    for model in _run_models(run_id):
        if model.model_id in (keep or set()) or (
                unfinished_only and model.status == LoggedModelStatus.READY):
            continue
        for version in client.search_model_versions(f"run_id = '{run_id}'"):
            source = version.source or ""
            if version.model_id == model.model_id or source.endswith(model.model_id):
                client.delete_model_version(version.name, version.version)
                if not client.search_model_versions(f"name = '{version.name}'"):
                    client.delete_registered_model(version.name)
        get_artifact_repository(model.artifact_location).delete_artifacts()
        client.delete_logged_model(model.model_id)
        removed.append(model.model_id)
        log.warning("removed model %s of run %s (its logging did not finish)", model.model_id,
                    run_id)
    return removed


# --- registry: the champion alias ---------------------------------------------------------------

TEST_SET_TAG = "rnnops.test_set"  # on a version: the data it was scored on


def _score_tag(metric: str) -> str:
    return f"rnnops.test_{metric}"


def champion_holder(name: str, metric: str) -> dict[str, Any]:
    """The version holding `champion` of registered model `name`: {version, value (its test
    `metric`, or None), test_set}, all None when there is none (evaluation.champion.Holder)."""
    try:
        champion = MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return {"version": None, "value": None, "test_set": None}
    score = champion.tags.get(_score_tag(metric))
    return {"version": str(champion.version),  # MLflow 3: an int
            "value": None if score is None else float(score),
            "test_set": champion.tags.get(TEST_SET_TAG)}


def record_champion(decision: Any, test_set: str | None) -> None:
    """Record an evaluation.champion.Decision on its version (tags: its test metric, the
    champion's, the champion version, the data scored, the gate's verdict) and move the alias
    if it was promoted."""
    client = MlflowClient()
    name, version, metric = decision.name, decision.version, decision.metric
    tags = {_score_tag(metric): repr(decision.value),
            f"rnnops.champion_test_{metric}": ("none" if decision.champion_value is None
                                               else repr(decision.champion_value)),
            "rnnops.champion_version": decision.champion_version or "none"}
    if test_set is not None:
        tags[TEST_SET_TAG] = test_set
    gate = decision.gate
    if gate is not None:
        tags["rnnops.champion_gate"] = (f"{'passed' if gate['passed'] else 'failed'} "
                                        f"({gate['rule']}): {gate['reason']}")[:5000]
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    if decision.champion_other_data:
        log.warning("champion %s v%s was scored on other data, so the scores are not compared "
                    "and the alias stays. Register models of other data under their own name "
                    "(tracking.registered_model=...)", name, decision.champion_version)
    elif (decision.champion_version is not None and decision.champion_value is None
          and not decision.promoted):
        log.warning("champion %s v%s has no test %s to compare with; the alias stays. Move it "
                    "with MlflowClient().set_registered_model_alias if you mean to", name,
                    decision.champion_version, metric)
    if decision.gate_failed:
        log.warning("%s v%s fails the champion gate (evaluate.champion_gate=%s): %s. It stays "
                    "registered; the alias stays where it was", name, version, gate["rule"],
                    gate["reason"])
    log.info("%s", decision.summary())


def model_uri(model: str) -> str:
    """models:/ URI of `NAME` (its latest version), `NAME@ALIAS` or `NAME/VERSION` (URIs pass
    through). MLflow 3 reads a bare models:/NAME as a logged model's id, hence /latest."""
    if ":/" in model:
        return model
    if "@" not in model and "/" not in model:
        return f"models:/{model}/latest"
    return f"models:/{model}"


@contextmanager
def weights_file(source: str) -> Iterator[Path]:
    """The local file of train.init_from while the block runs: a registered model's weights
    (models:/NAME@ALIAS or /VERSION: its logged model.pt) or a run's artifact (runs:/ID/PATH),
    downloaded into a temporary folder removed after; a path as it is. Anything it cannot fetch
    is a ConfigError on the key."""
    key = "train.init_from"
    if not source.startswith(("models:/", "runs:/")):
        path = Path(source).expanduser()
        if not path.is_file():
            raise ConfigError(key, f"{source}: no such file (or use models:/NAME@ALIAS, "
                              "models:/NAME/VERSION or runs:/RUN_ID/PATH)")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="rnnops-init-") as target:
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source,
                                                             dst_path=target))
        except (MlflowException, OSError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            store = masked(mlflow.get_tracking_uri())
            raise ConfigError(key, f"{source}: {reason[:200]} (store {store})") from None
        if local.is_dir():  # a logged model: its served files hold the weights
            found = sorted(local.rglob("model.pt"))
            if not found:
                raise ConfigError(key, f"{source}: a folder without a model.pt")
            local = found[0]
        yield local


def load_service(model: str) -> tuple[Any, str]:
    """The pyfunc of a registered model and its kind (forecaster or language_model); an unknown
    name, alias or version is one clear UserError."""
    uri = model_uri(model)
    try:
        # No requirements check: it walks every installed distribution on each load, and what
        # rnnops serves carries the sha256 of its files, checked as they load (files.sha256,
        # rnnops.serving)
        loaded = mlflow.pyfunc.load_model(uri, suppress_warnings=True)
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
    return {m.name: tuple(m.aliases or ()) for m in
            mlflow.MlflowClient().search_registered_models()}
