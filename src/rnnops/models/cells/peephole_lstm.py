"""The article's LSTM with diagonal peepholes (Gers & Schmidhuber 2000; Graves 2013, eq. 7-11):

    i_t = σ(W_xi x_t + W_hi h_{t-1} + w_ci ⊙ c_{t-1} + b_i)
    f_t = σ(W_xf x_t + W_hf h_{t-1} + w_cf ⊙ c_{t-1} + b_f)
    c̃_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ c̃_t
    o_t = σ(W_xo x_t + W_ho h_{t-1} + w_co ⊙ c_t + b_o)
    h_t = o_t ⊙ tanh(c_t)

Gate rows are stacked i, f, c̃, o as in torch.nn.LSTM, so with zero peepholes and
bias = b_ih + b_hh this is torch.nn.LSTM exactly. No fused library kernel has peepholes.
Implementations, all with the backward through time written by hand (kernels/peephole_lstm.py)
except the reference: `native` runs its time loops in C++ (kernels/native.py builds them once per
machine; CPU only), `fused` runs them from Python, and `loop` is the reference below, one autograd
step per timestep. `auto` runs `native` where it is built and the input is on the CPU, else
`fused`; `default` runs `fused` on every machine, since the C++ loops sum in another order and
round differently (a result then does not depend on whether a compiler was there).
"""

from __future__ import annotations

import torch
from torch import nn

from rnnops.models.cells.common import (
    check_implementation,
    check_input,
    init_uniform,
    log_choice,
    warn_slow,
)
from rnnops.models.cells.contract import CellContract, Trace, record
from rnnops.models.cells.kernels import native
from rnnops.models.cells.kernels.peephole_lstm import peephole_lstm


class PeepholeLSTM(CellContract, nn.Module):
    recurrent_weights = ("weight_hh",)
    implementations = ("default", "auto", "native", "fused", "loop")
    gate_names = ("input", "forget", "output")

    def __init__(self, input_size: int, hidden_size: int, implementation: str = "default"):
        super().__init__()
        check_implementation("peephole_lstm", implementation, self.implementations)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.implementation = implementation
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias = nn.Parameter(torch.empty(4 * hidden_size))
        self.peephole = nn.Parameter(torch.empty(3, hidden_size))  # w_ci, w_cf, w_co
        init_uniform(self, hidden_size)
        if implementation == "loop":
            warn_slow("peephole_lstm with implementation=loop steps through time in autograd")

    def forward(self, x: torch.Tensor, state=None):
        check_input(x, self.input_size, "peephole_lstm")
        if state is None:
            h = c = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h, c = state
        if self.implementation == "loop":
            return self.reference(x, (h, c))
        chosen, reason = self.kernel_loops(x)
        if chosen == "native" or self.implementation == "default":
            log_choice("peephole_lstm", chosen, reason)
        else:
            warn_slow(f"peephole_lstm runs its time loops from Python: {reason}")
        y, h, c = peephole_lstm(x, h, c, self.weight_ih, self.weight_hh, self.bias,
                                self.peephole, use_native=chosen == "native")
        return y, (h, c)

    def kernel_loops(self, x: torch.Tensor) -> tuple[str, str]:
        """Which time loops the hand-written kernel runs (native or fused), and why."""
        if self.implementation == "fused":
            return "fused", "forced by model.implementation=fused"
        if self.implementation == "default":  # the C++ loops round differently
            return "fused", ("model.implementation=default runs the same loops on every machine; "
                             "auto runs the C++ loops where they are built")
        if x.device.type != "cpu":
            missing = f"the C++ time loops are CPU-only (input on {x.device.type})"
        elif native.steps() is None:
            missing = f"the C++ time loops are not built ({native.why_unavailable()})"
        else:
            return "native", "hand-written backward, time loops in C++"
        if self.implementation == "native":
            raise ValueError(f"peephole_lstm: implementation=native cannot run: {missing}; "
                             "set model.implementation=auto or fused")
        return "fused", missing

    def reference(self, x: torch.Tensor, state=None, trace: Trace | None = None):
        """The equations as written, differentiated by autograd."""
        zeros = x.new_zeros(x.shape[0], self.hidden_size)
        h, c = (zeros, zeros) if state is None else state
        w_ci, w_cf, w_co = self.peephole
        projected = nn.functional.linear(x, self.weight_ih, self.bias)  # all steps at once
        outputs = []
        # unbind, not projected[:, t]: the backward of T slices would build T full-size
        # gradient tensors (quadratic in T); unbind's backward is one stack.
        for step in projected.unbind(1):
            gates = step + h @ self.weight_hh.T
            g_i, g_f, g_c, g_o = gates.chunk(4, dim=1)
            i = torch.sigmoid(g_i + w_ci * c)
            f = torch.sigmoid(g_f + w_cf * c)
            c = f * c + i * torch.tanh(g_c)
            o = torch.sigmoid(g_o + w_co * c)  # the output gate looks at the new cell state
            h = o * torch.tanh(c)
            record(trace, input=i, forget=f, output=o)
            outputs.append(h)
        return torch.stack(outputs, dim=1), (h, c)
