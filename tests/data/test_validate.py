"""The rules every table passes (rnnops.data.validate), as prepare applies them to a file: rows
at one time (data.duplicates), missing-value codes (data.na_values), sentinels, and the public
form of each message, which quotes nothing of the table."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from rnnops.data.validate import Rules, usual_step, validated
from rnnops.errors import DataError
from tests.data.conftest import prepare

CSV = ["data=csv", "data.time_column=date", "data.target=load", "data.features=M",
       "data.lookback=24", "data.horizon=6"]


def table(n=200, start="2020-01-01"):
    times = pd.date_range(start, periods=n, freq="h")
    return pd.DataFrame({"date": times.strftime("%Y-%m-%d %H:%M"),
                         "load": np.round(50 + 10 * np.sin(np.arange(n) / 5), 3),
                         "temp": np.round(20 + np.cos(np.arange(n) / 7), 3)})


def prepared_arrays(tmp_path, frame, name, *overrides):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    data = prepare(tmp_path / name, *CSV, f"data.path={path}", *overrides)
    return {k: v.copy() for k, v in data.arrays.items()}, data.meta


def assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_exact_copies_are_dropped_with_a_count(tmp_path, caplog):
    frame = table()
    copies = pd.concat([frame.iloc[:10], frame.iloc[[9, 9]], frame.iloc[10:50],
                        frame.iloc[[49]], frame.iloc[50:]], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        with_copies, meta = prepared_arrays(tmp_path, copies, "copies")
    assert "copies.csv: dropped 3 rows that repeat the row before them exactly (the first at " \
           "row 12; data.duplicates=drop_exact)" in caplog.text
    assert_same_arrays(with_copies, prepared_arrays(tmp_path, frame, "clean")[0])
    assert meta["rows"] == 200


def test_keep_last_keeps_the_last_row_of_each_time(tmp_path, caplog):
    frame = table()
    changed = frame.iloc[[30]].assign(load=99.0)
    twice = pd.concat([frame.iloc[:31], changed, frame.iloc[31:]], ignore_index=True)
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        kept, _ = prepared_arrays(tmp_path, twice, "twice", "data.duplicates=keep_last")
    assert "1 rows share their time with the row after them (the first at row 32)" in caplog.text
    expected, _ = prepared_arrays(tmp_path, frame.assign(
        load=frame["load"].where(frame.index != 30, 99.0)), "expected")
    assert_same_arrays(kept, expected)


def test_na_values_are_missing_cells(tmp_path):
    frame = table().astype({"load": object, "temp": object})
    coded, empty = frame.copy(), frame.copy()
    coded.loc[[5, 6, 40], "load"] = -9999
    coded.loc[[70], "temp"] = "n/a"
    empty.loc[[5, 6, 40], "load"] = None
    empty.loc[[70], "temp"] = None
    from_codes, meta = prepared_arrays(tmp_path, coded, "coded", "data.na_values=[-9999,n/a]")
    assert meta["missing_values"] == 4
    assert_same_arrays(from_codes, prepared_arrays(tmp_path, empty, "empty")[0])


def test_a_repeated_round_extreme_far_from_the_rest_is_warned_of(tmp_path, caplog):
    frame = table()
    frame.loc[[12, 80], "temp"] = -9999.0
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        prepared_arrays(tmp_path, frame, "sentinel")
    assert ("sentinel.csv: column 'temp' holds -9999 in 2 rows (the first at row 14), more than "
            "5 standard deviations below its other values: if it marks a missing reading, list "
            "it in data.na_values (e.g. data.na_values=[-9999])") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rnnops.data.validate"):
        prepared_arrays(tmp_path, frame, "named", "data.na_values=[-9999]")
        once = table()
        once.loc[12, "temp"] = -9999.0  # once: a reading, perhaps, not a code
        prepared_arrays(tmp_path, once, "once")
        near = table().assign(load=np.r_[[-100.0] * 3, np.linspace(-90, 100, 197)])
        prepared_arrays(tmp_path, near, "near")  # round and repeated, but not far out
    assert "holds" not in caplog.text


def test_public_messages_quote_nothing_of_the_table():
    frame = pd.DataFrame({"t": ["2024-01-01 00:00", "2024-01-01 01:00", "secret-time"],
                          "y": ["1", "secret-cell", "3"], "private name": [1, 2, 3]})
    cases = [
        (frame, ["y"], Rules("t"), "row 4, column 't': 'secret-time' is not a timestamp",
         "row 4, column 't': not a timestamp"),
        (frame.drop(columns="t"), ["y"], Rules(), "row 3, column 'y': 'secret-cell' is not a "
         "number", "row 3, column 'y': a cell that is not a number"),
        (frame.iloc[:2].assign(y=["1", "1e39"]).drop(columns="t"), ["y"], Rules(),
         "'1e39' is beyond", "row 3, column 'y': a value beyond float32's range"),
        (frame.set_axis(["y", "private name", "private name"], axis=1), ["y"],
         Rules(), "column 'private name' appears twice", "columns 2 and 3 have the same name;"),
    ]
    for table_, columns, rules, full, public in cases:
        with pytest.raises(DataError) as err:
            validated(table_, columns, "history", rules, known={"y", "t"})
        assert full in str(err.value) and public in err.value.public
        assert "secret" not in err.value.public and "private" not in err.value.public


def test_rows_at_one_time_refused_or_resolved_as_configured():
    times = ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 01:00", "2024-01-01 02:00"]
    frame = pd.DataFrame({"t": times, "y": [1.0, 2.0, 2.0, 3.0]})
    assert validated(frame, ["y"], "x", Rules("t"))["y"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(DataError, match="duplicate timestamp 2024-01-01 01:00:00 at rows 3 and 4"):
        validated(frame, ["y"], "x", Rules("t", duplicates="error"))
    differ = frame.assign(y=[1.0, 2.0, 5.0, 3.0])
    with pytest.raises(DataError, match=r"rows 3 and 4 share the time .* \(2 and 5\)"):
        validated(differ, ["y"], "x", Rules("t"))
    assert validated(differ, ["y"], "x", Rules("t", duplicates="keep_last"))["y"].tolist() == \
        [1.0, 5.0, 3.0]
    # missing cells in the same places are equal: an exact copy
    gap = frame.assign(y=[1.0, np.nan, np.nan, 3.0])
    assert validated(gap, ["y"], "x", Rules("t"))["y"].isna().tolist() == [False, True, False]


def test_usual_step_is_the_most_common_one():
    times = pd.DatetimeIndex(pd.date_range("2024-01-01", periods=50, freq="10min").delete([7, 8]))
    assert usual_step(times) == "0 days 00:10:00"
    assert usual_step(pd.RangeIndex(5)) is None
