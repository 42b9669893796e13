"""The served forecaster: raw history in original units -> forecast in original units."""

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
    assert list(out.columns) == ["step", "load"] and out["step"].tolist() == [1, 2, 3]
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
    (raw_history().assign(load=np.nan), "missing or infinite"),
])
def test_bad_histories_are_one_clear_error(service, history, message):
    svc, _, _ = service
    with pytest.raises(DataError, match=message):
        svc.predict(history)


@pytest.mark.parametrize("policy", ["interpolate", "ffill", "drop"])
def test_gaps_in_a_raw_history_are_filled_as_training_filled_them(tmp_path, policy):
    """A model trained with data.missing=interpolate (the default), ffill or drop takes a raw
    history with gaps and treats them as prepare did; one trained with error refuses them."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8, norm="none"), 2, 1, 3, 6, [1]).eval()
    scaler = Scaler(np.array([10.0, 300.0]), np.array([2.0, 5.0]))
    settings = {"data_settings": {"missing": policy, "time_column": "date"}}
    data = PreparedData({}, ["temp", "load"], [1], scaler, settings)
    ForecastService.from_training(model, data, lookback=6, horizon=3).save(tmp_path / "svc")
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
