"""Typed configuration: the schema of every Hydra group and its validation.

Hydra composes conf/ into a DictConfig; `load_config` turns that into frozen dataclasses and checks
every rule, so a wrong key, type or value fails before any work starts, with its dotted key.
Stages only ever see these dataclasses. conf/ holds the defaults: the dataclasses' defaults equal
the values conf/ composes (tests/test_config.py checks each one), so that code building a config
without Hydra (ModelConfig(name="gru") in a notebook) gets the settings the pipeline would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from omegaconf import OmegaConf
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from rnnops.errors import ConfigError


@dataclass(frozen=True)
class SplitConfig:
    """`ratio`: fractions of the rows. `counts`: row counts from the start (the ETT protocol:
    8640/2880/2880 hourly rows; later rows unused)."""
    protocol: Literal["ratio", "counts"] = "ratio"
    train: float = 0.7
    val: float = 0.1
    test: float = 0.2


@dataclass(frozen=True)
class DataConfig:
    """The `data` group: where the series or corpus comes from, how gaps are handled, the window
    lengths, the split and the scaler (docs/data.md)."""
    name: str = "co2"
    kind: Literal["series", "text"] = "series"  # forecasting series, or a language-model corpus
    source: str = "statsmodels"  # registry key in rnnops.data.sources (series), .corpora (text)
    dataset: str | None = "co2"  # statsmodels dataset, ETT file, generator or published corpus
    path: str | None = None  # file source: a CSV or Parquet file; text: a folder or a text file
    level: Literal["word", "char"] = "word"  # text: PTB-style words with <eos>, or characters
    url: str | None = None  # url source
    sha256: str | None = None  # url source: the pinned checksum
    root: str | None = None  # folder of local copies (ETT); else $RNNOPS_DATA_ROOT
    delimiter: str = ","
    format: Literal["auto", "csv", "parquet"] = "auto"  # file and url sources; auto: by suffix
    time_column: str | None = None  # parsed as timestamps: sorted and unique
    target: str | None = "co2"
    features: Literal["S", "M", "MS"] = "S"  # uni->uni, multi->multi, multi->target
    columns: tuple[str, ...] | None = None  # inputs for M/MS; null = every numeric column
    length: int = 2000  # synthetic series length
    missing: Literal["interpolate", "ffill", "drop", "error"] = "interpolate"
    na_values: tuple[str | float, ...] = ()  # cells that mean missing, as pandas' na_values
    # rows at one time: refuse them, drop exact copies (refusing rows that differ), or keep the last
    duplicates: Literal["error", "drop_exact", "keep_last"] = "drop_exact"
    lookback: int = 104
    horizon: int = 26
    stride: int = 1
    season_period: int = 52
    split: SplitConfig = field(default_factory=SplitConfig)
    scaler: Literal["standard", "minmax", "none"] = "standard"
    # the latest fraction of the training rows trained on (a short history); the scaler still
    # fits on every training row, so that each fraction is scored in the same units
    train_fraction: float = 1.0
    # a global model: every input column is its own series, forecast by one univariate network
    # shared across series, each series scaled on its own training rows
    stack: bool = False
    # more tables stacked with this one (data.stack): each the data.* keys it changes
    tables: tuple[dict[str, Any], ...] = ()
    # columns read as inputs only, never forecast; and those whose values over the horizon are
    # known when forecasting (a plan, a price list), which the model reads for the horizon too
    past_covariates: tuple[str, ...] = ()
    future_covariates: tuple[str, ...] = ()
    # features of the timestamps, known ahead like future covariates: hour, dayofweek, month,
    # dayofyear (each as the sine and cosine of its cycle)
    calendar: tuple[str, ...] = ()


@dataclass(frozen=True)
class Seq2SeqConfig:
    """model.architecture=seq2seq: the encoder-decoder with additive attention."""
    attention_size: int = 0  # 0 means hidden_size
    teacher_forcing: float = 0.5  # probability of feeding the true value at epoch 0
    teacher_forcing_decay: float = 0.9  # that probability x decay^epoch


@dataclass(frozen=True)
class SegRNNConfig:
    """model.architecture=segrnn: segment recurrence with parallel multi-step decoding."""
    segment_length: int = 12  # steps per segment (other lookbacks and horizons are padded)
    head_dropout: float = 0.0
    channel_embedding: bool = True  # channel independent: a learned vector per channel


@dataclass(frozen=True)
class LanguageModelConfig:
    """data.kind=text: the language model around the recurrent stack."""
    embedding_size: int = 0  # 0 means hidden_size
    embedding_dropout: float = 0.0  # whole words dropped
    tie_weights: bool = True  # the decoder shares the embedding matrix
    init_range: float = 0.0  # U(-r, r) for every weight (Zaremba); 0 keeps each layer's default


@dataclass(frozen=True)
class ModelConfig:
    """The `model` group: the cell, the architecture around it and its options. The defaults are
    the pipeline's, so `ModelConfig(name="gru")` is the GRU that `model=gru` trains."""
    name: str = "lstm"  # the cell (models.registry.CELLS)
    architecture: str = "direct"  # direct | seq2seq | segrnn (models.build.ARCHITECTURES)
    hidden_size: int = 32
    num_layers: int = 1
    dropout: float = 0.0  # between stacked layers
    variational: bool = False  # dropout masks locked over time (one per sequence), not per step
    input_dropout: float = 0.0  # dropout on the recurrent stack's input
    output_dropout: float = 0.0  # dropout on its output
    weight_drop: float = 0.0  # DropConnect on the recurrent matrices
    bidirectional: bool = False
    residual: bool = False
    layer_norm: bool = False
    nonlinearity: str = "tanh"  # rnn only: tanh | relu
    # which implementation of the cell runs: default (the same on every machine), auto (the
    # fastest here, measured: results then depend on the machine), or one by name
    implementation: str = "default"
    norm: str = "last"  # per-window normalisation: last | revin | none
    channel_independent: bool = False
    # Options of one architecture or of the language model, each in its own group.
    seq2seq: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    segrnn: SegRNNConfig = field(default_factory=SegRNNConfig)
    lm: LanguageModelConfig = field(default_factory=LanguageModelConfig)

    @property
    def label(self) -> str:
        """The model as runs, studies and best-params files name it: the cell, and the
        architecture when it is not the direct head (`lstm`, `seq2seq-lstm`, `segrnn-gru`)."""
        return self.name if self.architecture == "direct" else f"{self.architecture}-{self.name}"


