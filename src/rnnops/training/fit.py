"""The one training routine: the train stage and every sweep trial call `fit`."""

from __future__ import annotations

import logging
import signal
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, EMAWeightAveraging, ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

from rnnops.config import Config
from rnnops.data.prepared import PreparedData
from rnnops.data.windows import EpochShuffle, IndexBatches, StackedWindows, WindowDataset
from rnnops.machine import is_global_zero
from rnnops.models import Forecaster, autotune, build_model
from rnnops.names import VAL_LOSS
from rnnops.training import checkpoints, runtime, transfer
from rnnops.training.callbacks import EpochSeed, EpochSink, History, NaNGuard
from rnnops.training.checkpoints import AtomicCheckpointIO
from rnnops.training.module import ForecastModule

log = logging.getLogger(__name__)

LAST_CHECKPOINT = checkpoints.LAST
EVAL_BATCH = 512
AUTO = "auto"  # resume_from: train.resume decides (checkpoints.resume_point)


@dataclass
class FitResult:
    model: torch.nn.Module
    history: list[dict[str, float]]
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    # layer -> implementation that models/autotune.py picked (cells with implementation=auto)
    implementations: dict[str, str] = field(default_factory=dict)


def make_model(cfg: Config, data: PreparedData) -> Forecaster:
    """The network for the data: one univariate network for every series (data.stack), else
    one that reads the table's channels."""
    quantiles = cfg.train.quantiles if cfg.train.loss == "quantile" else ()
    if cfg.data.stack:
        return build_model(cfg.model, input_size=1, output_size=1, horizon=cfg.data.horizon,
                           lookback=cfg.data.lookback, per_series=True, quantiles=quantiles)
    return build_model(
        cfg.model,
        input_size=data.n_channels,
        output_size=len(data.target_columns),
        horizon=cfg.data.horizon,
        lookback=cfg.data.lookback,
        target_columns=data.target_columns,
        quantiles=quantiles,
        future_columns=data.future_columns,
    )


def data_device(cfg: Config, datasets: list[WindowDataset | StackedWindows]) -> torch.device:
    """Where the splits live during training: on the GPU as a whole when training runs there and
    they fit in a quarter of its free memory (DataLoader overhead dominates small recurrent
    models on a GPU), else on the CPU."""
    if cfg.trainer.accelerator not in ("gpu", "cuda", "auto") or not torch.cuda.is_available():
        return torch.device("cpu")
    free, _ = torch.cuda.mem_get_info()
    needed = sum(ds.nbytes for ds in datasets)
    if needed > free // 4:
        log.info("splits need %.0f MB, more than a quarter of free GPU memory: kept on the CPU",
                 needed / 1e6)
        return torch.device("cpu")
    return torch.device("cuda")


def loaders(cfg: Config, data: PreparedData) -> tuple[IndexBatches, IndexBatches]:
    d = cfg.data
    windows = data.series_windows if d.stack else data.windows
    train = windows("train", d.lookback, d.horizon, d.stride)
    val = windows("val", d.lookback, d.horizon)
    device = data_device(cfg, [train, val])
    train, val = train.to(device), val.to(device)
    return (IndexBatches(train, cfg.train.batch_size, EpochShuffle(len(train), cfg.seed)),
            IndexBatches(val, EVAL_BATCH))


def fit(
    cfg: Config,
    data: PreparedData,
    *,
    max_epochs: int | None = None,
    checkpoint_dir: Path | None = None,
    resume_from: Path | None | str = AUTO,
    epoch_sink: EpochSink | None = None,
    callbacks: list[pl.Callback] | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
) -> FitResult:
    """Train `cfg.model` on the prepared data with early stopping on val/loss.

    With `checkpoint_dir`, the best and last epochs are checkpointed there, the best weights are
    restored at the end, and `cfg.train.resume` continues from the last good checkpoint (or
    from `resume_from`, when the caller found it already). `initial_state`: the weights to start
    from (transfer.matched_state of train.init_from), loaded before train.freeze applies.
    """
    start_run(cfg)
    model = make_model(cfg, data)
    transfer.prepare(model, cfg.train, initial_state)
    module = ForecastModule(model, cfg.train, cfg.trainer.fused_optimizer)
    train_loader, val_loader = loaders(cfg, data)
    return run_trainer(cfg, module, train_loader, val_loader, max_epochs=max_epochs,
                       checkpoint_dir=checkpoint_dir, resume_from=resume_from,
                       epoch_sink=epoch_sink, callbacks=callbacks)


def progress_bar(requested: bool) -> bool:
    """trainer.progress_bar, shown only on a terminal: in a log file or CI output a bar is a
    stream of control codes, and each epoch has its one summary line instead."""
    return requested and sys.stderr.isatty()


def start_run(cfg: Config) -> None:
    """Process settings every training shares, then the seed that the initial weights use."""
    # Lightning's per-Trainer banners (GPU available, tips) would repeat for every sweep trial.
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    runtime.configure(cfg.trainer)
    # The entry point seeds once per process; training reseeds so that every sweep trial and a
    # rerun in the same process start from the same initial weights.
    torch.manual_seed(cfg.seed)


