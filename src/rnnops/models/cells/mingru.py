"""minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): the GRU with gates that see only x_t,

    z_t = σ(Linear_z(x_t)),  h̃_t = g(Linear_h(x_t)),  h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t,

a linear recurrence in h, so every step can be evaluated at once (a parallel scan) and generation
costs O(1) per step. States are positive (g > 0), as in the paper's log-space formulation.
Implementations: `scan` (the log-space parallel scan, cells/scan.py) and `sequential`
(kernels/linear_scan.py); `auto` picks the faster for the device, measured in bench/cells.py.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from rnnops.models.cells.common import check_implementation, check_input, log_choice
from rnnops.models.cells.contract import CellContract
from rnnops.models.cells.kernels.linear_scan import linear_scan
from rnnops.models.cells.scan import g, log_g, log_space_scan

IMPLEMENTATIONS = ("default", "auto", "scan", "sequential")


def scan_implementation(cell: str, requested: str, x: torch.Tensor) -> str:
    """The implementation a minGRU / minLSTM runs for input x, logged once with the reason."""
    if requested not in ("default", "auto"):  # auto: until models/autotune.py has measured
        return requested
    if x.is_cuda and x.shape[1] > 1:
        log_choice(cell, "scan", "on a GPU the parallel log-space scan beats T sequential steps")
        return "scan"
    log_choice(cell, "sequential", "on a CPU (or for one step) a multiply-add per step costs "
               "less than the log-space scan's transcendental functions")
    return "sequential"


class MinGRU(CellContract, nn.Module):
    recurrent_weights = ()  # nothing recurrent to drop: the gates see only x_t
    implementations = IMPLEMENTATIONS
    tunable = ("scan", "sequential")  # models/autotune.py measures both for `auto`

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        super().__init__()
        check_implementation("mingru", implementation, self.implementations)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.implementation = implementation
        self.linear = nn.Linear(input_size, 2 * hidden_size)  # z logits, candidate

    def forward(self, x: torch.Tensor, state: torch.Tensor | None = None):
        check_input(x, self.input_size, "mingru")
        k, candidate = self.linear(x).chunk(2, dim=-1)
        if scan_implementation("mingru", self.implementation, x) == "sequential":
            z = torch.sigmoid(k)
            y = linear_scan(1 - z, z * g(candidate), state)
        else:
            # log(1 - σ(k)) = -softplus(k) and log σ(k) = -softplus(-k), both stable
            y = log_space_scan(-F.softplus(k), -F.softplus(-k) + log_g(candidate), state)
        return y, y[:, -1]