@dataclass(frozen=True)
class TrainConfig:
    """The `train` group: optimizer, loss, early stopping, regularisation, and the language
    models' truncated BPTT."""
    lr: float = 5e-3
    batch_size: int = 64
    max_epochs: int = 100
    patience: int = 10
    gradient_clip: float = 1.0
    l1: float = 0.0
    l2: float = 0.0
    use_best_params: bool = True
    resume: bool = False
    optimizer: str = "adam"  # adam | sgd
    loss: str = "mse"  # forecasters: mse | mae | huber | quantile (training and val/loss alike)
    # train.loss=quantile: the levels forecast (pinball loss; 0.5 is the point forecast)
    quantiles: tuple[float, ...] = (0.025, 0.1, 0.5, 0.9, 0.975)
    lr_decay: float = 1.0  # lr x lr_decay per epoch from epoch lr_decay_start on (Zaremba)
    lr_decay_start: int = 0
    ema: float = 0.0  # decay of a moving average of the weights, validated and kept (0: off)
    bptt: int = 35  # language models: truncated BPTT length
    variable_bptt: bool = False  # language models: AWD-LSTM's random chunk lengths
    eval_batch_size: int = 10  # language models: streams evaluated in this many rows
    ar: float = 0.0  # language models: activation regularisation (alpha)
    tar: float = 0.0  # language models: temporal activation regularisation (beta)
    limit_batches: int = 0  # train and validate on this many batches per epoch (0: all); smoke runs
    # Transfer (training/transfer.py): weights to start from (models:/NAME@ALIAS or /VERSION,
    # runs:/ID/PATH or a file), matched by name and shape; init_strict=false skips what differs
    init_from: str | None = None
    init_strict: bool = True
    freeze: tuple[str, ...] = ()  # parts not trained: encoder, embedding, encoder.layers.0, head
    unfreeze_every: int = 0  # ULMFiT's gradual unfreezing: the last frozen part thaws every N
    layer_lr_decay: float = 1.0  # discriminative rates: each earlier layer group lr x this


@dataclass(frozen=True)
class TrainerConfig:
    """The `trainer` group: where training runs and its speed switches (docs/training.md)."""
    accelerator: str = "cpu"
    devices: int = 1  # processes (or GPUs) per node; above 1 with strategy ddp
    # auto: one process; ddp: one per device, each rank running the same command (Lightning
    # starts them, or torchrun / SLURM does), rank 0 alone logging, writing and registering
    strategy: str = "auto"
    num_nodes: int = 1
    threads: int = 2  # fixed: results depend on it (conf/trainer/cpu.yaml); 0: one per core
    precision: str = "auto"  # auto: bf16-mixed on a bf16 GPU, 32-true on CPU; or Lightning's
    progress_bar: bool = True
    allocator: str = "retain"  # retain: freed memory kept for reuse (glibc); system: defaults
    compile: bool = False  # torch.compile the model
    fused_optimizer: bool = True  # Adam/SGD update all parameters in one kernel (CPU, CUDA)


@dataclass(frozen=True)
class ParamSpec:
    """One dimension of the sweep's search space. `when` makes it conditional: it is drawn only
    while every named config key (swept or configured) has one of the listed values, e.g.
    `when: {model.name: [rnn]}` for the rnn cell's nonlinearity."""
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None  # int, float: draw only low, low + step, ... (finite for grid)
    choices: tuple[Any, ...] | None = None
    when: dict[str, tuple[Any, ...]] | None = None


