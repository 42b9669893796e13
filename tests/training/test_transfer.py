"""Transfer learning's pieces (rnnops.training.transfer): matching saved weights, the parameter
groups, discriminative rates as the optimizer holds them, gradual unfreezing by epoch."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from rnnops.errors import ConfigError
from rnnops.models import build_model
from rnnops.training import transfer
from rnnops.training.optimization import configure_optimization
from tests.conftest import load


def network(hidden: int = 8, layers: int = 2):
    cfg = load("model=lstm", f"model.hidden_size={hidden}", f"model.num_layers={layers}")
    torch.manual_seed(0)
    return build_model(cfg.model, 1, 1, 4, 12, [0])


def test_matching_by_name_and_shape(caplog):
    small, wide = network(8), network(16)
    saved = small.state_dict()
    assert transfer.matched_state(network(8), saved, "x.pt", strict=True).keys() == saved.keys()
    with pytest.raises(ConfigError, match=r"layer core\.encoder\.layers\.0\.0\.weight_ih_l0 is "
                                          r"\(32, 1\) in x\.pt and \(64, 1\) in this model"):
        transfer.matched_state(wide, saved, "x.pt", strict=True)
    # not strict: what fits loads (here: the head's bias), the rest stays fresh and is named
    with caplog.at_level("INFO"):
        matched = transfer.matched_state(wide, saved, "x.pt", strict=False)
    assert list(matched) == ["core.head.bias"]
    assert "kept fresh: core.encoder.layers.0.0.weight_ih_l0 ((32, 1) there, (64, 1) here)" \
        in caplog.text


def test_groups_follow_the_data_and_discriminative_rates_are_what_the_optimizer_holds():
    net = network()
    assert list(transfer.groups(net)) == ["core.encoder.layers.0", "core.encoder.layers.1",
                                          "core.head"]
    train = load("train.lr=0.01", "train.layer_lr_decay=0.5").train
    optimizer = configure_optimization(net, train)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.0025, 0.005, 0.01])
    assert [len(g["params"]) for g in optimizer.param_groups] == [4, 4, 2]
    single = configure_optimization(net, load("train.lr=0.01").train)
    assert [g["lr"] for g in single.param_groups] == [0.01]


def test_freezing_names_parts_and_an_unknown_part_is_one_line():
    net = network()
    transfer.freeze(net, ("encoder.layers.0",))
    frozen = {n for n, p in net.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, _ in net.named_parameters() if ".layers.0." in n}
    with pytest.raises(ConfigError, match="'decoder' names no part of this model; its parts: "
                                          "encoder.layers.0, encoder.layers.1, head"):
        transfer.check_freeze(net, ("decoder",))


def test_gradual_unfreezing_thaws_the_last_frozen_part_first():
    net = network()
    entries = ("encoder.layers.0", "encoder.layers.1")
    transfer.freeze(net, entries)
    callback = transfer.GradualUnfreezing(entries, every=2)
    module = SimpleNamespace(model=net)

    def trainable(epoch):
        callback.on_train_epoch_start(SimpleNamespace(current_epoch=epoch), module)
        return [all(p.requires_grad for p in ps) for ps in transfer.groups(net).values()]

    assert trainable(1) == [False, False, True]
    assert trainable(2) == [False, True, True]
    assert trainable(4) == [True, True, True]
    assert trainable(0) == [False, False, True]  # from the epoch: a resume lands the same
