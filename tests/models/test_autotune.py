"""The implementation autotuner: measured choices, remembered, and the same results either way."""

import logging

import pytest
import torch

from rnnops.config import ModelConfig
from rnnops.models import autotune
from rnnops.models.build import build_model


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    monkeypatch.setattr(autotune, "_memory", {})


def lstm(implementation="auto", layers=2):
    torch.manual_seed(0)
    return build_model(ModelConfig(name="lstm", hidden_size=16, num_layers=layers, norm="none",
                                   implementation=implementation), 3, 1, 4, 12, [0])


def test_each_auto_cell_gets_the_faster_measured_implementation(monkeypatch, caplog):
    model, x = lstm(), torch.randn(8, 12, 3)
    # the fused kernel made slow on the first layer's input width (3), the hand kernel on 16
    measured = {("fused", 3): 2.0, ("stepwise", 3): 1.0, ("fused", 16): 1.0,
                ("stepwise", 16): 2.0}
    needs = {}

    def measure(cell, x, needs_grad):
        needs[x.shape[-1]] = needs_grad
        return {c: measured[c, x.shape[-1]] for c in cell.tunable}

    monkeypatch.setattr(autotune, "_measure", measure)
    with caplog.at_level(logging.DEBUG, logger="rnnops.models"):  # --verbose detail
        chosen = autotune.tune(model, x)
    assert chosen == {"core.encoder.layers.0.0": "stepwise", "core.encoder.layers.1.0": "fused"}
    assert "runs stepwise: measured fused 2000.0 ms, stepwise 1000.0 ms" in caplog.text
    assert autotune.cache_file().exists()
    assert needs == {3: False, 16: True}  # data needs no gradient; the second layer's input does

    # a new process (memory cleared) reads the choice back without measuring again
    monkeypatch.setattr(autotune, "_memory", {})
    monkeypatch.setattr(autotune, "_measure", lambda *_: pytest.fail("measured again"))
    again = lstm()
    assert autotune.tune(again, x) == chosen
    assert [m.implementation for m in autotune.tunable_cells(lstm())] == ["auto", "auto"]


def test_tuning_changes_neither_results_nor_the_random_stream():
    x = torch.randn(8, 12, 3)
    reference, tuned = lstm("fused"), lstm()
    assert autotune.tune(reference, x) == {}  # a forced implementation is left alone
    state = torch.get_rng_state()
    autotune.tune(tuned, x)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(p.grad is None for p in tuned.parameters())
    torch.testing.assert_close(tuned(x), reference(x), rtol=1e-5, atol=1e-6)


def test_mingru_is_tuned_between_scan_and_sequential():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="mingru", hidden_size=8, implementation="auto"), 2, 2, 3,
                        10, None)
    chosen = autotune.tune(model, torch.randn(4, 10, 2))
    assert set(chosen.values()) <= {"scan", "sequential"} and len(chosen) == 1


def test_the_library_kernel_stays_unless_clearly_beaten():
    tunable = ("fused", "stepwise")
    assert autotune._winner(tunable, {"fused": 1.0, "stepwise": 0.9}) == "fused"
    assert autotune._winner(tunable, {"fused": 1.0, "stepwise": 0.8}) == "stepwise"
    assert autotune._winner(tunable, {"fused": 0.9, "stepwise": 1.0}) == "fused"
