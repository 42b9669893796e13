"""The article's GRU as Cho et al. (2014) wrote it:

    z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)
    r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)
    h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t-1}) + b_h)
    h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

The reset gate acts before the recurrent matmul, so the candidate needs a second matmul per step
after the gates are known: cuDNN's GRU (`gru`) moves r after the matmul to avoid exactly that, and
so computes a different function. Gate rows are stacked r, z, h̃ as in torch.nn.GRU.
Implementations: `fused` (the default) runs kernels/classic_gru.py with a hand-written backward;
`loop` is the reference below.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.cells.common import (
    check_implementation,
    check_input,
    init_uniform,
    log_choice,
    warn_slow,
)
from rnnops.models.cells.contract import CellContract, Trace, record
from rnnops.models.cells.kernels.classic_gru import classic_gru


class ClassicGRU(CellContract, nn.Module):
    recurrent_weights = ("weight_hh",)
    implementations = ("default", "auto", "fused", "loop")
    gate_names = ("reset", "update")

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        super().__init__()
        check_implementation("gru_classic", implementation, self.implementations)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.implementation = implementation
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(3 * hidden_size))
        init_uniform(self, hidden_size)
        if implementation == "loop":
            warn_slow("gru_classic with implementation=loop steps through time in autograd")

    def forward(self, x: torch.Tensor, state=None):
        check_input(x, self.input_size, "gru_classic")
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state
        if self.implementation == "loop":
            return self.reference(x, h)
        log_choice("gru_classic", "fused", "hand-written backward through time")
        return classic_gru(x, h, self.weight_ih, self.weight_hh, self.bias)

    def reference(self, x: torch.Tensor, state=None, trace: Trace | None = None):
        """The equations as written, differentiated by autograd."""
        h = x.new_zeros(x.shape[0], self.hidden_size) if state is None else state
        hidden = self.hidden_size
        projected = nn.functional.linear(x, self.weight_ih, self.bias)  # all steps at once
        w_gates, w_candidate = self.weight_hh[: 2 * hidden], self.weight_hh[2 * hidden:]
        outputs = []
        for step in projected.unbind(1):  # unbind: a linear-time backward (see peephole_lstm)
            p_gates, p_candidate = step[:, : 2 * hidden], step[:, 2 * hidden:]
            r, z = torch.sigmoid(p_gates + h @ w_gates.T).chunk(2, dim=1)
            candidate = torch.tanh(p_candidate + (r * h) @ w_candidate.T)
            h = (1 - z) * h + z * candidate
            record(trace, reset=r, update=z)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