# sweep.storage: Optuna's RDB storage takes any SQLAlchemy URL; journal: is a JournalStorage file.
STORAGE_SCHEMES = ("sqlite:///", "postgresql", "postgres://", "mysql", "journal:")


@dataclass(frozen=True)
class SweepConfig:
    """The `sweep` group: the Optuna study (sampler, pruner, storage, workers) and its search
    space (docs/sweeps.md)."""
    n_trials: int = 8  # trials that finish (complete, pruned or failed); a dead worker's retry
    max_epochs: int = 25  # per trial, and hyperband's largest budget
    sampler: Literal["tpe", "random", "cmaes", "grid"] = "tpe"
    pruner: Literal["none", "median", "hyperband", "successive_halving"] = "median"
    n_startup_trials: int = 3  # random trials before TPE/CMA-ES model the space; median waits too
    multivariate: bool = False  # tpe: one joint model of the parameters instead of one each
    warmup_epochs: int = 5  # median: epochs a trial runs before it can be pruned
    min_epochs: int = 1  # hyperband, successive_halving: the smallest budget (rung 0)
    reduction_factor: int = 3  # hyperband, successive_halving: 1 in r trials climbs each rung
    storage: str | None = None  # null: SQLite under paths.optuna; any SQLAlchemy URL; journal:FILE
    study_name: str | None = None  # null: named after the config, so a rerun resumes the study
    workers: int = 1  # worker processes this sweep starts on the study
    timeout_s: float | None = None  # start no trial after this many seconds
    heartbeat_s: int = 10  # a running trial's worker writes a heartbeat this often
    grace_s: int = 60  # a trial whose heartbeat is older is failed and retried
    max_retries: int = 2  # retries of one trial whose worker died, then a fresh sample
    # Nested by the dotted key, e.g. space.train.lr or space.model.segrnn.segment_length: a
    # mapping with a `type` is one dimension. Hydra can then override one bound
    # (sweep.space.train.lr.high=0.1) or drop one dimension (~sweep.space.model.dropout).
    # No default: the space is conf/sweep's (a second copy here would drift from it).
    space: dict[str, Any] = field(kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "space", _space(self.space, "sweep.space"))

    @property
    def params(self) -> dict[str, ParamSpec]:
        """The search space by dotted config key: {'train.lr': ParamSpec, ...}."""
        def leaves(node: dict[str, Any], prefix: str) -> dict[str, ParamSpec]:
            out: dict[str, ParamSpec] = {}
            for key, value in node.items():
                name = _join(prefix, key)
                out.update({name: value} if isinstance(value, ParamSpec) else leaves(value, name))
            return out

        return leaves(self.space, "")


def _space(node: Any, key: str) -> dict[str, Any]:
    """sweep.space's nested mappings with each dimension (a mapping with a `type`) built into a
    ParamSpec; the dotted key of a bad one is in its error."""
    if not isinstance(node, dict):
        raise ConfigError(key, f"expected a mapping, got {node!r}")
    return {str(k): _build(ParamSpec, v, _join(key, str(k)))
            if isinstance(v, dict) and "type" in v else
            v if isinstance(v, ParamSpec) else _space(v, _join(key, str(k)))
            for k, v in node.items()}


@dataclass(frozen=True)
class TrackingConfig:
    """The `tracking` group: the MLflow store, experiment and registered model name."""
    uri: str | None = None
    experiment: str = "rnnops-co2"
    # None: <experiment>-forecaster, or <experiment>-language-model for a text corpus
    registered_model: str | None = None
    # Register trained models under registered_model. None: yes, except for the jobs of a Hydra
    # multirun or sweep (pipelines/train.py), which log their runs without flooding the name.
    register: bool | None = None


@dataclass(frozen=True)
class PathsConfig:
    """Output locations. `root` is made absolute and the others are taken relative to it (an
    absolute one stays as it is), so overriding paths.root moves everything."""
    root: Path = Path(".")
    downloads: Path = Path("data/downloads")
    prepared: Path = Path("data/prepared")
    sweep: Path = Path("models/sweep")
    model: Path = Path("models/train")
    reports: Path = Path("reports")
    mlflow: Path = Path("mlruns")
    optuna: Path = Path("outputs/optuna")
    checkpoints: Path = Path("outputs/checkpoints")
    logs: Path = Path("outputs/logs")

    def __post_init__(self) -> None:
        root = self.root.expanduser().resolve()
        object.__setattr__(self, "root", root)
        for f in dataclasses.fields(self):
            if f.name != "root":  # root / an absolute path is that path: loading twice is safe
                object.__setattr__(self, f.name, root / getattr(self, f.name))


