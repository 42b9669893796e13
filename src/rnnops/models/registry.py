"""Cells by name: config says `model.name`, this maps it to a class."""

from __future__ import annotations

from torch import nn

from rnnops.errors import ConfigError
from rnnops.models.cells import fused

CELLS: dict[str, type[nn.Module]] = {
    "rnn": fused.RNN,
    "lstm": fused.LSTM,
    "gru": fused.GRU,
}


def cell_class(name: str) -> type[nn.Module]:
    try:
        return CELLS[name]
    except KeyError:
        raise ConfigError(
            "model.name", f"unknown cell {name!r}; choose one of {', '.join(CELLS)}"
        ) from None
