import numpy as np
import pytest

from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler
from rnnops.errors import ConfigError
from rnnops.evaluation.series import (
    check_season_fits,
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


def test_season_period_precedence():
    meta = {"first_time": "2000-01-01", "last_time": "2000-12-30", "rows": 365}  # daily
    assert season_period(load("data.season_period=1"), meta) == (7, "the timestamps' frequency")
    assert season_period(load("data.season_period=12"), meta) == (12, "data.season_period")
    assert season_period(load("evaluate.season_period=5"), meta) == (5, "evaluate.season_period")
    assert season_period(load("data.season_period=1"), {}) == (1, "data.season_period")


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