@dataclass(frozen=True)
class BacktestConfig:
    """Rolling-origin backtest over the test period: `folds` consecutive blocks of forecast
    origins; before each block the fitted baselines are refit on the rows before its first
    origin, all of them (expanding) or the last train-split's worth (sliding)."""
    folds: int = 3  # 0 turns the backtest off
    mode: Literal["expanding", "sliding"] = "expanding"
    refit_model: bool = False  # also retrain the network per fold (costly: one training a fold)


@dataclass(frozen=True)
class EvaluateConfig:
    """The evaluate stage: which baselines run beside the model, how they are set up, which test
    metric decides the champion, and the backtest."""
    baselines: tuple[str, ...] = (
        "last_value", "seasonal_naive", "window_mean", "linear", "ets", "arima")
    season_period: int | None = None  # null: data.season_period, or the timestamps' frequency
    metric: Literal["mse", "mae", "rmse", "smape", "mase"] = "mse"  # champion and summaries
    # naive: the champion alias goes only to a model that beats last_value and seasonal_naive
    # on the validation windows (a language model: a uniform guess); none: no such rule
    champion_gate: Literal["naive", "none"] = "naive"
    linear_kernel: int = 25  # linear baseline: moving-average kernel of the trend (DLinear: 25)
    linear_ridge: float = 1e-3  # linear baseline: ridge penalty per training window
    ets_damped: bool = True  # ets: damped additive trend (else undamped)
    arima_order: tuple[int, ...] = (1, 0, 1)  # arima: (p, d, q)
    arima_seasonal_difference: int = 1  # arima: D, seasonal differences at the season period
    sample_windows: int = 3  # test windows drawn with their lookback in the forecast plot
    # Also score the first len // B * B test windows: what a test loader of batch B with
    # drop_last keeps, the protocol behind most published ETT figures (None: off).
    drop_last_batch: int | None = None
    # split-conformal prediction intervals (evaluation/intervals.py): scored, plotted, served
    interval_levels: tuple[float, ...] = (0.8, 0.95)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)


@dataclass(frozen=True)
class Config:
    """The whole validated configuration, one field per group; built by `load_config` or
    `from_dictconfig`."""
    seed: int
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    trainer: TrainerConfig
    sweep: SweepConfig
    tracking: TrackingConfig
    paths: PathsConfig
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)


