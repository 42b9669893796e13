import math

import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.evaluation.baselines import last_value, seasonal_naive
from rnnops.evaluation.metrics import forecast_errors


def test_last_value_repeats_the_last_observation():
    x = torch.arange(12.0).view(1, 6, 2)  # column 1 = 1, 3, 5, 7, 9, 11
    assert last_value(x, 3, [1]).flatten().tolist() == [11, 11, 11]


def test_seasonal_naive_takes_the_value_one_period_back():
    x = torch.tensor([[10.0, 20, 30, 11, 21, 31]]).view(1, 6, 1)  # period 3
    # steps 1..5 ahead: one period back from each, wrapping for steps beyond one period
    assert seasonal_naive(x, 5, [0], period=3).flatten().tolist() == [11, 21, 31, 11, 21]


def test_seasonal_naive_needs_a_full_season():
    with pytest.raises(ConfigError, match="data.season_period"):
        seasonal_naive(torch.zeros(1, 4, 1), 2, [0], period=5)


def test_forecast_errors_by_hand():
    pred, target = torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0, 4.0]])
    errors = forecast_errors(pred, target)
    assert errors["mse"] == pytest.approx(2.5)
    assert errors["mae"] == pytest.approx(1.5)
    assert errors["rmse"] == pytest.approx(math.sqrt(2.5))
