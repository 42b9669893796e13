"""Callbacks the trainer factory installs: per-epoch seeding, history, and a NaN guard."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch

from rnnops.errors import UserError
from rnnops.names import TRAIN_LOSS, VAL_LOSS, VAL_MSE

EpochSink = Callable[[dict[str, float], int], None]

log = logging.getLogger("rnnops.training")


class EpochSeed(pl.Callback):
    """Reseed torch from (seed, epoch) at the start of every epoch, so that dropout and any other
    randomness of epoch k is the same whether or not the run was resumed before it."""

    def __init__(self, seed: int):
        self.seed = seed

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        torch.manual_seed(self.seed * 1_000_003 + trainer.current_epoch)


class History(pl.Callback):
    """Per-epoch train and validation loss; kept in checkpoints so a resumed run has it all.
    `sink` receives each epoch's metrics (the stages pass MLflow logging). Each epoch is one
    console line (epoch k/n, the losses, the best so far, time left at most), at INFO when no
    progress bar shows it, else at DEBUG."""

    def __init__(self, sink: EpochSink | None = None, announce: bool = True):
        self.rows: list[dict[str, float]] = []
        self.sink = sink
        self.level = logging.INFO if announce else logging.DEBUG
        self.started = time.monotonic()

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.monotonic()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        metrics = trainer.callback_metrics
        if VAL_LOSS not in metrics:  # no validation ran this epoch
            return
        row = {"epoch": trainer.current_epoch}
        for name in (TRAIN_LOSS, VAL_LOSS, VAL_MSE):
            if name in metrics:
                row[name] = float(metrics[name])
        self.rows.append(row)
        best = min(self.rows, key=lambda r: r[VAL_LOSS])
        seconds = time.monotonic() - self.started
        left = (trainer.max_epochs - trainer.current_epoch - 1) * seconds
        log.log(self.level, "epoch %d/%d: %s (best %.5g at epoch %d), %.1f s, at most %.0f s "
                "left", trainer.current_epoch + 1, trainer.max_epochs,
                ", ".join(f"{k} {v:.5g}" for k, v in row.items() if k != "epoch"),
                best[VAL_LOSS], best["epoch"] + 1, seconds, left)
        if self.sink is not None:
            self.sink({k: v for k, v in row.items() if k != "epoch"}, trainer.current_epoch)

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict["rows"])


class EpochReport(pl.Callback):
    """Hand val/loss to `report(epochs, value, last)` after each validation (epochs trained so
    far, whether it was the last epoch), and stop training when it returns True: how a sweep's
    pruner (sweep/pruning.py) follows a trial without knowing Lightning."""

    def __init__(self, report: Callable[[int, float, bool], bool]):
        self.report = report

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        value = trainer.callback_metrics.get(VAL_LOSS)
        if trainer.sanity_checking or value is None:
            return
        epochs = trainer.current_epoch + 1
        if self.report(epochs, float(value), epochs >= trainer.max_epochs):
            trainer.should_stop = True


class TrainingDiverged(UserError):
    pass


class NaNGuard(pl.Callback):
    """Stop with a clear message as soon as a loss is not finite: a NaN model is never saved and
    a NaN sweep trial is a failed trial, not the best one."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for name in (TRAIN_LOSS, VAL_LOSS):
            value = trainer.callback_metrics.get(name)
            if value is not None and not math.isfinite(float(value)):
                raise TrainingDiverged(
                    f"{name} is {float(value)} at epoch {trainer.current_epoch}; "
                    "lower train.lr or set train.gradient_clip"
                )
