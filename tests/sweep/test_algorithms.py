"""Samplers and pruners built by name, seeded per trial, rebuilt from JSON in a job."""

from __future__ import annotations

import json
import warnings

import optuna
import pytest

from rnnops.errors import ConfigError
from rnnops.sweep.algorithms import PrunerSpec, SamplerSpec, check_name, specs
from tests.conftest import load


@pytest.mark.parametrize(("name", "cls"), [
    ("none", optuna.pruners.NopPruner), ("median", optuna.pruners.MedianPruner),
    ("hyperband", optuna.pruners.HyperbandPruner),
    ("successive_halving", optuna.pruners.SuccessiveHalvingPruner)])
def test_pruner_by_name_survives_a_json_round_trip(name, cls):
    spec = PrunerSpec(name, n_startup_trials=2, warmup_epochs=3, min_epochs=2, max_epochs=27,
                      reduction_factor=3)
    again = PrunerSpec(**json.loads(json.dumps(spec.to_dict())))
    assert again == spec and isinstance(again.build(), cls)


def test_hyperband_budget_is_counted_in_epochs():
    pruner = PrunerSpec("hyperband", min_epochs=1, max_epochs=27, reduction_factor=3).build()
    assert (pruner._min_resource, pruner._max_resource, pruner._reduction_factor) == (1, 27, 3)


@pytest.mark.parametrize(("name", "cls"), [
    ("tpe", optuna.samplers.TPESampler), ("random", optuna.samplers.RandomSampler),
    ("cmaes", optuna.samplers.CmaEsSampler)])
def test_sampler_by_name(name, cls):
    assert isinstance(SamplerSpec(name, 0, 3).build(5), cls)


def test_multivariate_tpe_models_conditional_spaces_without_warnings():
    cfg = load("sweep.multivariate=true")
    spec, _ = specs(cfg.sweep, cfg.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Optuna's ExperimentalWarning would be noise in a sweep
        sampler = spec.build(7)
    assert sampler._multivariate and sampler._group
    study = optuna.create_study(sampler=sampler)

    def objective(trial):  # a conditional parameter, as a cell's nonlinearity is
        cell = trial.suggest_categorical("cell", ["rnn", "lstm"])
        bias = trial.suggest_float("slope", 0, 1) if cell == "rnn" else 0.5
        return (trial.suggest_float("lr", 1e-4, 1e-1, log=True) - 0.01) ** 2 + bias

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing for a sweep's log to repeat per trial
        study.optimize(objective, n_trials=6 + cfg.sweep.n_startup_trials)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * (6 + cfg.sweep.n_startup_trials)


def draw(spec: SamplerSpec, number: int) -> float:
    study = optuna.create_study(sampler=spec.build(number))
    return study.ask().suggest_float("x", 0, 1)


def test_each_trial_number_has_its_own_reproducible_stream():
    spec = SamplerSpec("random", 42, 0)
    assert draw(spec, 3) == draw(spec, 3)
    assert len({draw(spec, n) for n in range(5)}) == 5
    assert draw(spec, 3) != draw(SamplerSpec("random", 43, 0), 3)


def test_specs_follow_the_config():
    cfg = load("sweep.sampler=random", "sweep.pruner=hyperband", "sweep.min_epochs=2")
    sampler, pruner = specs(cfg.sweep, cfg.seed)
    assert sampler == SamplerSpec("random", 42, cfg.sweep.n_startup_trials)
    assert pruner.name == "hyperband" and pruner.min_epochs == 2
    assert pruner.max_epochs == cfg.sweep.max_epochs


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="'hydra.sweeper.sampler': unknown sampler 'sa'; "
                                          "valid: tpe, random, cmaes, grid"):
        check_name("sampler", "sa", "hydra.sweeper.sampler")


def test_multivariate_is_refused_for_samplers_without_it():
    with pytest.raises(ConfigError, match="'sweep.multivariate': applies to the tpe sampler only, "
                                          "not random"):
        load("sweep.multivariate=true", "sweep.sampler=random")


def test_hydra_sweeper_option_reaches_the_sampler():
    from dataclasses import asdict

    from hydra_plugins.rnnops_optuna_sweeper.config import OptunaSweeperConf
    from hydra_plugins.rnnops_optuna_sweeper.optuna_sweeper import OptunaSweeper

    options = {k: v for k, v in asdict(OptunaSweeperConf(seed=3)).items() if k != "_target_"}
    plain, _ = OptunaSweeper._specs(OptunaSweeper(**options)._settings())
    assert plain == SamplerSpec("tpe", 3, 4) and not plain.build()._multivariate
    joint, _ = OptunaSweeper._specs(OptunaSweeper(**{**options, "multivariate": True})._settings())
    assert joint.multivariate and joint.build()._multivariate
    with pytest.raises(ConfigError, match="'hydra.sweeper.multivariate': applies to the tpe"):
        OptunaSweeper(**{**options, "multivariate": True, "sampler": "cmaes"})._settings()
