"""Report val/loss to Optuna after each validation and stop a trial its pruner rejects.

Our own callback because optuna-integration's imports the `lightning` package and refuses
`pytorch_lightning` modules.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl

from rnnops.names import VAL_LOSS


class OptunaPruning(pl.Callback):
    def __init__(self, trial: Any):
        self.trial = trial
        self.pruned_at: int | None = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(VAL_LOSS)
        if trainer.sanity_checking or value is None:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(value), step=epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            trainer.should_stop = True  # the objective raises TrialPruned after fit returns
