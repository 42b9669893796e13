"""Gate activations recomputed from a layer's weights must reproduce that layer's outputs."""

from types import SimpleNamespace

import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.evaluation.interpret import attention_weights, gate_activations
from rnnops.models import build_model
from rnnops.models.cells.fused import GRU


@pytest.mark.parametrize("cell,gates", [
    ("lstm", {"input", "forget", "output"}), ("peephole_lstm", {"input", "forget", "output"}),
    ("gru", {"reset", "update"}), ("gru_classic", {"reset", "update"}),
])
@pytest.mark.parametrize("architecture", ["direct", "seq2seq"])
def test_gates_replay_the_layer(cell, gates, architecture):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=cell, architecture=architecture, hidden_size=8),
                        2, 1, 4, 20, [0])
    trace = gate_activations(model, torch.randn(3, 20, 2), sequence=1)
    assert trace.cell == cell and set(trace.gates) == gates
    assert trace.max_error < 1e-5
    for values in trace.gates.values():
        assert values.shape == (20, 8)
        assert float(values.min()) >= 0 and float(values.max()) <= 1


def test_replay_would_catch_wrong_equations(monkeypatch):
    """The check has teeth: replaying the GRU with its reset and update gates swapped (wrong
    equations, same weights) misses the layer's own outputs by far more than the tolerance."""
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", hidden_size=8), 2, 1, 4, 20, [0])
    x = torch.randn(2, 20, 2)
    assert gate_activations(model, x).max_error < 1e-5
    right = GRU.reference

    def swapped_gates(self, x, state=None, trace=None):
        size = self.hidden_size
        rows = torch.cat([torch.arange(size, 2 * size), torch.arange(size),
                          torch.arange(2 * size, 3 * size)])
        return right(SimpleNamespace(
            weight_ih_l0=self.weight_ih_l0[rows], weight_hh_l0=self.weight_hh_l0[rows],
            bias_ih_l0=self.bias_ih_l0[rows], bias_hh_l0=self.bias_hh_l0[rows],
            _zeros=self._zeros), x, state, trace)

    monkeypatch.setattr(GRU, "reference", swapped_gates)
    assert gate_activations(model, x).max_error > 1e-2


def test_cells_without_gates_and_models_without_attention_give_none():
    model = build_model(ModelConfig(name="rnn", hidden_size=8), 1, 1, 4, 20)
    assert gate_activations(model, torch.randn(2, 20, 1)) is None
    assert attention_weights(model, torch.randn(2, 20, 1)) is None


def test_attention_weights_are_a_distribution_over_the_lookback():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="gru", architecture="seq2seq", hidden_size=8),
                        1, 1, 5, 12)
    weights = attention_weights(model, torch.randn(3, 12, 1))
    assert weights.shape == (3, 5, 12)
    assert torch.allclose(weights.sum(dim=-1), torch.ones(3, 5), atol=1e-5)
