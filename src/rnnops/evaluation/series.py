"""The prepared splits put back into one scaled series, where each test window's forecast starts,
and the season period that seasonal baselines and MASE use."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from rnnops.config import Config
from rnnops.data.prepared import SPLITS, PreparedData
from rnnops.errors import ConfigError, UserError

log = logging.getLogger(__name__)

# Seasonal period of common sampling intervals: a day of hours, a week of days, a year of weeks...
PERIODS = {
    pd.Timedelta(minutes=15): 96,
    pd.Timedelta(minutes=30): 48,
    pd.Timedelta(hours=1): 24,
    pd.Timedelta(days=1): 7,
    pd.Timedelta(weeks=1): 52,
    pd.Timedelta(days=30.4375): 12,  # months and quarters vary in length: matched within 5 %
    pd.Timedelta(days=91.3125): 4,
}


def full_series(data: PreparedData) -> np.ndarray:
    """(rows, channels) scaled rows from the first train row to the last test row; the splits'
    borders in meta.json say where each array sits (validation and test windows overlap the
    previous split by the lookback)."""
    borders = data.meta.get("borders")
    if not borders:
        raise UserError("prepared data has no split borders in meta.json; rerun the prepare stage")
    end = max(borders[name][1] for name in SPLITS)
    series = np.full((end, data.n_channels), np.nan)
    for name in SPLITS:
        start, stop = borders[name]
        series[start:stop] = data.arrays[name]
    first = borders["train"][0]
    if np.isnan(series[first:]).any():
        raise UserError("prepared splits leave a gap between their borders; rerun prepare")
    return series[first:]


def window_origins(data: PreparedData, lookback: int, n_windows: int) -> np.ndarray:
    """Row of full_series holding the last observed value of each test window."""
    borders = data.meta["borders"]
    start = borders["test"][0] - borders["train"][0]
    return start + lookback - 1 + np.arange(n_windows)


def period_from_times(meta: dict) -> int | None:
    """The season period implied by regularly spaced timestamps, or None when there are none or
    their spacing is not a known interval."""
    first, last, rows = meta.get("first_time"), meta.get("last_time"), meta.get("rows")
    if not first or not last or not rows or rows < 2 or str(first).lstrip("-").isdigit():
        return None  # no time column: the index is a row number
    try:
        spacing = (pd.Timestamp(last) - pd.Timestamp(first)) / (rows - 1)
    except (ValueError, TypeError):
        return None
    for interval, period in PERIODS.items():
        if abs(spacing - interval) <= 0.05 * interval:
            return period
    return None


def season_period(cfg: Config, meta: dict) -> tuple[int, str]:
    """The period and the config key (or source) it came from: evaluate.season_period, else
    data.season_period, else (where that is 1, i.e. unset) the timestamps' frequency."""
    if cfg.evaluate.season_period is not None:
        return cfg.evaluate.season_period, "evaluate.season_period"
    if cfg.data.season_period > 1:
        return cfg.data.season_period, "data.season_period"
    inferred = period_from_times(meta)
    if inferred is not None:
        log.info("season period %d from the timestamps' spacing", inferred)
        return inferred, "the timestamps' frequency"
    return 1, "data.season_period"


def check_season_fits(period: int, source: str, lookback: int, train_rows: int,
                      baselines: list[str]) -> None:
    """The season must fit what uses it, checked before any work: one season of lookback for
    the seasonal-naive baseline, two seasons of training rows for ETS, and more than one for
    MASE's scale. The key named is the one that sets the period whatever its source."""
    came_from = "" if source == "evaluate.season_period" else f" (from {source})"
    fix = "set evaluate.season_period (1: no season)"
    if "seasonal_naive" in baselines and period > lookback:
        problem = (f"is longer than data.lookback = {lookback}, and the seasonal-naive baseline "
                   "needs one season of history")
        fix += ", lengthen data.lookback or leave seasonal_naive out of evaluate.baselines"
    elif "ets" in baselines and period > 1 and train_rows < 2 * period:
        problem = f"leaves ETS fewer than two seasons of training rows ({train_rows})"
        fix += " or leave ets out of evaluate.baselines"
    elif train_rows <= period:
        problem = f"leaves MASE no full season of training rows ({train_rows})"
    else:
        return
    raise ConfigError("evaluate.season_period", f"a season of {period} rows{came_from} {problem}; "
                      f"{fix}")