def run_trainer(
    cfg: Config,
    module: pl.LightningModule,
    train_loader,
    val_loader,
    *,
    max_epochs: int | None = None,
    checkpoint_dir: Path | None = None,
    resume_from: Path | None | str = AUTO,
    epoch_sink: EpochSink | None = None,
    callbacks: list[pl.Callback] | None = None,
) -> FitResult:
    """Lightning's fit of `module` (which holds the network as `module.model`) with the
    project's callbacks: epoch seeding, history, NaN guard, early stopping on val/loss, the
    weights' moving average with train.ema, and atomic checkpoints with resume when
    `checkpoint_dir` is given."""
    # Cells with implementation=auto run the faster of their exact implementations at this
    # batch's shape (the first batch's input; language-model chunks are (x, y, length)).
    implementations = autotune.tune(module.model, next(iter(train_loader))[0])
    runtime.maybe_compile(module.model, cfg.trainer.compile)
    bar = progress_bar(cfg.trainer.progress_bar)
    history = History(epoch_sink, announce=not bar)
    all_callbacks: list[pl.Callback] = [
        EpochSeed(cfg.seed),
        history,
        NaNGuard(),
        EarlyStopping(monitor=VAL_LOSS, mode="min", patience=cfg.train.patience),
        *(callbacks or []),
    ]
    if cfg.train.freeze and cfg.train.unfreeze_every:
        all_callbacks.append(transfer.GradualUnfreezing(cfg.train.freeze,
                                                        cfg.train.unfreeze_every))
    if cfg.train.ema:
        # Validation (so early stopping, pruning and the best checkpoint), the saved weights and
        # the returned model all use the average; training steps update the raw weights.
        all_callbacks.append(EMAWeightAveraging(decay=cfg.train.ema))
    checkpoint = None
    if checkpoint_dir is None:
        resume_from = None
    else:
        if resume_from == AUTO:
            resume_from = checkpoints.resume_point(checkpoint_dir) if cfg.train.resume else None
        if resume_from is not None:
            log.info("resuming from %s", resume_from)
        else:
            if cfg.train.resume:
                log.warning("train.resume=true but %s holds no checkpoint; starting afresh",
                            checkpoint_dir)
            if is_global_zero():  # rank 0 writes the checkpoints, so it clears them
                checkpoints.clear(checkpoint_dir)
        # Saved at the end of the train epoch, after History has its row (Lightning runs
        # checkpoint callbacks last), so a resumed run has the complete history.
        checkpoint = ModelCheckpoint(
            dirpath=checkpoint_dir, filename="best", monitor=VAL_LOSS, mode="min",
            save_top_k=1, save_last=True, auto_insert_metric_name=False,
            save_on_train_epoch_end=True,
        )
        all_callbacks.append(checkpoint)

    runtime.check_accelerator(cfg.trainer.accelerator)
    precision = runtime.resolve_precision(cfg.trainer.precision, cfg.trainer.accelerator)
    runtime.announce()
    # The checkpoint folder holds the run's MLflow record (and, on resume, what is resumed):
    # Lightning's warning that it is not empty says nothing a user should act on.
    warnings.filterwarnings("ignore", message=r"Checkpoint directory .* exists and is not empty")
    trainer = pl.Trainer(
        accelerator=cfg.trainer.accelerator,
        devices=cfg.trainer.devices,
        num_nodes=cfg.trainer.num_nodes,
        strategy=runtime.strategy(cfg.trainer),
        precision=precision,
        max_epochs=max_epochs or cfg.train.max_epochs,
        limit_train_batches=cfg.train.limit_batches or None,
        limit_val_batches=cfg.train.limit_batches or None,
        gradient_clip_val=cfg.train.gradient_clip or None,
        callbacks=all_callbacks,
        plugins=[AtomicCheckpointIO()] if checkpoint is not None else None,
        enable_checkpointing=checkpoint is not None,
        logger=False,
        enable_progress_bar=bar,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        deterministic=True,
        default_root_dir=str(checkpoint_dir or cfg.paths.logs),
    )
    try:
        trainer.fit(module, train_loader, val_loader,
                    ckpt_path=str(resume_from) if resume_from is not None else None)
    except SIGTERMException:
        # Lightning finishes the batch and exits with status 0, which would tell DVC or a job
        # scheduler that training succeeded; 143 (128 + SIGTERM) is what a shell reports.
        more = " (train.resume=true continues from its last epoch)" if checkpoint else ""
        log.error("training stopped by SIGTERM; no model written%s", more)
        raise SystemExit(128 + signal.SIGTERM) from None

    rows = history.rows
    if not rows:
        raise RuntimeError("training ran no validation epoch")
    best = min(rows, key=lambda r: r[VAL_LOSS])
    if checkpoint is not None and checkpoint.best_model_path:
        state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        module.load_state_dict(state["state_dict"])
    model = module.model.eval()
    return FitResult(
        model=model.cpu(),
        history=rows,
        best_val_loss=best[VAL_LOSS],
        best_epoch=int(best["epoch"]),
        epochs_run=len(rows),
        implementations=implementations,
    )


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
