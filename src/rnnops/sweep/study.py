"""The Optuna study a sweep runs on: its name, its storage, its sampler and pruner."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import optuna

from rnnops.code_version import source_hash
from rnnops.config import Config, fingerprint, get_dotted, to_dict
from rnnops.sweep.algorithms import PrunerSpec, SamplerSpec, specs
from rnnops.sweep.storage import default_url, open_storage

# Keys that say how to run a sweep, not what it searches: changing them resumes the same study.
RUN_CONTROL = ("n_trials", "storage", "study_name", "workers", "timeout_s", "heartbeat_s",
               "grace_s", "max_retries")
# train keys that trials do not read (they run sweep.max_epochs, keep no checkpoint, and best
# params are the train stage's business): changing them resumes the same, finished study
# instead of searching again.
TRAIN_KEYS_TRIALS_IGNORE = ("max_epochs", "use_best_params", "resume")


def study_name(cfg: Config, data_hash: str) -> str:
    """Same search on the same data with the same code, same study: rerunning a sweep (with more
    trials or workers) resumes it; changed code or data (`data_hash`: the prepared data's) start
    a new one, since the finished trials were scored by other code or on other data."""
    if cfg.sweep.study_name:
        return cfg.sweep.study_name
    neutral = dataclasses.replace(cfg.sweep, **{
        f.name: f.default for f in dataclasses.fields(cfg.sweep) if f.name in RUN_CONTROL})
    train = dataclasses.replace(cfg.train, **{
        f.name: f.default for f in dataclasses.fields(cfg.train)
        if f.name in TRAIN_KEYS_TRIALS_IGNORE})
    settings = fingerprint(dataclasses.replace(cfg, sweep=neutral, train=train), "seed", "data",
                           "model", "train", "sweep")
    key = hashlib.sha256(f"{settings}:{data_hash}:{source_hash()}".encode()).hexdigest()[:12]
    return f"{cfg.tracking.experiment}-{cfg.model.label}-{key}"


def storage_url(cfg: Config) -> str:
    return cfg.sweep.storage or default_url(cfg.paths.optuna)


def load_or_create(name: str, storage: Any, sampler: SamplerSpec, pruner: PrunerSpec,
                   direction: str = "minimize") -> Any:

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # we log each trial our own way
    return optuna.create_study(study_name=name, storage=storage, sampler=sampler.build(),
                               pruner=pruner.build(), direction=direction, load_if_exists=True)


def open_sweep_storage(cfg: Config) -> Any:
    """The sweep's storage; a bad sweep.storage fails here, before any data is read."""
    return open_storage(storage_url(cfg))


def open_study(cfg: Config, storage: Any, data_hash: str) -> Any:
    """The sweep stage's study in `storage`, for the prepared data with this hash."""
    sampler, pruner = specs(cfg.sweep, cfg.seed)
    return load_or_create(study_name(cfg, data_hash), storage, sampler, pruner)


def lookup(cfg: Config):
    """The configured value of a dotted key (for `when` conditions on unswept keys)."""
    plain = to_dict(cfg)
    return lambda key: get_dotted(plain, key)
