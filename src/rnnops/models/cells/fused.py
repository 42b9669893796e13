"""The fused torch.nn recurrences (cuDNN / oneDNN kernels).

RNN: h_t = tanh(W x_t + R h_{t-1} + b). LSTM: Hochreiter & Schmidhuber without peepholes.
GRU: the cuDNN convention (reset gate applied after the recurrent matmul, z kept for h_{t-1}).
torch.nn already meets the cell contract when built batch-first; these wrappers only fix the
constructor so every cell takes the same arguments.
"""

from __future__ import annotations

from torch import nn


class _Fused:
    """The shared constructor: batch-first, dropout between stacked layers only."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0,
        **extra,
    ):
        super().__init__(  # the torch.nn class that follows in the MRO
            input_size, hidden_size, num_layers, batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0, **extra,
        )


class RNN(_Fused, nn.RNN):
    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0
    ):
        super().__init__(input_size, hidden_size, num_layers, dropout, nonlinearity="tanh")


class LSTM(_Fused, nn.LSTM):
    pass


class GRU(_Fused, nn.GRU):
    pass
