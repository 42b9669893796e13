"""The optimizer and learning-rate schedule that train.* describes, for every LightningModule."""

from __future__ import annotations

import torch

from rnnops.config import TrainConfig
from rnnops.training.runtime import use_fused_optimizer
from rnnops.training.transfer import parameter_groups


def configure_optimization(model: torch.nn.Module, train: TrainConfig, fused: bool = False):
    """Adam or plain SGD at train.lr (per layer group with train.layer_lr_decay < 1:
    transfer.parameter_groups); with train.lr_decay < 1 the rate is multiplied by it once per
    epoch from epoch train.lr_decay_start on (Zaremba et al. 2014's schedule). `fused`
    (trainer.fused_optimizer) updates every parameter in one kernel where torch has one for
    their device; else torch's default, one tensor at a time on the CPU."""
    found = parameter_groups(model, train)
    parameters = found[0]["params"] if len(found) == 1 else found
    devices = {p.device.type for p in model.parameters()}
    kernel = {"fused": True} if use_fused_optimizer(fused, devices) else {}
    if train.optimizer == "sgd":
        optimizer = torch.optim.SGD(parameters, lr=train.lr, **kernel)
    else:
        optimizer = torch.optim.Adam(parameters, lr=train.lr, **kernel)
    if train.lr_decay == 1.0:
        return optimizer
    start, decay = train.lr_decay_start, train.lr_decay
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: decay ** max(0, epoch + 1 - start))
    return {"optimizer": optimizer, "lr_scheduler": schedule}
