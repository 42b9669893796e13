"""A served forecaster's ONNX copy (rnnops.serving.network): made for every architecture, it
forecasts what the torch module forecasts, and a network it cannot reproduce gets no copy."""

from pathlib import Path

import numpy as np
import pytest
import torch

from rnnops.serving.network import ONNX, TOLERANCE, OnnxNetwork, export_onnx, run
from tests.conftest import load

LOOKBACK, CHANNELS = 12, 2


@pytest.mark.parametrize("name", ["lstm", "gru", "gru_classic", "rnn", "peephole_lstm", "mingru",
                                  "minlstm", "segrnn", "seq2seq"])
def test_every_architecture_has_a_copy_that_forecasts_alike(name, tmp_path):
    from rnnops.models import build_model

    segments = ["model.segrnn.segment_length=3"] if name == "segrnn" else []
    cfg = load(f"model={name}", "model.hidden_size=8", *segments)
    torch.manual_seed(0)
    network = build_model(cfg.model, CHANNELS, 1, 3, LOOKBACK, [1]).train()
    assert export_onnx(network, LOOKBACK, CHANNELS, tmp_path / ONNX)
    assert network.training  # the module is left in the mode it was in
    x = np.random.default_rng(1).normal(size=(4, LOOKBACK, CHANNELS)).astype(np.float32)
    copy = run(OnnxNetwork(tmp_path / ONNX), x)
    assert copy.shape == (4, 3, 1) and copy.dtype == np.float64
    np.testing.assert_allclose(copy, run(network, x), **TOLERANCE)


class SignBranch(torch.nn.Module):
    """A Python branch on the data: the tracer fixes the branch the example took."""

    def forward(self, x):
        return (x if x.sum() > 0 else -x)[:, -3:, :1]


def test_a_network_onnx_cannot_reproduce_gets_no_copy(tmp_path):
    assert not export_onnx(SignBranch(), LOOKBACK, CHANNELS, tmp_path / ONNX)
    assert not (tmp_path / ONNX).exists()


def test_without_onnx_installed_torch_serves(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name.split(".")[0] in ("onnx", "onnxruntime"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    assert not export_onnx(torch.nn.GRU(CHANNELS, 4), LOOKBACK, CHANNELS, Path(tmp_path) / ONNX)
    assert list(tmp_path.iterdir()) == []
