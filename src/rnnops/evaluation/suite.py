"""The baselines by name: each is fit on a range of training rows and then forecasts windows.

A fitted baseline is called as predict(x, origins): x the (B, L, C) scaled windows, origins the
row of the full series that holds each window's last observed value (ETS and ARIMA read the
series up to there; the others need only x). The evaluate stage and the backtest share this.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from rnnops.config import EvaluateConfig
from rnnops.data.windows import WindowDataset, window_batches
from rnnops.errors import ConfigError
from rnnops.evaluation.baselines import LinearBaseline, last_value, seasonal_naive, window_mean
from rnnops.evaluation.statistical import ARIMABaseline, ETSBaseline

log = logging.getLogger(__name__)

Predict = Callable[[torch.Tensor, np.ndarray], torch.Tensor]


@dataclass(frozen=True)
class Setting:
    series: np.ndarray  # (rows, channels): the whole scaled series
    target_columns: list[int]
    lookback: int
    horizon: int
    period: int
    period_key: str  # where the period came from, for error messages
    options: EvaluateConfig
    # statsmodels parameters of the first fit by baseline name: later fits (backtest folds, on
    # more or shifted rows) start their optimiser there, which saves most of its iterations
    start: dict[str, np.ndarray] = field(default_factory=dict, compare=False)


def _last_value(s: Setting, rows: slice) -> Predict:
    return lambda x, origins: last_value(x, s.horizon, s.target_columns)


def _seasonal_naive(s: Setting, rows: slice) -> Predict:
    return lambda x, origins: seasonal_naive(x, s.horizon, s.target_columns, s.period,
                                             s.period_key)


def _window_mean(s: Setting, rows: slice) -> Predict:
    return lambda x, origins: window_mean(x, s.horizon, s.target_columns)


def _linear(s: Setting, rows: slice) -> Predict:
    train = WindowDataset(torch.from_numpy(s.series[rows]), s.lookback, s.horizon,
                          target_columns=s.target_columns)
    model = LinearBaseline(s.options.linear_kernel, s.options.linear_ridge)
    for index in window_batches(train):  # the normal equations, a batch at a time
        model.add(*train.batch(index), s.target_columns)
    model.solve()
    return lambda x, origins: model(x, s.target_columns)


def _univariate(name: str, make: Callable[[Setting], ETSBaseline | ARIMABaseline]):
    """A statsmodels model fit on the target channel's training rows, forecasting from each
    origin with the series read up to it."""

    def fit(s: Setting, rows: slice) -> Predict:
        (column,) = s.target_columns
        model = make(s).fit(s.series[rows, column], s.start.get(name))
        s.start.setdefault(name, model.params)
        start = rows.start or 0

        runner = None  # the series filtered once, on the first batch of windows

        def predict(x: torch.Tensor, origins: np.ndarray) -> torch.Tensor:
            nonlocal runner
            if runner is None:
                runner = model.runner(s.series[start:, column])
            out = runner(np.asarray(origins) - start, s.horizon)
            return torch.from_numpy(out).unsqueeze(-1).to(x.dtype)

        return predict

    return fit


BASELINES: dict[str, Callable[[Setting, slice], Predict]] = {
    "last_value": _last_value,
    "seasonal_naive": _seasonal_naive,
    "window_mean": _window_mean,
    "linear": _linear,
    "ets": _univariate("ets", lambda s: ETSBaseline(s.period, s.options.ets_damped)),
    "arima": _univariate("arima", lambda s: ARIMABaseline(
        s.options.arima_order, s.options.arima_seasonal_difference, s.period)),
}
#: Models of one series: run only where a single channel is forecast.
UNIVARIATE = ("ets", "arima")


def check_baselines(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise ConfigError("evaluate.baselines", f"unknown baseline {unknown[0]!r}; choose from "
                          f"{', '.join(BASELINES)}")


def applicable(names: tuple[str, ...], n_targets: int) -> list[str]:
    """The configured baselines that apply to this data, in config order."""
    check_baselines(names)
    if n_targets > 1:
        skipped = [n for n in names if n in UNIVARIATE]
        if skipped:
            log.info("%s: univariate models, skipped for %d target channels",
                     ", ".join(skipped), n_targets)
        return [n for n in names if n not in UNIVARIATE]
    return list(names)


def fit_baselines(names: list[str], setting: Setting, rows: slice) -> dict[str, Predict]:
    """Each named baseline fit on setting.series[rows]. A baseline reads a window's lookback
    only: the horizon rows a window holds for a model with future covariates are cut off."""

    def history_only(predict: Predict) -> Predict:
        return lambda x, origins: predict(x[:, : setting.lookback], origins)

    return {name: history_only(BASELINES[name](setting, rows)) for name in names}
