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
from rnnops.models.cells.kernels.peephole_lstm import peephole_lstm


class _Fused:
    fused = True
    recurrent_weights = ("weight_hh_l0",)  # what weight drop masks
    # default: the library kernel, as every other name here but stepwise
    implementations = ("default", "auto", "fused")

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


class LSTM(_Fused, nn.LSTM):
    """`fused` (and `default`): torch's kernel; `stepwise`: the same equations through the
    hand-written kernel (kernels/peephole_lstm.py without peepholes), sometimes faster on a CPU;
    `auto` lets models/autotune.py measure both at the run's shape (fused until it has). The two
    round differently, so only `auto` makes results depend on the machine's timings."""

    implementations = ("default", "auto", "fused", "stepwise")
    tunable = ("fused", "stepwise")

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


class GRU(_Fused, nn.GRU):
    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        check_implementation("gru", implementation, self.implementations)
        super().__init__(input_size, hidden_size, batch_first=True)
