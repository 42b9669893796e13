"""One trial: the sampled values applied to the config, trained by the same routine as the train
stage (`fit` for forecasters, `fit_language_model` for text), scored by the best val/loss,
stopped early when the pruner says so."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rnnops.config import Config, with_overrides
from rnnops.data.prepared import PreparedData
from rnnops.data.prepared_text import META, load_prepared_text
from rnnops.names import VAL_LOSS
from rnnops.sweep.pruning import OptunaPruning
from rnnops.training.callbacks import EpochSink, TrainingDiverged
from rnnops.training.fit import fit
from rnnops.training.language import fit_language_model

EPOCHS = "epochs"  # user attr: epochs the trial trained (the sweep's cost)


@dataclass(frozen=True)
class TrialResult:
    value: float  # best val/loss over the epochs run
    epochs: int
    pruned_at: int | None  # epochs run when the pruner stopped it; None if it ran to the end
    implementations: dict[str, str] = field(default_factory=dict)  # what autotune picked


@dataclass(frozen=True)
class TextData:
    """A prepared text corpus as the trials of a language-model sweep use it."""

    splits: dict[str, torch.Tensor]
    vocab_size: int
    meta: dict[str, Any]


def load_data(cfg: Config) -> PreparedData | TextData:
    """The prepare stage's output that trials train on: series arrays, or token streams."""
    if cfg.data.kind == "text":
        splits, vocab = load_prepared_text(cfg.paths.prepared, cfg.data)
        meta = json.loads((Path(cfg.paths.prepared) / META).read_text())
        return TextData(splits, len(vocab), meta)
    return PreparedData.load(cfg.paths.prepared, cfg.data)


def run_trial(
    cfg: Config,
    data: PreparedData | TextData,
    trial: Any,
    params: dict[str, Any],
    epoch_sink: EpochSink | None = None,
) -> TrialResult:
    trial_cfg = with_overrides(cfg, params)
    pruning = OptunaPruning(trial)
    options = {"max_epochs": cfg.sweep.max_epochs, "epoch_sink": epoch_sink,
               "callbacks": [pruning]}
    if isinstance(data, TextData):
        result = fit_language_model(trial_cfg, data.splits, data.vocab_size, **options)
    else:
        result = fit(trial_cfg, data, **options)
    trial.set_user_attr(EPOCHS, result.epochs_run)
    if not math.isfinite(result.best_val_loss):  # never let a NaN become the best trial
        raise TrainingDiverged(f"{VAL_LOSS} is {result.best_val_loss}; lower train.lr")
    return TrialResult(result.best_val_loss, result.epochs_run, pruning.pruned_at,
                       result.implementations)
