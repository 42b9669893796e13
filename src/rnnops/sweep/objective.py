"""One trial: the sampled values applied to the config, trained by the same `fit` as the train
stage, scored by the best val/loss, pruned early when the pruner says so."""

from __future__ import annotations

from typing import Any

from rnnops.config import Config, with_overrides
from rnnops.data.prepared import PreparedData
from rnnops.sweep.pruning import OptunaPruning
from rnnops.training.callbacks import EpochSink
from rnnops.training.fit import fit


def run_trial(
    cfg: Config,
    data: PreparedData,
    trial: Any,
    params: dict[str, Any],
    epoch_sink: EpochSink | None = None,
) -> float:
    import optuna

    trial_cfg = with_overrides(cfg, params)
    pruning = OptunaPruning(trial)
    result = fit(
        trial_cfg, data, max_epochs=cfg.sweep.max_epochs, epoch_sink=epoch_sink,
        callbacks=[pruning],
    )
    if pruning.pruned_at is not None:
        raise optuna.TrialPruned(f"pruned at epoch {pruning.pruned_at}")
    return result.best_val_loss
