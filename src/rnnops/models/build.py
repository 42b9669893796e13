"""From a model config to a forecaster: the architectures by name, and the spec (plain values)
that rebuilds the same model around saved weights."""

from __future__ import annotations

import dataclasses
from typing import Any

from torch import nn

from rnnops.config import ModelConfig
from rnnops.errors import ConfigError
from rnnops.models.cells.kernels import native
from rnnops.models.forecaster import DirectHead, Forecaster
from rnnops.models.registry import cell_class
from rnnops.models.segrnn import FORWARD_ONLY, SegmentRecurrence
from rnnops.models.seq2seq import AttentionSeq2Seq


def _direct(spec: dict, size_in: int, size_out: int, columns: list[int]) -> nn.Module:
    quantiles = len(spec.get("quantiles", [])) or 1  # a quantile model: each output's quantiles
    return DirectHead(size_in, size_out * quantiles, spec["horizon"], spec["stack"],
                      zero_init=spec["norm"] == "last",
                      future_size=len(spec.get("future_columns", [])))


def _seq2seq(spec: dict, size_in: int, size_out: int, columns: list[int]) -> nn.Module:
    quantiles = spec.get("quantiles", [])
    return AttentionSeq2Seq(size_in, size_out, spec["horizon"], spec["stack"], columns,
                            **spec["options"], quantiles=len(quantiles),
                            point=quantiles.index(0.5) if quantiles else 0,
                            future_size=len(spec.get("future_columns", [])))


def _segrnn(spec: dict, size_in: int, size_out: int, columns: list[int]) -> nn.Module:
    # SegRNN folds channels itself (channel embeddings), so it always sees all of them.
    return SegmentRecurrence(spec["input_size"], spec["output_size"], spec["horizon"],
                             spec["lookback"], spec["stack"],
                             channel_independent=spec["channel_independent"], **spec["options"],
                             quantiles=len(spec.get("quantiles", [])),
                             future_size=len(spec.get("future_columns", [])))


ARCHITECTURES = {"direct": _direct, "seq2seq": _seq2seq, "segrnn": _segrnn}

# The config group holding an architecture's own options (model.seq2seq, model.segrnn).
ARCHITECTURE_OPTIONS = {"direct": None, "seq2seq": "seq2seq", "segrnn": "segrnn"}
# Cell options beyond the common ones, read from ModelConfig fields of the same name.
CELL_OPTIONS = {"rnn": ("nonlinearity",)}


def check_model_config(cfg: ModelConfig) -> None:
    """The names and combinations a model config needs, checked before any work starts."""
    cell = cell_class(cfg.name)  # an unknown cell lists the valid ones
    if cfg.architecture not in ARCHITECTURES:
        raise ConfigError("model.architecture", f"unknown architecture {cfg.architecture!r}; "
                          f"choose one of {', '.join(ARCHITECTURES)}")
    if cfg.implementation not in cell.implementations:
        choices = ", ".join(cell.implementations)
        raise ConfigError("model.implementation", f"{cfg.name} has no implementation "
                          f"{cfg.implementation!r}; choose one of {choices}")
    if cfg.implementation == "native" and native.steps() is None:
        raise ConfigError("model.implementation", f"native cannot run here "
                          f"({native.why_unavailable()}); use auto or fused")
    if cfg.architecture == "segrnn" and cfg.bidirectional:  # else every sweep trial fails
        raise ConfigError("model.bidirectional", FORWARD_ONLY)
    if cfg.weight_drop and not cell.recurrent_weights:
        raise ConfigError("model.weight_drop", f"{cfg.name} has no recurrent weights to drop; "
                          "set it to 0 or pick a cell with a recurrent matrix")


def stack_options(cfg: ModelConfig) -> dict[str, Any]:
    """The RecurrentStack arguments a model config gives."""
    stack = {key: getattr(cfg, key) for key in (
        "hidden_size", "num_layers", "dropout", "variational", "input_dropout", "output_dropout",
        "weight_drop", "bidirectional", "residual", "layer_norm")}
    stack["cell"] = cfg.name
    stack["cell_options"] = {k: getattr(cfg, k)
                             for k in ("implementation", *CELL_OPTIONS.get(cfg.name, ()))}
    return stack


def architecture_options(cfg: ModelConfig) -> dict[str, Any]:
    """The options of cfg.architecture, read key by key from its group (model.seq2seq.*)."""
    group = ARCHITECTURE_OPTIONS[cfg.architecture]
    if group is None:
        return {}
    options = getattr(cfg, group)
    return {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}


def model_spec(
    cfg: ModelConfig, input_size: int, output_size: int, horizon: int, lookback: int,
    target_columns: list[int] | None = None, per_series: bool = False,
    quantiles: tuple[float, ...] = (), future_columns: list[int] | None = None,
) -> dict[str, Any]:
    """Everything that defines the model, as plain values (saved next to its weights).
    `per_series`: a univariate network that forecasts each channel it is given on its own (a
    global model); `quantiles`: the levels a quantile model forecasts (train.loss=quantile)."""
    check_model_config(cfg)
    return {
        **({"per_series": True} if per_series else {}),
        **({"quantiles": list(quantiles)} if quantiles else {}),
        **({"future_columns": list(future_columns)} if future_columns else {}),
        "architecture": cfg.architecture,
        "input_size": input_size,
        "output_size": output_size,
        "horizon": horizon,
        "lookback": lookback,
        "target_columns": list(target_columns or range(output_size)),
        "norm": cfg.norm,
        "channel_independent": cfg.channel_independent,
        "stack": stack_options(cfg),
        "options": architecture_options(cfg),
    }


def build_from_spec(spec: dict[str, Any]) -> Forecaster:
    """The forecaster a spec (from `model_spec`, or saved with a model's weights) describes."""
    columns = spec["target_columns"]
    folded = spec["channel_independent"] and spec["architecture"] != "segrnn"
    size_in, size_out = (1, 1) if folded else (spec["input_size"], spec["output_size"])
    core = ARCHITECTURES[spec["architecture"]](spec, size_in, size_out,
                                               [0] if folded else columns)
    model = Forecaster(core, spec["input_size"], spec["output_size"], spec["horizon"],
                       norm=spec["norm"], channel_independent=spec["channel_independent"],
                       target_columns=columns, per_series=spec.get("per_series", False),
                       quantiles=spec.get("quantiles"),
                       future_columns=spec.get("future_columns"), lookback=spec["lookback"])
    model.spec = spec
    return model


def build_model(
    cfg: ModelConfig, input_size: int, output_size: int, horizon: int, lookback: int,
    target_columns: list[int] | None = None, per_series: bool = False,
    quantiles: tuple[float, ...] = (), future_columns: list[int] | None = None,
) -> Forecaster:
    """The forecaster a config describes, for `input_size` channels in and `output_size` out."""
    return build_from_spec(model_spec(cfg, input_size, output_size, horizon, lookback,
                                      target_columns, per_series, quantiles, future_columns))
