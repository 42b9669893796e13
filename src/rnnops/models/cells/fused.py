"""The recurrences with fused torch.nn kernels (cuDNN on GPU, oneDNN/ATen on CPU), one layer each.

RNN: h_t = f(W x_t + R h_{t-1} + b), f = tanh or relu (the article's vanilla RNN).
LSTM: Hochreiter & Schmidhuber with a forget gate, no peepholes.
GRU: the cuDNN convention, which differs from Cho et al. twice: the reset gate multiplies after
the recurrent matmul, r * (W_hn h + b_hn), and h_t = (1 - z) * n + z * h_{t-1}. The article's GRU
is `gru_classic`.

The wrappers only fix the constructor and keep states batch-first; the kernels are torch's.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.cells.common import batch_first_state, check_implementation, check_input
from rnnops.models.cells.contract import CellContract, Trace, record
from rnnops.models.cells.kernels.peephole_lstm import peephole_lstm


class _Fused(CellContract):
    fused = True
    recurrent_weights = ("weight_hh_l0",)  # what weight drop masks
    # default: the library kernel, as every other name here but stepwise
    implementations = ("default", "auto", "fused")

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.hidden_size)

    def forward(self, x: torch.Tensor, state=None):
        check_input(x, self.input_size, type(self).__name__.lower())
        y, state = super().forward(x, batch_first_state(state, squeeze=False))
        return y, batch_first_state(state, squeeze=True)


class RNN(_Fused, nn.RNN):
    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh",
                 implementation: str = "default"):
        check_implementation("rnn", implementation, self.implementations)
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"rnn: nonlinearity must be tanh or relu, got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, batch_first=True, nonlinearity=nonlinearity)

    def reference(self, x: torch.Tensor, state=None, trace: Trace | None = None):
        """h_t = f(W x_t + R h_{t-1} + b): no gates to trace."""
        h = self._zeros(x) if state is None else state
        act = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        hs = []
        for x_t in x.unbind(1):
            h = act(x_t @ self.weight_ih_l0.T + self.bias_ih_l0 + h @ self.weight_hh_l0.T
                    + self.bias_hh_l0)
            hs.append(h)
        return torch.stack(hs, dim=1), h


class LSTM(_Fused, nn.LSTM):
    """`fused` (and `default`): torch's kernel; `stepwise`: the same equations through the
    hand-written kernel (kernels/peephole_lstm.py without peepholes), sometimes faster on a CPU;
    `auto` lets models/autotune.py measure both at the run's shape (fused until it has). The two
    round differently, so only `auto` makes results depend on the machine's timings."""

    implementations = ("default", "auto", "fused", "stepwise")
    tunable = ("fused", "stepwise")
    gate_names = ("input", "forget", "output")

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        check_implementation("lstm", implementation, self.implementations)
        super().__init__(input_size, hidden_size, batch_first=True)
        self.implementation = implementation

    def forward(self, x: torch.Tensor, state=None):
        if self.implementation != "stepwise":
            return super().forward(x, state)
        check_input(x, self.input_size, "lstm")
        if state is None:
            h = c = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h, c = state
        y, h, c = peephole_lstm(x, h, c, self.weight_ih_l0, self.weight_hh_l0,
                                self.bias_ih_l0 + self.bias_hh_l0)
        return y, (h, c)

    def reference(self, x: torch.Tensor, state=None, trace: Trace | None = None):
        """torch.nn.LSTM's equations, gate rows i, f, g, o."""
        h, c = (self._zeros(x), self._zeros(x)) if state is None else state
        b = self.bias_ih_l0 + self.bias_hh_l0
        hs = []
        for x_t in x.unbind(1):
            g_i, g_f, g_c, g_o = (x_t @ self.weight_ih_l0.T + h @ self.weight_hh_l0.T
                                  + b).chunk(4, dim=-1)
            i, f, o = torch.sigmoid(g_i), torch.sigmoid(g_f), torch.sigmoid(g_o)
            c = f * c + i * torch.tanh(g_c)
            h = o * torch.tanh(c)
            record(trace, input=i, forget=f, output=o)
            hs.append(h)
        return torch.stack(hs, dim=1), (h, c)


class GRU(_Fused, nn.GRU):
    gate_names = ("reset", "update")

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        check_implementation("gru", implementation, self.implementations)
        super().__init__(input_size, hidden_size, batch_first=True)

    def reference(self, x: torch.Tensor, state=None, trace: Trace | None = None):
        """cuDNN's GRU: r after the recurrent matmul, h_t = (1 - z) n + z h_{t-1}."""
        h = self._zeros(x) if state is None else state
        hs = []
        for x_t in x.unbind(1):
            i_r, i_z, i_n = (x_t @ self.weight_ih_l0.T + self.bias_ih_l0).chunk(3, dim=-1)
            h_r, h_z, h_n = (h @ self.weight_hh_l0.T + self.bias_hh_l0).chunk(3, dim=-1)
            r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
            h = (1 - z) * torch.tanh(i_n + r * h_n) + z * h
            record(trace, reset=r, update=z)
            hs.append(h)
        return torch.stack(hs, dim=1), h
