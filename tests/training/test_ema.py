"""train.ema: the weights' moving average is what validation sees and what training keeps."""

import pytest
import pytorch_lightning as pl
import torch

from rnnops.training.fit import fit, loaders, predict
from tests.conftest import load
from tests.training.test_runtime import sines

BASE = ["model=gru", "model.hidden_size=8", "data.lookback=20", "data.horizon=5",
        "train.batch_size=32", "train.patience=10", "trainer.progress_bar=false",
        "model.implementation=fused"]


class RawWeights(pl.Callback):
    """The raw (optimized) weights after every training step."""

    def __init__(self):
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self.steps.append({k: v.detach().clone() for k, v in pl_module.model.state_dict().items()})


class EpochsTrained(pl.Callback):
    """How many epochs this fit trained (a resumed fit starts after the checkpoint's)."""

    def __init__(self):
        self.count = 0

    def on_train_epoch_start(self, trainer, pl_module):
        self.count += 1


def val_windows(data, cfg):
    _, val = loaders(cfg, data)
    xs, ys = zip(*val, strict=True)
    return torch.cat(xs), torch.cat(ys)


def test_the_kept_model_is_the_moving_average_of_the_raw_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    decay = 0.8
    cfg = load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=1", f"train.ema={decay}")
    raw = RawWeights()
    result = fit(cfg, sines(), callbacks=[raw])
    assert len(raw.steps) > 3
    # torch's AveragedModel: the first update copies the weights, each later one blends them in.
    average = dict(raw.steps[0])
    for step in raw.steps[1:]:
        average = {k: decay * average[k] + (1 - decay) * step[k] for k in average}
    kept = result.model.state_dict()
    for name, value in average.items():
        torch.testing.assert_close(kept[name], value, rtol=1e-5, atol=1e-6)
    assert any(not torch.equal(kept[k], raw.steps[-1][k]) for k in kept)  # not the raw weights


def test_validation_scores_the_average_and_the_best_checkpoint_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    data = sines()
    plain = fit(load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=3"), data)
    cfg = load(*BASE, f"paths.root={tmp_path}", "train.max_epochs=3", "train.ema=0.9")
    averaged = fit(cfg, data, checkpoint_dir=tmp_path / "ckpt")
    # Same training steps (the raw weights do not depend on the average), other val losses.
    assert [r["train/loss"] for r in averaged.history] == pytest.approx(
        [r["train/loss"] for r in plain.history], rel=1e-6)
    assert averaged.history[0]["val/loss"] != pytest.approx(plain.history[0]["val/loss"],
                                                            rel=1e-4)
    # The model handed back is the averaged one validated at the best epoch.
    x, y = val_windows(data, cfg)
    mse = torch.nn.functional.mse_loss(predict(averaged.model, x), y).item()
    assert mse == pytest.approx(averaged.best_val_loss, rel=1e-4)


def test_a_resumed_run_restores_the_average_and_the_raw_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNOPS_CACHE", str(tmp_path))
    data = sines()
    common = [*BASE, f"paths.root={tmp_path}", "train.max_epochs=4", "train.ema=0.9"]
    whole = fit(load(*common), data, checkpoint_dir=tmp_path / "whole")
    fit(load(*common), data, max_epochs=2, checkpoint_dir=tmp_path / "parts")
    trained = EpochsTrained()
    resumed = fit(load(*common, "train.resume=true"), data, checkpoint_dir=tmp_path / "parts",
                  callbacks=[trained])
    assert trained.count == 2  # resumed: a fresh start would give the same results in 4
    assert [r["epoch"] for r in resumed.history] == [0, 1, 2, 3]
    assert [r["val/loss"] for r in resumed.history] == pytest.approx(
        [r["val/loss"] for r in whole.history], rel=1e-6)
    for name, value in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], value)
