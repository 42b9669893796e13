"""The classic GRU (cells/gru_classic.py has the equations) forward and backward by hand.

Backward, per step t from the last, with n = h̃_t, rh = r ⊙ h_{t-1}, and W_hr, W_hz, W_hn the
recurrent blocks:

    dg_z = dh ⊙ (n - h_{t-1}) ⊙ z(1-z),   dg_n = dh ⊙ z ⊙ (1 - n²)
    d_rh = dg_n W_hn,                      dg_r = d_rh ⊙ h_{t-1} ⊙ r(1-r)
    dh_{t-1} = dy_{t-1} + dh ⊙ (1-z) + d_rh ⊙ r + [dg_r, dg_z] [W_hr; W_hz]
"""

from __future__ import annotations

import torch

from rnnops.models.cells.kernels.shared import (
    backward_under_autocast,
    float32_under_autocast,
    input_projection,
    input_projection_backward,
    sigmoid_backward,
    tanh_backward,
)


class ClassicGRUFunction(torch.autograd.Function):
    @staticmethod
    @float32_under_autocast
    def forward(ctx, x, h0, weight_ih, weight_hh, bias):
        batch, steps, _ = x.shape
        hidden = h0.shape[1]
        gates = input_projection(x, weight_ih, bias)
        h = x.new_empty(steps + 1, batch, hidden)
        reset_h = x.new_empty(steps, batch, hidden)  # r ⊙ h_{t-1}, the candidate's matmul input
        h[0] = h0
        w_gates, w_candidate = weight_hh[: 2 * hidden].t(), weight_hh[2 * hidden:].t()
        for t in range(steps):
            g = gates[t]
            r, z = g[:, : 2 * hidden].addmm_(h[t], w_gates).sigmoid_().chunk(2, dim=1)
            torch.mul(r, h[t], out=reset_h[t])
            candidate = g[:, 2 * hidden:].addmm_(reset_h[t], w_candidate).tanh_()
            torch.lerp(h[t], candidate, z, out=h[t + 1])  # (1 - z) h + z h̃
        ctx.save_for_backward(x, weight_ih, weight_hh, gates, h, reset_h)
        return h[1:].transpose(0, 1).contiguous(), h[steps].clone()

    @staticmethod
    @backward_under_autocast
    def backward(ctx, dy, dh_last):
        x, weight_ih, weight_hh, gates, h, reset_h = ctx.saved_tensors
        steps, batch, three_hidden = gates.shape
        hidden = three_hidden // 3
        r, z, candidate = gates.view(steps, batch, 3, hidden).unbind(2)
        h_prev = h[:-1]
        # Factors for all steps at once, fused ATen kernels written into one buffer.
        factors = gates.new_empty(steps, batch, 4, hidden)
        to_z, to_n, to_r, keep = factors.unbind(2)
        sigmoid_backward(torch.sub(candidate, h_prev, out=keep), z, grad_input=to_z)
        tanh_backward(z, candidate, grad_input=to_n)  # z (1 - h̃²)
        sigmoid_backward(h_prev, r, grad_input=to_r)  # h_{t-1} r (1 - r)
        torch.sub(1, z, out=keep)  # 1 - z
        w_gates, w_candidate = weight_hh[: 2 * hidden], weight_hh[2 * hidden:]
        dy = dy.transpose(0, 1)
        dgates = torch.empty_like(gates)
        dh = dy[steps - 1] + dh_last
        for t in range(steps - 1, -1, -1):
            dg = dgates[t]
            torch.mul(dh, to_z[t], out=dg[:, hidden: 2 * hidden])
            dg_n = torch.mul(dh, to_n[t], out=dg[:, 2 * hidden:])
            d_reset_h = dg_n @ w_candidate
            torch.mul(d_reset_h, to_r[t], out=dg[:, :hidden])
            carry = torch.addcmul(dy[t - 1], dh, keep[t]) if t else dh * keep[t]
            dh = carry.addcmul_(d_reset_h, r[t]).addmm_(dg[:, : 2 * hidden], w_gates)
        flat = dgates.view(steps * batch, three_hidden)
        d_weight_hh = torch.cat([
            flat[:, : 2 * hidden].t() @ h_prev.reshape(steps * batch, hidden),
            flat[:, 2 * hidden:].t() @ reset_h.view(steps * batch, hidden),
        ])
        dx, d_weight_ih = input_projection_backward(ctx, x, weight_ih, flat, 0, 2)
        return dx, dh, d_weight_ih, d_weight_hh, flat.sum(0)


def classic_gru(x, h0, weight_ih, weight_hh, bias):
    """(y, h_T) for x (B, T, I) and an initial state (B, H)."""
    return ClassicGRUFunction.apply(x, h0, weight_ih, weight_hh, bias)