# --- building dataclasses from plain containers -------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _build(tp: Any, value: Any, key: str) -> Any:
    """Convert `value` to type `tp`, raising ConfigError(key) when it does not fit."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ConfigError(
                _join(key, unknown[0]),
                f"unknown key; valid keys here are {', '.join(sorted(names))}",
            )
        kwargs = {}
        for f in dataclasses.fields(tp):
            sub = _join(key, f.name)
            if f.name in value:
                kwargs[f.name] = _build(hints[f.name], value[f.name], sub)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(sub, "missing; add it to the config")
        return tp(**kwargs)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _build(inner, value, key)
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise ConfigError(key, f"{value!r} is not one of {', '.join(map(str, allowed))}")
        return value
    if origin is dict:
        _, val_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        return {str(k): _build(val_tp, v, _join(key, str(k))) for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected a list, got {value!r}")
        return tuple(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    if tp is Any:  # checked where it is used (sweep.space: SweepConfig.__post_init__)
        return value
    if tp is Path:
        if not isinstance(value, str | Path):
            raise ConfigError(key, f"expected a path, got {value!r}")
        return Path(value)
    raise TypeError(f"config schema uses an unsupported type {_type_name(tp)} at {key}")


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


# --- rules ---------------------------------------------------------------------------------------

# The Lightning settings the training code supports (its data placement knows CPU and CUDA only).
ACCELERATORS = ("cpu", "gpu", "cuda", "auto")
PRECISIONS = ("auto", "32-true", "64-true", "bf16-mixed", "16-mixed", "bf16-true", "16-true")

# (dotted key, predicate, rule as users read it). Checked after the types are right.
# Lightning's strategies where every process runs the training command from its start.
STRATEGIES = ("auto", "ddp", "ddp_find_unused_parameters_true")


_RULES: list[tuple[str, typing.Callable[[Any], bool], str]] = [
    ("seed", lambda v: v >= 0, "must be >= 0"),
    ("data.lookback", lambda v: v >= 1, "must be >= 1"),
    ("data.horizon", lambda v: v >= 1, "must be >= 1"),
    ("data.stride", lambda v: v >= 1, "must be >= 1"),
    ("data.season_period", lambda v: v >= 1, "must be >= 1"),
    ("data.split.train", lambda v: v > 0, "must be > 0"),
    ("data.split.val", lambda v: v > 0, "must be > 0"),
    ("data.split.test", lambda v: v >= 0, "must be >= 0"),
    ("data.length", lambda v: v >= 1, "must be >= 1"),
    ("data.delimiter", lambda v: len(v) == 1, "must be one character"),
    ("data.na_values", lambda v: all(isinstance(x, str | int | float) and not isinstance(x, bool)
                                     for x in v), "must be a list of texts or numbers"),
    ("model.hidden_size", lambda v: v >= 1, "must be >= 1"),
    ("model.num_layers", lambda v: v >= 1, "must be >= 1"),
    ("model.dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.input_dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.output_dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.weight_drop", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.lm.embedding_dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.segrnn.head_dropout", lambda v: 0 <= v < 1, "must be in [0, 1)"),
    ("model.nonlinearity", lambda v: v in ("tanh", "relu"), "must be tanh or relu"),
    ("model.norm", lambda v: v in ("last", "revin", "none"), "must be last, revin or none"),
    ("model.seq2seq.attention_size", lambda v: v >= 0, "must be >= 0 (0 means hidden_size)"),
    ("model.seq2seq.teacher_forcing", lambda v: 0 <= v <= 1, "must be in [0, 1]"),
    ("model.seq2seq.teacher_forcing_decay", lambda v: 0 <= v <= 1, "must be in [0, 1]"),
    ("model.segrnn.segment_length", lambda v: v >= 1, "must be >= 1"),
    ("model.lm.embedding_size", lambda v: v >= 0, "must be >= 0 (0 means hidden_size)"),
    ("model.lm.init_range", lambda v: v >= 0, "must be >= 0 (0 keeps each layer's default)"),
    ("train.lr", lambda v: v > 0, "must be > 0"),
    ("train.batch_size", lambda v: v >= 1, "must be >= 1"),
    ("train.max_epochs", lambda v: v >= 1, "must be >= 1"),
    ("train.patience", lambda v: v >= 1, "must be >= 1"),
    ("train.gradient_clip", lambda v: v >= 0, "must be >= 0 (0 turns clipping off)"),
    ("train.l1", lambda v: v >= 0, "must be >= 0"),
    ("train.l2", lambda v: v >= 0, "must be >= 0"),
    ("train.optimizer", lambda v: v in ("adam", "sgd"), "must be adam or sgd"),
    ("train.loss", lambda v: v in ("mse", "mae", "huber", "quantile"),
     "must be mse, mae, huber or quantile"),
    ("train.quantiles", lambda v: all(isinstance(q, int | float) and 0 < q < 1 for q in v)
     and list(v) == sorted(set(v)) and 0.5 in v,
     "must be levels in (0, 1), increasing, with 0.5 (the point forecast), e.g. [0.1, 0.5, 0.9]"),
    ("train.lr_decay", lambda v: 0 < v <= 1, "must be in (0, 1] (1 keeps the rate)"),
    ("train.lr_decay_start", lambda v: v >= 0, "must be >= 0"),
    ("train.ema", lambda v: 0 <= v < 1, "must be in [0, 1) (0 turns averaging off)"),
    ("train.bptt", lambda v: v >= 1, "must be >= 1"),
    ("train.eval_batch_size", lambda v: v >= 1, "must be >= 1"),
    ("train.ar", lambda v: v >= 0, "must be >= 0"),
    ("train.tar", lambda v: v >= 0, "must be >= 0"),
    ("train.limit_batches", lambda v: v >= 0, "must be >= 0 (0 uses every batch)"),
    ("train.init_from", lambda v: v is None or bool(v.strip()), "must not be empty (null: "
     "random weights)"),
    ("train.unfreeze_every", lambda v: v >= 0, "must be >= 0 (0: frozen parts stay frozen)"),
    ("train.layer_lr_decay", lambda v: 0 < v <= 1, "must be in (0, 1] (1: one rate for all)"),
    ("trainer.accelerator", lambda v: v in ACCELERATORS, f"must be {', '.join(ACCELERATORS)}"),
    ("trainer.precision", lambda v: v in PRECISIONS, f"must be {', '.join(PRECISIONS)}"),
    ("trainer.devices", lambda v: v >= 1, "must be >= 1"),
    ("trainer.num_nodes", lambda v: v >= 1, "must be >= 1"),
    ("trainer.strategy", lambda v: v in STRATEGIES,
     f"must be {', '.join(STRATEGIES)} (every process runs the same command, so rank 0 alone "
     "records; ddp_spawn's children would not)"),
    ("trainer.threads", lambda v: v >= 0, "must be >= 0 (0: one per usable core)"),
    ("trainer.allocator", lambda v: v in ("retain", "system"), "must be retain or system"),
    ("sweep.n_trials", lambda v: v >= 1, "must be >= 1"),
    ("sweep.max_epochs", lambda v: v >= 1, "must be >= 1"),
    ("sweep.n_startup_trials", lambda v: v >= 0, "must be >= 0"),
    ("sweep.warmup_epochs", lambda v: v >= 0, "must be >= 0"),
    ("sweep.min_epochs", lambda v: v >= 1, "must be >= 1"),
    ("sweep.reduction_factor", lambda v: v >= 2, "must be >= 2"),
    ("sweep.storage", lambda v: v is None or v.startswith(STORAGE_SCHEMES),
     "is no storage URL; use sqlite:///FILE, postgresql://USER@HOST/DB, journal:FILE or null"),
    ("sweep.study_name", lambda v: v is None or bool(v.strip()), "must not be empty"),
    ("sweep.workers", lambda v: v >= 1, "must be >= 1"),
    ("sweep.timeout_s", lambda v: v is None or v > 0, "must be > 0 (or null for no limit)"),
    ("sweep.heartbeat_s", lambda v: v >= 1, "must be >= 1"),
    ("sweep.max_retries", lambda v: v >= 0, "must be >= 0"),
    ("tracking.experiment", lambda v: bool(v.strip()), "must not be empty"),
    ("evaluate.season_period", lambda v: v is None or v >= 1, "must be >= 1 (or null)"),
    ("evaluate.linear_kernel", lambda v: v >= 1 and v % 2 == 1, "must be an odd number >= 1"),
    ("evaluate.linear_ridge", lambda v: v >= 0, "must be >= 0"),
    ("evaluate.arima_order", lambda v: len(v) == 3 and all(isinstance(k, int) and k >= 0
                                                           for k in v),
     "must be three whole numbers >= 0: [p, d, q]"),
    ("evaluate.arima_seasonal_difference", lambda v: v in (0, 1), "must be 0 or 1"),
    ("evaluate.sample_windows", lambda v: v >= 1, "must be >= 1"),
    ("evaluate.drop_last_batch", lambda v: v is None or v >= 1, "must be >= 1 (or null)"),
    ("evaluate.backtest.folds", lambda v: v >= 0, "must be >= 0 (0 turns the backtest off)"),
    ("evaluate.interval_levels", lambda v: all(isinstance(x, int | float) and 0 < x < 1
                                               for x in v) and list(v) == sorted(set(v)),
     "must be levels in (0, 1), increasing, e.g. [0.8, 0.95] ([] turns intervals off)"),
    ("tracking.registered_model", lambda v: v is None or bool(v.strip()),
     "must not be empty (null names it after the experiment)"),
]


def get_dotted(obj: Any, key: str) -> Any:
    for part in key.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


_SERIES_RULES: list[tuple[str, typing.Callable[[Any], bool], str]] = [
    ("data.target", lambda v: bool(v), "has no value; name the column to forecast"),
    ("data.split.test", lambda v: v > 0, "must be > 0"),
]
# A text corpus may have no test part (Tiny Shakespeare's 90/10 split).
_TEXT_RULES: list[tuple[str, typing.Callable[[Any], bool], str]] = [
    ("data.split.protocol", lambda v: v == "ratio",
     "does not apply to a text corpus; use ratio (fractions of the tokens)"),
    ("train.loss", lambda v: v == "mse",
     "does not apply to a language model, which trains on cross-entropy; leave it at mse"),
    ("model.bidirectional", lambda v: not v,
     "does not apply to a language model, which reads left to right; set it to false"),
    ("model.architecture", lambda v: v == "direct",
     "does not apply to a language model, which predicts the next token from each state; use a "
     "cell's group (model=lstm, gru, ...)"),
]


def _check_processes(cfg: Config) -> None:
    t = cfg.trainer
    processes = t.devices * t.num_nodes
    if processes > 1 and cfg.train.unfreeze_every and cfg.train.freeze:
        raise ConfigError("train.unfreeze_every", "gradual unfreezing needs one training "
                          "process (DDP fixes the trained parameters when it starts); set "
                          "trainer.devices=1 or train.unfreeze_every=0")
    if processes > 1 and cfg.train.batch_size % processes:
        raise ConfigError("train.batch_size", f"{cfg.train.batch_size} is not a multiple of the "
                          f"{processes} training processes (trainer.devices x num_nodes): each "
                          "takes an equal share of every batch")


def _check_rules(cfg: Config) -> None:
    kind_rules = _SERIES_RULES if cfg.data.kind == "series" else _TEXT_RULES
    for key, ok, rule in _RULES + kind_rules:
        value = get_dotted(cfg, key)
        if not ok(value):
            raise ConfigError(key, f"{value!r} {rule}")
    if cfg.model.nonlinearity != "tanh" and cfg.model.name != "rnn":
        raise ConfigError("model.nonlinearity", f"only the rnn cell takes a nonlinearity; "
                          f"{cfg.model.name} has its own gates (leave it at tanh)")
    split = cfg.data.split
    if split.protocol == "ratio":
        total = split.train + split.val + split.test
        if not 0 < total <= 1.0 + 1e-9:
            raise ConfigError("data.split", f"fractions add up to {total:g}; keep them at most 1")
    else:
        for name in ("train", "val", "test"):
            value = getattr(split, name)
            if value < 1 or not float(value).is_integer():
                raise ConfigError(f"data.split.{name}", f"{value!r} must be a whole row count")
    _check_stack(cfg)
    if cfg.data.kind == "series":
        _check_covariates(cfg)
    _check_quantiles(cfg)
    _check_processes(cfg)
    _check_sweep(cfg)


#: data.* keys every stacked table shares with the main one: one network reads them all
SHARED_BY_TABLES = ("kind", "stack", "tables", "lookback", "horizon", "stride")


def table_configs(data: DataConfig) -> list[DataConfig]:
    """The data settings of each extra table of a stack (data.tables): the main table's with
    the keys the entry changes, checked as the main table's are (ConfigError names the entry's
    key, e.g. data.tables.0.dataset)."""
    out = []
    for number, entry in enumerate(data.tables):
        key = f"data.tables.{number}"
        if not isinstance(entry, dict):
            raise ConfigError(key, f"expected a mapping of data.* keys, got {entry!r}")
        shared = [k for k in entry if k in SHARED_BY_TABLES]
        if shared:
            raise ConfigError(f"{key}.{shared[0]}", "is the same for every table of a stack; "
                                                    "set it on data itself")
        merged = {**dataclasses.asdict(data), **entry, "tables": []}
        if "split" in entry:
            merged["split"] = {**dataclasses.asdict(data.split), **entry["split"]}
        out.append(_build(DataConfig, merged, key))
    return out


def _check_quantiles(cfg: Config) -> None:
    """A quantile model's intervals are its own quantiles: each level needs both ends."""
    if cfg.train.loss != "quantile":
        return
    for level in cfg.evaluate.interval_levels:
        ends = [round((1 - level) / 2, 10), round((1 + level) / 2, 10)]
        missing = [q for q in ends if not any(abs(q - t) < 1e-9 for t in cfg.train.quantiles)]
        if missing:
            raise ConfigError("train.quantiles", f"has no {missing[0]:g}, an end of the "
                              f"{level:g} interval of evaluate.interval_levels; add "
                              f"{' and '.join(f'{q:g}' for q in ends)}, or drop the level")


