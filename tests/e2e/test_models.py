"""Every model config in conf/model trains and evaluates through the real stages (2 epochs on
CO2): each one is selectable by name alone, as `dvc exp run -S model=NAME` would select it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, run_stage
from tests.e2e.conftest import tiny

MODELS = sorted(p.stem for p in (ROOT / "conf" / "model").glob("*.yaml"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    run_stage("prepare", tiny(root))
    return root


def test_every_model_config_is_listed():
    assert {"rnn", "lstm", "peephole_lstm", "gru", "gru_classic", "mingru", "minlstm",
            "seq2seq", "segrnn"} <= set(MODELS)


@pytest.mark.parametrize("model", MODELS)
def test_model_trains_and_evaluates(prepared, model):
    cfg = tiny(prepared, f"model={model}", "train.max_epochs=2", "train.use_best_params=false",
               "model.segrnn.segment_length=13")  # 13 divides CO2's lookback 104 and horizon 26
    result = run_stage("train", cfg)
    assert result["epochs_run"] == 2
    metrics = run_stage("evaluate", cfg)
    assert metrics == json.loads((prepared / "reports/metrics.json").read_text())
    assert 0 < metrics["model"]["mse"] < 10 * metrics["last_value"]["mse"]
