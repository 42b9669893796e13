"""Search-space draws, conditions and grids against a real Optuna study."""

from __future__ import annotations

import math

import optuna
import pytest

from rnnops.config import ParamSpec
from rnnops.errors import ConfigError
from rnnops.sweep.space import grid, ordered, suggest

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {
    "train.lr": ParamSpec("float", 1e-4, 1e-1, log=True),
    "model.dropout": ParamSpec("float", 0.0, 0.3, step=0.1),
    "model.hidden_size": ParamSpec("int", 16, 64, step=16),
    "model.num_layers": ParamSpec("int", 1, 3),
    # declared before the key it depends on: drawing must still come after model.name
    "model.nonlinearity": ParamSpec("categorical", choices=("tanh", "relu"),
                                    when={"model.name": ("rnn",)}),
    "model.name": ParamSpec("categorical", choices=("rnn", "lstm")),
}


def configured(values):
    return lambda key: values[key]


def draws(space, lookup, n=40):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append(suggest(trial, space, lookup))
        study.tell(trial, 0.0)
    return out


def test_each_kind_of_dimension_stays_in_its_range():
    for v in draws(SPACE, configured({})):
        assert 1e-4 <= v["train.lr"] <= 1e-1
        assert v["model.dropout"] in (0.0, 0.1, 0.2, 0.3) or math.isclose(
            v["model.dropout"] % 0.1, 0, abs_tol=1e-9)
        assert v["model.hidden_size"] in (16, 32, 48, 64)
        assert v["model.num_layers"] in (1, 2, 3)
        assert v["model.name"] in ("rnn", "lstm")


def test_log_scale_spreads_over_decades():
    lrs = [v["train.lr"] for v in draws(SPACE, configured({}), n=60)]
    assert sum(lr < 1e-3 for lr in lrs) >= 10  # uniform on [1e-4, 1e-1] would give ~0.5


def test_a_conditional_parameter_is_drawn_exactly_when_its_condition_holds():
    values = draws(SPACE, configured({}))
    assert {v["model.name"] for v in values} == {"rnn", "lstm"}
    for v in values:
        assert ("model.nonlinearity" in v) == (v["model.name"] == "rnn")


@pytest.mark.parametrize(("cell", "drawn"), [("rnn", True), ("gru", False)])
def test_a_condition_on_an_unswept_key_reads_the_configured_value(cell, drawn):
    space = {k: s for k, s in SPACE.items() if k != "model.name"}
    for v in draws(space, configured({"model.name": cell}), n=5):
        assert ("model.nonlinearity" in v) is drawn


def test_grid_lists_every_active_combination_once():
    space = {
        "model.name": ParamSpec("categorical", choices=("rnn", "lstm")),
        "model.nonlinearity": ParamSpec("categorical", choices=("tanh", "relu"),
                                        when={"model.name": ("rnn",)}),
        "model.num_layers": ParamSpec("int", 1, 2),
        "model.dropout": ParamSpec("float", 0.0, 0.2, step=0.1),
    }
    points = grid(space, configured({}))
    # rnn: 2 nonlinearities x 2 depths x 3 dropouts; lstm: 2 x 3, no nonlinearity
    assert len(points) == 12 + 6
    assert len({tuple(sorted(p.items())) for p in points}) == len(points)
    assert all(("model.nonlinearity" in p) == (p["model.name"] == "rnn") for p in points)
    assert {p["model.dropout"] for p in points} == {0.0, 0.1, 0.2}


def test_grid_needs_a_finite_float():
    with pytest.raises(ConfigError, match=r"'sweep.space.train.lr'.*step"):
        grid({"train.lr": ParamSpec("float", 0.001, 0.1)}, configured({}))


def test_conditions_in_a_cycle_are_an_error():
    space = {"a.x": ParamSpec("categorical", choices=(1,), when={"a.y": (1,)}),
             "a.y": ParamSpec("categorical", choices=(1,), when={"a.x": (1,)})}
    with pytest.raises(ConfigError, match="cycle"):
        ordered(space)