CALENDAR = ("hour", "dayofweek", "month", "dayofyear")


def _check_covariates(cfg: Config) -> None:
    d = cfg.data
    for name in d.calendar:
        if name not in CALENDAR:
            raise ConfigError("data.calendar", f"unknown feature {name!r}; choose from "
                              f"{', '.join(CALENDAR)}")
    both = set(d.past_covariates) & set(d.future_covariates)
    if both:
        raise ConfigError("data.future_covariates", f"{sorted(both)[0]!r} is a past covariate "
                          "too; name each column in one list")
    for key in ("past_covariates", "future_covariates"):
        if d.target in getattr(d, key):
            raise ConfigError(f"data.{key}", f"{d.target!r} is data.target, which is forecast; "
                              "a covariate is read only")
    if d.stack and (d.past_covariates or d.future_covariates or d.calendar):
        raise ConfigError("data.stack", "stacks series without covariates: every column of a "
                          "stack is a series; leave data.past_covariates, future_covariates and "
                          "calendar empty")


def _check_stack(cfg: Config) -> None:
    d = cfg.data
    if not 0 < d.train_fraction <= 1:
        raise ConfigError("data.train_fraction", f"{d.train_fraction!r} must be in (0, 1]")
    if d.kind != "series" and (d.stack or d.tables):
        raise ConfigError("data.stack", "stacks series; a text corpus has none (leave it false)")
    if d.tables and not d.stack:
        raise ConfigError("data.tables", "are stacked into one global model: set data.stack=true")
    if d.stack and d.features == "MS":
        raise ConfigError("data.features", "MS reads several columns to forecast one, but a "
                          "stacked (global) model forecasts every series from its own history; "
                          "use M (every column a series) or S")
    names = [d.name]
    for number, table in enumerate(table_configs(d)):
        if table.features == "MS":
            raise ConfigError(f"data.tables.{number}.features", "MS does not stack; use M or S")
        if table.name in names:
            raise ConfigError(f"data.tables.{number}.name", f"{table.name!r} names another "
                              "table of the stack too; give each table its own data.name")
        names.append(table.name)


