import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.errors import ConfigError
from rnnops.models import CELLS, build_model
from rnnops.models.io import load_model, save_model


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_every_cell_meets_the_contract(cell):
    layer = CELLS[cell](3, 8, 2, 0.1)
    y, state = layer(torch.randn(4, 7, 3))
    assert y.shape == (4, 7, 8)
    y2, _ = layer(torch.randn(4, 1, 3), state)  # the state carries on
    assert y2.shape == (4, 1, 8)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_forecaster_shapes(cell):
    model = build_model(ModelConfig(name=cell, hidden_size=8, num_layers=2), 3, 2, 5, [0, 2])
    assert model(torch.randn(4, 11, 3)).shape == (4, 5, 2)


def test_subtract_last_is_translation_equivariant_and_starts_at_last_value():
    model = build_model(ModelConfig(name="gru", hidden_size=8), 2, 1, 4, [1])
    x = torch.randn(3, 10, 2)
    out = model(x)
    assert torch.allclose(out, model(x + 5.0) - 5.0, atol=1e-5)  # levels do not matter
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.zero_()
    assert torch.allclose(model(x), x[:, -1:, [1]].expand(-1, 4, -1))


def test_unknown_cell_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="model.name.*unknown cell 'lstmm'.*rnn, lstm, gru"):
        build_model(ModelConfig(name="lstmm"), 1, 1, 1)


def test_save_and_load_round_trip(tmp_path):
    model = build_model(ModelConfig(name="lstm", hidden_size=6, subtract_last=False), 2, 2, 3)
    save_model(model, tmp_path / "m.pt")
    again = load_model(tmp_path / "m.pt")
    x = torch.randn(2, 9, 2)
    assert torch.equal(model.eval()(x), again(x))
