"""The forecasters scored on the test windows a batch at a time.

The model and every baseline forecast the same batch; their errors go into running sums (scaled
data and original units, per horizon step and channel), and only what the plots draw is kept: the
non-overlapping windows of the test-period line and the sample windows. Memory is a few batches,
whatever the number of windows (a 21-channel series at lookback 720 has gigabytes of them).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rnnops.data.preprocess import Scaler
from rnnops.data.windows import WindowDataset, window_batches
from rnnops.evaluation.intervals import Conformal, IntervalSums, QuantileIntervals
from rnnops.evaluation.metrics import ErrorSums
from rnnops.evaluation.report import DROP_LAST
from rnnops.evaluation.suite import Predict
from rnnops.names import MODEL, level_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    metrics: dict[str, dict[str, float]]  # forecaster -> metric (scaled; *_original; drop_last)
    by_step: dict[str, dict[str, np.ndarray]]  # forecaster -> {"mse", "mae"} per horizon step
    by_step_original: dict[str, dict[str, np.ndarray]]
    curve: pd.DataFrame  # the test period as one line: actual and forecasts, original units
    windows: pd.DataFrame  # the sample windows with their lookback, original units


def to_original(scaler: Scaler, targets: list[int], t: torch.Tensor) -> torch.Tensor:
    return torch.from_numpy(scaler.inverse(t.double().numpy(), targets))


def score(forecasters: dict[str, Predict], test: WindowDataset, origins: np.ndarray,
          scaler: Scaler, scale: torch.Tensor, kept: int = 0, samples: int = 3,
          intervals: dict[str, Conformal | QuantileIntervals] | None = None) -> Scores:
    """Every forecaster on every test window. `scale`: MASE's per-channel scale on scaled data;
    `kept`: also score the first `kept` windows alone (evaluate.drop_last_batch); `samples`:
    windows drawn with their lookback; `intervals`: the forecasters' conformal intervals, whose
    coverage, width, pinball loss and CRPS join their metrics."""
    targets, horizon = test.target_columns, test.horizon
    scale_original = scale * torch.from_numpy(scaler.scale[targets])
    drawn = np.linspace(0, len(test) - 1, samples).round().astype(int)
    sums = {name: (ErrorSums(), ErrorSums(), ErrorSums()) for name in forecasters}
    intervals = intervals or {}
    interval_sums = {name: IntervalSums(i.levels) for name, i in intervals.items()}
    line: dict[str, list[torch.Tensor]] = {"actual": [], **{name: [] for name in forecasters}}
    sampled: dict[int, dict] = {}
    for index in window_batches(test):
        x, y = test.batch(index)
        y_orig = to_original(scaler, targets, y)
        stitch = index % horizon == 0
        picked = [(i, int(w)) for i, w in enumerate(index.tolist()) if w in drawn]
        line["actual"].append(y_orig[stitch, :, 0])
        for i, window in picked:
            sampled[window] = {"x": to_original(scaler, targets, x[i, :, targets])[:, 0],
                               "y": y_orig[i, :, 0], "preds": {}}
        first = index < kept
        for name, forecaster in forecasters.items():
            pred = forecaster(x, origins[index.numpy()])
            pred_orig = to_original(scaler, targets, pred)
            scaled, original, on_first = sums[name]
            scaled.add(pred, y)
            original.add(pred_orig, y_orig)
            bounds = intervals[name].around(pred, x) if name in intervals else {}
            if name in interval_sums:
                interval_sums[name].add(pred, y, bounds)
            if first.any():
                on_first.add(pred[first], y[first])
            line[name].append(pred_orig[stitch, :, 0])
            if name == MODEL:  # the fan chart's bands
                for level, ends in bounds.items():
                    for end, bound in zip(("lo", "hi"), ends, strict=True):
                        line.setdefault(f"{MODEL}_{end}_{level_name(level)}", []).append(
                            to_original(scaler, targets, bound)[stitch, :, 0])
            for i, window in picked:
                sampled[window]["preds"][name] = pred_orig[i, :, 0]
    metrics = {}
    for name, (scaled, original, on_first) in sums.items():
        errors, errors_original = scaled.errors(scale), original.errors(scale_original)
        metrics[name] = {**errors, **{f"{k}_original": v for k, v in errors_original.items()}}
        log.info("test %-15s mse %.5f  mae %.5f  mase %.3f  (original units: mae %.4f)", name,
                 errors["mse"], errors["mae"], errors["mase"], errors_original["mae"])
        if name in interval_sums:
            metrics[name].update(interval_sums[name].scores())
        if kept:
            metrics[name].update({f"{k}{DROP_LAST}": v for k, v in on_first.errors().items()
                                  if k in ("mse", "mae")})
    return Scores(metrics, {name: s[0].by_step() for name, s in sums.items()},
                  {name: s[1].by_step() for name, s in sums.items()},
                  _curve(line), _windows(sampled, test.lookback, horizon))


def _curve(line: dict[str, list[torch.Tensor]]) -> pd.DataFrame:
    """Non-overlapping test windows laid end to end (first target channel): the test period as
    one forecast-vs-actual line."""
    out = pd.DataFrame({name: torch.cat(parts).reshape(-1).numpy()
                        for name, parts in line.items()})
    out.insert(0, "step", range(len(out)))
    return out.rename(columns=lambda c: "forecast" + c[len(MODEL):] if c.startswith(MODEL)
                      else c)


def _windows(sampled: dict[int, dict], lookback: int, horizon: int) -> pd.DataFrame:
    """Each sample window as its lookback (steps -L+1..0) then its horizon (1..H), first target
    channel, original units."""
    rows = []
    for window in sorted(sampled):
        drawn = sampled[window]
        for step in range(-lookback + 1, horizon + 1):
            row = {"window": window, "step": step}
            if step <= 0:
                row["actual"] = float(drawn["x"][lookback - 1 + step])
            else:
                row["actual"] = float(drawn["y"][step - 1])
                row.update({("forecast" if name == MODEL else name): float(p[step - 1])
                            for name, p in drawn["preds"].items()})
            rows.append(row)
    return pd.DataFrame(rows)


def pooled(parts: list[tuple[Scores, int]]) -> Scores:
    """Several tables' scores as one (a stack, data.tables): each metric the mean over every
    (window, series) pair, i.e. the tables' figures weighted by their pairs (RMSE the root of
    the pooled MSE; MASE the pairs' mean of each table's); the plots' lines are the first
    table's."""
    total = sum(weight for _, weight in parts)

    def mean(values: list) -> float | np.ndarray:
        return sum(v * (weight / total) for v, (_, weight) in zip(values, parts, strict=True))

    first = parts[0][0]
    metrics = {}
    for name, values in first.metrics.items():
        metrics[name] = {key: mean([s.metrics[name][key] for s, _ in parts]) for key in values}
        for units in ("", "_original"):
            metrics[name][f"rmse{units}"] = math.sqrt(metrics[name][f"mse{units}"])
    return Scores(
        metrics,
        {name: {m: mean([s.by_step[name][m] for s, _ in parts]) for m in steps}
         for name, steps in first.by_step.items()},
        {name: {m: mean([s.by_step_original[name][m] for s, _ in parts]) for m in steps}
         for name, steps in first.by_step_original.items()},
        first.curve, first.windows)