# Each trial's val/loss is in its own train.loss, so trials that differ in it cannot be ranked.
UNRANKABLE = "train.loss"
UNRANKABLE_WHY = ("cannot be searched: each trial's val/loss would be in its own loss; fix "
                  "train.loss for the sweep (its val/mse is logged beside val/loss)")
DATA_WHY = ("cannot be searched: every trial trains on the data the prepare stage made; compare "
            "data settings as separate runs (dvc exp run -S data.lookback=...)")


def unsearchable(name: str) -> str | None:
    """Why a sweep may not search config key (or group) `name`, or None if it may."""
    if name == UNRANKABLE:
        return UNRANKABLE_WHY
    if name == "data" or name.startswith("data."):
        return DATA_WHY
    return None


def _check_sweep(cfg: Config) -> None:
    s = cfg.sweep
    if s.grace_s <= s.heartbeat_s:
        raise ConfigError("sweep.grace_s", f"{s.grace_s} must be > sweep.heartbeat_s "
                          f"({s.heartbeat_s}), or every running trial looks dead")
    if s.multivariate and s.sampler != "tpe":
        raise ConfigError("sweep.multivariate", f"applies to the tpe sampler only, not "
                          f"{s.sampler}; leave it false or set sweep.sampler=tpe")
    if s.pruner in ("hyperband", "successive_halving") and s.min_epochs > s.max_epochs:
        raise ConfigError("sweep.min_epochs", f"{s.min_epochs} must be <= sweep.max_epochs "
                          f"({s.max_epochs})")
    for name in s.params:
        if why := unsearchable(name):
            raise ConfigError(f"sweep.space.{name}", why)
    plain = dataclasses.asdict(cfg)
    for name, spec in s.params.items():
        key = f"sweep.space.{name}"
        if not _names_value(plain, name):
            raise ConfigError(key, "names no config value; use a dotted key such as train.lr")
        if spec.type == "categorical":
            if not spec.choices:
                raise ConfigError(key, "a categorical parameter needs a non-empty 'choices' list")
            if not all(c is None or isinstance(c, str | int | float) for c in spec.choices):
                raise ConfigError(key, "choices must be strings, numbers, booleans or null")
        elif spec.low is None or spec.high is None or not spec.low <= spec.high:
            raise ConfigError(key, f"needs numbers low <= high (got {spec.low}, {spec.high})")
        elif spec.log and spec.low <= 0:
            raise ConfigError(key, "a log-scale range needs low > 0")
        elif spec.log and spec.step is not None:
            raise ConfigError(key, "takes log or step, not both")
        elif spec.step is not None and spec.step <= 0:
            raise ConfigError(key, f"step {spec.step} must be > 0")
        elif spec.type == "int" and not all(
            float(v).is_integer() for v in (spec.low, spec.high, spec.step or 1)
        ):
            raise ConfigError(key, "an int parameter needs whole-number low, high and step")
        for other, values in (spec.when or {}).items():
            if other == name or not _names_value(plain, other):
                raise ConfigError(f"{key}.when", f"'{other}' names no other config value")
            if not values:
                raise ConfigError(f"{key}.when.{other}", "needs a non-empty list of values")


