"""Baseline forecasts computed from the very windows the model sees: (B, L, C) -> (B, H, targets).

last_value, seasonal_naive and window_mean need no fitting; the linear baseline is DLinear's
model (Zeng et al. 2023) fit in closed form on the training windows.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from rnnops.errors import ConfigError


def last_value(x: torch.Tensor, horizon: int, target_columns: list[int]) -> torch.Tensor:
    """Repeat the last observed value: (B, L, C) -> (B, H, targets)."""
    return x[:, -1:, target_columns].expand(-1, horizon, -1)


def seasonal_naive(
    x: torch.Tensor, horizon: int, target_columns: list[int], period: int,
    key: str = "evaluate.season_period",
) -> torch.Tensor:
    """y_{t+h} = y_{t+h-kP} with the smallest k >= 1 that lands inside the lookback."""
    lookback = x.shape[1]
    if period > lookback:
        raise ConfigError(
            key,
            f"{period} is longer than data.lookback = {lookback}; the seasonal-naive baseline "
            "needs one full season of history",
        )
    steps = torch.arange(horizon)
    index = lookback - period + steps % period
    return x[:, index][:, :, target_columns]


def window_mean(x: torch.Tensor, horizon: int, target_columns: list[int]) -> torch.Tensor:
    """The mean of the lookback, repeated over the horizon."""
    return x[:, :, target_columns].mean(dim=1, keepdim=True).expand(-1, horizon, -1)


def moving_average(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """DLinear's trend: a centred moving average over time with the ends repeated, so the trend
    has the window's length. (N, L) -> (N, L)"""
    pad = (kernel - 1) // 2
    padded = torch.cat([x[:, :1].expand(-1, pad), x, x[:, -1:].expand(-1, pad)], dim=1)
    return F.avg_pool1d(padded.unsqueeze(1), kernel, stride=1).squeeze(1)


class LinearBaseline:
    """DLinear: the lookback split into trend (moving average) and remainder, each mapped to the
    horizon by its own linear layer, one layer pair shared by every target channel.

    DLinear trains the layers with Adam; here they are the ridge-regression solution on the
    training windows (the same model, fit exactly and deterministically). Trend and remainder
    add up to the window, so without the ridge term the split would not matter; the penalty
    makes it matter as DLinear's separate layers do.

    The normal equations are accumulated a batch of windows at a time (`add`, then `solve`):
    the (2L + 1)-square Gram matrix is all that grows, never a design matrix of every window,
    which for 21 channels at lookback 720 would take gigabytes.
    """

    def __init__(self, kernel: int, ridge: float):
        self.kernel, self.ridge = kernel, ridge
        self.weight: torch.Tensor | None = None  # (2L + 1, H)
        self.gram: torch.Tensor | None = None  # A^T A
        self.cross: torch.Tensor | None = None  # A^T Y
        self.rows = 0  # rows of A: windows x target channels

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L) windows of one channel -> (N, 2L + 1): trend, remainder and a bias column."""
        x = x.double()
        trend = moving_average(x, min(self.kernel, _odd_at_most(x.shape[1])))
        return torch.cat([trend, x - trend, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)

    def add(self, x: torch.Tensor, y: torch.Tensor, target_columns: list[int]) -> LinearBaseline:
        """Accumulate a batch of training windows: x (N, L, C), y (N, H, targets)."""
        a = self.features(_channel_rows(x[:, :, target_columns]))  # channels stacked: one layer
        out = _channel_rows(y).double()
        if self.gram is None:
            self.gram, self.cross = a.T @ a, a.T @ out
        else:
            self.gram.addmm_(a.T, a)
            self.cross.addmm_(a.T, out)
        self.rows += len(a)
        return self

    def solve(self) -> LinearBaseline:
        if self.gram is None:
            raise RuntimeError("add training windows to the linear baseline before solving")
        penalty = self.ridge * self.rows * torch.eye(len(self.gram), dtype=self.gram.dtype)
        penalty[-1, -1] = 0.0  # the bias is not shrunk
        self.weight = torch.linalg.solve(self.gram + penalty, self.cross)
        return self

    def fit(self, x: torch.Tensor, y: torch.Tensor, target_columns: list[int]) -> LinearBaseline:
        """x (N, L, C) and y (N, H, targets) training windows, all at once."""
        return self.add(x, y, target_columns).solve()

    def __call__(self, x: torch.Tensor, target_columns: list[int]) -> torch.Tensor:
        if self.weight is None:
            raise RuntimeError("fit the linear baseline before forecasting")
        rows = self.features(_channel_rows(x[:, :, target_columns])) @ self.weight  # (N*T, H)
        return rows.view(len(x), len(target_columns), -1).transpose(1, 2).to(x.dtype)


def _channel_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, T, C) -> (N * C, T): one row per window and channel."""
    return x.transpose(1, 2).reshape(-1, x.shape[1])


def _odd_at_most(n: int) -> int:
    return n if n % 2 else n - 1
