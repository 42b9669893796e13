"""Forecasters: a history (B, L, C) in, a forecast (B, H, outputs) out.

`Forecaster` is the frame every architecture shares: per-window normalisation, optional channel
independence (each channel forecast on its own by one shared core, as in PatchTST and SegRNN),
and the choice of target channels. The architecture itself is the `core`: this module holds the
direct multi-horizon head; seq2seq.py and segrnn.py hold the others.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.layers import RecurrentStack
from rnnops.models.normalization import NORMS


class Forecaster(nn.Module):
    def __init__(
        self,
        core: nn.Module,
        input_size: int,
        output_size: int,
        horizon: int,
        norm: str = "last",
        channel_independent: bool = False,
        target_columns: list[int] | None = None,
        per_series: bool = False,
        quantiles: list[float] | None = None,
        future_columns: list[int] | None = None,
        lookback: int = 0,
    ):
        super().__init__()
        # Channels known over the horizon (future covariates, calendar): a window then holds the
        # horizon's rows after its lookback, and the core reads those channels' values there.
        self.future_columns, self.lookback = list(future_columns or []), lookback
        # A global model: univariate, every channel it is given forecast on its own.
        self.per_series = per_series
        # A quantile model (train.loss=quantile): the core forecasts every quantile of every
        # output; forward gives the median, the point forecast every metric scores.
        self.quantiles = list(quantiles or [])
        self.point = self.quantiles.index(0.5) if self.quantiles else None
        self.core = core
        self.input_size, self.output_size, self.horizon = input_size, output_size, horizon
        # Which input channels the outputs forecast (their statistics undo the normalisation).
        self.target_columns = list(target_columns or range(output_size))
        self.norm = NORMS[norm](input_size)
        self.channel_independent = channel_independent
        # Cores that embed channels themselves (SegRNN) get the whole window.
        self.fold_channels = channel_independent and not getattr(core, "handles_channels", False)
        self.spec: dict = {}  # set by models.build: what rebuilds this model around its weights

    def set_epoch(self, epoch: int) -> None:
        """Schedules that depend on the epoch (teacher forcing) read it from here."""
        if hasattr(self.core, "set_epoch"):
            self.core.set_epoch(epoch)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_with_details(x, target)[0]

    def forward_with_details(self, x: torch.Tensor, target: torch.Tensor | None = None):
        """The forecast and what the core exposes for inspection (e.g. attention weights).
        `target` (B, H, outputs), given only in training, feeds teacher forcing."""
        y, details = self.forecast(x, target)
        return (y[..., self.point] if self.quantiles else y), details

    def forecast_quantiles(self, x: torch.Tensor, target: torch.Tensor | None = None
                           ) -> torch.Tensor:
        """(B, H, outputs, quantiles), in increasing order (never crossing)."""
        return self.forecast(x, target)[0]

    def forecast(self, x: torch.Tensor, target: torch.Tensor | None = None):
        """(B, H, outputs), or (B, H, outputs, quantiles) for a quantile model, and details."""
        future = None
        if self.future_columns:
            future = x[:, self.lookback :, self.future_columns]  # (B, H, F), scaled as trained
            x = x[:, : self.lookback]
        batch, lookback, channels = x.shape
        if self.per_series and channels > 1:
            y, details = self.forecast(
                x.transpose(1, 2).reshape(batch * channels, lookback, 1),
                None if target is None else
                target.transpose(1, 2).reshape(batch * channels, self.horizon, 1))
            return (y.reshape(batch, channels, self.horizon, *y.shape[3:]).transpose(1, 2),
                    {k: v.reshape(batch, channels, *v.shape[1:]) for k, v in details.items()})
        x, stats = self.norm.normalize(x)
        if target is not None:
            target = self.norm.normalize_target(target, stats, self.target_columns)
        if self.fold_channels:
            x = x.transpose(1, 2).reshape(batch * channels, lookback, 1)
            # per-channel targets exist only when every channel is forecast
            target = (target.transpose(1, 2).reshape(batch * channels, self.horizon, 1)
                      if target is not None and self.output_size == channels else None)
            if future is not None:  # every channel's forecast reads the window's covariates
                future = future.repeat_interleave(channels, dim=0)
        y, details = self.core(x, target) if future is None else self.core(x, target, future)
        if self.quantiles:  # outputs first, then quantiles: (N, H, outputs, quantiles)
            y = y.reshape(*y.shape[:2], -1, len(self.quantiles))
        if self.fold_channels:
            y = y.reshape(batch, channels, self.horizon, *y.shape[3:]).transpose(1, 2)
            details = {k: v.reshape(batch, channels, *v.shape[1:]) for k, v in details.items()}
        if self.channel_independent:
            y = y[:, :, self.target_columns]
        if not self.quantiles:
            return self.norm.denormalize(y, stats, self.target_columns), details
        y = torch.stack([self.norm.denormalize(y[..., q], stats, self.target_columns)
                         for q in range(len(self.quantiles))], dim=-1)
        return y.sort(dim=-1).values, details


class DirectHead(nn.Module):
    """A recurrent encoder whose summary predicts all H steps at once (no autoregressive error
    accumulation). `zero_init` starts the head at 0, i.e. at the normalisation's own forecast
    (the last value for norm `last`)."""

    def __init__(self, input_size: int, output_size: int, horizon: int, stack: dict,
                 zero_init: bool = False, future_size: int = 0):
        super().__init__()
        self.horizon, self.output_size = horizon, output_size
        self.encoder = RecurrentStack(input_size=input_size, **stack)
        # the summary, then the future covariates of every horizon step
        self.head = nn.Linear(self.encoder.output_size + horizon * future_size,
                              horizon * output_size)
        if zero_init:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, target: torch.Tensor | None = None,
                future: torch.Tensor | None = None):
        y, _ = self.encoder(x)
        summary = self.encoder.summary(y)
        if future is not None:
            summary = torch.cat([summary, future.flatten(1)], dim=-1)
        out = self.head(summary)
        return out.view(-1, self.horizon, self.output_size), {}
