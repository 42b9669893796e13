"""The served forecaster: raw history in original units -> forecast in original units."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.data.prepared import PreparedData
from rnnops.data.preprocess import Scaler
from rnnops.errors import DataError
from rnnops.models import build_model
from rnnops.serving import _load_pyfunc
from rnnops.serving.forecast import ForecastService


@pytest.fixture
def service(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8, norm="none"), 2, 1, 3, 6, [1]).eval()
    scaler = Scaler(np.array([10.0, 300.0]), np.array([2.0, 5.0]))
    data = PreparedData({}, ["temp", "load"], [1], scaler, {})
    ForecastService.from_training(model, data, lookback=6, horizon=3).save(tmp_path / "svc")
    return _load_pyfunc(str(tmp_path / "svc")), model, scaler


def raw_history(rows=9):
    rng = np.random.default_rng(1)
    return pd.DataFrame({"date": pd.date_range("2024-01-01", periods=rows, freq="h"),
                         "load": 300 + 5 * rng.normal(size=rows),
                         "temp": 10 + 2 * rng.normal(size=rows)})


def test_raw_dataframe_in_original_units_out(service):
    svc, model, scaler = service
    history = raw_history()
    out = svc.predict(history)
    assert list(out.columns) == ["step", "date", "load"] and out["step"].tolist() == [1, 2, 3]
    # the hours after the history's last one, at its hourly spacing
    assert out["date"].tolist() == ["2024-01-01T09:00:00", "2024-01-01T10:00:00",
                                    "2024-01-01T11:00:00"]
    # by hand: the last 6 rows, columns in the model's order, scaled; the output unscaled
    x = (history[["temp", "load"]].to_numpy()[-6:] - scaler.shift) / scaler.scale
    with torch.no_grad():
        expected = model(torch.tensor(x, dtype=torch.float32)[None])[0, :, 0].double().numpy()
    np.testing.assert_allclose(out["load"], expected * 5.0 + 300.0, rtol=1e-6)


def test_arrays_give_the_same_forecast(service):
    svc, _, _ = service
    history = raw_history()
    frame = svc.predict(history)
    values = history[["temp", "load"]].to_numpy()
    np.testing.assert_allclose(svc.predict(values)["load"], frame["load"])
    batch = svc.predict(np.stack([values, values]))
    assert batch.shape == (2, 3, 1)
    np.testing.assert_allclose(batch[1, :, 0], frame["load"])


def test_nullable_columns_read_like_plain_floats(service):
    svc, _, _ = service
    history = raw_history(12)
    history.loc[0, "load"] = np.nan  # before the lookback: not used
    nullable = history.astype({"load": "Float64", "temp": "Float64"})
    assert nullable["load"].isna().iloc[0]
    np.testing.assert_allclose(svc.predict(nullable)["load"], svc.predict(history)["load"])


@pytest.mark.parametrize("history,message", [
    (raw_history(5), "history has 5 rows; the model needs at least 6"),
    (raw_history().drop(columns="temp"), "history has no column 'temp'"),
    (np.zeros((8, 3)), r"history of shape \(1, 8, 3\) does not fit the model's 2 channel"),
    (raw_history().assign(load=np.nan), "history: column 'load' has no values"),
    (raw_history().assign(load=lambda h: h["load"].where(h.index != 8)),
     r"history has missing values in its last 6 rows \(the model was trained with "
     "data.missing=error"),
    # every cell is checked as prepare checks a file, those before the lookback too
    (raw_history().astype({"load": object}).assign(
        load=lambda h: h["load"].where(h.index != 1, "high")),
     "history: row 3, column 'load': 'high' is not a number"),
    (raw_history().assign(load=lambda h: h["load"].where(h.index != 0, np.inf)),
     "history: row 2, column 'load': infinite value inf"),
    (raw_history().assign(temp=lambda h: h["temp"].where(h.index != 0, 1e39)),
     r"history: row 2, column 'temp': 1e\+39 is beyond float32's range"),
    (raw_history().set_axis(["date", "load", "load"], axis=1),
     r"history: column 'load' appears twice \(columns 2 and 3\)"),
    (np.array([["1", "2"], ["3", "x"]] * 4), "history: row 3, column 'load': 'x' is not a number"),
    (np.full((2, 8, 2), 1e39), r"history 1 of 2: row 2, column 'temp': 1e\+39 is beyond"),
])
def test_bad_histories_are_one_clear_error(service, history, message):
    svc, _, _ = service  # the service itself: the full message, as rnnops predict prints it
    with pytest.raises(DataError, match=message):
        svc.get_raw_model().predict(history)


def save_gap_policy_service(folder: Path, policy: str) -> tuple[torch.nn.Module, Scaler]:
    """A GRU forecaster of `load` from (temp, load), lookback 6, horizon 3, saved to `folder`
    as trained with data.missing=`policy`; returns its model and scaler."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8, norm="none"), 2, 1, 3, 6, [1]).eval()
    scaler = Scaler(np.array([10.0, 300.0]), np.array([2.0, 5.0]))
    settings = {"data_settings": {"missing": policy, "time_column": "date"}}
    data = PreparedData({}, ["temp", "load"], [1], scaler, settings)
    ForecastService.from_training(model, data, lookback=6, horizon=3).save(folder)
    return model, scaler


