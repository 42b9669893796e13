import pytest
import torch
from torch import nn

from rnnops.training.regularizers import (
    activation_penalty,
    temporal_activation_penalty,
    weight_penalty,
)


@torch.no_grad()
def test_penalty_sums_weights_not_biases():
    layer = nn.Linear(2, 1)
    layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    layer.bias.fill_(100.0)
    assert weight_penalty(layer, 0.0, 0.0) == 0.0
    assert float(weight_penalty(layer, 0.5, 0.0)) == pytest.approx(0.5 * 3)
    assert float(weight_penalty(layer, 0.0, 0.1)) == pytest.approx(0.1 * 5)
    assert float(weight_penalty(layer, 1.0, 1.0)) == pytest.approx(3 + 5)


def test_activation_and_temporal_activation_penalties():
    h = torch.tensor([[[1.0, 2.0], [3.0, 2.0], [3.0, 0.0]]])  # (B=1, T=3, H=2)
    assert activation_penalty(h, 0.0) == 0.0
    assert float(activation_penalty(h, 2.0)) == pytest.approx(2.0 * (1 + 4 + 9 + 4 + 9) / 6)
    # steps: (2, 0) and (0, -2): squares 4, 0, 0, 4 over 4 entries
    assert float(temporal_activation_penalty(h, 1.0)) == pytest.approx(2.0)
    assert temporal_activation_penalty(h, 0.0) == 0.0
