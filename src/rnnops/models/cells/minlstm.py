"""minLSTM (Feng et al. 2024): forget and input gates from x_t alone, normalised to sum to one,

    f_t = σ(Linear_f(x_t)),  i_t = σ(Linear_i(x_t)),  h̃_t = g(Linear_h(x_t)),
    h_t = f_t / (f_t + i_t) ⊙ h_{t-1} + i_t / (f_t + i_t) ⊙ h̃_t,

which keeps the state's scale independent of time (the paper's time-independence argument).
Implementations as for minGRU.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnops.models.cells.common import check_implementation, check_input
from rnnops.models.cells.contract import CellContract
from rnnops.models.cells.kernels.linear_scan import linear_scan
from rnnops.models.cells.mingru import IMPLEMENTATIONS, scan_implementation
from rnnops.models.cells.scan import g, log_g, log_space_scan


class MinLSTM(CellContract, nn.Module):
    recurrent_weights = ()
    implementations = IMPLEMENTATIONS
    tunable = ("scan", "sequential")  # models/autotune.py measures both for `auto`

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        super().__init__()
        check_implementation("minlstm", implementation, self.implementations)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.implementation = implementation
        self.linear = nn.Linear(input_size, 3 * hidden_size)  # f logits, i logits, candidate

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        check_input(x, self.input_size, "minlstm")
        k_f, k_i, candidate = self.linear(x).chunk(3, dim=-1)
        if scan_implementation("minlstm", self.implementation, x) == "sequential":
            f, i = torch.sigmoid(k_f), torch.sigmoid(k_i)
            y = linear_scan(f / (f + i), i / (f + i) * g(candidate), state)
        else:
            # log(i/f) = softplus(-k_f) - softplus(-k_i); then f' = σ(-that), i' = σ(that)
            log_ratio = F.softplus(-k_f) - F.softplus(-k_i)
            y = log_space_scan(-F.softplus(log_ratio), -F.softplus(-log_ratio) + log_g(candidate),
                               state)
        return y, y[:, -1]
