import numpy as np
import pytest
import torch

from rnnops.data.windows import WindowDataset
from rnnops.errors import ConfigError
from rnnops.evaluation.baselines import (
    LinearBaseline,
    last_value,
    moving_average,
    seasonal_naive,
    window_mean,
)
from rnnops.evaluation.metrics import forecast_errors


def test_last_value_repeats_the_last_observation():
    x = torch.arange(12.0).view(1, 6, 2)  # column 1 = 1, 3, 5, 7, 9, 11
    assert last_value(x, 3, [1]).flatten().tolist() == [11, 11, 11]


def test_seasonal_naive_takes_the_value_one_period_back():
    x = torch.tensor([[10.0, 20, 30, 11, 21, 31]]).view(1, 6, 1)  # period 3
    # steps 1..5 ahead: one period back from each, wrapping for steps beyond one period
    assert seasonal_naive(x, 5, [0], period=3).flatten().tolist() == [11, 21, 31, 11, 21]


def test_seasonal_naive_needs_a_full_season():
    with pytest.raises(ConfigError, match="evaluate.season_period"):
        seasonal_naive(torch.zeros(1, 4, 1), 2, [0], period=5)


def test_window_mean():
    x = torch.tensor([[1.0, 2.0, 6.0]]).view(1, 3, 1)
    assert window_mean(x, 2, [0]).flatten().tolist() == [3.0, 3.0]


def seasonal_windows(trend: float = 0.0):
    t = torch.arange(400, dtype=torch.float64)
    series = (torch.sin(2 * torch.pi * t / 12) + 0.5 * torch.cos(2 * torch.pi * t / 4)
              + trend * t)[:, None]
    return WindowDataset(series, 48, 24).all()


def test_seasonal_naive_is_exact_on_a_purely_seasonal_series():
    x, y = seasonal_windows()
    errors = forecast_errors(seasonal_naive(x, 24, [0], period=12), y)
    assert errors["mse"] < 1e-24 and errors["mae"] < 1e-12
    # the other naive forecasts are not
    assert forecast_errors(last_value(x, 24, [0]), y)["mae"] > 0.3


def test_moving_average_repeats_the_ends():
    x = torch.tensor([[0.0, 3.0, 6.0, 9.0]], dtype=torch.float64)
    assert moving_average(x, 3).tolist() == [[1.0, 3.0, 6.0, 8.0]]


def test_linear_baseline_learns_a_seasonal_series_with_trend():
    x, y = seasonal_windows(trend=0.01)
    model = LinearBaseline(kernel=25, ridge=1e-6).fit(x[:200], y[:200], [0])
    pred = model(x[200:], [0])
    assert pred.shape == y[200:].shape
    # y_{t+h} = y_{t+h-12} + 0.12 is linear in the window: ridge regression finds it
    assert forecast_errors(pred, y[200:])["mae"] < 1e-3
    assert forecast_errors(last_value(x[200:], 24, [0]), y[200:])["mae"] > 0.3


def test_linear_baseline_shares_its_layers_across_target_channels():
    x, y = seasonal_windows()
    x2 = torch.cat([x, 2 * x], dim=-1)
    y2 = torch.cat([y, 2 * y], dim=-1)
    model = LinearBaseline(25, 1e-6).fit(x2, y2, [0, 1])
    pred = model(x2, [0, 1])
    assert torch.allclose(pred[..., 1], 2 * pred[..., 0], atol=1e-3)
    assert np.isfinite(pred.numpy()).all()


def test_linear_baseline_from_batches_equals_the_fit_on_all_windows():
    """Normal equations accumulated a batch at a time (as evaluate fits it) solve to the same
    layers as one design matrix of every window."""
    x, y = seasonal_windows(trend=0.01)
    x3 = torch.cat([x, 0.5 * x + 1, -x], dim=-1)
    y3 = torch.cat([y, 0.5 * y + 1], dim=-1)
    whole = LinearBaseline(25, 1e-3).fit(x3, y3, [0, 1])
    batched = LinearBaseline(25, 1e-3)
    for part in torch.arange(len(x3)).split(37):
        batched.add(x3[part], y3[part], [0, 1])
    batched.solve()
    assert batched.rows == whole.rows == 2 * len(x3)
    torch.testing.assert_close(batched.weight, whole.weight, rtol=1e-9, atol=1e-10)
