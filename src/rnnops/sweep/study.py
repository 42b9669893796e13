"""An Optuna study built from config, stored in SQLite under paths.optuna."""

from __future__ import annotations

from typing import Any

from rnnops.config import Config, fingerprint


def study_name(cfg: Config) -> str:
    """Same config, same study: re-running a sweep resumes it; any change starts a new one."""
    key = fingerprint(cfg, "seed", "data", "model", "train", "sweep")
    return f"{cfg.tracking.experiment}-{cfg.model.label}-{key}"


def storage_url(cfg: Config) -> str:
    cfg.paths.optuna.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(cfg.paths.optuna / 'optuna.db').resolve()}"


def create_study(cfg: Config) -> Any:
    import optuna

    s = cfg.sweep
    if s.sampler == "tpe":
        sampler = optuna.samplers.TPESampler(seed=cfg.seed, n_startup_trials=s.n_startup_trials)
    else:
        sampler = optuna.samplers.RandomSampler(seed=cfg.seed)
    if s.pruner == "median":
        pruner = optuna.pruners.MedianPruner(n_startup_trials=s.n_startup_trials, n_warmup_steps=5)
    else:
        pruner = optuna.pruners.NopPruner()
    return optuna.create_study(
        study_name=study_name(cfg),
        storage=storage_url(cfg),
        sampler=sampler,
        pruner=pruner,
        direction="minimize",
        load_if_exists=True,
    )
