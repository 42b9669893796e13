import logging

import numpy as np
import pytest

from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler
from rnnops.errors import ConfigError
from rnnops.evaluation.series import (
    check_season_fits,
    choose_season,
    described,
    full_series,
    period_from_times,
    season_period,
    window_origins,
)
from tests.conftest import load


def prepared(borders):
    series = np.arange(20, dtype=np.float32)[:, None]
    arrays = {name: series[a:b] for name, (a, b) in borders.items()}
    return PreparedData(arrays, ["y"], [0], Scaler(np.zeros(1), np.ones(1)),
                        {"borders": borders})


def test_full_series_puts_overlapping_splits_back_together():
    data = prepared({"train": [0, 10], "val": [7, 15], "test": [12, 20]})
    assert full_series(data)[:, 0].tolist() == list(range(20))
    # lookback 3: test window i's last observed row is 12 + 2 + i
    assert window_origins(data, 3, 4).tolist() == [14, 15, 16, 17]


@pytest.mark.parametrize("first,last,rows,period", [
    ("2000-01-01 00:00", "2000-01-02 23:00", 48, 24),
    ("1958-03-29", "2001-12-29", 2284, 52),
    ("2020-01-01 00:00", "2020-01-01 23:45", 96, 96),
    ("2000-01-31", "2009-12-31", 120, 12),
    ("0", "99", 100, None),
])
def test_period_from_times(first, last, rows, period):
    assert period_from_times({"first_time": first, "last_time": last, "rows": rows}) == period


def test_season_period_precedence(caplog):
    meta = {"first_time": "2000-01-01", "last_time": "2000-12-30", "rows": 365}  # daily
    assert season_period(load("data.season_period=1"), meta) == (
        7, "the timestamps: a week of days")
    assert season_period(load("data.season_period=12"), meta) == (12, "data.season_period")
    assert season_period(load("evaluate.season_period=5"), meta) == (5, "evaluate.season_period")
    with caplog.at_level(logging.WARNING, logger="rnnops.evaluation.series"):
        period, source = season_period(load("data.season_period=1"), {})
    assert (period, source) == (1, "no season: the data has no timestamps; set "
                                   "evaluate.season_period")
    assert "season period 1 (no season): the data has no timestamps, and data.season_period " \
           "is 1 (unset)" in caplog.text


@pytest.mark.parametrize("step,period,why", [
    ("0 days 00:10:00", 144, "a day of 144 steps of 10 minutes"),
    ("0 days 00:05:00", 288, "a day of 288 steps of 5 minutes"),
    ("0 days 03:00:00", 8, "a day of 8 steps of 3 hours"),
    ("0 days 00:07:00", None, "their step of 7 minutes does not divide a day"),
    ("365 days", None, "their step of 365 days is not a day, a week, a month or a quarter"),
])
def test_any_regular_sub_daily_step_has_a_daily_season(step, period, why):
    meta = {"time_step": step, "first_time": "2024-01-01", "last_time": "2024-02-01",
            "rows": 5000}
    found, source = season_period(load("data.season_period=1"), meta)
    assert found == (period or 1)
    assert why in source
    assert source.startswith("the timestamps: " if period else "no season: the timestamps' step")
    assert described(found, source) == (f"{period} (from the timestamps: {why})" if period
                                        else f"1 ({source})")


def test_an_inferred_season_that_does_not_fit_falls_back_with_a_warning(caplog):
    meta = {"time_step": "0 days 00:10:00", "first_time": "2024-01-01", "rows": 5000}
    cfg = load("data.season_period=1")
    assert choose_season(cfg, meta, 720, 3000, ["seasonal_naive"]) == (
        144, "the timestamps: a day of 144 steps of 10 minutes")
    with caplog.at_level(logging.WARNING, logger="rnnops.evaluation.series"):
        period, source = choose_season(cfg, meta, 96, 3000, ["seasonal_naive"])
    assert period == 1 and "a season of 144 rows (the timestamps: a day of 144 steps of 10 " \
        "minutes) is longer than data.lookback = 96" in source
    assert "season period 1 (no season)" in caplog.text
    # a period someone set is not replaced: it stops with the key
    with pytest.raises(ConfigError, match="evaluate.season_period"):
        choose_season(load("evaluate.season_period=144"), meta, 96, 3000, ["seasonal_naive"])


@pytest.mark.parametrize(("period", "lookback", "train_rows", "baselines", "message"), [
    (52, 48, 500, ["seasonal_naive"], "a season of 52 rows (from the timestamps' frequency) is "
     "longer than data.lookback = 48"),
    (52, 104, 90, ["ets"], "leaves ETS fewer than two seasons of training rows (90)"),
    (52, 104, 52, ["last_value"], "leaves MASE no full season of training rows (52)"),
])
def test_a_season_that_does_not_fit_names_the_key_that_sets_it(period, lookback, train_rows,
                                                               baselines, message):
    with pytest.raises(ConfigError) as err:
        check_season_fits(period, "the timestamps' frequency", lookback, train_rows, baselines)
    assert err.value.key == "evaluate.season_period" and message in str(err.value)
    assert "set evaluate.season_period (1: no season)" in str(err.value)


def test_a_season_that_fits_passes():
    check_season_fits(52, "data.season_period", 104, 120, ["seasonal_naive", "ets", "arima"])
    check_season_fits(52, "data.season_period", 48, 500, ["last_value", "linear"])
