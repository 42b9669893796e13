"""The one training routine: the train stage and every sweep trial call `fit`."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader

from rnnops.config import Config
from rnnops.data.prepared import PreparedData
from rnnops.data.windows import EpochShuffle, keep_batch
from rnnops.models import RecurrentForecaster, build_model
from rnnops.names import VAL_LOSS
from rnnops.training.callbacks import (
    AtomicCheckpointIO,
    EpochSeed,
    EpochSink,
    History,
    NaNGuard,
)
from rnnops.training.module import ForecastModule

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.ckpt"
EVAL_BATCH = 512


@dataclass
class FitResult:
    model: RecurrentForecaster
    history: list[dict[str, float]]
    best_val_loss: float
    best_epoch: int
    epochs_run: int


def make_model(cfg: Config, data: PreparedData) -> RecurrentForecaster:
    return build_model(
        cfg.model,
        input_size=data.n_channels,
        output_size=len(data.target_columns),
        horizon=cfg.data.horizon,
        target_columns=data.target_columns,
    )


def loaders(cfg: Config, data: PreparedData) -> tuple[DataLoader, DataLoader]:
    d = cfg.data
    train = data.windows("train", d.lookback, d.horizon, d.stride)
    val = data.windows("val", d.lookback, d.horizon)
    train_loader = DataLoader(
        train,
        batch_size=cfg.train.batch_size,
        sampler=EpochShuffle(len(train), cfg.seed),
        collate_fn=keep_batch,
    )
    val_loader = DataLoader(val, batch_size=EVAL_BATCH, collate_fn=keep_batch)
    return train_loader, val_loader


def fit(
    cfg: Config,
    data: PreparedData,
    *,
    max_epochs: int | None = None,
    checkpoint_dir: Path | None = None,
    epoch_sink: EpochSink | None = None,
    callbacks: list[pl.Callback] | None = None,
) -> FitResult:
    """Train `cfg.model` on the prepared data with early stopping on val/loss.

    With `checkpoint_dir`, the best and last epochs are checkpointed there, the best weights are
    restored at the end, and `cfg.train.resume` continues from the last checkpoint.
    """
    # Lightning's per-Trainer banners (GPU available, tips) would repeat for every sweep trial.
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    if cfg.trainer.threads:
        torch.set_num_threads(cfg.trainer.threads)
    # The entry point seeds once per process; fit reseeds so that every sweep trial and a rerun
    # in the same process start from the same initial weights.
    torch.manual_seed(cfg.seed)
    model = make_model(cfg, data)
    module = ForecastModule(model, cfg.train.lr, cfg.train.l1, cfg.train.l2)
    history = History(epoch_sink)
    all_callbacks: list[pl.Callback] = [
        EpochSeed(cfg.seed),
        history,
        NaNGuard(),
        EarlyStopping(monitor=VAL_LOSS, mode="min", patience=cfg.train.patience),
        *(callbacks or []),
    ]
    resume_from = None
    checkpoint = None
    if checkpoint_dir is not None:
        last = checkpoint_dir / LAST_CHECKPOINT
        if cfg.train.resume and last.exists():
            resume_from = str(last)
            log.info("resuming from %s", last)
        else:
            if cfg.train.resume:
                log.warning("train.resume=true but %s does not exist; starting afresh", last)
            shutil.rmtree(checkpoint_dir, ignore_errors=True)
        # Saved at the end of the train epoch, after History has its row (Lightning runs
        # checkpoint callbacks last), so a resumed run has the complete history.
        checkpoint = ModelCheckpoint(
            dirpath=checkpoint_dir, filename="best", monitor=VAL_LOSS, mode="min",
            save_top_k=1, save_last=True, auto_insert_metric_name=False,
            save_on_train_epoch_end=True,
        )
        all_callbacks.append(checkpoint)

    trainer = pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        precision=cfg.trainer.precision,
        max_epochs=max_epochs or cfg.train.max_epochs,
        gradient_clip_val=cfg.train.gradient_clip or None,
        callbacks=all_callbacks,
        plugins=[AtomicCheckpointIO()] if checkpoint is not None else None,
        enable_checkpointing=checkpoint is not None,
        logger=False,
        enable_progress_bar=cfg.trainer.progress_bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        default_root_dir=str(checkpoint_dir or cfg.paths.logs),
    )
    train_loader, val_loader = loaders(cfg, data)
    trainer.fit(module, train_loader, val_loader, ckpt_path=resume_from)

    rows = history.rows
    if not rows:
        raise RuntimeError("training ran no validation epoch")
    best = min(rows, key=lambda r: r[VAL_LOSS])
    if checkpoint is not None and checkpoint.best_model_path:
        state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
    model.eval()
    return FitResult(
        model=model.cpu(),
        history=rows,
        best_val_loss=best[VAL_LOSS],
        best_epoch=int(best["epoch"]),
        epochs_run=len(rows),
    )


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
