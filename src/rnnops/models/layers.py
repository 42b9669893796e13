"""Stacking one kind of cell into layers, with the options around them: directions, residual
connections, layer norm, dropout on the stack's input, between layers and on its output (per
step, or locked over time when variational), and weight drop. The stack meets the cell contract
itself."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils._pytree import tree_map

from rnnops.models.cells.common import warn_slow
from rnnops.models.dropout import LockedDropout, WeightDrop
from rnnops.models.registry import cell_class


class RecurrentStack(nn.Module):
    """`num_layers` cells named `cell`; y has `output_size` = last_hidden_size (by default
    hidden_size) x directions features.

    The state is a tuple over layers of a tuple over directions of each cell's own state.
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        *,
        dropout: float = 0.0,
        variational: bool = False,
        input_dropout: float = 0.0,
        output_dropout: float = 0.0,
        weight_drop: float = 0.0,
        bidirectional: bool = False,
        residual: bool = False,
        layer_norm: bool = False,
        cell_options: dict | None = None,
        last_hidden_size: int | None = None,
    ):
        super().__init__()
        cls = cell_class(cell)
        directions = 2 if bidirectional else 1
        # The last layer may be narrower (AWD-LSTM sizes it to the tied embedding).
        sizes = [hidden_size] * (num_layers - 1) + [last_hidden_size or hidden_size]
        self.hidden_size, self.bidirectional = sizes[-1], bidirectional
        self.output_size = sizes[-1] * directions
        self.residual = residual

        def make(size_in: int, size: int) -> nn.Module:
            layer = cls(size_in, size, **(cell_options or {}))
            return WeightDrop(layer, weight_drop) if weight_drop else layer

        self.layers = nn.ModuleList(
            nn.ModuleList(make(input_size if n == 0 else hidden_size * directions, size)
                          for _ in range(directions))
            for n, size in enumerate(sizes)
        )
        self.norms = nn.ModuleList(
            nn.LayerNorm(size * directions) for size in sizes
        ) if layer_norm else None
        # variational: one mask per sequence (Gal & Ghahramani); else a mask per step (Zaremba)
        drop = LockedDropout if variational else nn.Dropout
        self.between = drop(dropout)
        self.input_dropout = drop(input_dropout)
        self.output_dropout = drop(output_dropout)
        if weight_drop and cls.fused and torch.cuda.is_available():
            warn_slow("weight drop on a fused cell re-packs its weights for cuDNN every step")

    def forward(self, x: torch.Tensor, state=None):
        x = self.input_dropout(x)
        last = len(self.layers) - 1
        states = []
        for n, directions in enumerate(self.layers):
            layer_state = state[n] if state is not None else (None,) * len(directions)
            y, forward_state = directions[0](x, layer_state[0])
            layer_states = [forward_state]
            if self.bidirectional:
                y_back, back_state = directions[1](x.flip(1), layer_state[1])
                y = torch.cat([y, y_back.flip(1)], dim=-1)
                layer_states.append(back_state)
            if self.residual and y.shape[-1] == x.shape[-1]:
                y = y + x
            if self.norms is not None:
                y = self.norms[n](y)
            x = self.between(y) if n < last else y
            states.append(tuple(layer_states))
        return self.output_dropout(x), tuple(states)

    def first_cell(self) -> nn.Module:
        """The forward-direction cell of the first layer (unwrapped from weight drop)."""
        cell = self.layers[0][0]
        return cell.cell if isinstance(cell, WeightDrop) else cell

    def summary(self, y: torch.Tensor) -> torch.Tensor:
        """One vector per sequence: the last output, and for the backward direction the output
        at t = 0 (the one that has read the whole sequence)."""
        if not self.bidirectional:
            return y[:, -1]
        return torch.cat([y[:, -1, : self.hidden_size], y[:, 0, self.hidden_size:]], dim=-1)


def detach_state(state):
    """The state with its history cut: language models carry it across BPTT chunks."""
    return tree_map(lambda s: s.detach() if isinstance(s, torch.Tensor) else s, state)


def map_state(fn, state):
    """`fn` applied to every tensor of a state (all batch-first): repeat, index, move."""
    return tree_map(lambda s: fn(s) if isinstance(s, torch.Tensor) else s, state)
