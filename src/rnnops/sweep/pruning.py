"""Report val/loss to Optuna after each validation and stop a trial its pruner rejects.

Our own, because optuna-integration's Lightning callback imports the `lightning` package and
refuses `pytorch_lightning` modules. The Lightning side is training.callbacks.EpochReport; this
side talks to the trial only, so it works the same in the sweep stage and in a Hydra job that
reports to a study held by another process.
"""

from __future__ import annotations

from typing import Any

from rnnops.training.callbacks import EpochReport

PRUNED_AT = "pruned_at_epoch"  # user attr: how many epochs the trial ran before it was pruned


class OptunaPruning:
    def __init__(self, trial: Any):
        self.trial = trial
        self.pruned_at: int | None = None

    def __call__(self, epochs: int, value: float, last: bool) -> bool:
        """Report val/loss after `epochs` epochs; True stops the training (pruned)."""
        # Step = epochs trained so far, so pruner settings (warm-up, min resource) count epochs.
        self.trial.report(value, step=epochs)
        # At the last epoch there is nothing left to save: the trial completes (Hyperband would
        # otherwise prune a fully trained trial at its top rung and hide its value from TPE).
        if not last and self.trial.should_prune():
            self.pruned_at = epochs
            self.trial.set_user_attr(PRUNED_AT, epochs)
            return True  # the caller tells Optuna PRUNED once fit returns
        return False

    def callback(self) -> EpochReport:
        """The training callback that reports to this trial."""
        return EpochReport(self)
