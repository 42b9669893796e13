"""The article's GRU as Cho et al. (2014) wrote it:

    z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)
    r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)
    h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t-1}) + b_h)
    h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t

The reset gate acts before the recurrent matmul, so the candidate needs a second matmul per step
after the gates are known: cuDNN's GRU (`gru`) moves r after the matmul to avoid exactly that, and
so computes a different function. Gate rows are stacked r, z, h̃ as in torch.nn.GRU.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.cells.common import check_input, init_uniform, warn_slow


class ClassicGRU(nn.Module):
    fused = False
    recurrent_weights = ("weight_hh",)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(3 * hidden_size))
        init_uniform(self, hidden_size)
        warn_slow("gru_classic steps through time in Python: no fused kernel resets before the "
                  "recurrent matmul")

    def forward(self, x: torch.Tensor, state=None):
        check_input(x, self.input_size, "gru_classic")
        hidden = self.hidden_size
        h = x.new_zeros(x.shape[0], hidden) if state is None else state
        projected = nn.functional.linear(x, self.weight_ih, self.bias)  # all steps at once
        w_gates, w_candidate = self.weight_hh[: 2 * hidden], self.weight_hh[2 * hidden:]
        outputs = []
        for step in projected.unbind(1):  # unbind: a linear-time backward (see peephole_lstm)
            p_gates, p_candidate = step[:, : 2 * hidden], step[:, 2 * hidden:]
            r, z = torch.sigmoid(p_gates + h @ w_gates.T).chunk(2, dim=1)
            candidate = torch.tanh(p_candidate + (r * h) @ w_candidate.T)
            h = (1 - z) * h + z * candidate
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
