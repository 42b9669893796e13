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


class LeanSteps(pl.LightningModule):
    """A training step without Lightning's per-step Python where it can be skipped: batches that
    already sit on the training device (IndexBatches draws them there) skip Lightning's recursive
    move, a few hundred microseconds a step, and the training loss is logged once per epoch
    instead of once per step (add_train_loss)."""

    _train_epoch, _train_weight = -1, 0

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        if all(t.device == device for t in batch if isinstance(t, torch.Tensor)):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def add_train_loss(self, loss: torch.Tensor, weight: int) -> None:
        """Add one step's loss (a mean over `weight` targets) to the epoch's weighted sum, on the
        device: no host sync. A self.log per step cost 0.6 ms of Lightning's Python on this
        project's CPU (it walks the stored metric's state to move it to the value's device;
        docs/benchmarks.md), a fifth of a small model's whole step on a GPU."""
        total = loss.detach().float() * weight  # float32, as Lightning summed it
        # A new epoch restarts the sum here rather than in on_train_epoch_start, which the
        # subclasses override for their own purposes.
        if self._train_epoch != self.current_epoch:
            self._train_epoch, self._train_sum, self._train_weight = self.current_epoch, total, 0
        else:
            self._train_sum = self._train_sum + total
        self._train_weight += weight

    @property
    def distributed(self) -> bool:
        """Several processes train together, each on its share of every batch."""
        return (torch.distributed.is_available() and torch.distributed.is_initialized()
                and torch.distributed.get_world_size() > 1)

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        # After the epoch's last batch, before validation and the epoch-end callbacks read it.
        if batch_idx + 1 >= self.trainer.num_training_batches and self._train_weight:
            total, weight = self._train_sum, self._train_weight
            if self.distributed:
                total, weight = all_processes_sum(total, weight)
            # sync_dist: the processes' values are already equal; it says so to Lightning
            self.log(TRAIN_LOSS, total / weight, on_step=False, on_epoch=True, batch_size=1,
                     sync_dist=self.distributed)

    def share_of_step(self, loss: torch.Tensor, weight: int) -> torch.Tensor:
        """A step's mean `loss` over this process's `weight` targets, scaled so that DDP's average
        of the processes' gradients is the gradient of the mean over the whole batch, also where
        the shares differ (an epoch's last, partial batch): one process gives the loss as is."""
        if not self.distributed:
            return loss
        total = torch.tensor(float(weight), device=loss.device)
        torch.distributed.all_reduce(total)
        return loss * (weight * torch.distributed.get_world_size() / total)

    def log_epoch_mean(self, name: str, value: torch.Tensor, weight: int) -> None:
        """An epoch value, the mean of the steps' `value` weighted by `weight` (what Lightning's
        on_epoch logging computes). Over several processes the weighted sums of all of them are
        added first (on_validation_epoch_end), so every process logs the mean over the whole
        split: a mean of the processes' means would differ where their shares do, and early
        stopping, checkpoints and the history must agree on every process."""
        if not self.distributed:
            self.log(name, value, on_step=False, on_epoch=True, batch_size=weight)
            return
        sums = self.__dict__.setdefault("_epoch_sums", {})
        total, count = sums.get(name, (0.0, 0))
        sums[name] = (total + value.detach().float() * weight, count + weight)

    def on_validation_epoch_end(self) -> None:
        for name, (total, count) in self.__dict__.pop("_epoch_sums", {}).items():
            total, count = all_processes_sum(total, count)
            self.log(name, total / count, on_step=False, on_epoch=True, batch_size=1,
                     sync_dist=True)


def all_processes_sum(total: torch.Tensor, weight: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`total` and `weight` summed over the processes of a multi-process training."""
    both = torch.stack([total.float(), torch.tensor(float(weight), device=total.device)])
    torch.distributed.all_reduce(both)
    return both[0], both[1]


#: train.loss: the point forecast's criterion. MAE and Huber weigh the few large errors of a
#: spiky series (ETT's load columns) less than MSE does.
LOSSES = {
    "mse": nn.functional.mse_loss,
    "mae": nn.functional.l1_loss,
    "huber": nn.functional.huber_loss,
}


def pinball_loss(forecast: torch.Tensor, target: torch.Tensor,
                 quantiles: torch.Tensor) -> torch.Tensor:
    """The mean pinball (quantile) loss of (B, H, T, Q) quantile forecasts of (B, H, T) targets:
    max(q (y - f), (q - 1)(y - f)), whose minimiser is the q-quantile."""
    diff = target.unsqueeze(-1) - forecast
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()


class ForecastModule(LeanSteps):
    def __init__(self, model: nn.Module, train: TrainConfig, fused_optimizer: bool = False):
        super().__init__()
        self.model, self.train_cfg, self.fused_optimizer = model, train, fused_optimizer
        if train.loss == "quantile":  # a quantile model: each quantile its pinball loss
            levels = torch.tensor(model.quantiles)
            self.criterion = None
            self.register_buffer("levels", levels, persistent=False)
        else:
            self.criterion = LOSSES[train.loss]

    def loss(self, x: torch.Tensor, y: torch.Tensor, target: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """(train.loss of the forecast, the point forecast); `target` feeds teacher forcing."""
        if self.criterion is None:
            quantiles = self.model.forecast_quantiles(x, target)
            return (pinball_loss(quantiles, y, self.levels.to(quantiles.dtype)),
                    quantiles[..., self.model.point])
        prediction = self.model(x, target)
        return self.criterion(prediction, y), prediction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_train_epoch_start(self) -> None:
        if hasattr(self.model, "set_epoch"):  # schedules such as teacher forcing
            self.model.set_epoch(self.current_epoch)

    def training_step(self, batch, batch_idx):
        x, y = batch
        # The target goes in too: seq2seq decoders feed it back (teacher forcing).
        loss, _ = self.loss(x, y, y)
        self.add_train_loss(loss, len(x))
        t = self.train_cfg
        return self.share_of_step(loss, len(x)) + weight_penalty(self.model, t.l1, t.l2)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        loss, prediction = self.loss(x, y, None)
        self.log_epoch_mean(VAL_LOSS, loss, len(x))
        if self.criterion is not nn.functional.mse_loss:
            self.log_epoch_mean(VAL_MSE, nn.functional.mse_loss(prediction, y), len(x))

    def configure_optimizers(self):
        return configure_optimization(self.model, self.train_cfg,
                                      self.fused_optimizer)
