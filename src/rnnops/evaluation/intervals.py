"""Prediction intervals for any forecaster by split conformal prediction, and their scores.

The absolute errors of a forecaster on the validation windows, per horizon step and target
channel, give the half-width of its interval at each level: the ceil((n + 1) level)-th smallest
of the n errors, which covers a new window's value with probability at least `level` when the
windows are exchangeable (Vovk et al. 2005; Lei et al. 2018). The validation split is never
trained on, so the model's errors there are honest; time series are not exchangeable, which is
why the test coverage is measured and reported beside the nominal level.

The interval's ends are read as quantiles (level 0.8: the 0.1 and 0.9 quantiles, the point
forecast the median), which gives the pinball loss and the quantile approximation of CRPS
(Gneiting and Raftery 2007): twice the mean pinball loss over those quantile levels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from rnnops.data.windows import window_batches
from rnnops.names import level_name

#: evaluate.interval_levels' default: the intervals forecasters are scored on and serve.
LEVELS = (0.8, 0.95)


def quantile_levels(levels: tuple[float, ...]) -> list[float]:
    """The quantiles the intervals' ends stand for, with the median (the point forecast)."""
    return sorted({0.5, *((1 - lv) / 2 for lv in levels), *((1 + lv) / 2 for lv in levels)})


@dataclass(frozen=True)
class Conformal:
    """Half-widths of the intervals, (levels, H, targets), in the units it was calibrated in."""

    levels: tuple[float, ...]
    half_widths: np.ndarray

    def bounds(self, point: torch.Tensor) -> dict[float, tuple]:
        """level -> (lower, upper) around a (B, H, targets) point forecast, in its units."""
        return {level: (point - torch.as_tensor(width, dtype=point.dtype),
                        point + torch.as_tensor(width, dtype=point.dtype))
                for level, width in zip(self.levels, self.half_widths, strict=True)}

    def around(self, point: torch.Tensor, x: torch.Tensor) -> dict[float, tuple]:
        """The intervals of one batch (as QuantileIntervals.around)."""
        return self.bounds(point)

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "half_widths": self.half_widths.tolist()}


def calibrate(errors: np.ndarray, levels: tuple[float, ...]) -> Conformal:
    """The conformal half-widths from absolute validation errors (N, H, targets). With fewer
    windows than a level needs (n < 1 / (1 - level) - 1) the largest error is used, which then
    only approximately covers."""
    n = len(errors)
    if n == 0:
        raise ValueError("no validation windows to calibrate intervals on")
    ordered = np.sort(errors, axis=0)
    widths = [ordered[min(n, math.ceil((n + 1) * level)) - 1] for level in levels]
    return Conformal(tuple(levels), np.stack(widths))


def calibrate_forecasters(forecasters: dict[str, Callable], windows, origins: np.ndarray,
                          levels: tuple[float, ...]) -> dict[str, Conformal]:
    """Each forecaster (x, origins -> (B, H, targets), as evaluation.suite's) calibrated on
    the validation `windows` (origins: the row of each window's last observed value)."""
    errors: dict[str, list[np.ndarray]] = {name: [] for name in forecasters}
    for index in window_batches(windows):
        x, y = windows.batch(index)
        for name, forecast in forecasters.items():
            errors[name].append((forecast(x, origins[index.numpy()]).double() - y.double())
                                .abs().numpy())
    return {name: calibrate(np.concatenate(e), levels) for name, e in errors.items()}


class QuantileIntervals:
    """A quantile model's own intervals (train.loss=quantile): its forecast quantiles at each
    level's ends (the config checks that it forecasts them)."""

    def __init__(self, model: torch.nn.Module, levels: tuple[float, ...]):
        self.model, self.levels = model, levels
        self.index = [(model.quantiles.index(_closest(model.quantiles, (1 - lv) / 2)),
                       model.quantiles.index(_closest(model.quantiles, (1 + lv) / 2)))
                      for lv in levels]

    def around(self, point: torch.Tensor, x: torch.Tensor) -> dict[float, tuple]:
        self.model.eval()
        with torch.no_grad():
            quantiles = self.model.forecast_quantiles(x).to(point.dtype)
        return {level: (quantiles[..., low], quantiles[..., high])
                for level, (low, high) in zip(self.levels, self.index, strict=True)}


def _closest(levels: list[float], q: float) -> float:
    return min(levels, key=lambda level: abs(level - q))


def model_intervals(model: torch.nn.Module, windows, levels: tuple[float, ...]
                    ) -> Conformal | None:
    """The trained model's intervals, calibrated on the validation `windows` (None: off)."""
    from rnnops.training.fit import predict

    if not levels:
        return None
    origins = np.zeros(len(windows), dtype=np.int64)  # a network reads the window alone
    return calibrate_forecasters({"model": lambda x, _: predict(model, x)}, windows, origins,
                                 levels)["model"]


class IntervalSums:
    """Coverage, width and pinball sums of one forecaster's intervals on the test windows, a
    batch at a time, per level; the scores over every window, step and target."""

    def __init__(self, levels: tuple[float, ...]):
        self.levels = levels
        self.count = 0
        self.covered = dict.fromkeys(levels, 0.0)
        self.width = dict.fromkeys(levels, 0.0)
        self.pinball = dict.fromkeys(quantile_levels(levels), 0.0)

    def add(self, point: torch.Tensor, target: torch.Tensor,
            bounds: dict[float, tuple]) -> None:
        """One batch: its point forecast, targets and intervals (level -> (lower, upper))."""
        point, target = point.double(), target.double()
        self.count += target.numel()
        self.pinball[0.5] += self.pinball_sum(0.5, point, target)
        for level, (lower, upper) in bounds.items():
            lower, upper = lower.double(), upper.double()
            self.covered[level] += float(((target >= lower) & (target <= upper)).sum())
            self.width[level] += float((upper - lower).sum())
            self.pinball[(1 - level) / 2] += self.pinball_sum((1 - level) / 2, lower, target)
            self.pinball[(1 + level) / 2] += self.pinball_sum((1 + level) / 2, upper, target)

    @staticmethod
    def pinball_sum(tau: float, quantile: torch.Tensor, target: torch.Tensor) -> float:
        diff = target - quantile
        return float(torch.maximum(tau * diff, (tau - 1) * diff).sum())

    def scores(self) -> dict[str, float]:
        """coverage_80 (a fraction), width_80 (scaled units) per level; pinball (the mean over
        the quantile levels) and crps (twice that: the quantile approximation)."""
        out = {}
        for level in self.levels:
            out[f"coverage_{level_name(level)}"] = self.covered[level] / self.count
            out[f"width_{level_name(level)}"] = self.width[level] / self.count
        pinball = sum(self.pinball.values()) / (len(self.pinball) * self.count)
        return {**out, "pinball": pinball, "crps": 2 * pinball}
