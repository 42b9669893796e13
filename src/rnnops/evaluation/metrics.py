"""Point-forecast errors over all windows, steps and target channels."""

from __future__ import annotations

import math

import torch
from torchmetrics.functional import mean_absolute_error, mean_squared_error


def forecast_errors(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """MSE, MAE and RMSE of `pred` against `target` (same shape)."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    mse = float(mean_squared_error(pred.double(), target.double()))
    return {
        "mse": mse,
        "mae": float(mean_absolute_error(pred.double(), target.double())),
        "rmse": math.sqrt(mse),
    }
