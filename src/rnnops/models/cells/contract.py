"""The cell contract: what every recurrence provides, declared once.

A cell is an nn.Module built as `Cell(input_size, hidden_size, implementation="default",
**options)` whose `forward(x, state=None)` takes a batch-first (B, T, input_size) sequence and
returns `(y, state)`, y being (B, T, hidden_size). Besides that, a cell class declares:

- `implementations`: the values model.implementation accepts, `default` (the same kernel on every
  machine) and `auto` first; `tunable`: those models/autotune.py times for `auto` (empty when
  nothing is timed).
- `recurrent_weights`: the parameters weight drop masks (empty: nothing recurrent to drop);
  `fused`: whether the cell runs a library kernel (cuDNN on a GPU warns when weight drop swaps
  its weights).
- `gate_names`: the gates `reference` can trace (empty: no gates to show, as minGRU's).
- `reference(x, state, trace=None)`: the cell's equations as written, step by step through
  autograd. It is the `loop` implementation where a cell offers one, the check of the fused
  kernels in tests/models/test_cells.py, and, with a `trace` dict, the gate replay of
  evaluation/interpret.py, which appends each gate's (B, hidden) activations per step under its
  name. One copy of the equations serves all three.

A new recurrence is one file that subclasses `CellContract` (besides nn.Module or a torch
layer) plus one line in models/registry.py; nothing else names concrete cells.
"""

from __future__ import annotations

from typing import Any

import torch

Trace = dict[str, list[torch.Tensor]]


class CellContract:
    """The contract's defaults: a cell without alternatives, recurrent weights or gates."""

    implementations: tuple[str, ...] = ("default", "auto")
    tunable: tuple[str, ...] = ()
    recurrent_weights: tuple[str, ...] = ()
    fused: bool = False
    gate_names: tuple[str, ...] = ()

    def reference(self, x: torch.Tensor, state: Any = None,
                  trace: Trace | None = None) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError(f"{type(self).__name__} has no reference equations")


def record(trace: Trace | None, **gates: torch.Tensor) -> None:
    """Append one step's gate activations to `trace` (nothing to do without one)."""
    if trace is not None:
        for name, value in gates.items():
            trace.setdefault(name, []).append(value)
