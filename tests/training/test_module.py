"""The training loss: summed on the device per step, logged once per epoch as the batch-size
weighted mean of the steps' losses (what Lightning's per-step logging gave, without its cost)."""

import pytest
import pytorch_lightning as pl

from rnnops.names import TRAIN_LOSS
from rnnops.training.fit import fit
from rnnops.training.module import ForecastModule
from tests.conftest import load
from tests.training.test_runtime import sines


class StepLosses(pl.Callback):
    def __init__(self):
        self.steps: list[tuple[int, float, int]] = []  # (epoch, loss, batch size)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps.append((trainer.current_epoch, float(outputs["loss"]), len(batch[0])))


def test_the_epoch_train_loss_is_the_weighted_mean_of_its_steps_logged_once(tmp_path,
                                                                           monkeypatch):
    logged = []
    log = ForecastModule.log

    def counting_log(self, name, *args, **kwargs):
        logged.append(name)
        return log(self, name, *args, **kwargs)

    monkeypatch.setattr(ForecastModule, "log", counting_log)
    steps = StepLosses()
    # batch 32 over 276 windows: the last batch of each epoch is shorter (20), so the weights
    # matter; no penalties, so the step's returned loss is the criterion's
    cfg = load("model=gru", "model.hidden_size=8", "data.lookback=20", "data.horizon=5",
               "train.batch_size=32", "train.max_epochs=3", "train.patience=3", "train.l2=0",
               "trainer.progress_bar=false", f"paths.root={tmp_path}")
    history = fit(cfg, sines(), callbacks=[steps]).history
    assert logged.count(TRAIN_LOSS) == 3  # once per epoch, not once per step
    assert {size for _, _, size in steps.steps} == {32, 20}
    for row in history:
        mine = [(loss, size) for epoch, loss, size in steps.steps if epoch == row["epoch"]]
        mean = sum(loss * size for loss, size in mine) / sum(size for _, size in mine)
        assert row[TRAIN_LOSS] == pytest.approx(mean, rel=1e-6)