@pytest.mark.parametrize("policy", ["interpolate", "ffill", "drop"])
def test_gaps_in_a_raw_history_are_filled_as_training_filled_them(tmp_path, policy):
    """A model trained with data.missing=interpolate (the default), ffill or drop takes a raw
    history with gaps and treats them as prepare did; one trained with error refuses them."""
    save_gap_policy_service(tmp_path / "svc", policy)
    svc = _load_pyfunc(str(tmp_path / "svc"))
    history = raw_history(12)
    gappy = history.copy()
    gappy.loc[[8, 9], "load"] = np.nan
    filled = {"interpolate": history.assign(load=history["load"].mask(
                  history.index.isin([8, 9])).interpolate()),
              "ffill": history.assign(load=history["load"].mask(
                  history.index.isin([8, 9])).ffill()),
              "drop": history.drop(index=[8, 9])}[policy]
    np.testing.assert_allclose(svc.predict(gappy)["load"], svc.predict(filled)["load"])
    with pytest.raises(DataError, match="is not sorted"):
        svc.predict(history.iloc[::-1])


def test_gaps_refused_when_training_refused_them(service):
    svc, _, _ = service  # no recorded policy: as data.missing=error
    history = raw_history(12)
    history.loc[9, "load"] = np.nan
    with pytest.raises(DataError, match=r"data.missing=error\); fill them first"):
        svc.predict(history)


def test_served_errors_name_the_problem_not_the_request(service):
    """MLflow's wrapper answers with the public form: row and column, no cell, time or name
    that only the request holds."""
    svc, _, _ = service
    secret = raw_history().astype({"load": object})
    secret.loc[2, "load"] = "password123"
    with pytest.raises(DataError) as err:
        svc.predict(secret)
    assert str(err.value) == "history: row 4, column 'load': a cell that is not a number"
    renamed = raw_history().rename(columns={"temp": "secret_sensor"})
    with pytest.raises(DataError) as err:
        svc.predict(renamed)
    assert str(err.value) == ("history has no column 'temp' (the model reads temp, load)")
    # the service itself (what rnnops predict calls) says it in full
    with pytest.raises(DataError, match="'password123' is not a number"):
        svc.get_raw_model().predict(secret)


@pytest.mark.parametrize("policy", ["interpolate", "ffill", "drop"])
def test_a_long_history_reads_only_the_rows_its_forecast_needs(tmp_path, policy):
    """Rows before the lookback are checked but not read unless a gap at the lookback's start
    is filled from them: a long history forecasts exactly as the rows it needs do."""
    model, scaler = save_gap_policy_service(tmp_path / "svc", policy)
    svc = ForecastService.load(tmp_path / "svc")
    history = raw_history(2000)
    history.loc[[10, 11, 1500], "temp"] = np.nan  # far before the lookback
    history.loc[[1993, 1994, 1995], "load"] = np.nan  # the lookback (rows 1994..1999) starts in it
    start = svc.first_row_read(history[["temp", "load"]].to_numpy(np.float32))
    assert start == {"interpolate": 1992, "ffill": 1992, "drop": 1991}[policy]
    tail = history.iloc[start:]
    np.testing.assert_allclose(svc.predict(history)["load"], svc.predict(tail)["load"])
    # and as filling the whole history would give
    full = history.set_index("date")[["temp", "load"]]
    filled = {"interpolate": full.interpolate(method="time", limit_direction="both"),
              "ffill": full.ffill().bfill(), "drop": full.dropna()}[policy]
    x = (filled.to_numpy()[-6:] - scaler.shift) / scaler.scale
    with torch.no_grad():
        expected = model(torch.tensor(x, dtype=torch.float32)[None])[0, :, 0].double().numpy()
    np.testing.assert_allclose(svc.predict(history)["load"], expected * 5 + 300, rtol=1e-5)


def test_a_history_follows_the_duplicates_and_na_values_it_was_trained_with(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8, norm="none"), 2, 1, 3, 6, [1]).eval()
    settings = {"data_settings": {"missing": "interpolate", "time_column": "date",
                                  "na_values": [-9999], "duplicates": "drop_exact"}}
    data = PreparedData({}, ["temp", "load"], [1], Scaler(np.array([10.0, 300.0]),
                                                         np.array([2.0, 5.0])), settings)
    ForecastService.from_training(model, data, lookback=6, horizon=3).save(tmp_path / "svc")
    svc = _load_pyfunc(str(tmp_path / "svc"))
    history = raw_history(12)
    coded, empty = history.copy(), history.copy()
    coded.loc[9, "load"], empty.loc[9, "load"] = -9999.0, np.nan
    np.testing.assert_allclose(svc.predict(coded)["load"], svc.predict(empty)["load"])
    copied = pd.concat([history.iloc[:10], history.iloc[[9]], history.iloc[10:]])
    np.testing.assert_allclose(svc.predict(copied)["load"], svc.predict(history)["load"])
    differ = pd.concat([history.iloc[:10], history.iloc[[9]].assign(load=1.0), history.iloc[10:]])
    with pytest.raises(DataError, match="rows 11 and 12 have the same time but differ in column "
                                        "'load'; keep one row per time"):
        svc.predict(differ)
