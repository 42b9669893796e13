"""Forecast errors (over all windows, steps and target channels, or per horizon step) and
language-model scores. torchmetrics computes perplexity; the forecast errors are sums kept per
horizon step and channel (ErrorSums), so that every figure comes from one pass over windows
that arrive a batch at a time."""

from __future__ import annotations

import math

import numpy as np
import torch
from torchmetrics.functional.text import perplexity as _perplexity

#: Every point-forecast metric, in the order tables show them.
FORECAST_METRICS = ("mse", "mae", "rmse", "smape", "mase")
SMAPE_EPSILON = 1.17e-06  # torchmetrics' floor on |p| + |y|, so sMAPE stays finite at 0, 0


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


class ErrorSums:
    """Sums of squared, absolute and symmetric relative errors per horizon step and channel, in
    float64, added a batch of (N, H, C) windows at a time (a 2-d batch is one step)."""

    def __init__(self):
        self.windows = 0
        self.squared = self.absolute = self.symmetric = None

    def add(self, pred: torch.Tensor, target: torch.Tensor) -> ErrorSums:
        _check(pred, target)
        if pred.dim() == 2:
            pred, target = pred[:, None], target[:, None]
        # in place where it can be: a batch's float64 temporaries are most of evaluate's memory
        diff = pred.double() - target.double()
        squared = diff.square().sum(dim=0)
        absolute = diff.abs_()
        # abs() first: .double() of a float64 tensor is the tensor itself, the caller's
        scale = pred.abs().double().add_(target.abs()).clamp_(min=SMAPE_EPSILON)
        sums = (squared, absolute.sum(dim=0), absolute.div_(scale).sum(dim=0))
        del diff, absolute, scale
        if self.squared is None:
            self.squared, self.absolute, self.symmetric = sums
        else:
            self.squared += sums[0]
            self.absolute += sums[1]
            self.symmetric += sums[2]
        self.windows += len(pred)
        return self

    def errors(self, scale: torch.Tensor | None = None) -> dict[str, float]:
        """MSE, MAE, RMSE and sMAPE (in percent, 0-200), and MASE when `scale` (naive_scale of
        the same channels) is given: the mean over channels of each channel's MAE divided by its
        scale; NaN where a scale is 0 (a constant channel), which MASE cannot divide by."""
        count = self.squared.numel() * self.windows
        mse = float(self.squared.sum()) / count
        errors = {"mse": mse, "mae": float(self.absolute.sum()) / count, "rmse": math.sqrt(mse),
                  "smape": 200.0 * float(self.symmetric.sum()) / count}
        if scale is not None:
            scale = torch.as_tensor(scale, dtype=torch.float64)
            per_channel = self.absolute.sum(dim=0) / (self.windows * self.absolute.shape[0])
            errors["mase"] = float((per_channel / scale).mean()) if bool((scale > 0).all()) \
                else math.nan
        return errors

    def by_step(self) -> dict[str, np.ndarray]:
        """MSE and MAE at each horizon step: {"mse": (H,), "mae": (H,)}."""
        count = self.windows * self.squared.shape[1]
        return {"mse": (self.squared.sum(dim=1) / count).numpy(),
                "mae": (self.absolute.sum(dim=1) / count).numpy()}


def forecast_errors(
    pred: torch.Tensor, target: torch.Tensor, scale: torch.Tensor | None = None
) -> dict[str, float]:
    """ErrorSums.errors of `pred` against `target` (same shape, channels last)."""
    return ErrorSums().add(pred, target).errors(scale)


def errors_by_step(pred: torch.Tensor, target: torch.Tensor) -> dict[str, np.ndarray]:
    """MSE and MAE at each horizon step: (N, H, C) -> {"mse": (H,), "mae": (H,)}."""
    return ErrorSums().add(pred, target).by_step()


def finite_or_none(metrics):
    """The metrics with every NaN or infinity as None: JSON has no NaN (json.dumps would write a
    bare NaN, which JSON readers refuse); null says "no value"."""
    if isinstance(metrics, dict):
        return {k: finite_or_none(v) for k, v in metrics.items()}
    if isinstance(metrics, float) and not math.isfinite(metrics):
        return None
    return metrics


def perplexity(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """exp(mean token NLL) of next-token logits (B, T, V) against targets (B, T)."""
    return float(_perplexity(logits.double(), targets))


def bits_per_character(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean NLL per character in bits: log2(perplexity), computed from the NLL directly."""
    nll = torch.nn.functional.cross_entropy(
        logits.double().reshape(-1, logits.shape[-1]), targets.reshape(-1))
    return float(nll) / math.log(2)
