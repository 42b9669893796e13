"""The time column: zones taken to UTC, whole numbers read as years, gaps in the axis reported."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from rnnops.data.validate import index_by_time
from rnnops.errors import DataError
from tests.data.conftest import prepare


def index_of(times, origin="x.csv"):
    frame = pd.DataFrame({"t": times, "y": np.arange(len(times), dtype=float)})
    return list(index_by_time(frame, "t", origin).index.astype(str))


def test_zoned_times_are_taken_to_utc():
    assert index_of(["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z"]) == [
        "2024-01-01 00:00:00", "2024-01-01 01:00:00"]
    # offsets that change at a daylight-saving switch: three consecutive hours in UTC
    assert index_of(["2024-03-31 01:00+01:00", "2024-03-31 03:00+02:00",
                     "2024-03-31 04:00+02:00"]) == [
        "2024-03-31 00:00:00", "2024-03-31 01:00:00", "2024-03-31 02:00:00"]
    berlin = pd.to_datetime(["2024-01-01", "2024-01-02"]).tz_localize("Europe/Berlin")
    assert index_of(berlin) == ["2023-12-31 23:00:00", "2024-01-01 23:00:00"]


def test_whole_numbers_are_years_and_other_numbers_are_refused():
    assert index_of([1871, 1872]) == ["1871-01-01", "1872-01-01"]
    with pytest.raises(DataError, match="x.csv: column 't' holds whole numbers that are not "
                                        "years"):
        index_of([1700000000, 1700003600])


def test_a_zoned_csv_prepares(tmp_path):
    times = pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC")
    pd.DataFrame({"date": times.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "load": np.sin(np.arange(200) / 4)}).to_csv(tmp_path / "z.csv", index=False)
    prepared = prepare(tmp_path, "data=csv", f"data.path={tmp_path / 'z.csv'}",
                       "data.target=load", "data.time_column=date", "data.lookback=24",
                       "data.horizon=6")
    assert prepared.meta["first_time"] == "2024-01-01 00:00:00"


def test_missing_rows_in_a_regular_axis_are_reported(caplog):
    times = [str(t) for t in pd.date_range("2024-01-01", periods=10, freq="h")]
    del times[3:6]
    with caplog.at_level(logging.WARNING, logger="rnnops.data.tables"):
        index_of(times, "gaps.csv")
    assert "gaps.csv: column 't' skips times at 1 places (the first after row 4" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rnnops.data.tables"):
        index_of([str(t) for t in pd.date_range("2024-01-01", periods=10, freq="h")])
    assert caplog.text == ""


def test_prepare_records_the_usual_step_for_the_season(tmp_path):
    """meta.json keeps the most common step (evaluate reads the season period from it): rows
    missing from the axis do not change it, as they would change the mean step."""
    times = pd.date_range("2024-01-01", periods=400, freq="10min").delete([50, 51, 52, 300])
    pd.DataFrame({"date": times.strftime("%Y-%m-%d %H:%M"),
                  "load": np.sin(np.arange(len(times)) / 9)}).to_csv(tmp_path / "m.csv",
                                                                     index=False)
    prepared = prepare(tmp_path, "data=csv", f"data.path={tmp_path / 'm.csv'}",
                       "data.target=load", "data.time_column=date", "data.lookback=24",
                       "data.horizon=6")
    assert prepared.meta["time_step"] == "0 days 00:10:00"
