"""Rolling-origin backtest (Tashman 2000) over the test period.

The test windows' forecast origins are cut into consecutive folds. Before each fold, every fitted
baseline is refit on the rows up to the fold's first origin: all of them (expanding window) or
the most recent train-split's worth (sliding window). The network is evaluated as trained (its
training rows precede every origin) unless `refit_model` retrains it per fold too, on the same
rows with their last part held out for early stopping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from rnnops.data.windows import WindowDataset, window_batches
from rnnops.evaluation.metrics import ErrorSums
from rnnops.evaluation.suite import Predict, Setting, fit_baselines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fold:
    number: int
    windows: np.ndarray  # indices of the test windows this fold forecasts
    rows: slice  # rows of the full series the fold's models are fit on


def make_folds(origins: np.ndarray, n_folds: int, mode: str, train_rows: int) -> list[Fold]:
    """origins: each test window's last observed row; train_rows: the sliding window's length."""
    n_folds = min(n_folds, len(origins))
    folds = []
    for number, windows in enumerate(np.array_split(np.arange(len(origins)), n_folds), 1):
        end = int(origins[windows[0]]) + 1  # rows the first window has seen, nothing later
        start = max(0, end - train_rows) if mode == "sliding" else 0
        folds.append(Fold(number, windows, slice(start, end)))
    return folds


def backtest(
    folds: list[Fold],
    setting: Setting,
    names: list[str],
    test: WindowDataset,
    origins: np.ndarray,
    model: Callable[[Fold], Predict],
    scale: torch.Tensor,
) -> pd.DataFrame:
    """One row per fold and forecaster: the fold's span and the scaled test errors on its
    windows, which are read a batch at a time. `model(fold)` returns the network's forecaster
    for that fold."""
    rows = []
    for fold in folds:
        predictors = {"model": model(fold), **fit_baselines(names, setting, fold.rows)}
        sums = {name: ErrorSums() for name in predictors}
        for index in window_batches(test, torch.as_tensor(fold.windows)):
            x, y = test.batch(index)
            for name, predict in predictors.items():
                sums[name].add(predict(x, origins[index.numpy()]), y)
        for name in predictors:
            rows.append({
                "fold": fold.number, "forecaster": name,
                "fit_start": fold.rows.start, "fit_end": fold.rows.stop,
                "first_origin": int(origins[fold.windows[0]]),
                "last_origin": int(origins[fold.windows[-1]]),
                "windows": len(fold.windows),
                **sums[name].errors(scale),
            })
        log.info("backtest fold %d: %d windows, fit on rows [%d, %d)", fold.number,
                 len(fold.windows), fold.rows.start, fold.rows.stop)
    return pd.DataFrame(rows)
