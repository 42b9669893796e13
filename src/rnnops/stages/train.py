"""train: fit the configured model (with the sweep's best values when they apply), keep the best
epoch, log it all to MLflow and register the model.

Outputs in paths.model: model.pt (weights + constructor arguments), history.csv (learning curve)
and run.json (the fit and its data settings). The MLflow run is tagged with model.pt's hash, by
which evaluate finds the run to report into. Beside the checkpoints (not in the DVC outputs) the
stage records its MLflow run, which a resumed training (train.resume=true) continues, so the
run's curves hold every epoch.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from rnnops import tracking
from rnnops.atomic import staged
from rnnops.config import Config, fingerprint, with_overrides
from rnnops.data.download import sha256_of
from rnnops.data.prepared import PreparedData
from rnnops.data.prepared_text import META as TEXT_META
from rnnops.data.prepared_text import load_prepared_text
from rnnops.data.provenance import DATA_SETTINGS, data_settings
from rnnops.errors import UserError
from rnnops.masking import masked
from rnnops.models.build import check_model_config
from rnnops.models.io import save_model
from rnnops.names import TRAIN_LOSS, VAL_LOSS, VAL_MSE
from rnnops.stages.outputs import BEST_PARAMS, HISTORY, MODEL_FILE, MODEL_HASH, RUN_INFO
from rnnops.sweep import job as sweep_job
from rnnops.training import checkpoints
from rnnops.training.fit import FitResult, fit
from rnnops.training.language import fit_language_model, language_metrics

log = logging.getLogger(__name__)

RUN_RECORD = "mlflow_run.json"  # in the checkpoint folder: the MLflow run its training logs to
TAG_RESUMED = "rnnops.resumed_from"  # on a train run: where the last resume continued from


def apply_best_params(cfg: Config) -> Config:
    """The config with the sweep's best values, when the sweep tuned this same model."""
    path = cfg.paths.sweep / BEST_PARAMS
    if not cfg.train.use_best_params:
        if path.exists():
            log.info("train.use_best_params=false: %s not applied", path)
        return cfg
    if not path.exists():
        log.info("no %s; training with the configured values", path)
        return cfg
    best = yaml.safe_load(path.read_text())
    if not isinstance(best, dict) or not isinstance(best.get("params"), dict):
        raise UserError(f"{path}: not a best-params file; rerun the sweep stage or delete it")
    if best.get("model") != cfg.model.label:
        log.warning("%s was tuned for model %s, not %s; training with the configured values",
                    path, best.get("model"), cfg.model.label)
        return cfg
    log.info("applying best params from %s: %s", path, best["params"])
    return with_overrides(cfg, best["params"])


def checkpoint_key(cfg: Config) -> str:
    """Checkpoints belong to one exact training setup; resume only ever continues that one."""
    return fingerprint(with_overrides(cfg, {"train.resume": False}), "seed", "data", "model",
                       "train")


def train(cfg: Config) -> dict[str, Any]:
    check_model_config(cfg.model)  # an unknown cell or architecture fails before any work
    trial = sweep_job.current()  # the Optuna trial when a Hydra sweep launched this job
    if trial.trial is None:  # a sweep job trains the values it was given, not best_params.yaml
        cfg = apply_best_params(cfg)
    if cfg.data.kind == "text":
        return train_language_model(cfg, trial)
    data = PreparedData.load(cfg.paths.prepared, cfg.data)
    tracking.configure(cfg)
    with training_run(cfg, f"train-{cfg.model.label}", data.meta["sha256"], trial) as (
            run_id, folder, resume_from):
        result = fit(
            cfg, data,
            checkpoint_dir=folder,
            resume_from=resume_from,
            epoch_sink=tracking.log_metrics,
            callbacks=trial.callbacks,
        )
        if trial.pruned_at is not None:
            return pruned(trial, run_id, result)
        tracking.log_metrics({f"best_{VAL_LOSS}": result.best_val_loss,
                              "best_epoch": result.best_epoch})
        tracking.log_implementations(result.implementations)
        with tracking.discarded_on_error(run_id):  # a full disk leaves no half-logged model
            version = tracking.log_model(result.model, data, cfg.data.lookback,
                                         cfg.data.horizon, cfg.tracking.registered_model)
            info = run_info(cfg, result)
            write_outputs(cfg, result, info)
    log.info("trained %s: best %s %.5f at epoch %d of %d", cfg.model.label, VAL_LOSS,
             result.best_val_loss, result.best_epoch, result.epochs_run)
    return {**info, "run_id": run_id, "model_version": version}


