import pytest
import torch
from torch import nn

from rnnops.training.regularizers import weight_penalty


@torch.no_grad()
def test_penalty_sums_weights_not_biases():
    layer = nn.Linear(2, 1)
    layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    layer.bias.fill_(100.0)
    assert weight_penalty(layer, 0.0, 0.0) == 0.0
    assert float(weight_penalty(layer, 0.5, 0.0)) == pytest.approx(0.5 * 3)
    assert float(weight_penalty(layer, 0.0, 0.1)) == pytest.approx(0.1 * 5)
    assert float(weight_penalty(layer, 1.0, 1.0)) == pytest.approx(3 + 5)
