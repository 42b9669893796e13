"""Report val/loss to Optuna after each validation and stop a trial its pruner rejects.

Our own callback because optuna-integration's imports the `lightning` package and refuses
`pytorch_lightning` modules. It talks to the trial only, so it works the same in the sweep stage
and in a Hydra job that reports to a study held by another process.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from rnnops.names import VAL_LOSS

PRUNED_AT = "pruned_at_epoch"  # user attr: how many epochs the trial ran before it was pruned


class OptunaPruning(pl.Callback):
    def __init__(self, trial: Any):
        self.trial = trial
        self.pruned_at: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(VAL_LOSS)
        if trainer.sanity_checking or value is None:
            return
        # Step = epochs trained so far, so pruner settings (warm-up, min resource) count epochs.
        epochs = trainer.current_epoch + 1
        self.trial.report(float(value), step=epochs)
        # At the last epoch there is nothing left to save: the trial completes (Hyperband would
        # otherwise prune a fully trained trial at its top rung and hide its value from TPE).
        if epochs < trainer.max_epochs and self.trial.should_prune():
            self.pruned_at = epochs
            self.trial.set_user_attr(PRUNED_AT, epochs)
            trainer.should_stop = True  # the caller tells Optuna PRUNED once fit returns
