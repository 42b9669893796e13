import logging

import pytest
import torch
from torch import nn

from rnnops.models import CELLS
from rnnops.models.dropout import LockedDropout, WeightDrop, embedding_dropout
from rnnops.models.layers import RecurrentStack, detach_state

pytestmark = pytest.mark.usefixtures("float64")


def copy_torch_layers(stack: RecurrentStack, reference: nn.LSTM) -> None:
    """Load torch.nn.LSTM(num_layers=N[, bidirectional]) weights into a stack of lstm cells."""
    for n, directions in enumerate(stack.layers):
        for d, cell in enumerate(directions):
            suffix = "_reverse" if d else ""
            cell.load_state_dict({
                f"{kind}_l0": getattr(reference, f"{kind}_l{n}{suffix}")
                for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_stack_equals_torch_multilayer_lstm(bidirectional):
    reference = nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=bidirectional)
    stack = RecurrentStack("lstm", 3, 4, num_layers=2, bidirectional=bidirectional)
    copy_torch_layers(stack, reference)
    x = torch.randn(2, 5, 3)
    y, state = stack(x)
    expected, (h, c) = reference(x)
    torch.testing.assert_close(y, expected)
    assert stack.output_size == (8 if bidirectional else 4)
    torch.testing.assert_close(state[1][0][1], c[2 if bidirectional else 1])


def test_layer_norm_normalises_each_layers_output_after_the_residual():
    stack = RecurrentStack("gru", 4, 4, num_layers=2, residual=True, layer_norm=True)
    with torch.no_grad():
        stack.norms[1].weight.fill_(2.0)
        stack.norms[1].bias.fill_(0.5)
    x = torch.randn(3, 7, 4) * 5 + 3
    y, _ = stack(x)
    first = nn.functional.layer_norm(stack.layers[0][0](x)[0] + x, (4,))
    second = stack.layers[1][0](first)[0] + first
    expected = nn.functional.layer_norm(second, (4,)) * 2.0 + 0.5
    torch.testing.assert_close(y, expected)
    torch.testing.assert_close(y.mean(-1), torch.full((3, 7), 0.5))  # per step and sequence


@pytest.mark.parametrize("name", sorted(CELLS))
def test_every_cell_stacks_with_every_option(name):
    stack = RecurrentStack(name, 3, 4, num_layers=3, bidirectional=True,
                           residual=True, layer_norm=True, dropout=0.2, variational=True,
                           input_dropout=0.1, output_dropout=0.1,
                           weight_drop=0.3 if CELLS[name].recurrent_weights else 0.0)
    x = torch.randn(2, 6, 3)
    y, state = stack(x)
    assert y.shape == (2, 6, stack.output_size) and len(state) == 3
    y.sum().backward()
    assert all(p.grad is not None for p in stack.parameters())
    stack.eval()
    torch.testing.assert_close(stack(x)[0], stack(x)[0])  # no dropout at evaluation


def test_residual_adds_the_layer_input():
    plain = RecurrentStack("gru", 4, 4, num_layers=2)
    residual = RecurrentStack("gru", 4, 4, num_layers=2, residual=True)
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 5, 4)
    first, _ = plain.layers[0][0](x)
    second, _ = plain.layers[1][0](first + x)
    torch.testing.assert_close(residual(x)[0], second + first + x)


def test_locked_dropout_shares_one_mask_over_time():
    drop = LockedDropout(0.5).train()
    y = drop(torch.ones(4, 30, 6))
    assert torch.equal(y, y[:, :1].expand_as(y))  # the same mask at every step
    assert set(y.unique().tolist()) == {0.0, 2.0}


def test_weight_drop_masks_the_recurrent_matrix_on_the_fused_path():
    cell = CELLS["lstm"](3, 4)
    dropped = WeightDrop(cell, 0.5).train()
    x = torch.randn(2, 5, 3)
    torch.manual_seed(1)
    y, _ = dropped(x)
    torch.manual_seed(1)
    mask_weight = nn.functional.dropout(cell.weight_hh_l0, 0.5, training=True)
    manual = CELLS["lstm"](3, 4)
    manual.load_state_dict({**cell.state_dict(), "weight_hh_l0": mask_weight.detach()})
    torch.testing.assert_close(y, manual(x)[0])
    assert isinstance(cell, nn.LSTM)  # still torch's fused module underneath
    y.sum().backward()
    assert cell.weight_hh_l0.grad is not None
    dropped.eval()
    torch.testing.assert_close(dropped(x)[0], cell(x)[0])
    with pytest.raises(ValueError, match="no recurrent weights"):
        WeightDrop(CELLS["mingru"](3, 4), 0.5)


def test_embedding_dropout_drops_whole_words():
    emb = nn.Embedding(50, 8)
    tokens = torch.randint(0, 50, (4, 20))
    out = embedding_dropout(emb, tokens, 0.5, training=True)
    zero_rows = (out == 0).all(-1)
    for token in tokens[zero_rows].unique():  # a dropped word is dropped everywhere
        assert (out[tokens == token] == 0).all()
    assert zero_rows.any() and not zero_rows.all()
    torch.testing.assert_close(embedding_dropout(emb, tokens, 0.5, training=False), emb(tokens))


def test_slow_paths_warn_once_with_the_reason(caplog):
    from rnnops.models.cells.common import warn_slow

    warn_slow.cache_clear()
    with caplog.at_level(logging.WARNING, logger="rnnops.models"):
        RecurrentStack("peephole_lstm", 3, 4, num_layers=2,
                       cell_options={"implementation": "loop"})
        RecurrentStack("peephole_lstm", 3, 4, num_layers=2)
        RecurrentStack("lstm", 3, 4, num_layers=2)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["slow path: peephole_lstm with implementation=loop steps through time "
                        "in autograd"]


def test_the_implementation_that_runs_is_logged_once_with_its_reason(caplog):
    from rnnops.models.cells.common import log_choice

    log_choice.cache_clear()
    stack = RecurrentStack("mingru", 3, 4, num_layers=2)
    with caplog.at_level(logging.INFO, logger="rnnops.models"):
        stack(torch.randn(2, 5, 3))
        stack(torch.randn(2, 5, 3))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert messages[0].startswith("mingru runs the sequential implementation: on a CPU")


def test_detach_state_cuts_history():
    stack = RecurrentStack("lstm", 3, 4, num_layers=2)
    _, state = stack(torch.randn(2, 5, 3))
    cut = detach_state(state)
    assert all(not t.requires_grad for t in torch.utils._pytree.tree_leaves(cut))
