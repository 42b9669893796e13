"""train: fit the configured model (with the sweep's best values when they apply), keep the best
epoch, log it all to MLflow and register the model.

Outputs in paths.model: model.pt (weights + constructor arguments), history.csv (learning curve)
and run.json (the fit and its data settings). The MLflow run is tagged with model.pt's hash, by
which evaluate finds the run to report into.
"""

from __future__ import annotations

import json
import logging
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
from rnnops.models.build import check_model_config
from rnnops.models.io import save_model
from rnnops.names import TRAIN_LOSS, VAL_LOSS, VAL_MSE
from rnnops.stages.outputs import BEST_PARAMS, HISTORY, MODEL_FILE, RUN_INFO
from rnnops.sweep import job as sweep_job
from rnnops.training.fit import FitResult, fit
from rnnops.training.language import fit_language_model, language_metrics

log = logging.getLogger(__name__)

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
    with tracking.run(
        f"train-{cfg.model.label}",
        tags={**tracking.stage_tags("train", data.meta["sha256"]), **trial.tags},
    ) as run_id:
        tracking.log_config(cfg)
        result = fit(
            cfg, data,
            checkpoint_dir=cfg.paths.checkpoints / checkpoint_key(cfg),
            epoch_sink=tracking.log_metrics,
            callbacks=trial.callbacks,
        )
        if trial.pruned_at is not None:
            return pruned(trial, run_id, result)
        tracking.log_metrics({f"best_{VAL_LOSS}": result.best_val_loss,
                              "best_epoch": result.best_epoch})
        tracking.log_implementations(result.implementations)
        version = tracking.log_model(result.model, data, cfg.data.lookback, cfg.data.horizon,
                                     cfg.tracking.registered_model)
        info = run_info(cfg, result)
        write_outputs(cfg, result, info)
    log.info("trained %s: best %s %.5f at epoch %d of %d", cfg.model.label, VAL_LOSS,
             result.best_val_loss, result.best_epoch, result.epochs_run)
    return {**info, "run_id": run_id, "model_version": version}


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
        tracking.set_tags({tracking.TAG_MODEL_HASH: sha256_of(folder / MODEL_FILE)})
        history.to_csv(folder / HISTORY, index=False)
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
    with tracking.run(f"train-lm-{cfg.model.label}",
                      tags={**tracking.stage_tags("train", data_hash), **trial.tags}) as run_id:
        tracking.log_config(cfg)
        result = fit_language_model(
            cfg, splits, len(vocab),
            checkpoint_dir=cfg.paths.checkpoints / checkpoint_key(cfg),
            epoch_sink=tracking.log_metrics,
            callbacks=trial.callbacks,
        )
        if trial.pruned_at is not None:
            return pruned(trial, run_id, result)
        val = {f"best_val/{k}": v
               for k, v in language_metrics(result.best_val_loss, cfg.data.level).items()}
        tracking.log_metrics({**val, "best_epoch": result.best_epoch})
        version = tracking.log_language_model(result.model, vocab, cfg.data.level,
                                              cfg.tracking.registered_model)
        info = run_info(cfg, result, kind="language_model", vocab_size=len(vocab), **val)
        write_outputs(cfg, result, info, artifacts=(HISTORY, MODEL_FILE))
    log.info("trained language model %s: best %s %.4f at epoch %d of %d", cfg.model.label,
             VAL_LOSS, result.best_val_loss, result.best_epoch, result.epochs_run)
    return {**info, "run_id": run_id, "model_version": version}
