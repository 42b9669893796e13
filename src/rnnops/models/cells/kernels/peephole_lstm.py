"""The peephole LSTM (cells/peephole_lstm.py has the equations) forward and backward by hand.

Backward, per step t from the last, with g the pre-activation gates, h̄ = tanh(c_t):

    dg_o = dh ⊙ h̄ ⊙ o(1-o)
    dc   = dc_{t+1→t} + dh ⊙ o ⊙ (1 - h̄²) + dg_o ⊙ w_co         (o peeks at c_t)
    dg_i = dc ⊙ c̃ ⊙ i(1-i),  dg_f = dc ⊙ c_{t-1} ⊙ f(1-f),  dg_c = dc ⊙ i ⊙ (1 - c̃²)
    dc_{t-1} = dc ⊙ f + dg_i ⊙ w_ci + dg_f ⊙ w_cf,  dh_{t-1} = dy_{t-1} + dg W_hh

The time loops run in C++ (lstm_steps.cpp, built by native.py: one GEMM and one fused pass over
the (B, H) block per step) where that is built, else from Python below, where every factor that
does not depend on dh or dc is computed for all steps at once before the loop. Without peepholes
(the w_c terms dropped) it is the plain LSTM: the `stepwise` implementation of cells/fused.py's
`lstm`, which the autotuner (models/autotune.py) runs where it beats the library kernel.
"""

from __future__ import annotations

import torch

from rnnops.models.cells.kernels import native
from rnnops.models.cells.kernels.shared import (
    backward_under_autocast,
    float32_under_autocast,
    input_projection,
    input_projection_backward,
    sigmoid_backward,
    tanh_backward,
)


def python_forward_steps(gates, c, h, tanh_c, weight_hh, peephole):
    """The time loop of the forward pass from Python, in place (lstm_steps.cpp does the same in
    one pass per step): gates (T, B, 4H) x W_ihᵀ + b on entry, activated on return; c and h
    (T+1, B, H) with the initial states in row 0; tanh_c (T, B, H)."""
    batch, hidden = c.shape[1], c.shape[2]
    peeps = peephole is not None  # None: the plain LSTM (torch.nn.LSTM's equations)
    if peeps:
        w_if, w_co = peephole[:2].unsqueeze(0), peephole[2]
    recurrent = weight_hh.t()
    # Per-step views made once, in C++ (unbind), not by Python indexing inside the loop.
    for g, c_prev, c_t, h_prev, h_t, tanh_t in zip(
        gates.unbind(0), c[:-1].unbind(0), c[1:].unbind(0), h[:-1].unbind(0),
        h[1:].unbind(0), tanh_c.unbind(0), strict=True,
    ):
        g.addmm_(h_prev, recurrent)
        if_gates = g[:, : 2 * hidden]
        if peeps:
            if_gates.view(batch, 2, hidden).addcmul_(w_if, c_prev.unsqueeze(1))
        if_gates.sigmoid_()
        i, f, candidate, o = g.chunk(4, dim=1)
        candidate.tanh_()
        torch.mul(f, c_prev, out=c_t).addcmul_(i, candidate)
        if peeps:
            o.addcmul_(w_co, c_t)
        o.sigmoid_()
        torch.mul(o, torch.tanh(c_t, out=tanh_t), out=h_t)


