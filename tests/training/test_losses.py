"""train.loss: the criterion a forecaster trains and validates on."""

import numpy as np
import pytest
import torch
from torch import nn

from rnnops.training.fit import fit
from rnnops.training.module import LOSSES, ForecastModule
from tests.conftest import load
from tests.training.test_runtime import sines


class Zero(nn.Module):
    """Predicts 0 everywhere, so the loss is a known function of the targets alone."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x, y=None):
        return torch.zeros(len(x), 4, 1)


# Errors of 0.5 and 4, half each.
@pytest.mark.parametrize(("loss", "expected"), [
    ("mse", (0.5**2 + 4**2) / 2),
    ("mae", (0.5 + 4) / 2),
    ("huber", (0.5 * 0.5**2 + (4 - 0.5)) / 2),  # quadratic below 1, linear above
])
def test_each_loss_is_the_named_criterion(loss, expected):
    y = torch.where(torch.arange(8).reshape(2, 4, 1) % 2 == 0, 0.5, 4.0)
    module = ForecastModule(Zero(), load(f"train.loss={loss}").train)
    module.log = lambda *args, **kwargs: None  # outside a Trainer
    assert float(module.training_step((torch.zeros(2, 3, 1), y), 0)) == pytest.approx(expected)


def test_config_accepts_exactly_the_implemented_losses():
    assert set(LOSSES) == {"mse", "mae", "huber"}  # the names config.py's rule lists
    for name in LOSSES:
        assert load(f"train.loss={name}").train.loss == name


def test_a_non_mse_loss_trains_and_logs_val_mse_beside_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    base = ["model=gru", "model.hidden_size=8", "data.lookback=20", "data.horizon=5",
            "train.max_epochs=2", "train.batch_size=32", "trainer.progress_bar=false",
            f"paths.root={tmp_path}"]
    mse = fit(load(*base), sines()).history
    mae = fit(load(*base, "train.loss=mae"), sines()).history
    assert "val/mse" not in mse[0]  # val/loss already is the MSE
    assert all(r["val/loss"] != r["val/mse"] for r in mae)
    assert [r["epoch"] for r in mae] == [0, 1]
    # MAE and MSE of the same predictions: mean |e| <= sqrt(mean e^2).
    assert all(r["val/loss"] <= np.sqrt(r["val/mse"]) + 1e-6 for r in mae)
    # Different criteria, different gradients: the curves part after the first step.
    assert mae[-1]["val/mse"] != pytest.approx(mse[-1]["val/loss"], rel=1e-6)


def test_run_json_records_the_val_mse_of_the_best_epoch():
    from rnnops.stages.outputs import run_info
    from rnnops.training.fit import FitResult

    history = [{"epoch": 0, "val/loss": 0.6, "val/mse": 0.9},
               {"epoch": 1, "val/loss": 0.5, "val/mse": 0.8}]
    result = FitResult(model=Zero(), history=history, best_val_loss=0.5, best_epoch=1,
                       epochs_run=2)
    assert run_info(load("train.loss=mae"), result)["best_val_mse"] == 0.8
    for row in history:
        del row["val/mse"]
    assert "best_val_mse" not in run_info(load(), result)
