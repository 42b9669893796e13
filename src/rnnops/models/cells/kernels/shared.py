"""What the hand-written kernels share: the input projection x W_ihᵀ + b of every step at
once (time-major) with its backward, and ATen's fused derivative kernels.

The inputs of forecasting models are narrow (a few channels), and CPU BLAS is slow on products
with a narrow side in the layout autograd would use: measured at T·B = 6144, I = 7, 4H = 512,
one thread, dW_ih = dGᵀ x took 25 ms and xᵀ dG 1.8 ms; dx = dG W_ih 6.8 ms and (W_ihᵀ dGᵀ)ᵀ
2.7 ms. So each product is written in the faster orientation.
"""

from __future__ import annotations

import torch

# Under GPU autocast (trainer.precision=bf16-mixed) the hand-written kernels run in float32:
# their in-place updates mix the step's tensors, which must share one dtype.
float32_under_autocast = torch.amp.custom_fwd(device_type="cuda", cast_inputs=torch.float32)
backward_under_autocast = torch.amp.custom_bwd(device_type="cuda")

# grad * y * (1 - y) and grad * (1 - y^2) for y = σ(·) and tanh(·), one kernel each, into out=
sigmoid_backward = torch.ops.aten.sigmoid_backward.grad_input
tanh_backward = torch.ops.aten.tanh_backward.grad_input


def input_projection(x: torch.Tensor, weight_ih: torch.Tensor, bias: torch.Tensor):
    """(T, B, G) gates before the recurrent term, from x (B, T, I)."""
    batch, steps, inputs = x.shape
    x_time_major = x.transpose(0, 1).reshape(steps * batch, inputs)
    gates = torch.addmm(bias, x_time_major, weight_ih.t().contiguous())
    return gates.view(steps, batch, -1)


def input_projection_backward(ctx, x: torch.Tensor, weight_ih: torch.Tensor, flat: torch.Tensor,
                              x_index: int, weight_index: int):
    """(dx, dW_ih) from the gate gradients `flat` (T·B, G), each only when autograd needs it."""
    batch, steps, inputs = x.shape
    dx = d_weight_ih = None
    if ctx.needs_input_grad[weight_index]:
        d_weight_ih = (x.transpose(0, 1).reshape(steps * batch, inputs).t() @ flat).t()
    if ctx.needs_input_grad[x_index]:
        dx = (weight_ih.t() @ flat.t()).t().reshape(steps, batch, inputs).transpose(0, 1)
    return dx, d_weight_ih
