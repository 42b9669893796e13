"""Samplers and pruners by name: the registries that sweep.sampler / sweep.pruner and the Hydra
sweeper's options choose from, and the specs that rebuild them in another process."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import optuna

from rnnops.config import SweepConfig
from rnnops.errors import ConfigError


def _tpe(seed: int | None, spec: SamplerSpec) -> Any:

    if not spec.multivariate:
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.n_startup_trials)
    with warnings.catch_warnings():  # multivariate TPE is still marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # group: conditional parameters are modelled with the trials that drew them
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.n_startup_trials,
                                          multivariate=True, group=True)


def _random(seed: int | None, spec: SamplerSpec) -> Any:

    return optuna.samplers.RandomSampler(seed=seed)


def _cmaes(seed: int | None, spec: SamplerSpec) -> Any:

    # CMA-ES models numbers only; categorical values fall back to seeded random draws.
    return optuna.samplers.CmaEsSampler(
        seed=seed, n_startup_trials=spec.n_startup_trials, warn_independent_sampling=False,
        independent_sampler=optuna.samplers.RandomSampler(seed=seed),
    )


# Grid search queues each grid point as a trial with its values fixed (rnnops.sweep.queue), so
# the sampler is never asked; Optuna's GridSampler calls study.stop(), which ask/tell refuses.
SAMPLERS: dict[str, Callable[[int | None, SamplerSpec], Any]] = {
    "tpe": _tpe,
    "random": _random,
    "cmaes": _cmaes,
    "grid": _random,
}


def _none(spec: PrunerSpec) -> Any:

    return optuna.pruners.NopPruner()


def _median(spec: PrunerSpec) -> Any:

    return optuna.pruners.MedianPruner(n_startup_trials=spec.n_startup_trials,
                                       n_warmup_steps=spec.warmup_epochs)


def _hyperband(spec: PrunerSpec) -> Any:

    return optuna.pruners.HyperbandPruner(
        min_resource=spec.min_epochs, max_resource=spec.max_epochs or "auto",
        reduction_factor=spec.reduction_factor,
    )


def _successive_halving(spec: PrunerSpec) -> Any:

    return optuna.pruners.SuccessiveHalvingPruner(min_resource=spec.min_epochs,
                                                  reduction_factor=spec.reduction_factor)


PRUNERS: dict[str, Callable[[PrunerSpec], Any]] = {
    "none": _none,
    "median": _median,
    "hyperband": _hyperband,
    "successive_halving": _successive_halving,
}


def check_name(kind: str, name: str, key: str) -> None:
    registry = SAMPLERS if kind == "sampler" else PRUNERS
    if name not in registry:
        raise ConfigError(key, f"unknown {kind} {name!r}; valid: {', '.join(registry)}")


@dataclass(frozen=True)
class SamplerSpec:
    name: str
    seed: int | None
    n_startup_trials: int
    multivariate: bool = False  # tpe only: one joint model of the parameters

    def build(self, trial_number: int = 0) -> Any:
        """A sampler seeded by (seed, trial number): the same study draws the same values in
        a rerun, and parallel workers never share a random stream."""
        seed = None if self.seed is None else (self.seed * 1_000_003 + trial_number) % 2**32
        return SAMPLERS[self.name](seed, self)


@dataclass(frozen=True)
class PrunerSpec:
    """Everything a pruner needs, small enough to hand to a Hydra job as JSON."""
    name: str
    n_startup_trials: int = 4
    warmup_epochs: int = 5
    min_epochs: int = 1
    max_epochs: int | None = None
    reduction_factor: int = 3

    def build(self) -> Any:
        return PRUNERS[self.name](self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def specs(sweep: SweepConfig, seed: int) -> tuple[SamplerSpec, PrunerSpec]:
    return (
        SamplerSpec(sweep.sampler, seed, sweep.n_startup_trials, sweep.multivariate),
        PrunerSpec(sweep.pruner, sweep.n_startup_trials, sweep.warmup_epochs, sweep.min_epochs,
                   sweep.max_epochs, sweep.reduction_factor),
    )
