"""The LightningModule for forecasting: the train.loss criterion on scaled data plus the configured
penalties."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn

from rnnops.config import TrainConfig
from rnnops.names import TRAIN_LOSS, VAL_LOSS, VAL_MSE
from rnnops.training.optimization import configure_optimization
from rnnops.training.regularizers import weight_penalty


class ResidentBatches(pl.LightningModule):
    """Batches that already sit on the training device (IndexBatches draws them there) skip
    Lightning's recursive per-step move, a few hundred microseconds of Python per step."""

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        if all(t.device == device for t in batch if isinstance(t, torch.Tensor)):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)


#: train.loss: the point forecast's criterion. MAE and Huber weigh the few large errors of a
#: spiky series (ETT's load columns) less than MSE does.
LOSSES = {
    "mse": nn.functional.mse_loss,
    "mae": nn.functional.l1_loss,
    "huber": nn.functional.huber_loss,
}


class ForecastModule(ResidentBatches):
    def __init__(self, model: nn.Module, train: TrainConfig, fused_optimizer: bool = False):
        super().__init__()
        self.model, self.train_cfg, self.fused_optimizer = model, train, fused_optimizer
        self.criterion = LOSSES[train.loss]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_train_epoch_start(self) -> None:
        if hasattr(self.model, "set_epoch"):  # schedules such as teacher forcing
            self.model.set_epoch(self.current_epoch)

    def training_step(self, batch, batch_idx):
        x, y = batch
        # The target goes in too: seq2seq decoders feed it back (teacher forcing).
        loss = self.criterion(self.model(x, y), y)
        # Epoch means are accumulated on the device: no host sync per step.
        self.log(TRAIN_LOSS, loss, on_step=False, on_epoch=True, batch_size=len(x))
        return loss + weight_penalty(self.model, self.train_cfg.l1, self.train_cfg.l2)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        prediction = self.model(x)
        loss = self.criterion(prediction, y)
        self.log(VAL_LOSS, loss, on_step=False, on_epoch=True, batch_size=len(x))
        if self.criterion is not nn.functional.mse_loss:
            self.log(VAL_MSE, nn.functional.mse_loss(prediction, y), on_step=False,
                     on_epoch=True, batch_size=len(x))

    def configure_optimizers(self):
        return configure_optimization(self.model.parameters(), self.train_cfg,
                                      self.fused_optimizer)
