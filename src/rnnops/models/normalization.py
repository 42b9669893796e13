"""Per-window normalisation around a forecaster: the window is normalised with statistics of its
own lookback, the core forecasts in that frame, and the forecast is mapped back.

- `last`: subtract the last value (NLinear, Zeng et al. 2023; SegRNN does the same). The network
  sees shapes, not levels, so a trending series whose test levels lie outside the training
  range stays in distribution.
- `revin`: reversible instance normalisation (Kim et al. 2022): the lookback's mean and standard
  deviation per channel, then a learnable affine map per channel, all undone on the output.
- `none`: the scaled data as it is.
"""

from __future__ import annotations

import torch
from torch import nn

EPS = 1e-5


class NoNorm(nn.Module):
    def normalize(self, x: torch.Tensor):
        return x, None

    def normalize_target(self, y: torch.Tensor, stats, columns: list[int]) -> torch.Tensor:
        return y

    def denormalize(self, y: torch.Tensor, stats, columns: list[int]) -> torch.Tensor:
        return y


class LastValue(NoNorm):
    def normalize(self, x: torch.Tensor):
        last = x[:, -1:, :]
        return x - last, last

    def normalize_target(self, y, last, columns):
        return y - last[:, :, columns]

    def denormalize(self, y, last, columns):
        return y + last[:, :, columns]


class RevIN(NoNorm):
    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def normalize(self, x):
        mean = x.mean(dim=1, keepdim=True).detach()
        std = (x.var(dim=1, keepdim=True, unbiased=False) + EPS).sqrt().detach()
        return (x - mean) / std * self.weight + self.bias, (mean, std)

    def normalize_target(self, y, stats, columns):
        mean, std = stats
        return (y - mean[:, :, columns]) / std[:, :, columns] * self.weight[columns] \
            + self.bias[columns]

    def denormalize(self, y, stats, columns):
        mean, std = stats
        y = (y - self.bias[columns]) / (self.weight[columns] + EPS * EPS)
        return y * std[:, :, columns] + mean[:, :, columns]


NORMS = {"last": lambda channels: LastValue(), "revin": RevIN, "none": lambda channels: NoNorm()}