@contextmanager
def training_run(cfg: Config, name: str, data_hash: str, trial: sweep_job.SweepJob
                 ) -> Iterator[tuple[str, Path, Path | None]]:
    """The MLflow run of this training, recorded in its checkpoint folder: a resume from a good
    checkpoint continues the run the interrupted training logged to (closed as KILLED meanwhile
    by tracking.configure), else a new run. Yields (run id, checkpoint folder, checkpoint to
    resume from)."""
    folder = cfg.paths.checkpoints / checkpoint_key(cfg)
    resume_from = checkpoints.resume_point(folder) if cfg.train.resume else None
    previous = recorded_run(cfg, folder) if resume_from is not None else None
    with tracking.run(None if previous else name, run_id=previous,
                      tags={**tracking.stage_tags("train", data_hash), **trial.tags}) as run_id:
        if previous:
            tracking.set_tags({TAG_RESUMED: str(resume_from)})
            log.info("continuing MLflow run %s", run_id)
        else:
            tracking.log_config(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        with staged(folder / RUN_RECORD) as (record,):
            record.write_text(json.dumps({"run_id": run_id,
                                          "tracking_uri": masked(tracking.tracking_uri(cfg))}))
        yield run_id, folder, resume_from


def recorded_run(cfg: Config, folder: Path) -> str | None:
    """The MLflow run of the interrupted training in `folder`, if this store still has it (a
    run that finished was not interrupted: training again logs to a new one)."""
    path = folder / RUN_RECORD
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
        run_id = record["run_id"]
    except (ValueError, KeyError, TypeError):
        log.warning("%s: unreadable; the resumed training logs to a new MLflow run", path)
        return None
    status = (tracking.run_status(run_id)
              if record.get("tracking_uri") == masked(tracking.tracking_uri(cfg)) else None)
    if status is None:
        log.warning("MLflow run %s of the interrupted training is not in this store (deleted, "
                    "or another tracking.uri); the resumed training logs to a new run", run_id)
    return run_id if status not in (None, "FINISHED") else None  # finished: not interrupted


def run_info(cfg: Config, result: FitResult, **extra: Any) -> dict[str, Any]:
    """run.json: the fit and the data it was trained on. The MLflow run and registered version
    are not in it: outputs that DVC caches hold only what the same inputs make again on any
    machine (evaluate finds the run by the model file's hash, tracking.find_train_run)."""
    best = next(r for r in result.history if r["epoch"] == result.best_epoch)
    if VAL_MSE in best:  # trained on another loss: the MSE that compares runs
        extra = {"best_val_mse": best[VAL_MSE], **extra}
    return {
        "registered_model": cfg.tracking.registered_model,
        "model": cfg.model.label,
        "best_epoch": result.best_epoch,
        "best_val_loss": result.best_val_loss,
        "epochs_run": result.epochs_run,
        DATA_SETTINGS: data_settings(cfg.data),  # evaluate checks that it tests on the same
        **extra,
    }


def write_outputs(cfg: Config, result: FitResult, info: dict[str, Any],
                  artifacts: tuple[str, ...] = (HISTORY,)) -> None:
    """model.pt, history.csv and run.json into paths.model as one atomic folder."""
    history = pd.DataFrame(result.history).rename(
        columns={TRAIN_LOSS: "train_loss", VAL_LOSS: "val_loss", VAL_MSE: "val_mse"}
    )
    with staged(cfg.paths.model) as (folder,):
        folder.mkdir()
        save_model(result.model, folder / MODEL_FILE)
        model_hash = sha256_of(folder / MODEL_FILE)  # the same bytes for the same inputs
        tracking.set_tags({tracking.TAG_MODEL_HASH: model_hash})
        history.to_csv(folder / HISTORY, index=False)
        info = {**info, MODEL_HASH: model_hash}  # evaluate checks the file against it
        (folder / RUN_INFO).write_text(json.dumps(info, indent=2) + "\n")
        tracking.log_artifacts([folder / name for name in artifacts])


def pruned(trial: sweep_job.SweepJob, run_id: str, result: FitResult) -> dict[str, Any]:
    """A Hydra sweep job that the sweep's pruner stopped: tagged, and nothing registered."""
    tracking.set_tags({tracking.TAG_TRIAL_STATE: "PRUNED"})
    log.info("pruned by the sweep after %d epochs", trial.pruned_at)
    return {"run_id": run_id, "pruned_at_epoch": trial.pruned_at,
            "best_val_loss": result.best_val_loss, "epochs_run": result.epochs_run}


def train_language_model(cfg: Config, trial: sweep_job.SweepJob) -> dict[str, Any]:
    """The text branch: a language model on the prepared token streams (truncated BPTT)."""
    splits, vocab = load_prepared_text(cfg.paths.prepared, cfg.data)
    data_hash = json.loads((cfg.paths.prepared / TEXT_META).read_text())["sha256"]
    tracking.configure(cfg)
    with training_run(cfg, f"train-lm-{cfg.model.label}", data_hash, trial) as (
            run_id, folder, resume_from):
        result = fit_language_model(
            cfg, splits, len(vocab),
            checkpoint_dir=folder,
            resume_from=resume_from,
            epoch_sink=tracking.log_metrics,
            callbacks=trial.callbacks,
        )
        if trial.pruned_at is not None:
            return pruned(trial, run_id, result)
        val = {f"best_val/{k}": v
               for k, v in language_metrics(result.best_val_loss, cfg.data.level).items()}
        tracking.log_metrics({**val, "best_epoch": result.best_epoch})
        with tracking.discarded_on_error(run_id):
            version = tracking.log_language_model(result.model, vocab, cfg.data.level,
                                                  cfg.tracking.registered_model)
            info = run_info(cfg, result, kind="language_model", vocab_size=len(vocab), **val)
            write_outputs(cfg, result, info, artifacts=(HISTORY, MODEL_FILE))
    log.info("trained language model %s: best %s %.4f at epoch %d of %d", cfg.model.label,
             VAL_LOSS, result.best_val_loss, result.best_epoch, result.epochs_run)
    return {**info, "run_id": run_id, "model_version": version}
