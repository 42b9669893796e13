import numpy as np
import pandas as pd
import pytest

from rnnops.config import DataConfig, SplitConfig
from rnnops.data.preprocess import Scaler, fill_missing, split_rows
from rnnops.errors import DataError


def test_splits_are_chronological_and_carry_lookback_context():
    values = np.arange(100, dtype=float)[:, None]
    cfg = DataConfig(lookback=10, horizon=5, split=SplitConfig(train=0.6, val=0.2, test=0.2))
    s = split_rows(values, cfg)
    assert s.borders == {"train": [0, 60], "val": [50, 80], "test": [70, 100]}
    assert s.train[-1, 0] == 59
    # the first val target (row lookback of the val array) is the first val row, 60
    assert s.val[cfg.lookback, 0] == 60 and s.test[cfg.lookback, 0] == 80


def test_split_too_short_names_the_split_and_what_to_do():
    cfg = DataConfig(lookback=10, horizon=25, split=SplitConfig(train=0.6, val=0.2, test=0.2))
    expected = "val split has 30 rows.* lookback \\+ horizon = 35; shorten"
    with pytest.raises(DataError, match=expected):
        split_rows(np.zeros((100, 1)), cfg)


def test_scaler_uses_train_statistics_and_inverts():
    train = np.array([[1.0, 10.0], [3.0, 10.0]])
    scaler = Scaler.fit("standard", train)
    assert scaler.shift.tolist() == [2.0, 10.0]
    assert scaler.scale.tolist() == [1.0, 1.0]  # std 1 and a constant column kept finite
    x = np.array([[5.0, 12.0]])
    assert np.allclose(scaler.inverse(scaler.transform(x)), x)
    assert np.allclose(scaler.inverse(scaler.transform(x)[:, [1]], [1]), [[12.0]])
    mm = Scaler.fit("minmax", train)
    assert np.allclose(mm.transform(train)[:, 0], [0, 1])


def test_missing_value_policies_and_counts():
    idx = pd.date_range("2000-01-01", periods=5, freq="D")
    frame = pd.DataFrame({"y": [1.0, np.nan, 3.0, np.nan, 5.0]}, index=idx)
    filled, n = fill_missing(frame, "interpolate", "test.csv")
    assert n == 2 and filled["y"].tolist() == [1, 2, 3, 4, 5]
    assert fill_missing(frame, "ffill", "x")[0]["y"].tolist() == [1, 1, 3, 3, 5]
    assert len(fill_missing(frame, "drop", "x")[0]) == 3
    with pytest.raises(DataError, match="test.csv: 2 missing values .*column 'y' at "
                                        "2000-01-02.*data.missing"):
        fill_missing(frame, "error", "test.csv")
    two = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, np.nan]})  # no time index
    with pytest.raises(DataError, match=r"1 missing values \(the first in column 'y' in data row "
                                        r"3 \(the first row after the header is 1\)\)"):
        fill_missing(two, "error", "plain.csv")


def test_counts_protocol_uses_row_counts_and_leaves_the_rest_unused():
    values = np.arange(200, dtype=float)[:, None]
    cfg = DataConfig(lookback=10, horizon=5,
                     split=SplitConfig(protocol="counts", train=100, val=40, test=40))
    s = split_rows(values, cfg)
    assert s.borders == {"train": [0, 100], "val": [90, 140], "test": [130, 180]}
    with pytest.raises(DataError, match="need 300 rows but the series has 200"):
        split_rows(values, DataConfig(split=SplitConfig(protocol="counts", train=200, val=50,
                                                        test=50)))


@pytest.mark.parametrize("array", [
    np.arange(60_000, dtype=np.float32).reshape(-1, 3)[1_000:],  # a view that starts mid-buffer
    np.asfortranarray(np.arange(12.0).reshape(4, 3)),
    np.zeros((0, 4), np.float32),
])
def test_npy_written_in_blocks_by_threads_loads_back_equal(tmp_path, monkeypatch, array):
    from concurrent.futures import ThreadPoolExecutor

    import rnnops.data.prepared as prepared

    monkeypatch.setattr(prepared, "WRITE_BLOCK", 4096)  # many blocks, written out of order
    with ThreadPoolExecutor(3) as writers:
        prepared.write_npy(tmp_path / "a.npy", array, writers)
    back = np.load(tmp_path / "a.npy")
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)


def test_column_statistics_over_many_chunks_match_numpy(monkeypatch):
    """Mean and standard deviation gathered chunk by chunk on several threads equal numpy's."""
    import rnnops.machine as machine
    from rnnops.data.preprocess import mean_std

    monkeypatch.setattr(machine, "ROW_CHUNK", 1_000)
    x = np.random.default_rng(0).normal(5.0, 2.0, (25_500, 4)).astype(np.float32)
    mean, std = mean_std(x)
    assert np.allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-10)
    assert np.allclose(std, x.astype(np.float64).std(axis=0), rtol=1e-10)
    scaled = x.copy()
    Scaler(mean, std).transform_(scaled)
    assert np.allclose(scaled, (x - mean) / std, atol=1e-5)


def test_nonfinite_columns_found_in_any_chunk(monkeypatch):
    import rnnops.machine as machine
    from rnnops.data.validate import nonfinite_columns

    monkeypatch.setattr(machine, "ROW_CHUNK", 1_000)
    x = np.ones((25_500, 4), np.float32)
    x[24_999, 1], x[3, 3] = np.nan, -np.inf
    assert nonfinite_columns(x).tolist() == [False, True, False, True]
