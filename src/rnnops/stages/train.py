"""train: fit the configured model (with the sweep's best values when they apply), keep the best
epoch, log it all to MLflow and register the model.

Outputs in paths.model (stages/outputs.py): model.pt (weights + constructor arguments),
history.csv (learning curve) and run.json (the fit, its data settings and model.pt's sha256).
The MLflow run is tagged with model.pt's hash, by which evaluate finds the run to report into;
a resumed training (train.resume=true) continues the run it was logging to.
"""

from __future__ import annotations

import logging
from typing import Any

from rnnops import tracking
from rnnops.config import Config, with_overrides
from rnnops.machine import is_global_zero
from rnnops.models.build import check_model_config
from rnnops.names import VAL_LOSS
from rnnops.stages import outputs
from rnnops.sweep.objective import starting_weights
from rnnops.tasks import task_for
from rnnops.training import checkpoints, transfer
from rnnops.training.runtime import single_process

log = logging.getLogger(__name__)


def train(cfg: Config, job: Any = None) -> dict[str, Any]:
    """`job`: the hooks of a Hydra sweep's job (sweep.job.SweepJob: callbacks reporting to its
    trial, tags, the result when its pruner stops it), which trains the values it was given."""
    check_model_config(cfg.model)  # an unknown cell or architecture fails before any work
    if not is_global_zero():  # the other ranks of a multi-process training: rank 0 speaks
        logging.getLogger("rnnops").setLevel(logging.WARNING)
    if job is None and (best := outputs.best_params(cfg)) is not None:
        cfg = with_overrides(cfg, best)
    if job is not None:  # a Hydra sweeper's trial: one process, as the sweep stage's
        cfg = single_process(cfg)
    task = task_for(cfg)
    data = task.load(cfg)
    folder = checkpoints.folder_for(cfg)
    resume_from = checkpoints.resume_point(folder) if cfg.train.resume else None
    initial = initial_state(cfg, task, data)  # before any run or file is written
    if not is_global_zero():  # another process of a multi-process training: rank 0 records it
        task.fit(cfg, data, checkpoint_dir=folder, resume_from=resume_from,
                 initial_state=initial)
        return {}
    tracking.configure(cfg)
    tags = {**tracking.stage_tags("train", data.meta["sha256"]), **(job.tags if job else {})}
    name = f"train-{task.run_prefix}{cfg.model.label}"
    with tracking.training_run(cfg, name, folder, resume_from, tags) as run_id:
        if cfg.train.init_from:  # the lineage: what this model started from
            tracking.set_tags({tracking.TAG_INIT_FROM: cfg.train.init_from})
        result = task.fit(cfg, data, checkpoint_dir=folder, resume_from=resume_from,
                          epoch_sink=tracking.log_metrics,
                          callbacks=job.callbacks if job else None, initial_state=initial)
        if job is not None and job.pruned_at is not None:
            return job.pruned(run_id, result)
        logged, extra = task.fit_summary(cfg, data, result)
        tracking.log_metrics(logged)
        tracking.log_implementations(result.implementations)
        with tracking.discarded_on_error(run_id):  # a full disk leaves no half-logged model
            registered = cfg.tracking.registered_model if cfg.tracking.register is not False \
                else None  # logged with the run, not registered (tracking.register=false)
            version = tracking.log_service(task.service(cfg, data, result.model), registered)
            tracking.log_datasets(cfg.data.name, cfg.paths.prepared, data.meta["sha256"],
                                  getattr(data, "columns", None))
            tracking.describe_run(
                f"{cfg.model.label} (hidden {cfg.model.hidden_size}, {cfg.model.num_layers} "
                f"layer(s)) trained on {cfg.data.name}: best {VAL_LOSS} "
                f"{result.best_val_loss:.5g} at epoch {result.best_epoch + 1} of "
                f"{result.epochs_run}.")
            info = outputs.run_info(cfg, result, **extra)
            model_hash = outputs.write_model(cfg.paths.model, result, info)
            tracking.set_tags({tracking.TAG_MODEL_HASH: model_hash})
            logged_files = [outputs.HISTORY, *((outputs.MODEL_FILE,) if task.logs_weights else ())]
            tracking.log_artifacts([cfg.paths.model / f for f in logged_files])
    log.info("trained %s: best %s %.5g at epoch %d of %d", cfg.model.label, VAL_LOSS,
             result.best_val_loss, result.best_epoch + 1, result.epochs_run)  # counted from 1
    return {**info, "run_id": run_id, "model_version": version}


def initial_state(cfg: Config, task: Any, data: Any) -> dict[str, Any] | None:
    """train.init_from's weights that fit the model (by name and shape), checked against a
    fresh network of cfg.model before training starts: a mismatch is one line, with nothing
    written."""
    saved = starting_weights(cfg)
    if saved is None:
        return None
    return transfer.matched_state(task.new_model(cfg, data), saved, cfg.train.init_from,
                                  cfg.train.init_strict)
