"""Starting from trained weights and fine-tuning them (train.init_from, train.freeze,
train.unfreeze_every, train.layer_lr_decay): the tricks of ULMFiT (Howard and Ruder 2018) that
the source article counts among those that make recurrent networks work on small data.

Layers are matched by name and shape. The network's parameter groups, in the order data flows
through them, are what freezing, gradual unfreezing and discriminative rates act on: an
embedding, each recurrent layer (`encoder.layers.0`, `encoder.layers.1`, ...), a decoder or head.
"""

from __future__ import annotations

import logging
import pickle
import re
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from rnnops.config import TrainConfig
from rnnops.errors import ConfigError

log = logging.getLogger(__name__)

KEY = "train.init_from"
_LAYER = re.compile(r"^(.*?\.layers\.\d+)\.")


def saved_state(path: Path, source: str) -> dict[str, torch.Tensor]:
    """The weights in a file: a model.pt of rnnops (weights and spec), a Lightning checkpoint of
    its training (the module's `model.` prefix dropped) or a plain state dict."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, ValueError, OSError, EOFError, pickle.UnpicklingError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(KEY, f"{source}: no weights readable there ({reason[:160]})") from None
    state = saved.get("state_dict", saved) if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ConfigError(KEY, f"{source}: holds no weights (a model.pt, a checkpoint or a "
                          "state dict)")
    if "epoch" in saved and all(k.startswith("model.") for k in state):  # Lightning checkpoint
        state = {k.removeprefix("model."): v for k, v in state.items()}
    return state


def matched_state(model: torch.nn.Module, saved: dict[str, torch.Tensor], source: str,
                  strict: bool, report: bool = True) -> dict[str, torch.Tensor]:
    """The saved weights that fit `model` by name and shape. With `strict`, a layer of `model`
    that is missing or shaped otherwise is a ConfigError naming it and both shapes; without, it
    keeps its fresh weights and is logged."""
    own = model.state_dict()
    matched, skipped = {}, []
    for name, tensor in own.items():
        theirs = saved.get(name)
        if theirs is not None and theirs.shape == tensor.shape:
            matched[name] = theirs
            continue
        if strict:
            there = "is missing" if theirs is None else f"is {tuple(theirs.shape)}"
            raise ConfigError(KEY, f"layer {name} {there} in {source} and "
                              f"{tuple(tensor.shape)} in this model; train.init_strict=false "
                              "loads only the layers that match")
        skipped.append(name if theirs is None else
                       f"{name} ({tuple(theirs.shape)} there, {tuple(tensor.shape)} here)")
    if not matched:
        raise ConfigError(KEY, f"no layer of {source} fits this model (by name and shape)")
    if report and skipped:
        log.info("%s: %d of %d tensors loaded; kept fresh: %s", source, len(matched), len(own),
                 ", ".join(skipped))
    elif report:
        log.info("starting from %s (all %d tensors)", source, len(own))
    return matched


def groups(model: torch.nn.Module) -> dict[str, list[torch.nn.Parameter]]:
    """The network's parameter groups in the order data flows through them: each recurrent
    layer (`...layers.N`), else each parameter's module (an embedding, a head)."""
    out: dict[str, list[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        layer = _LAYER.match(name)
        group = layer.group(1) if layer else name.rpartition(".")[0] or name
        out.setdefault(group, []).append(parameter)
    return out


def _selected(model: torch.nn.Module, entry: str) -> list[torch.nn.Parameter]:
    """The parameters an entry of train.freeze names: every parameter whose dotted name holds
    it as whole parts (`encoder`, `encoder.layers.0`, `embedding`, `head`)."""
    return [p for name, p in model.named_parameters() if f".{entry}." in f".{name}."]


def check_freeze(model: torch.nn.Module, entries: tuple[str, ...]) -> None:
    for entry in entries:
        if not _selected(model, entry):
            names = ", ".join(g.removeprefix("core.") for g in groups(model))
            raise ConfigError("train.freeze", f"{entry!r} names no part of this model; its parts: "
                              f"{names}")


def freeze(model: torch.nn.Module, entries: tuple[str, ...]) -> None:
    for entry in entries:
        for parameter in _selected(model, entry):
            parameter.requires_grad_(False)


def prepare(model: torch.nn.Module, train: TrainConfig,
            initial_state: dict[str, torch.Tensor] | None) -> None:
    """The fresh network before training: train.init_from's weights that fit it loaded (a sweep
    trial's network may differ from the one the stage checked them against), the named parts
    frozen."""
    if initial_state:
        model.load_state_dict(matched_state(model, initial_state, train.init_from or "weights",
                                            train.init_strict, report=False), strict=False)
    check_freeze(model, train.freeze)
    freeze(model, train.freeze)


def parameter_groups(model: torch.nn.Module, train: TrainConfig) -> list[dict[str, Any]]:
    """The optimizer's groups: one at train.lr, or with train.layer_lr_decay < 1 one per group
    of `groups`, the last at train.lr and each earlier one layer_lr_decay times the next
    (ULMFiT's discriminative rates: early layers hold the general features and move least)."""
    if train.layer_lr_decay == 1.0:
        return [{"params": list(model.parameters()), "lr": train.lr}]
    found = list(groups(model).items())
    return [{"params": params, "lr": train.lr * train.layer_lr_decay ** (len(found) - 1 - i),
             "name": name} for i, (name, params) in enumerate(found)]


class GradualUnfreezing(pl.Callback):
    """ULMFiT's gradual unfreezing: every train.unfreeze_every epochs the last still-frozen entry
    of train.freeze trains again, so the parts nearest the output thaw first. Computed from the
    epoch, so a resumed training is in the same state."""

    def __init__(self, entries: tuple[str, ...], every: int):
        self.entries, self.every = entries, every

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        thawed = min(len(self.entries), trainer.current_epoch // self.every)
        for position, entry in enumerate(reversed(self.entries)):
            for parameter in _selected(module.model, entry):
                parameter.requires_grad_(position < thawed)
