"""Quantile models (train.loss=quantile): every architecture forecasts every quantile, sorted so
they never cross, the median being the point forecast; the pinball loss against a hand
computation; the config's rules on the levels."""

from __future__ import annotations

import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.models import build_model
from rnnops.training.module import pinball_loss
from tests.conftest import load, model_config

LEVELS = (0.1, 0.5, 0.9)


@pytest.mark.parametrize("options", [
    {"architecture": "direct"},
    {"architecture": "direct", "channel_independent": True},
    {"architecture": "seq2seq"},
    {"architecture": "segrnn", "segment_length": 4},
    {"architecture": "segrnn", "segment_length": 4, "channel_independent": False},
])
def test_every_architecture_forecasts_sorted_quantiles_around_its_median(options):
    torch.manual_seed(0)
    # RevIN: with last-value normalisation the direct head starts at 0, every quantile alike
    cfg = model_config(name="gru", hidden_size=8, norm="revin", **options)
    model = build_model(cfg, input_size=3, output_size=3, horizon=6, lookback=12,
                        quantiles=LEVELS).eval()
    x = torch.randn(5, 12, 3)
    quantiles = model.forecast_quantiles(x)
    assert quantiles.shape == (5, 6, 3, 3)
    assert (quantiles.diff(dim=-1) >= 0).all()
    torch.testing.assert_close(model(x), quantiles[..., 1])
    # a random network's quantiles are not all one value: the head forecasts each
    assert (quantiles[..., 2] - quantiles[..., 0]).abs().mean() > 1e-4


def test_a_global_quantile_model_forecasts_each_series():
    cfg = model_config(name="gru", hidden_size=8)
    model = build_model(cfg, input_size=1, output_size=1, horizon=4, lookback=8,
                        per_series=True, quantiles=LEVELS).eval()
    x = torch.randn(2, 8, 5)
    quantiles = model.forecast_quantiles(x)
    assert quantiles.shape == (2, 4, 5, 3)
    torch.testing.assert_close(quantiles[:, :, 3], model.forecast_quantiles(x[:, :, 3:4])[:, :, 0])


def test_the_pinball_loss_by_hand():
    forecast = torch.tensor([[[[0.0, 1.0, 2.0]]]])  # quantiles 0.1, 0.5, 0.9 of one value
    target = torch.tensor([[[1.5]]])
    # 0.1 x 1.5; 0.5 x 0.5; (0.9 - 1) x (1.5 - 2) = 0.05
    expected = (0.15 + 0.25 + 0.05) / 3
    assert pinball_loss(forecast, target, torch.tensor(LEVELS)).item() == pytest.approx(expected)


@pytest.mark.parametrize("quantiles, why", [
    ("[0.9,0.5,0.1]", "increasing"), ("[0.1,0.5,1.2]", "in \\(0, 1\\)"),
    ("[0.1,0.9]", "with 0.5"),
])
def test_bad_levels_name_the_key(quantiles, why):
    with pytest.raises(ConfigError, match=f"train.quantiles.*{why}"):
        load("train.loss=quantile", f"train.quantiles={quantiles}")


def test_an_interval_needs_both_its_ends():
    with pytest.raises(ConfigError, match="train.quantiles.*no 0.025, an end of the 0.95"):
        load("train.loss=quantile", "train.quantiles=[0.1,0.5,0.9]")
    load("train.loss=quantile", "train.quantiles=[0.1,0.5,0.9]", "evaluate.interval_levels=[0.8]")