def _names_value(plain: dict[str, Any], dotted: str) -> bool:
    try:
        get_dotted(plain, dotted)
    except (KeyError, AttributeError, TypeError):
        return False
    return True


def load_config(container: dict[str, Any]) -> Config:
    """Build and validate a Config from a plain (resolved) container."""
    cfg = _build(Config, container, "")
    _check_rules(cfg)
    if cfg.tracking.registered_model is None:
        kind = "language-model" if cfg.data.kind == "text" else "forecaster"
        cfg = dataclasses.replace(cfg, tracking=dataclasses.replace(
            cfg.tracking, registered_model=f"{cfg.tracking.experiment}-{kind}"))
    return cfg


def from_dictconfig(dictconfig: Any) -> Config:
    """Validate a Hydra DictConfig (the `hydra` node, if present, is not part of the schema)."""
    try:
        container = OmegaConf.to_container(dictconfig, resolve=True, throw_on_missing=True)
    except MissingMandatoryValue as exc:
        raise ConfigError(str(exc.full_key), "has no value; set it, e.g. on the command line "
                          f"as {exc.full_key}=...") from None
    except OmegaConfBaseException as exc:  # a ${...} that names no key, variable or resolver
        reason = str(exc).splitlines()[0]
        raise ConfigError(str(exc.full_key), f"cannot be resolved ({reason}); fix the ${{...}} "
                          "it holds or set a plain value") from None
    container.pop("hydra", None)
    return load_config(container)


def to_dict(cfg: Config) -> dict[str, Any]:
    """Plain, YAML- and JSON-friendly dict of the config (paths as strings)."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, Path):
            return str(v)
        return v

    return plain(dataclasses.asdict(cfg))


def with_overrides(cfg: Config, overrides: dict[str, Any]) -> Config:
    """A new validated Config with dotted keys replaced (used for sweep trials and best params)."""
    data = to_dict(cfg)
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        node = data
        for part in parents:
            if not isinstance(node.get(part), dict):
                raise ConfigError(key, "names no config value")
            node = node[part]
        if leaf not in node:
            raise ConfigError(key, "names no config value")
        node[leaf] = value
    return load_config(data)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}; used for MLflow params."""
    flat: dict[str, Any] = {}
    for k, v in data.items():
        key = _join(prefix, str(k))
        if isinstance(v, dict) and v:
            flat.update(flatten(v, key))
        else:
            flat[key] = v
    return flat


def fingerprint(cfg: Config, *groups: str) -> str:
    """Short stable hash of the named config groups (all of them when none are named)."""
    data = to_dict(cfg)
    picked = {g: data[g] for g in groups} if groups else data
    blob = json.dumps(picked, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
