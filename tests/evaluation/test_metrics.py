import math

import numpy as np
import pytest
import torch

from rnnops.evaluation.metrics import (
    bits_per_character,
    errors_by_step,
    forecast_errors,
    naive_scale,
    perplexity,
)


def test_forecast_errors_by_hand():
    pred, target = torch.tensor([[1.0, 2.0]]), torch.tensor([[2.0, 4.0]])
    errors = forecast_errors(pred, target)
    assert errors["mse"] == pytest.approx(2.5)
    assert errors["mae"] == pytest.approx(1.5)
    assert errors["rmse"] == pytest.approx(math.sqrt(2.5))
    # sMAPE = 100 * mean(2|p - y| / (|p| + |y|)) = 100 * (2/3 + 4/6) / 2
    assert errors["smape"] == pytest.approx(100 * (2 / 3 + 4 / 6) / 2)
    assert "mase" not in errors


def test_mase_divides_by_the_in_sample_seasonal_naive_error():
    train = np.array([[0.0], [1.0], [0.0], [3.0]])  # period 2: |0-0|, |3-1| -> mean 1
    scale = naive_scale(train, period=2)
    assert scale.tolist() == [1.0]
    pred, target = torch.tensor([[[2.0], [2.0]]]), torch.tensor([[[0.0], [1.0]]])  # MAE 1.5
    assert forecast_errors(pred, target, scale)["mase"] == pytest.approx(1.5)
    # period 1: the naive one-step error, per channel, then averaged over channels
    two = np.array([[0.0, 0.0], [2.0, 4.0]])
    assert naive_scale(two, 1).tolist() == [2.0, 4.0]
    pred2 = torch.tensor([[[1.0, 1.0]]])
    assert forecast_errors(pred2, torch.zeros(1, 1, 2), naive_scale(two, 1))["mase"] == \
        pytest.approx((1 / 2 + 1 / 4) / 2)


def test_errors_by_step():
    target = torch.zeros(2, 3, 1)
    pred = torch.tensor([[[1.0], [0.0], [2.0]], [[-1.0], [0.0], [4.0]]])
    steps = errors_by_step(pred, target)
    assert steps["mae"].tolist() == [1.0, 0.0, 3.0]
    assert steps["mse"].tolist() == [1.0, 0.0, 10.0]


def test_shapes_must_agree():
    with pytest.raises(ValueError, match="differ"):
        forecast_errors(torch.zeros(2, 3), torch.zeros(3, 2))


def test_perplexity_and_bits_per_character_by_hand():
    vocab = 8
    uniform = torch.zeros(1, 5, vocab)  # every token has probability 1/8
    targets = torch.tensor([[0, 3, 7, 1, 2]])
    assert perplexity(uniform, targets) == pytest.approx(8.0)
    assert bits_per_character(uniform, targets) == pytest.approx(3.0)
    # two tokens, p = 1/2 and 1/4: mean NLL = (ln 2 + ln 4) / 2
    logits = torch.log(torch.tensor([[[0.5, 0.5, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25]]]) + 1e-30)
    nll = (math.log(2) + math.log(4)) / 2
    assert perplexity(logits, torch.tensor([[0, 3]])) == pytest.approx(math.exp(nll), rel=1e-6)
    assert bits_per_character(logits, torch.tensor([[0, 3]])) == pytest.approx(1.5, rel=1e-6)


def test_error_sums_over_batches_equal_the_errors_of_all_windows():
    from rnnops.evaluation.metrics import ErrorSums

    g = torch.Generator().manual_seed(0)
    pred, target = torch.randn(50, 4, 3, generator=g), torch.randn(50, 4, 3, generator=g)
    scale = torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)
    sums = ErrorSums()
    for part in torch.arange(50).split(7):
        sums.add(pred[part], target[part])
    whole = forecast_errors(pred, target, scale)
    assert sums.errors(scale) == pytest.approx(whole, rel=1e-12)
    diff = pred.double() - target.double()
    assert whole["mse"] == pytest.approx(float(diff.pow(2).mean()), rel=1e-12)
    assert whole["smape"] == pytest.approx(
        100 * float((2 * diff.abs() / (pred.double().abs() + target.double().abs())).mean()),
        rel=1e-12)
    assert whole["mase"] == pytest.approx(float((diff.abs().mean(dim=(0, 1)) / scale).mean()))
    np.testing.assert_allclose(sums.by_step()["mae"], diff.abs().mean(dim=(0, 2)).numpy())
    # the sums work in place on their own copies, never on the caller's tensors
    p64, t64 = pred.double(), target.double().expand(50, 4, 3)
    kept = p64.clone()
    ErrorSums().add(p64, t64)
    assert torch.equal(p64, kept) and bool((p64 < 0).any())


def test_mase_of_a_constant_channel_is_null_in_json():
    import json

    from rnnops.evaluation.metrics import finite_or_none

    flat = naive_scale(np.full((10, 1), 3.0), 2)
    assert flat.tolist() == [0.0]
    errors = forecast_errors(torch.full((2, 3, 1), 3.0), torch.full((2, 3, 1), 3.0), flat)
    assert math.isnan(errors["mase"]) and errors["mse"] == 0.0
    text = json.dumps(finite_or_none({"model": errors}), allow_nan=False)
    assert json.loads(text)["model"]["mase"] is None
