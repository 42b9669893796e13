"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): the GRU with gates that see only x_t,

    z_t = σ(Linear_z(x_t)),  h̃_t = g(Linear_h(x_t)),  h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t,

so training evaluates every step at once with a parallel scan and generation costs O(1) per step.
States are positive (g > 0), as in the paper's log-space formulation.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnops.models.cells.common import check_input
from rnnops.models.cells.scan import g, log_g, log_space_scan, sequential_scan

MODES = ("auto", "scan", "sequential")


class MinGRU(nn.Module):
    fused = False
    recurrent_weights = ()  # nothing recurrent to drop: the gates see only x_t

    def __init__(self, input_size: int, hidden_size: int, mode: str = "auto"):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mingru: mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.input_size, self.hidden_size, self.mode = input_size, hidden_size, mode
        self.linear = nn.Linear(input_size, 2 * hidden_size)  # z logits, candidate

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        check_input(x, self.input_size, "mingru")
        k, candidate = self.linear(x).chunk(2, dim=-1)
        if self.mode == "sequential" or (self.mode == "auto" and x.shape[1] == 1):
            z = torch.sigmoid(k)
            y = sequential_scan(1 - z, z * g(candidate), state)
        else:
            # log(1 - σ(k)) = -softplus(k) and log σ(k) = -softplus(-k), both stable
            y = log_space_scan(-F.softplus(k), -F.softplus(-k) + log_g(candidate), state)
        return y, y[:, -1]
