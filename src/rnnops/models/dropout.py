"""Dropout for recurrent networks, as AWD-LSTM uses it (Merity et al. 2018):

- locked (variational) dropout: one mask per sequence, shared by every timestep (Gal & Ghahramani
  2016), so a unit is either present for the whole sequence or absent;
- weight drop: DropConnect on the recurrent matrices, one mask per forward pass, applied by
  calling the cell with the masked weight, so the fused kernels stay in use;
- embedding dropout: whole words dropped from the embedding matrix.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F


class LockedDropout(nn.Module):
    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, C); the same (B, 1, C) mask for every t."""
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p) / (1 - self.p)
        return x * mask


class WeightDrop(nn.Module):
    """A cell whose recurrent weights (the names in `cell.recurrent_weights`) are dropped."""

    def __init__(self, cell: nn.Module, p: float):
        super().__init__()
        if not cell.recurrent_weights:
            raise ValueError(f"{type(cell).__name__} has no recurrent weights to drop")
        self.cell, self.p = cell, p
        self.fused = cell.fused

    def forward(self, x: torch.Tensor, state=None):
        if not self.training or self.p == 0:
            return self.cell(x, state)
        dropped = {name: F.dropout(getattr(self.cell, name), self.p, training=True)
                   for name in self.cell.recurrent_weights}
        return functional_call(self.cell, dropped, (x, state))


def embedding_dropout(embedding: nn.Embedding, tokens: torch.Tensor, p: float,
                      training: bool) -> torch.Tensor:
    """Look up `tokens` with whole rows (words) of the embedding dropped and the rest rescaled."""
    if not training or p == 0:
        return embedding(tokens)
    weight = embedding.weight
    keep = weight.new_empty(weight.shape[0], 1).bernoulli_(1 - p) / (1 - p)
    return F.embedding(tokens, weight * keep, embedding.padding_idx)
