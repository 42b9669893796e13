"""Each cell against its equations (transcribed here, step by step), against torch.nn where the
maths agrees, and against gradcheck; all in float64 on small tensors."""

import shutil

import pytest
import torch
from torch import nn

from rnnops.models import CELLS
from rnnops.models.cells.gru_classic import ClassicGRU
from rnnops.models.cells.kernels import native
from rnnops.models.cells.mingru import MinGRU
from rnnops.models.cells.minlstm import MinLSTM
from rnnops.models.cells.peephole_lstm import PeepholeLSTM
from rnnops.models.cells.scan import g

B, T, IN, H = 3, 6, 4, 5


pytestmark = pytest.mark.usefixtures("float64")


def sigma(v):
    return 1 / (1 + torch.exp(-v))


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_meets_the_contract(name):
    cell = CELLS[name](IN, H)
    x = torch.randn(B, T, IN)
    y, state = cell(x)
    assert y.shape == (B, T, H)
    # Running the sequence in two chunks, passing the state on, gives the same outputs.
    y1, s1 = cell(x[:, :2])
    y2, _ = cell(x[:, 2:], s1)
    torch.testing.assert_close(torch.cat([y1, y2], 1), y)
    # States are batch-first.
    for s in state if isinstance(state, tuple) else (state,):
        assert s.shape == (B, H)
    with pytest.raises(ValueError, match="expected input of shape|input.size"):
        cell(torch.randn(B, T, IN + 1))


def test_rnn_is_the_article_equation_with_tanh_and_relu():
    for f, name in ((torch.tanh, "tanh"), (torch.relu, "relu")):
        cell = CELLS["rnn"](IN, H, nonlinearity=name)
        x = torch.randn(B, T, IN)
        h = torch.zeros(B, H)
        for t in range(T):
            h = f(x[:, t] @ cell.weight_ih_l0.T + h @ cell.weight_hh_l0.T
                  + cell.bias_ih_l0 + cell.bias_hh_l0)
        torch.testing.assert_close(cell(x)[0][:, -1], h)


def peephole_reference(cell: PeepholeLSTM, x):
    """Gers & Schmidhuber / Graves 2013 eq. 7-11 with every weight named as in DESIGN.md."""
    W_x, W_h, b = cell.weight_ih, cell.weight_hh, cell.bias
    (W_xi, W_xf, W_xc, W_xo), (W_hi, W_hf, W_hc, W_ho) = W_x.split(H), W_h.split(H)
    b_i, b_f, b_c, b_o = b.split(H)
    w_ci, w_cf, w_co = cell.peephole
    h = c = torch.zeros(B, H)
    hs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        i = sigma(xt @ W_xi.T + h @ W_hi.T + w_ci * c + b_i)
        f = sigma(xt @ W_xf.T + h @ W_hf.T + w_cf * c + b_f)
        c_tilde = torch.tanh(xt @ W_xc.T + h @ W_hc.T + b_c)
        c = f * c + i * c_tilde
        o = sigma(xt @ W_xo.T + h @ W_ho.T + w_co * c + b_o)
        h = o * torch.tanh(c)
        hs.append(h)
    return torch.stack(hs, 1), (h, c)


@pytest.mark.parametrize("implementation", ["native", "fused", "loop"])
def test_peephole_lstm_is_its_equations(implementation):
    skip_without_native(implementation)
    cell = PeepholeLSTM(IN, H, implementation=implementation)
    x = torch.randn(B, T, IN)
    y, (h, c) = cell(x)
    y_ref, (h_ref, c_ref) = peephole_reference(cell, x)
    torch.testing.assert_close(y, y_ref)
    torch.testing.assert_close(c, c_ref)


@pytest.mark.parametrize("implementation", ["native", "fused", "loop"])
def test_lstm_and_peephole_lstm_with_zero_peepholes_equal_torch_lstm(implementation):
    skip_without_native(implementation)
    reference = nn.LSTM(IN, H, batch_first=True)
    x = torch.randn(B, T, IN)
    expected, (h, c) = reference(x)
    lstm = CELLS["lstm"](IN, H)
    lstm.load_state_dict(reference.state_dict())
    torch.testing.assert_close(lstm(x)[0], expected)
    peep = PeepholeLSTM(IN, H, implementation=implementation)
    with torch.no_grad():
        peep.weight_ih.copy_(reference.weight_ih_l0)
        peep.weight_hh.copy_(reference.weight_hh_l0)
        peep.bias.copy_(reference.bias_ih_l0 + reference.bias_hh_l0)
        peep.peephole.zero_()
    y, (h_p, c_p) = peep(x)
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(c_p, c[0])
    with torch.no_grad():
        peep.peephole.fill_(0.5)  # and the peepholes do change the function
    assert not torch.allclose(peep(x)[0], expected)


