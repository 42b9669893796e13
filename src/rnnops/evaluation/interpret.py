"""What a trained recurrent model does inside: gate activations over time and attention weights.

The fused kernels (torch.nn.LSTM/GRU) do not expose their gates, and the models stay as they are:
a forward hook records what the first recurrent layer receives and returns, and the gates are
recomputed here from that input and the layer's own weights with the cell's equations. The
recomputed hidden states must equal the ones the layer returned (`max_error`), which checks that
the equations below are the ones the layer ran.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnops.models.cells.fused import GRU, LSTM
from rnnops.models.cells.gru_classic import ClassicGRU
from rnnops.models.cells.peephole_lstm import PeepholeLSTM
from rnnops.models.dropout import WeightDrop
from rnnops.models.layers import RecurrentStack
from rnnops.models.seq2seq import AdditiveAttention


@dataclass(frozen=True)
class GateTrace:
    cell: str
    gates: dict[str, torch.Tensor]  # gate name -> (T, hidden) activations in [0, 1]
    hidden: torch.Tensor  # (T, hidden) recomputed h_t
    max_error: float  # largest |recomputed h - the layer's own h|


def _lstm(x, h, c, w_ih, w_hh, b, peephole=None):
    """torch.nn.LSTM's gate order i, f, g, o; with peepholes, Gers & Schmidhuber's LSTM."""
    trace = {"input": [], "forget": [], "output": []}
    hs = []
    for x_t in x.unbind(0):
        g_i, g_f, g_c, g_o = (x_t @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=-1)
        if peephole is not None:
            g_i, g_f = g_i + peephole[0] * c, g_f + peephole[1] * c
        i, f = torch.sigmoid(g_i), torch.sigmoid(g_f)
        c = f * c + i * torch.tanh(g_c)
        o = torch.sigmoid(g_o + (peephole[2] * c if peephole is not None else 0))
        h = o * torch.tanh(c)
        for name, value in zip(trace, (i, f, o), strict=True):
            trace[name].append(value)
        hs.append(h)
    return trace, hs


def _torch_gru(x, h, cell):
    """cuDNN's GRU: r after the recurrent matmul, h_t = (1 - z) n + z h_{t-1}."""
    w_ih, w_hh = cell.weight_ih_l0, cell.weight_hh_l0
    b_ih, b_hh = cell.bias_ih_l0, cell.bias_hh_l0
    trace, hs = {"reset": [], "update": []}, []
    for x_t in x.unbind(0):
        i_r, i_z, i_n = (x_t @ w_ih.T + b_ih).chunk(3, dim=-1)
        h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
        r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        h = (1 - z) * n + z * h
        trace["reset"].append(r)
        trace["update"].append(z)
        hs.append(h)
    return trace, hs


def _classic_gru(x, h, cell):
    """Cho et al.: r before the recurrent matmul, h_t = (1 - z) h_{t-1} + z h̃_t."""
    size = cell.hidden_size
    w_gates, w_candidate = cell.weight_hh[: 2 * size], cell.weight_hh[2 * size:]
    trace, hs = {"reset": [], "update": []}, []
    for x_t in x.unbind(0):
        p = x_t @ cell.weight_ih.T + cell.bias
        r, z = torch.sigmoid(p[: 2 * size] + h @ w_gates.T).chunk(2, dim=-1)
        h = (1 - z) * h + z * torch.tanh(p[2 * size:] + (r * h) @ w_candidate.T)
        trace["reset"].append(r)
        trace["update"].append(z)
        hs.append(h)
    return trace, hs


def _replay(cell: nn.Module, x: torch.Tensor, state) -> tuple[str, dict, list]:
    """Gates of one sequence x (T, input) from `state` (or zeros) with the cell's weights."""
    size = cell.hidden_size
    zeros = x.new_zeros(size)
    if isinstance(cell, LSTM):
        h, c = (s[0] for s in state) if state is not None else (zeros, zeros)
        b = cell.bias_ih_l0 + cell.bias_hh_l0
        return "lstm", *_lstm(x, h, c, cell.weight_ih_l0, cell.weight_hh_l0, b)
    if isinstance(cell, PeepholeLSTM):
        h, c = (s[0] for s in state) if state is not None else (zeros, zeros)
        return "peephole_lstm", *_lstm(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias,
                                       cell.peephole)
    h = state[0] if state is not None else zeros
    if isinstance(cell, GRU):
        return "gru", *_torch_gru(x, h, cell)
    if isinstance(cell, ClassicGRU):
        return "gru_classic", *_classic_gru(x, h, cell)
    raise TypeError(type(cell).__name__)


GATED = (LSTM, PeepholeLSTM, GRU, ClassicGRU)


def first_cell(model: nn.Module) -> nn.Module | None:
    """The forward-direction cell of the first layer of the model's first recurrent stack."""
    stack = next((m for m in model.modules() if isinstance(m, RecurrentStack)), None)
    if stack is None:
        return None
    cell = stack.layers[0][0]
    return cell.cell if isinstance(cell, WeightDrop) else cell


@torch.no_grad()
def gate_activations(model: nn.Module, x: torch.Tensor, sequence: int = 0) -> GateTrace | None:
    """Gates of the first recurrent layer while the model reads window x (B, L, C), for the
    `sequence`-th sequence that layer sees; None when that layer has no gates (rnn, minGRU...)."""
    cell = first_cell(model)
    if not isinstance(cell, GATED):
        return None
    seen: list[tuple] = []

    def record(module, args, output):
        if not seen:  # SegRNN runs its stack twice (encoder, decoder): keep the encoder's call
            seen.append((args[0], args[1] if len(args) > 1 else None, output[0]))

    handle = cell.register_forward_hook(record)
    try:
        model.eval()
        model(x)
    finally:
        handle.remove()
    inputs, state, outputs = seen[0]
    one = None if state is None else _select(state, sequence)
    name, gates, hs = _replay(cell, inputs[sequence], one)
    hidden = torch.stack(hs)
    error = float((hidden - outputs[sequence]).abs().max())
    return GateTrace(name, {k: torch.stack(v) for k, v in gates.items()}, hidden, error)


def _select(state, index: int):
    if isinstance(state, tuple):
        return tuple(_select(s, index) for s in state)
    return state[index: index + 1]


#: Test windows the attention map averages: spread over the test period, the first among them.
SAMPLE_WINDOWS = 64


def sample_index(windows: int, count: int = SAMPLE_WINDOWS) -> torch.Tensor:
    """`count` window indices spread evenly over `windows`, 0 first (the one gates are drawn
    for): interpretation runs on these, not on the whole test set."""
    return torch.from_numpy(np.unique(np.linspace(0, windows - 1, min(count, windows))
                                      .round().astype(np.int64)))


def has_attention(model: nn.Module) -> bool:
    return any(isinstance(m, AdditiveAttention) for m in model.modules())


@torch.no_grad()
def attention_weights(model: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The attention of an attention model over windows x: (B, H, L) weights (channel-folded
    models average their channels), or None for models without attention, which are not run."""
    if not has_attention(model) or not hasattr(model, "forward_with_details"):
        return None
    model.eval()
    details = model.forward_with_details(x)[1]
    weights = details.get("attention")
    if weights is None:
        return None
    while weights.dim() > 3:  # (B, C, H, L) from channel-independent models
        weights = weights.mean(dim=1)
    return weights
