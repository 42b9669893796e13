"""The linear recurrence h_t = a_t ⊙ h_{t-1} + b_t with a_t, b_t > 0, evaluated for all t at once
in log space (Heinsen 2023, "Efficient parallelization of a ubiquitous sequential computation"):

    log h_t = a*_t + logcumsumexp_t(log b_t - a*_t),   a*_t = Σ_{s<=t} log a_s

minGRU and minLSTM (Feng et al. 2024) are this recurrence with gates computed from x_t alone.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def g(x: torch.Tensor) -> torch.Tensor:
    """Feng et al.'s positive activation for candidate states: x + 0.5 for x >= 0, σ(x) below."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


def log_g(x: torch.Tensor) -> torch.Tensor:
    """log g(x), computed without forming g(x) where that would underflow."""
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


def log_space_scan(
    log_a: torch.Tensor, log_b: torch.Tensor, h0: torch.Tensor | None = None
) -> torch.Tensor:
    """All h_t of the recurrence, (B, T, H), from log a and log b of shape (B, T, H)."""
    if h0 is not None:
        # h0 enters as b_0 with a_0 = 1; a zero state is the limit log 0 = -inf.
        log_h0 = h0.clamp_min(torch.finfo(h0.dtype).tiny).log().unsqueeze(1)
        log_a = F.pad(log_a, (0, 0, 1, 0))
        log_b = torch.cat([log_h0, log_b], dim=1)
    a_star = log_a.cumsum(dim=1)
    h = (a_star + torch.logcumsumexp(log_b - a_star, dim=1)).exp()
    return h[:, 1:] if h0 is not None else h
