"""The Hydra sweeper's override syntax as search-space dimensions, and values back again."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from hydra_plugins.rnnops_optuna_sweeper.search_space import as_value, dimension, split
from rnnops.config import ParamSpec
from rnnops.errors import ConfigError

PARSER = OverridesParser.create()


def parse(*overrides: str):
    return PARSER.parse_overrides(list(overrides))


@pytest.mark.parametrize(("override", "spec"), [
    ("model=choice(lstm,gru)", ParamSpec("categorical", choices=("lstm", "gru"))),
    ("train.batch_size=32,64,'128'", ParamSpec("categorical", choices=(32, 64, "128"))),
    ("train.lr=tag(log,interval(1e-4,1e-1))", ParamSpec("float", 1e-4, 1e-1, log=True)),
    ("model.dropout=interval(0,0.5)", ParamSpec("float", 0.0, 0.5)),
    ("model.hidden_size=tag(int,interval(8,64))", ParamSpec("int", 8, 64)),
    ("model.num_layers=range(1,4)", ParamSpec("int", 1, 3, step=1)),
    ("model.hidden_size=range(16,65,16)", ParamSpec("int", 16, 64, step=16)),
])
def test_sweep_overrides_become_dimensions(override, spec):
    (parsed,) = parse(override)
    assert dimension(parsed) == spec


@pytest.mark.parametrize(("override", "message"), [
    ("train.lr=tag(log,interval(0,1))", "log-scale interval needs low > 0"),
    ("train.lr=tag(log,range(1,4))", "cannot be log-scale"),
    ("train.lr=tag(fancy,interval(1,4))", "unknown tag 'fancy'"),
    ("model.hidden_size=range(5,1)", "is empty"),
])
def test_bad_sweeps_name_their_key(override, message):
    (parsed,) = parse(override)
    with pytest.raises(ConfigError, match=message) as err:
        dimension(parsed)
    assert err.value.key == override.split("=")[0]


def test_fixed_overrides_pass_through_and_the_later_one_wins():
    space, fixed = split(parse("paths.root=/tmp/x y", "train.lr=0.01", "data=etth1",
                               "train.lr=interval(0.001,0.1)", "model=lstm,gru", "model=gru"))
    assert set(space) == {"train.lr"}
    assert [o.get_key_element() for o in parse(*fixed)] == ["paths.root", "data", "model"]
    assert [o.value() for o in parse(*fixed)] == ["/tmp/x y", "etth1", "gru"]


@pytest.mark.parametrize("value", [0.001, 3e-07, 64, -2, "lstm", "seq2seq-gru", "a b", "true",
                                   "1.5", "it's", True, False, None])
def test_values_read_back_as_themselves(value):
    (parsed,) = parse(f"key={as_value(value)}")
    assert parsed.value() == value and type(parsed.value()) is type(value)