def classic_gru_reference(cell: ClassicGRU, x):
    """Cho et al. 2014 as DESIGN.md writes it: r applied to h before W_hh."""
    (W_xr, W_xz, W_xh), (W_hr, W_hz, W_hh) = cell.weight_ih.split(H), cell.weight_hh.split(H)
    b_r, b_z, b_h = cell.bias.split(H)
    h = torch.zeros(B, H)
    hs = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        z = sigma(xt @ W_xz.T + h @ W_hz.T + b_z)
        r = sigma(xt @ W_xr.T + h @ W_hr.T + b_r)
        h_tilde = torch.tanh(xt @ W_xh.T + (r * h) @ W_hh.T + b_h)
        h = (1 - z) * h + z * h_tilde
        hs.append(h)
    return torch.stack(hs, 1)


@pytest.mark.parametrize("implementation", ["fused", "loop"])
def test_gru_classic_is_cho_and_differs_from_cudnn_gru(implementation):
    cell = ClassicGRU(IN, H, implementation=implementation)
    x = torch.randn(B, T, IN)
    torch.testing.assert_close(cell(x)[0], classic_gru_reference(cell, x))
    # torch.nn.GRU given the same weights (bias split as b_ih, b_hh = 0) computes another function
    gru = CELLS["gru"](IN, H)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(cell.weight_ih)
        gru.weight_hh_l0.copy_(cell.weight_hh)
        gru.bias_ih_l0.copy_(cell.bias)
        gru.bias_hh_l0.zero_()
    assert (gru(x)[0] - cell(x)[0]).abs().max() > 1e-2


@pytest.mark.parametrize("implementation", ["fused", "stepwise"])
def test_lstm_is_its_equations(implementation):
    """Hochreiter & Schmidhuber with a forget gate (no peepholes), gate rows i, f, g, o, two
    bias vectors as torch.nn.LSTM keeps them."""
    cell = CELLS["lstm"](IN, H, implementation=implementation)
    (W_xi, W_xf, W_xg, W_xo) = cell.weight_ih_l0.split(H)
    (W_hi, W_hf, W_hg, W_ho) = cell.weight_hh_l0.split(H)
    b_i, b_f, b_g, b_o = (cell.bias_ih_l0 + cell.bias_hh_l0).split(H)
    x = torch.randn(B, T, IN)
    h = c = torch.zeros(B, H)
    hs = []
    for t in range(T):
        xt = x[:, t]
        i = sigma(xt @ W_xi.T + h @ W_hi.T + b_i)
        f = sigma(xt @ W_xf.T + h @ W_hf.T + b_f)
        g_t = torch.tanh(xt @ W_xg.T + h @ W_hg.T + b_g)
        o = sigma(xt @ W_xo.T + h @ W_ho.T + b_o)
        c = f * c + i * g_t
        h = o * torch.tanh(c)
        hs.append(h)
    y, (h_end, c_end) = cell(x)
    torch.testing.assert_close(y, torch.stack(hs, 1))
    torch.testing.assert_close(c_end, c)


