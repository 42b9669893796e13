"""A recurrent encoder with a direct multi-horizon head: the last hidden state predicts all H
future steps at once (no autoregressive error accumulation)."""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.registry import cell_class


class RecurrentForecaster(nn.Module):
    def __init__(
        self,
        cell: str,
        input_size: int,
        output_size: int,
        horizon: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        dropout: float = 0.0,
        subtract_last: bool = True,
        target_columns: list[int] | None = None,
    ):
        super().__init__()
        # Everything needed to rebuild this model around a saved state_dict (models.io).
        self.init_kwargs = {
            "cell": cell, "input_size": input_size, "output_size": output_size,
            "horizon": horizon, "hidden_size": hidden_size, "num_layers": num_layers,
            "dropout": dropout, "subtract_last": subtract_last, "target_columns": target_columns,
        }
        self.horizon, self.output_size = horizon, output_size
        self.subtract_last = subtract_last
        # Which input channels the outputs forecast: their last values anchor the forecast.
        self.target_columns = target_columns or list(range(output_size))
        self.encoder = cell_class(cell)(input_size, hidden_size, num_layers, dropout)
        self.head = nn.Linear(hidden_size, horizon * output_size)
        if subtract_last:
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, C) -> (B, H, output_size)."""
        if self.subtract_last:
            # NLinear-style anchoring (Zeng et al. 2023): the window is shifted so its last value
            # is zero and the forecast is shifted back. The network then sees shapes, not levels,
            # so a trending series whose test levels lie outside the training range stays in
            # distribution, and a zero head starts as the last-value forecast.
            last = x[:, -1:, :]
            y, _ = self.encoder(x - last)
            out = self.head(y[:, -1]).view(-1, self.horizon, self.output_size)
            return out + last[:, :, self.target_columns]
        y, _ = self.encoder(x)
        return self.head(y[:, -1]).view(-1, self.horizon, self.output_size)
