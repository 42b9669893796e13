"""Recurrences with the backward pass through time written by hand (torch.autograd.Function):
the input projections of all steps in one matmul, per step one matmul and a few in-place
pointwise ops, the weight gradients as one matmul over all steps afterwards. No autograd graph of
T x k small ops is built, which is where a Python-loop cell spends most of its time."""
