"""The optimizer and learning-rate schedule that train.* describes, for every LightningModule."""

from __future__ import annotations

import torch

from rnnops.config import TrainConfig


def configure_optimization(parameters, train: TrainConfig):
    """Adam or plain SGD at train.lr; with train.lr_decay < 1 the rate is multiplied by it once
    per epoch from epoch train.lr_decay_start on (Zaremba et al. 2014's schedule)."""
    parameters = list(parameters)
    if train.optimizer == "sgd":
        optimizer = torch.optim.SGD(parameters, lr=train.lr)
    else:
        optimizer = torch.optim.Adam(parameters, lr=train.lr)
    if train.lr_decay == 1.0:
        return optimizer
    start, decay = train.lr_decay_start, train.lr_decay
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: decay ** max(0, epoch + 1 - start))
    return {"optimizer": optimizer, "lr_scheduler": schedule}
