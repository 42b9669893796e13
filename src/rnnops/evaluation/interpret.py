"""What a trained recurrent model does inside: gate activations over time and attention weights.

The fused kernels (torch.nn.LSTM/GRU) do not expose their gates, and the models stay as they are:
a forward hook records what the first recurrent layer receives and returns, and the gates are
recomputed from that input with the cell's own reference equations (the cell contract,
models/cells/contract.py), which trace them. The recomputed hidden states must equal the ones
the layer returned (`max_error`), which checks that the equations are the ones the layer ran.
No concrete cell class is named here: any cell that declares `gate_names` is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rnnops.models.layers import RecurrentStack
from rnnops.models.registry import cell_name
from rnnops.models.seq2seq import AdditiveAttention


@dataclass(frozen=True)
class GateTrace:
    cell: str
    gates: dict[str, torch.Tensor]  # gate name -> (T, hidden) activations in [0, 1]
    hidden: torch.Tensor  # (T, hidden) recomputed h_t
    max_error: float  # largest |recomputed h - the layer's own h|


def first_cell(model: nn.Module) -> nn.Module | None:
    """The forward-direction cell of the first layer of the model's first recurrent stack."""
    stack = next((m for m in model.modules() if isinstance(m, RecurrentStack)), None)
    return None if stack is None else stack.first_cell()


@torch.no_grad()
def gate_activations(model: nn.Module, x: torch.Tensor, sequence: int = 0) -> GateTrace | None:
    """Gates of the first recurrent layer while the model reads window x (B, L, C), for the
    `sequence`-th sequence that layer sees; None when that layer has no gates (rnn, minGRU...)."""
    cell = first_cell(model)
    if cell is None or not getattr(cell, "gate_names", ()):
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
    trace: dict[str, list[torch.Tensor]] = {}
    replayed, _ = cell.reference(inputs[sequence: sequence + 1], one, trace)
    hidden = replayed[0]
    error = float((hidden - outputs[sequence]).abs().max())
    gates = {name: torch.cat(trace[name]) for name in cell.gate_names}  # (T, hidden) each
    return GateTrace(cell_name(cell), gates, hidden, error)


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
