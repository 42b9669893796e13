"""Naive forecasts computed from the very windows the model sees."""

from __future__ import annotations

import torch

from rnnops.errors import ConfigError


def last_value(x: torch.Tensor, horizon: int, target_columns: list[int]) -> torch.Tensor:
    """Repeat the last observed value: (B, L, C) -> (B, H, targets)."""
    return x[:, -1:, target_columns].expand(-1, horizon, -1)


def seasonal_naive(
    x: torch.Tensor, horizon: int, target_columns: list[int], period: int
) -> torch.Tensor:
    """y_{t+h} = y_{t+h-kP} with the smallest k >= 1 that lands inside the lookback."""
    lookback = x.shape[1]
    if period > lookback:
        raise ConfigError(
            "data.season_period",
            f"{period} is longer than data.lookback = {lookback}; the seasonal-naive baseline "
            "needs one full season of history",
        )
    steps = torch.arange(horizon)
    index = lookback - period + steps % period
    return x[:, index][:, :, target_columns]

