"""The peephole LSTM (cells/peephole_lstm.py has the equations) forward and backward by hand.

Backward, per step t from the last, with g the pre-activation gates, h̄ = tanh(c_t):

    dg_o = dh ⊙ h̄ ⊙ o(1-o)
    dc   = dc_{t+1→t} + dh ⊙ o ⊙ (1 - h̄²) + dg_o ⊙ w_co         (o peeks at c_t)
    dg_i = dc ⊙ c̃ ⊙ i(1-i),  dg_f = dc ⊙ c_{t-1} ⊙ f(1-f),  dg_c = dc ⊙ i ⊙ (1 - c̃²)
    dc_{t-1} = dc ⊙ f + dg_i ⊙ w_ci + dg_f ⊙ w_cf,  dh_{t-1} = dy_{t-1} + dg W_hh

Every factor that does not depend on dh or dc is computed for all steps at once before the loop.
"""

from __future__ import annotations

import torch


class PeepholeLSTMFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, weight_ih, weight_hh, bias, peephole):
        batch, steps, inputs = x.shape
        hidden = h0.shape[1]
        # Time-major gates: each step's (B, 4H) block is contiguous. Activated in place and kept
        # for the backward pass.
        gates = torch.addmm(bias, x.reshape(batch * steps, inputs), weight_ih.t())
        gates = gates.view(batch, steps, 4 * hidden).transpose(0, 1).contiguous()
        c = x.new_empty(steps + 1, batch, hidden)
        h = x.new_empty(steps + 1, batch, hidden)
        c[0], h[0] = c0, h0
        w_if, w_co = peephole[:2].unsqueeze(0), peephole[2]
        recurrent = weight_ih.new_empty(0) if steps == 0 else weight_hh.t()
        for t in range(steps):
            g = gates[t].addmm_(h[t], recurrent)
            g[:, : 2 * hidden].view(batch, 2, hidden).addcmul_(w_if, c[t].unsqueeze(1)).sigmoid_()
            g[:, 2 * hidden: 3 * hidden].tanh_()
            i, f, candidate, o = g.chunk(4, dim=1)
            torch.mul(f, c[t], out=c[t + 1]).addcmul_(i, candidate)
            o.addcmul_(w_co, c[t + 1]).sigmoid_()
            torch.tanh(c[t + 1], out=h[t + 1]).mul_(o)
        ctx.save_for_backward(x, weight_ih, weight_hh, peephole, gates, c, h)
        return h[1:].transpose(0, 1).contiguous(), h[steps].clone(), c[steps].clone()

    @staticmethod
    def backward(ctx, dy, dh_last, dc_last):
        x, weight_ih, weight_hh, peephole, gates, c, h = ctx.saved_tensors
        steps, batch, four_hidden = gates.shape
        hidden = four_hidden // 4
        i, f, candidate, o = gates.view(steps, batch, 4, hidden).unbind(2)
        tanh_c = torch.tanh(c[1:])
        through_h = o * (1 - tanh_c * tanh_c)  # dc += dh * this
        to_o = tanh_c * o * (1 - o)  # dg_o = dh * this
        to_icf = torch.stack([candidate * i * (1 - i), c[:-1] * f * (1 - f),
                              i * (1 - candidate * candidate)], dim=2)  # (T, B, 3, H)
        w_ci, w_cf, w_co = peephole
        dy = dy.transpose(0, 1)
        dgates = torch.empty_like(gates)
        dh, dc = dy[steps - 1] + dh_last, dc_last.clone()
        for t in range(steps - 1, -1, -1):
            dg = dgates[t]
            dg_o = torch.mul(dh, to_o[t], out=dg[:, 3 * hidden:])
            dc.addcmul_(dh, through_h[t]).addcmul_(dg_o, w_co)
            torch.mul(dc.unsqueeze(1), to_icf[t], out=dg[:, : 3 * hidden].view(batch, 3, hidden))
            dc = (dc * f[t]).addcmul_(dg[:, :hidden], w_ci).addcmul_(dg[:, hidden: 2 * hidden],
                                                                     w_cf)
            dh = torch.addmm(dy[t - 1], dg, weight_hh) if t else dg @ weight_hh
        flat = dgates.view(steps * batch, four_hidden)
        d_weight_hh = flat.t() @ h[:-1].reshape(steps * batch, hidden)
        x_time_major = x.transpose(0, 1).reshape(steps * batch, -1)
        d_weight_ih = flat.t() @ x_time_major if ctx.needs_input_grad[3] else None
        dx = None
        if ctx.needs_input_grad[0]:
            dx = (flat @ weight_ih).view(steps, batch, -1).transpose(0, 1)
        d_peephole = torch.stack([
            (dgates[..., :hidden] * c[:-1]).sum((0, 1)),
            (dgates[..., hidden: 2 * hidden] * c[:-1]).sum((0, 1)),
            (dgates[..., 3 * hidden:] * c[1:]).sum((0, 1)),
        ])
        return dx, dh, dc, d_weight_ih, d_weight_hh, flat.sum(0), d_peephole


def peephole_lstm(x, h0, c0, weight_ih, weight_hh, bias, peephole):
    """(y, h_T, c_T) for x (B, T, I) and initial states (B, H)."""
    return PeepholeLSTMFunction.apply(x, h0, c0, weight_ih, weight_hh, bias, peephole)
