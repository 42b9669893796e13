"""Weight penalties added to the loss (the article's L1/L2 regularization)."""

from __future__ import annotations

import torch
from torch import nn


def weight_penalty(module: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """l1 * sum|w| + l2 * sum w^2 over weight matrices (biases are not penalized)."""
    if l1 == 0 and l2 == 0:
        return 0.0
    weights = [p for name, p in module.named_parameters() if "weight" in name]
    penalty = 0.0
    if l1:
        penalty = penalty + l1 * sum(w.abs().sum() for w in weights)
    if l2:
        penalty = penalty + l2 * sum(w.pow(2).sum() for w in weights)
    return penalty


def activation_penalty(hidden: torch.Tensor, alpha: float) -> torch.Tensor | float:
    """AR (Merity et al. 2018): alpha * mean h_t^2 over the last layer's (dropped-out) outputs,
    which keeps activations small."""
    return alpha * hidden.pow(2).mean() if alpha else 0.0


def temporal_activation_penalty(hidden: torch.Tensor, beta: float) -> torch.Tensor | float:
    """TAR: beta * mean (h_t - h_{t-1})^2 over the raw outputs (B, T, H), which penalises
    large jumps of the hidden state between steps."""
    return beta * (hidden[:, 1:] - hidden[:, :-1]).pow(2).mean() if beta else 0.0
