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

DAY = pd.Timedelta(days=1)
# The season of spacings of a day or more: a week of days, a year of weeks, months or quarters
# (months and quarters vary in length: matched within 5 %).
LONGER = {
    pd.Timedelta(days=1): (7, "a week of days"),
    pd.Timedelta(weeks=1): (52, "a year of weeks"),
    pd.Timedelta(days=30.4375): (12, "a year of months"),
    pd.Timedelta(days=91.3125): (4, "a year of quarters"),
}
INFERRED = "the timestamps"  # how a period read from the times starts its source
NO_SEASON = "no season"  # how the source of a period of 1 that nobody chose starts


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


def window_origins(data: PreparedData, lookback: int, n_windows: int,
                   split: str = "test") -> np.ndarray:
    """Row of full_series holding the last observed value of each window of `split`."""
    borders = data.meta["borders"]
    start = borders[split][0] - borders["train"][0]
    return start + lookback - 1 + np.arange(n_windows)


def time_step(meta: dict) -> pd.Timedelta | None:
    """The series' usual step: the most common one between rows (meta.json's time_step), else,
    for data prepared before it was recorded, the mean; None without timestamps."""
    if meta.get("time_step"):
        return pd.Timedelta(meta["time_step"])
    first, last, rows = meta.get("first_time"), meta.get("last_time"), meta.get("rows")
    if not first or not last or not rows or rows < 2 or str(first).lstrip("-").isdigit():
        return None  # no time column: the index is a row number
    try:
        return (pd.Timestamp(last) - pd.Timestamp(first)) / (rows - 1)
    except (ValueError, TypeError):
        return None


def season_of_step(step: pd.Timedelta) -> tuple[int | None, str]:
    """The season a regular spacing implies and why: a day for a spacing that divides one (24
    hours, 144 ten-minute steps), else a week, a year of weeks, months or quarters; None (and
    the reason) for other spacings."""
    if step < DAY:
        steps = DAY / step
        if abs(steps - round(steps)) < 0.05 and round(steps) >= 2:
            return round(steps), f"a day of {round(steps)} steps of {_span(step)}"
        return None, f"their step of {_span(step)} does not divide a day"
    for interval, (period, what) in LONGER.items():
        if abs(step - interval) <= 0.05 * interval:
            return period, what
    return None, f"their step of {_span(step)} is not a day, a week, a month or a quarter"


def _span(step: pd.Timedelta) -> str:
    """10 minutes, 1 hour, 2 days: a step as report.md and warnings say it."""
    seconds = step.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and float(seconds / size).is_integer():
            count = int(seconds // size)
            return f"{count} {unit}" + ("s" if count != 1 else "")
    return str(step)


def period_from_times(meta: dict) -> int | None:
    """The season period implied by regularly spaced timestamps, or None when there are none or
    their spacing implies no season."""
    step = time_step(meta)
    return None if step is None else season_of_step(step)[0]


def season_period(cfg: Config, meta: dict) -> tuple[int, str]:
    """The period and where it came from: evaluate.season_period, else data.season_period, else
    (where that is 1, i.e. unset) the timestamps' spacing; a period of 1 that nobody chose is
    warned of, with the reason, as seasonal-naive then equals last-value and MASE is scaled by
    the one-step naive error."""
    if cfg.evaluate.season_period is not None:
        return cfg.evaluate.season_period, "evaluate.season_period"
    if cfg.data.season_period > 1:
        return cfg.data.season_period, "data.season_period"
    step = time_step(meta)
    if step is None:
        return no_season("the data has no timestamps")
    period, why = season_of_step(step)
    if period is None:
        return no_season(f"the timestamps' step: {why}")
    log.info("season period %d from the timestamps: %s", period, why)
    return period, f"{INFERRED}: {why}"


def no_season(reason: str) -> tuple[int, str]:
    log.warning("season period 1 (no season): %s, and data.season_period is 1 (unset). The "
                "seasonal-naive baseline is then the last value and MASE is scaled by the "
                "one-step naive error; set evaluate.season_period to the series' season", reason)
    return 1, f"{NO_SEASON}: {reason}; set evaluate.season_period"


def choose_season(cfg: Config, meta: dict, lookback: int, train_rows: int,
                  baselines: list[str]) -> tuple[int, str]:
    """season_period, checked against what uses it before any work: a configured period that
    does not fit is an error naming its key; one read from the timestamps gives way to 1, with a
    warning that says why."""
    period, source = season_period(cfg, meta)
    misfit = season_misfit(period, lookback, train_rows, baselines)
    if misfit is not None and source.startswith(INFERRED):
        return no_season(f"a season of {period} rows ({source}) {misfit[0]}")
    check_season_fits(period, source, lookback, train_rows, baselines)
    return period, source


def described(period: int, source: str) -> str:
    """The season period as report.md states it."""
    return f"1 ({source})" if source.startswith(NO_SEASON) else f"{period} (from {source})"


def season_misfit(period: int, lookback: int, train_rows: int,
                  baselines: list[str]) -> tuple[str, str] | None:
    """What a season of `period` rows does not fit, and the fix beyond setting the period: one
    season of lookback for the seasonal-naive baseline, two seasons of training rows for ETS,
    and more than one for MASE's scale. None when it fits."""
    if "seasonal_naive" in baselines and period > lookback:
        return (f"is longer than data.lookback = {lookback}, and the seasonal-naive baseline "
                "needs one season of history",
                ", lengthen data.lookback or leave seasonal_naive out of evaluate.baselines")
    if "ets" in baselines and period > 1 and train_rows < 2 * period:
        return (f"leaves ETS fewer than two seasons of training rows ({train_rows})",
                " or leave ets out of evaluate.baselines")
    if train_rows <= period:
        return f"leaves MASE no full season of training rows ({train_rows})", ""
    return None


def check_season_fits(period: int, source: str, lookback: int, train_rows: int,
                      baselines: list[str]) -> None:
    """The season must fit what uses it (season_misfit), checked before any work. The key named
    is the one that sets the period whatever its source."""
    misfit = season_misfit(period, lookback, train_rows, baselines)
    if misfit is None:
        return
    problem, fix = misfit
    came_from = "" if source == "evaluate.season_period" else f" (from {source})"
    raise ConfigError("evaluate.season_period", f"a season of {period} rows{came_from} {problem}; "
                      f"set evaluate.season_period (1: no season){fix}")
