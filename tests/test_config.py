from pathlib import Path

import pytest

from rnnops.config import Config, fingerprint, flatten, to_dict, with_overrides
from rnnops.errors import ConfigError
from tests.conftest import load


def test_default_config_composes_into_typed_dataclasses():
    cfg = load()
    assert isinstance(cfg, Config)
    assert cfg.model.name == "lstm"
    assert cfg.data.lookback == 104 and cfg.data.horizon == 26
    assert isinstance(cfg.train.lr, float)
    assert cfg.sweep.params["train.lr"].log is True


@pytest.mark.parametrize(
    ("override", "key", "rule"),
    [
        ("train.lr=-1", "train.lr", "must be > 0"),
        ("model.hidden_size=0", "model.hidden_size", "must be >= 1"),
        ("data.horizon=0", "data.horizon", "must be >= 1"),
        ("model.dropout=1.5", "model.dropout", "must be in [0, 1)"),
        ("train.lr=abc", "train.lr", "expected a number"),
        ("data.missing=guess", "data.missing", "is not one of"),
        ("data.split.train=0.9", "data.split", "add up to"),
        ("train.loss=rmse", "train.loss", "must be mse, mae, huber or quantile"),
        ("train.ema=1", "train.ema", "must be in [0, 1)"),
        ("trainer.accelerator=tpu", "trainer.accelerator", "must be cpu, gpu, cuda, auto"),
        ("trainer.precision=half", "trainer.precision", "must be auto, 32-true"),
        ("paths.root=${oc.env:RNNOPS_NO_SUCH_VARIABLE}", "paths.root", "cannot be resolved"),
        ("tracking.experiment=co2-${data.nam}", "tracking.experiment", "'data.nam' not found"),
    ],
)
def test_invalid_values_name_their_key_and_rule(override, key, rule):
    with pytest.raises(ConfigError) as err:
        load(override)
    assert err.value.key == key
    message = str(err.value)
    assert message.startswith(f"config key '{key}'") and rule in message
    assert "\n" not in message


def test_a_language_model_keeps_cross_entropy():
    with pytest.raises(ConfigError, match="config key 'train.loss'.*cross-entropy"):
        load("data=tinyshakespeare", "train.loss=mae")


def test_unknown_key_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="valid keys here are .*lr"):
        load("+train.learning_rate=0.1")


def test_paths_follow_root(tmp_path):
    cfg = load(f"paths.root={tmp_path}")
    assert cfg.paths.root == tmp_path.resolve()
    assert cfg.paths.prepared == tmp_path / "data" / "prepared"
    assert cfg.paths.mlflow == tmp_path / "mlruns"
    absolute = load(f"paths.root={tmp_path}", "paths.logs=/var/tmp/logs")
    assert absolute.paths.logs == Path("/var/tmp/logs")


def test_with_overrides_revalidates_and_keeps_paths(tmp_path):
    cfg = load(f"paths.root={tmp_path}")
    tuned = with_overrides(cfg, {"train.lr": 0.01, "model.hidden_size": 32})
    assert tuned.train.lr == 0.01 and tuned.model.hidden_size == 32
    assert tuned.paths == cfg.paths  # re-loading absolute paths does not nest them
    with pytest.raises(ConfigError, match="train.lr"):
        with_overrides(cfg, {"train.lr": 0.0})
    with pytest.raises(ConfigError, match="names no config value"):
        with_overrides(cfg, {"train.nope": 1})


def test_flatten_and_fingerprint():
    cfg = load()
    flat = flatten(to_dict(cfg))
    assert flat["train.lr"] == cfg.train.lr and flat["model.name"] == "lstm"
    assert fingerprint(cfg, "model") == fingerprint(load("train.lr=0.01"), "model")
    assert fingerprint(cfg, "model") != fingerprint(load("model=gru"), "model")


def test_every_schema_default_is_the_value_conf_composes():
    """conf/ holds the defaults; the dataclasses repeat them only so that Python callers
    (ModelConfig(name="gru")) get the same settings as `rnnops` and dvc repro would."""
    import dataclasses
    from pathlib import Path

    from omegaconf import OmegaConf

    from rnnops.config import Config
    from tests.conftest import compose

    composed = OmegaConf.to_container(compose(), resolve=True)
    wrong = []

    def compare(cls, values, path):
        for f in dataclasses.fields(cls):
            key = f"{path}.{f.name}".lstrip(".")
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = dataclasses.MISSING
            if dataclasses.is_dataclass(default) or (
                    default is dataclasses.MISSING and isinstance(values[f.name], dict)
                    and dataclasses.is_dataclass(typing_type(cls, f.name))):
                compare(typing_type(cls, f.name), values[f.name], key)
                continue
            if default is dataclasses.MISSING:
                continue
            value = values[f.name]
            if isinstance(default, Path):
                value = Path(value)
            elif isinstance(default, tuple) and isinstance(value, list):
                value = tuple(value)
            if default != value:
                wrong.append(f"{key}: schema {default!r}, conf {value!r}")

    def typing_type(cls, name):
        import typing

        return typing.get_type_hints(cls)[name]

    compare(Config, composed, "")
    assert not wrong, "; ".join(wrong)
