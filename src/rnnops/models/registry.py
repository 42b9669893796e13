"""Cells by name: config says `model.name`, this maps it to a class (one line per cell)."""

from __future__ import annotations

from torch import nn

from rnnops.errors import ConfigError
from rnnops.models.cells import fused
from rnnops.models.cells.gru_classic import ClassicGRU
from rnnops.models.cells.mingru import MinGRU
from rnnops.models.cells.minlstm import MinLSTM
from rnnops.models.cells.peephole_lstm import PeepholeLSTM

CELLS: dict[str, type[nn.Module]] = {
    "rnn": fused.RNN,
    "lstm": fused.LSTM,
    "peephole_lstm": PeepholeLSTM,
    "gru": fused.GRU,
    "gru_classic": ClassicGRU,
    "mingru": MinGRU,
    "minlstm": MinLSTM,
}
"""Every cell by its `model.name`; each takes the same constructor arguments and has
`forward(x, state=None) -> (y, state)`, batch-first."""


def cell_class(name: str) -> type[nn.Module]:
    """The cell class named `name`; an unknown name raises a ConfigError on `model.name` that
    lists the valid ones."""
    try:
        return CELLS[name]
    except KeyError:
        raise ConfigError(
            "model.name", f"unknown cell {name!r}; choose one of {', '.join(CELLS)}"
        ) from None


def cell_name(cell: nn.Module) -> str:
    """The registered name of a cell object (its class's name when it is not registered)."""
    return next((name for name, cls in CELLS.items() if type(cell) is cls),
                type(cell).__name__)