def python_backward_steps(gates, c, tanh_c, dy, dh_last, dc_last, weight_hh, peephole):
    """The time loop of the backward pass from Python: (dgates, dh_0, dc_0) from dy (T, B, H)
    and the final states' gradients, given the forward pass's activated gates, c and tanh_c."""
    steps, batch, four_hidden = gates.shape
    hidden = four_hidden // 4
    i, f, candidate, o = gates.view(steps, batch, 4, hidden).unbind(2)
    # Factors for all steps at once, each one fused ATen kernel into a contiguous block.
    factors = gates.new_empty(5, steps, batch, hidden)
    to_o, through_h, to_i, to_f, to_c = factors.unbind(0)
    sigmoid_backward(tanh_c, o, grad_input=to_o)  # dg_o = dh * tanh(c) * o(1-o)
    tanh_backward(o, tanh_c, grad_input=through_h)  # dc += dh * o * (1 - tanh(c)^2)
    sigmoid_backward(candidate, i, grad_input=to_i)  # dg_i = dc * c̃ * i(1-i)
    sigmoid_backward(c[:-1], f, grad_input=to_f)  # dg_f = dc * c_{t-1} * f(1-f)
    tanh_backward(i, candidate, grad_input=to_c)  # dg_c = dc * i * (1 - c̃^2)
    to_icf = factors[2:].permute(1, 2, 0, 3)  # (T, B, 3, H) view
    peeps = peephole is not None
    if peeps:
        w_ci, w_cf, w_co = peephole
    dgates = torch.empty_like(gates)
    dh, dc = dy[steps - 1] + dh_last, dc_last.clone()
    dy_prev = (None, *dy[:-1].unbind(0))  # dy_{t-1}, added to dh_{t-1}
    for dg, o_t, h_t, icf_t, f_t, dy_t in zip(
        reversed(dgates.unbind(0)), reversed(to_o.unbind(0)), reversed(through_h.unbind(0)),
        reversed(to_icf.unbind(0)), reversed(f.unbind(0)), reversed(dy_prev), strict=True,
    ):
        dg_o = torch.mul(dh, o_t, out=dg[:, 3 * hidden:])
        dc.addcmul_(dh, h_t)
        if peeps:
            dc.addcmul_(dg_o, w_co)
        torch.mul(dc.unsqueeze(1), icf_t, out=dg[:, : 3 * hidden].view(batch, 3, hidden))
        dc = dc * f_t
        if peeps:
            dc.addcmul_(dg[:, :hidden], w_ci).addcmul_(dg[:, hidden: 2 * hidden], w_cf)
        dh = dg @ weight_hh if dy_t is None else torch.addmm(dy_t, dg, weight_hh)
    return dgates, dh, dc


def time_loops(x: torch.Tensor, use_native: bool):
    """(forward_steps, backward_steps): the C++ loops where asked for and built (CPU only),
    else the Python ones."""
    if use_native and x.device.type == "cpu":
        library = native.steps()
        if library is not None:
            return library.lstm_forward, library.lstm_backward
    return python_forward_steps, python_backward_steps


class PeepholeLSTMFunction(torch.autograd.Function):
    @staticmethod
    @float32_under_autocast
    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias, peephole, use_native):
        batch, steps, _ = x.shape
        hidden = h0.shape[1]
        forward_steps, ctx.backward_steps = time_loops(x, use_native)
        # Time-major gates: each step's (B, 4H) block is contiguous. Activated in place and kept
        # for the backward pass, with tanh(c_t).
        gates = input_projection(x, weight_ih, bias)
        c = x.new_empty(steps + 1, batch, hidden)
        h = x.new_empty(steps + 1, batch, hidden)
        tanh_c = x.new_empty(steps, batch, hidden)
        c[0], h[0] = c0, h0
        forward_steps(gates, c, h, tanh_c, weight_hh, peephole)
        ctx.save_for_backward(x, weight_ih, weight_hh, peephole, gates, c, h, tanh_c)
        return h[1:].transpose(0, 1).contiguous(), h[steps].clone(), c[steps].clone()

    @staticmethod
    @backward_under_autocast
    def backward(ctx, dy, dh_last, dc_last):
        x, weight_ih, weight_hh, peephole, gates, c, h, tanh_c = ctx.saved_tensors
        steps, batch, four_hidden = gates.shape
        hidden = four_hidden // 4
        dgates, dh, dc = ctx.backward_steps(gates, c, tanh_c, dy.transpose(0, 1), dh_last,
                                            dc_last, weight_hh, peephole)
        flat = dgates.view(steps * batch, four_hidden)
        d_weight_hh = flat.t() @ h[:-1].reshape(steps * batch, hidden)
        dx, d_weight_ih = input_projection_backward(ctx, x, weight_ih, flat, 0, 3)
        if peephole is None:
            return dx, dh, dc, d_weight_ih, d_weight_hh, flat.sum(0), None, None
        c_prev = c[:-1].reshape(-1, hidden)
        d_peephole = torch.stack([
            (flat[:, :hidden] * c_prev).sum(0),
            (flat[:, hidden: 2 * hidden] * c_prev).sum(0),
            (flat[:, 3 * hidden:] * c[1:].reshape(-1, hidden)).sum(0),
        ])
        return dx, dh, dc, d_weight_ih, d_weight_hh, flat.sum(0), d_peephole, None


def peephole_lstm(x, h0, c0, weight_ih, weight_hh, bias, peephole=None, use_native=True):
    """(y, h_T, c_T) for x (B, T, I) and initial states (B, H); without `peephole` (3, H) the
    plain LSTM of torch.nn.LSTM (with bias = b_ih + b_hh). `use_native`: the C++ time loops
    (native.py) where they are built, else the Python ones."""
    return PeepholeLSTMFunction.apply(x, h0, c0, weight_ih, weight_hh, bias, peephole,
                                      use_native)