def test_gru_is_the_cudnn_equations():
    """torch.nn.GRU's convention: the reset gate multiplies after the recurrent matmul, and
    h_t = (1 - z) n + z h_{t-1}; gate rows r, z, n."""
    cell = CELLS["gru"](IN, H)
    W_xr, W_xz, W_xn = cell.weight_ih_l0.split(H)
    W_hr, W_hz, W_hn = cell.weight_hh_l0.split(H)
    b_xr, b_xz, b_xn = cell.bias_ih_l0.split(H)
    b_hr, b_hz, b_hn = cell.bias_hh_l0.split(H)
    x = torch.randn(B, T, IN)
    h = torch.zeros(B, H)
    hs = []
    for t in range(T):
        xt = x[:, t]
        r = sigma(xt @ W_xr.T + b_xr + h @ W_hr.T + b_hr)
        z = sigma(xt @ W_xz.T + b_xz + h @ W_hz.T + b_hz)
        n = torch.tanh(xt @ W_xn.T + b_xn + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * n + z * h
        hs.append(h)
    torch.testing.assert_close(cell(x)[0], torch.stack(hs, 1))


def test_gru_equals_torch_gru():
    reference = nn.GRU(IN, H, batch_first=True)
    gru = CELLS["gru"](IN, H)
    gru.load_state_dict(reference.state_dict())
    x = torch.randn(B, T, IN)
    torch.testing.assert_close(gru(x)[0], reference(x)[0])


def mingru_reference(cell: MinGRU, x, h):
    W_z, W_h = cell.linear.weight.split(H)
    b_z, b_h = cell.linear.bias.split(H)
    hs = []
    for t in range(x.shape[1]):
        z = sigma(x[:, t] @ W_z.T + b_z)
        h = (1 - z) * h + z * g(x[:, t] @ W_h.T + b_h)
        hs.append(h)
    return torch.stack(hs, 1)


def minlstm_reference(cell: MinLSTM, x, h):
    W_f, W_i, W_h = cell.linear.weight.split(H)
    b_f, b_i, b_h = cell.linear.bias.split(H)
    hs = []
    for t in range(x.shape[1]):
        f, i = sigma(x[:, t] @ W_f.T + b_f), sigma(x[:, t] @ W_i.T + b_i)
        h = f / (f + i) * h + i / (f + i) * g(x[:, t] @ W_h.T + b_h)
        hs.append(h)
    return torch.stack(hs, 1)


@pytest.mark.parametrize("cls, reference", [(MinGRU, mingru_reference),
                                            (MinLSTM, minlstm_reference)])
@pytest.mark.parametrize("steps", [1, 7, 64])
def test_min_rnn_scan_equals_sequential_loop_outputs_and_gradients(cls, reference, steps):
    scan, loop = cls(IN, H, implementation="scan"), cls(IN, H, implementation="sequential")
    loop.load_state_dict(scan.state_dict())
    x = torch.randn(B, steps, IN, requires_grad=True)
    h0 = torch.rand(B, H) + 0.1
    for h_start in (None, h0):
        y_scan, _ = scan(x, h_start)
        y_loop, _ = loop(x, h_start)
        torch.testing.assert_close(y_scan, y_loop)
        torch.testing.assert_close(y_loop, reference(scan, x, torch.zeros(B, H)
                                                     if h_start is None else h_start))
        weights = torch.randn_like(y_scan)
        grads_scan = torch.autograd.grad((y_scan * weights).sum(), [x, *scan.parameters()])
        grads_loop = torch.autograd.grad((y_loop * weights).sum(), [x, *loop.parameters()])
        for a, b in zip(grads_scan, grads_loop, strict=True):
            torch.testing.assert_close(a, b)


IMPLEMENTATIONS = [(name, impl) for name, cls in sorted(CELLS.items())
                   for impl in cls.implementations if impl != "auto"]


@pytest.mark.parametrize("name, implementation", IMPLEMENTATIONS)
def test_gradcheck(name, implementation):
    skip_without_native(implementation)
    cell = CELLS[name](2, 3, implementation=implementation)
    x = torch.randn(2, 4, 2, requires_grad=True)
    names = [n for n, _ in cell.named_parameters()]

    def run(x, *weights):  # weights passed in so that gradcheck checks them too
        y, _ = torch.func.functional_call(cell, dict(zip(names, weights, strict=True)), (x,))
        return y

    weights = [p.detach().requires_grad_() for p in cell.parameters()]
    assert torch.autograd.gradcheck(run, (x, *weights))


@pytest.mark.parametrize(("name", "fast", "reference"), [
    ("peephole_lstm", "native", "loop"), ("peephole_lstm", "fused", "loop"),
    ("gru_classic", "fused", "loop"),
    ("lstm", "stepwise", "fused"),  # the hand-written kernel against torch's
])
@pytest.mark.parametrize("steps, layers", [(1, 1), (5, 1), (9, 3)])
def test_fused_equals_reference_outputs_states_and_gradients(name, fast, reference, steps,
                                                              layers):
    """The hand-written backward against autograd through the equations (or torch's kernel),
    stacked in layers with a given initial state, the gradients of every input, state and
    weight compared."""
    from rnnops.models.layers import RecurrentStack

    skip_without_native(fast)
    fused = RecurrentStack(name, IN, H, layers, cell_options={"implementation": fast})
    loop = RecurrentStack(name, IN, H, layers, cell_options={"implementation": reference})
    loop.load_state_dict(fused.state_dict())
    x = torch.randn(B, steps, IN, requires_grad=True)
    _, start = fused(torch.randn(B, 3, IN))  # a nonzero initial state for every layer
    start = torch.utils._pytree.tree_map(lambda s: s.detach().requires_grad_(), start)
    leaves = torch.utils._pytree.tree_leaves(start)
    outputs = {}
    for label, stack in (("fused", fused), ("loop", loop)):
        y, end = stack(x, start)
        loss = (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum() + sum(
            (s * 0.5).sum() for s in torch.utils._pytree.tree_leaves(end))
        outputs[label] = (y, torch.autograd.grad(loss, [x, *leaves, *stack.parameters()]))
    torch.testing.assert_close(outputs["fused"][0], outputs["loop"][0])
    for a, b in zip(outputs["fused"][1], outputs["loop"][1], strict=True):
        torch.testing.assert_close(a, b)


def skip_without_native(implementation: str) -> None:
    """The C++ loops need a compiler (scripts/system-packages.txt installs g++); where there is
    none, the tests of `native` skip, and test_native_loops_build_where_a_compiler_is says why."""
    if implementation == "native" and native.steps() is None:
        pytest.skip(f"C++ time loops not available: {native.why_unavailable()}")


def test_native_loops_build_where_a_compiler_is():
    if not shutil.which("c++"):
        pytest.skip("no C++ compiler on PATH (scripts/system-packages.sh installs g++)")
    assert native.steps() is not None, native.why_unavailable()
    auto = PeepholeLSTM(IN, H, implementation="auto")
    assert auto.kernel_loops(torch.zeros(1, 1, IN))[0] == "native"
    # default: the Python loops everywhere, which round the same with or without a compiler
    assert PeepholeLSTM(IN, H).kernel_loops(torch.zeros(1, 1, IN))[0] == "fused"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_loops_stay_finite_where_the_gates_saturate(dtype):
    """Pre-activations of +-100s: exp overflows unless clamped (-ffast-math turned that into
    NaN once); the C++ loops must give what the Python loops give."""
    skip_without_native("native")
    from rnnops.models.cells.kernels.peephole_lstm import peephole_lstm

    weights = [torch.randn(4 * H, IN, dtype=dtype), torch.randn(4 * H, H, dtype=dtype),
               torch.randn(4 * H, dtype=dtype), torch.randn(3, H, dtype=dtype)]
    x = torch.randn(B, T, IN, dtype=dtype) * 100
    results = []
    for use_native in (True, False):
        inputs = [x.clone().requires_grad_(), torch.zeros(B, H, dtype=dtype),
                  torch.zeros(B, H, dtype=dtype), *[w.clone().requires_grad_() for w in weights]]
        y, _, _ = peephole_lstm(*inputs, use_native=use_native)
        (y * torch.linspace(-1, 1, y.numel(), dtype=dtype).view_as(y)).sum().backward()
        results.append([y] + [t.grad for t in inputs if t.grad is not None])
    for native_value, python_value in zip(*results, strict=True):
        assert torch.isfinite(native_value).all()
        torch.testing.assert_close(native_value, python_value, rtol=1e-4, atol=1e-3)


def test_a_built_library_loads_without_the_build_tools(monkeypatch):
    skip_without_native("native")
    monkeypatch.setattr(shutil, "which", lambda *_: None)  # the compiler gone since the build
    assert native._missing_tools() is None
    monkeypatch.setenv("RNNOPS_NATIVE", "0")
    assert native._missing_tools() == "RNNOPS_NATIVE=0"


def test_native_refuses_a_machine_without_it(monkeypatch):
    monkeypatch.setattr(native, "_load", lambda: (None, "no C++ compiler on PATH"))
    cell = PeepholeLSTM(IN, H, implementation="native")
    with pytest.raises(ValueError, match="implementation=native cannot run: .*no C\\+\\+ "
                                         "compiler.*set model.implementation=auto or fused"):
        cell(torch.zeros(1, 2, IN))
    auto = PeepholeLSTM(IN, H, implementation="auto")  # the Python loops, with the reason
    assert auto.kernel_loops(torch.zeros(1, 1, IN)) == (
        "fused", "the C++ time loops are not built (no C++ compiler on PATH)")
    torch.testing.assert_close(auto(torch.ones(1, 2, IN))[0],
                               auto.reference(torch.ones(1, 2, IN), (torch.zeros(1, H),) * 2)[0])


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError,
                       match="peephole_lstm: implementation must be one of default, auto"):
        PeepholeLSTM(IN, H, implementation="triton")
