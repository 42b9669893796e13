"""Forecast errors (over all windows, steps and target channels, or per horizon step) and
language-model scores. torchmetrics computes what it has: MSE, MAE, sMAPE, perplexity."""

from __future__ import annotations

import math

import numpy as np
import torch
from torchmetrics.functional import (
    mean_absolute_error,
    mean_squared_error,
    symmetric_mean_absolute_percentage_error,
)
from torchmetrics.functional.text import perplexity as _perplexity

#: Every point-forecast metric, in the order tables show them.
FORECAST_METRICS = ("mse", "mae", "rmse", "smape", "mase")


def naive_scale(train: np.ndarray | torch.Tensor, period: int) -> torch.Tensor:
    """MASE's denominator per channel: the in-sample mean absolute error of the seasonal-naive
    forecast y_t = y_{t-period} on the training rows (Hyndman & Koehler 2006). (rows, C) -> (C,)"""
    train = torch.as_tensor(np.asarray(train), dtype=torch.float64)
    if len(train) <= period:
        raise ValueError(f"MASE needs more than {period} training rows, got {len(train)}")
    return (train[period:] - train[:-period]).abs().mean(dim=0)


def _check(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ")


def forecast_errors(
    pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None = None
) -> dict[str, float]:
    """MSE, MAE, RMSE and sMAPE (in percent, 0-200) of `pred` against `target` (same shape,
    channels last), and MASE when `scale` (naive_scale of the same channels) is given: the mean
    over channels of each channel's MAE divided by its scale."""
    _check(pred, target)
    # contiguous: torchmetrics views its inputs, and naive forecasts are expanded views
    pred, target = pred.double().contiguous(), target.double().contiguous()
    mse = float(mean_squared_error(pred, target))
    errors = {
        "mse": mse,
        "mae": float(mean_absolute_error(pred, target)),
        "rmse": math.sqrt(mse),
        "smape": 100.0 * float(symmetric_mean_absolute_percentage_error(pred, target)),
    }
    if scale is not None:
        per_channel = (pred - target).abs().reshape(-1, target.shape[-1]).mean(dim=0)
        errors["mase"] = float((per_channel / scale.double()).mean())
    return errors


def errors_by_step(pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
    """MSE and MAE at each horizon step: (N, H, C) -> {"mse": (H,), "mae": (H,)}."""
    _check(pred, target)
    diff = (pred.double() - target.double()).transpose(0, 1).reshape(target.shape[1], -1)
    return {"mse": diff.pow(2).mean(dim=1).numpy(), "mae": diff.abs().mean(dim=1).numpy()}


def perplexity(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """exp(mean token NLL) of next-token logits (B, T, V) against targets (B, T)."""
    return float(_perplexity(logits.double(), targets))


def bits_per_character(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean NLL per character in bits: log2(perplexity), computed from the NLL directly."""
    nll = torch.nn.functional.cross_entropy(
        logits.double().reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return float(nll) / math.log(2)
