"""Training a language model on a token stream with truncated BPTT, through the same Lightning
trainer as the forecasters (fit.run_trainer): checkpoints, resume, early stopping, history.

The stream is cut into `batch_size` contiguous rows and read in chunks of `train.bptt` steps (or
AWD-LSTM's random lengths); the state is carried from chunk to chunk, detached, so every row is
read as one long sequence. val/loss is the mean negative log-likelihood per token in nats.
"""

from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
from torch import nn
from torchmetrics.text import Perplexity

from rnnops.config import Config
from rnnops.data.text import batchify, bptt_chunks, variable_bptt_chunks
from rnnops.data.windows import batch_share
from rnnops.models.language import LanguageModel, build_language_model
from rnnops.models.layers import detach_state
from rnnops.names import VAL_LOSS
from rnnops.training import transfer
from rnnops.training.callbacks import EpochSink
from rnnops.training.fit import AUTO, FitResult, run_trainer, start_run
from rnnops.training.module import LeanSteps
from rnnops.training.optimization import configure_optimization
from rnnops.training.regularizers import (
    activation_penalty,
    temporal_activation_penalty,
    weight_penalty,
)


class EpochCounter:
    """What Lightning calls `set_epoch` on before each epoch (as on a DataLoader's sampler)."""

    def __init__(self, on_epoch):
        self.on_epoch = on_epoch

    def set_epoch(self, epoch: int) -> None:
        self.on_epoch(epoch)


class StreamChunks:
    """(input, target, length / bptt) chunks of a batchified stream, in order. With variable
    lengths, each epoch's lengths are drawn from (seed, epoch), so a resumed epoch replays them
    and `len` is exact (Lightning stops an epoch after `len` batches)."""

    batch_sampler = None  # Lightning inspects loaders through DataLoader's attributes

    def __init__(self, batched: torch.Tensor, bptt: int, variable: bool = False, seed: int = 0):
        self.batched, self.bptt, self.variable, self.seed = batched, bptt, variable, seed
        self.sampler = EpochCounter(self._draw)
        self._draw(0)

    def _draw(self, epoch: int) -> None:
        if self.variable:
            generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self.chunks = [(x, y, scale) for x, y, scale in
                           variable_bptt_chunks(self.batched, self.bptt, generator)]
        else:
            self.chunks = [(x, y, 1.0) for x, y in bptt_chunks(self.batched, self.bptt)]

    def __len__(self) -> int:
        return len(self.chunks)

    def __iter__(self):
        share = batch_share(self.batched.shape[0])  # a process's rows in multi-process training
        return ((x[share], y[share], scale) for x, y, scale in self.chunks)


class LanguageModule(LeanSteps):
    def __init__(self, model: LanguageModel, cfg: Config):
        super().__init__()
        self.model, self.train_cfg = model, cfg.train
        self.fused_optimizer = cfg.trainer.fused_optimizer
        self.state = None

    def on_train_epoch_start(self) -> None:
        self.state = None  # each epoch reads the rows from their start

    def on_validation_epoch_start(self) -> None:
        self.train_state, self.state = self.state, None

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        self.state = self.train_state

    def _loss(self, x, y):
        out = self.model(x, self.state)
        self.state = detach_state(out.state)  # gradients stop at the chunk border
        loss = nn.functional.cross_entropy(out.logits.reshape(-1, out.logits.shape[-1]),
                                           y.reshape(-1))
        return loss, out

    def training_step(self, batch, batch_idx):
        x, y, scale = batch
        t = self.train_cfg
        if scale != 1.0:
            # AWD-LSTM: a shorter chunk takes a proportionally smaller step.
            scheduler = self.lr_schedulers()
            base = scheduler.get_last_lr()[0] if scheduler is not None else t.lr
            for group in self.optimizers().param_groups:
                group["lr"] = base * scale
        loss, out = self._loss(x, y)
        self.add_train_loss(loss, y.numel())
        return (self.share_of_step(loss, y.numel()) + activation_penalty(out.hidden, t.ar)
                + temporal_activation_penalty(out.raw_hidden, t.tar)
                + weight_penalty(self.model, t.l1, t.l2))

    def validation_step(self, batch, batch_idx):
        x, y, _ = batch
        loss, _ = self._loss(x, y)
        # weighted by tokens: the epoch value is the mean NLL per token of the whole stream
        self.log_epoch_mean(VAL_LOSS, loss, y.numel())

    def configure_optimizers(self):
        return configure_optimization(self.model, self.train_cfg,
                                      self.fused_optimizer)


def make_language_model(cfg: Config, vocab_size: int) -> LanguageModel:
    model = build_language_model(cfg.model, vocab_size)
    if cfg.model.lm.init_range:
        for p in model.parameters():
            nn.init.uniform_(p, -cfg.model.lm.init_range, cfg.model.lm.init_range)
    return model


def fit_language_model(
    cfg: Config,
    splits: dict[str, torch.Tensor],
    vocab_size: int,
    *,
    max_epochs: int | None = None,
    checkpoint_dir=None,
    resume_from=AUTO,
    epoch_sink: EpochSink | None = None,
    callbacks: list[pl.Callback] | None = None,
    initial_state: dict[str, torch.Tensor] | None = None,
) -> FitResult:
    start_run(cfg)
    model = make_language_model(cfg, vocab_size)
    transfer.prepare(model, cfg.train, initial_state)
    t = cfg.train
    train = StreamChunks(batchify(splits["train"], t.batch_size, "the train split",
                                   "train.batch_size"), t.bptt, t.variable_bptt,
                         cfg.seed)
    val = StreamChunks(batchify(splits["val"], t.eval_batch_size, "the val split",
                                 "train.eval_batch_size"), t.bptt)
    return run_trainer(cfg, LanguageModule(model, cfg), train, val, max_epochs=max_epochs,
                       checkpoint_dir=checkpoint_dir, resume_from=resume_from,
                       epoch_sink=epoch_sink, callbacks=callbacks)


@torch.no_grad()
def stream_loss(model: LanguageModel, stream: torch.Tensor, batch_size: int, bptt: int,
                name: str = "the stream") -> float:
    """Mean negative log-likelihood per token (nats) of a whole stream, read in `batch_size`
    rows with the state carried across chunks; accumulated by torchmetrics' Perplexity."""
    model.eval()
    metric = Perplexity().to(stream.device)
    state = None
    for x, y in bptt_chunks(batchify(stream, batch_size, name, "train.eval_batch_size"), bptt):
        out = model(x, state)
        state = out.state
        metric.update(out.logits.float(), y)
    return math.log(float(metric.compute()))


def language_metrics(loss: float, level: str) -> dict[str, float]:
    """The loss as the field reports it: perplexity at word level, bits per character."""
    if level == "char":
        return {"loss": loss, "bpc": loss / math.log(2)}
    return {"loss": loss, "perplexity": math.exp(loss)}
