"""sweep.* values are checked at the boundary: one line naming the key."""

from __future__ import annotations

import typing

import pytest

from rnnops.config import SweepConfig, load_config, to_dict
from rnnops.errors import ConfigError
from rnnops.sweep.algorithms import PRUNERS, SAMPLERS
from tests.conftest import load


@pytest.mark.parametrize(
    ("override", "key", "rule"),
    [
        ("sweep.sampler=annealing", "sweep.sampler", "is not one of tpe, random, cmaes, grid"),
        ("sweep.pruner=asha", "sweep.pruner", "is not one of none, median, hyperband"),
        ("sweep.storage=redis://host", "sweep.storage", "is no storage URL"),
        ("sweep.workers=0", "sweep.workers", "must be >= 1"),
        ("sweep.grace_s=5", "sweep.grace_s", "must be > sweep.heartbeat_s"),
        ("sweep.reduction_factor=1", "sweep.reduction_factor", "must be >= 2"),
        ("sweep.space.train.lr.low=0", "sweep.space.train.lr", "log-scale range needs low > 0"),
        ("+sweep.space.train.lr.step=0.001", "sweep.space.train.lr", "log or step, not both"),
        ("+sweep.space.model.num_layers.step=0.5", "sweep.space.model.num_layers",
         "whole-number"),
        ("sweep.space.model.hidden_size.high=8", "sweep.space.model.hidden_size",
         "low <= high"),
        ("+sweep.space.train.nope={type:float,low:0,high:1}", "sweep.space.train.nope",
         "names no config value"),
        ("+sweep.space.train.loss={type:categorical,choices:[mse,mae]}", "sweep.space.train.loss",
         "cannot be searched"),
        ("+sweep.space.data.lookback={type:int,low:52,high:156}", "sweep.space.data.lookback",
         "every trial trains on the data the prepare stage made"),
    ],
)
def test_bad_sweep_values_name_their_key(override, key, rule):
    with pytest.raises(ConfigError) as err:
        load(override)
    assert err.value.key == key
    assert rule in str(err.value) and "\n" not in str(err.value)


def test_a_condition_must_name_a_config_value():
    data = to_dict(load())
    data["sweep"]["space"]["model"]["nonlinearity"]["when"] = {"model.cell": ["rnn"]}
    with pytest.raises(ConfigError, match="'model.cell' names no other config value"):
        load_config(data)


def test_hyperband_needs_min_epochs_within_max_epochs():
    with pytest.raises(ConfigError, match="sweep.min_epochs"):
        load("sweep.pruner=hyperband", "sweep.min_epochs=30", "sweep.max_epochs=10")


def test_config_choices_are_exactly_the_registries():
    hints = typing.get_type_hints(SweepConfig)
    assert typing.get_args(hints["sampler"]) == tuple(SAMPLERS)
    assert typing.get_args(hints["pruner"]) == tuple(PRUNERS)


def test_default_space_has_a_conditional_parameter():
    cfg = load()
    assert cfg.sweep.params["model.nonlinearity"].when == {"model.name": ("rnn",)}


def test_the_cells_grid_covers_each_cell_and_the_rnn_nonlinearity():
    from rnnops.sweep.space import grid
    from rnnops.sweep.study import lookup

    cfg = load("sweep=cells")
    points = grid(cfg.sweep.params, lookup(cfg))
    assert len(points) == cfg.sweep.n_trials == 16
    assert {p["model.name"] for p in points} == {"rnn", "lstm", "gru"}
    assert sum("model.nonlinearity" in p for p in points) == 8  # rnn only


def test_study_name_ignores_keys_that_trials_do_not_read():
    """`dvc exp run -S train.max_epochs=...` reruns the sweep stage; it must resume the finished
    study (no new trials) rather than search again under a new name."""
    from rnnops.config import from_dictconfig
    from rnnops.sweep.study import study_name
    from tests.conftest import compose

    def name(*overrides):
        return study_name(from_dictconfig(compose(*overrides)), "data-hash")

    base = name()
    assert name("train.max_epochs=3", "train.use_best_params=false", "train.resume=true",
                "sweep.n_trials=40", "sweep.workers=2") == base
    assert name("train.batch_size=32") != base and name("sweep.max_epochs=3") != base


def test_an_empty_space_stops_the_sweep_before_any_work(tmp_path):
    """A sweep group whose space is empty (Hydra merges `sweep.space={}` into the default space,
    so it takes a group file to get one): one line, before the data or a store is opened."""
    import dataclasses

    from rnnops.stages.sweep import sweep

    cfg = load(f"paths.root={tmp_path}")
    cfg = dataclasses.replace(cfg, sweep=dataclasses.replace(cfg.sweep, space={}))
    with pytest.raises(ConfigError, match="sweep.space.*is empty: nothing to search"):
        sweep(cfg)
    assert list(tmp_path.iterdir()) == []
