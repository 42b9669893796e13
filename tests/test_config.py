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
        ("train.loss=rmse", "train.loss", "must be mse, mae or huber"),
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
