"""What every cell shares: weight initialisation and the one-time warning about slow paths."""

from __future__ import annotations

import logging
import math
from functools import cache

import torch
from torch import nn

log = logging.getLogger("rnnops.models")


def init_uniform(module: nn.Module, hidden_size: int) -> None:
    """U(-1/sqrt(H), 1/sqrt(H)) for every parameter: torch.nn's recurrent-layer default, so the
    custom cells start on the same footing as the fused ones."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


@cache
def warn_slow(reason: str) -> None:
    """Log once per process that a configuration runs a slower, non-fused path, and why."""
    log.warning("slow path: %s", reason)


@cache
def log_choice(cell: str, implementation: str, reason: str) -> None:
    """Log once per process which implementation of a cell runs, and why."""
    log.info("%s runs the %s implementation: %s", cell, implementation, reason)


def check_implementation(cell: str, implementation: str, valid: tuple[str, ...]) -> None:
    if implementation not in valid:
        raise ValueError(f"{cell}: implementation must be one of {', '.join(valid)}, "
                         f"got {implementation!r}")


def batch_first_state(state, squeeze: bool):
    """torch.nn keeps states as (layers, B, H); rnnops states put the batch first (B, H) so that
    beam search and segment decoding can index or repeat every state the same way."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(batch_first_state(s, squeeze) for s in state)
    return state.squeeze(0) if squeeze else state.unsqueeze(0).contiguous()


def check_input(x: torch.Tensor, input_size: int, name: str) -> None:
    if x.dim() != 3 or x.shape[-1] != input_size:
        raise ValueError(
            f"{name}: expected input of shape (batch, time, {input_size}), got {tuple(x.shape)}"
        )
