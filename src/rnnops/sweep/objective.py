"""One trial: the sampled values applied to the config, trained by the task's own training
routine (the train stage's: `fit` for forecasters, `fit_language_model` for text), scored by the
best val/loss, stopped early when the pruner says so."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rnnops import tracking
from rnnops.config import Config, with_overrides
from rnnops.names import VAL_LOSS
from rnnops.sweep.pruning import OptunaPruning
from rnnops.training import transfer
from rnnops.training.callbacks import EpochSink, TrainingDiverged
from rnnops.training.fit import FitResult

EPOCHS = "epochs"  # user attr: epochs the trial trained (the sweep's cost)


@dataclass(frozen=True)
class TrialResult:
    value: float  # best val/loss over the epochs run
    epochs: int
    pruned_at: int | None  # epochs run when the pruner stopped it; None if it ran to the end
    implementations: dict[str, str] = field(default_factory=dict)  # what autotune picked


def starting_weights(cfg: Config) -> dict[str, Any] | None:
    """train.init_from's saved weights (None: training starts fresh): read once, then matched
    by name and shape against each network that starts from them (transfer.prepare)."""
    source = cfg.train.init_from
    if not source:
        return None
    if source.startswith(("models:/", "runs:/")):
        tracking.configure_reader(cfg)  # reads the store; creates nothing
    with tracking.weights_file(source) as path:
        return transfer.saved_state(path, source)


def run_trial(
    cfg: Config,
    data: Any,
    trial: Any,
    params: dict[str, Any],
    fit: Callable[..., FitResult],
    epoch_sink: EpochSink | None = None,
    initial_state: dict[str, Any] | None = None,
) -> TrialResult:
    """Train `data` with `fit` (tasks.Task.fit) at the trial's values `params`, starting from
    `initial_state` (starting_weights) where there is one."""
    trial_cfg = with_overrides(cfg, params)
    pruning = OptunaPruning(trial)
    result = fit(trial_cfg, data, max_epochs=cfg.sweep.max_epochs, epoch_sink=epoch_sink,
                 callbacks=[pruning.callback()], initial_state=initial_state)
    trial.set_user_attr(EPOCHS, result.epochs_run)
    if not math.isfinite(result.best_val_loss):  # never let a NaN become the best trial
        raise TrainingDiverged(f"{VAL_LOSS} is {result.best_val_loss}; lower train.lr")
    return TrialResult(result.best_val_loss, result.epochs_run, pruning.pruned_at,
                       result.implementations)
