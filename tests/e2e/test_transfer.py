"""train.init_from: training starts from a registered model's or a run's weights, recorded in
MLflow; train.freeze keeps the named parts as they came; a model of another shape is one line
with nothing written."""

from __future__ import annotations

import pytest
import torch

from rnnops.models.io import load_model
from tests.conftest import run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny

NAME = "rnnops-co2-forecaster"
SHORT = ["train.max_epochs=2", "train.patience=2", "train.limit_batches=10",
         "train.use_best_params=false"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A project with one registered forecaster (version 1) and its weights."""
    root = tmp_path_factory.mktemp("transfer")
    run_stage("prepare", tiny(root))
    info = run_stage("train", tiny(root, *SHORT))
    return root, info["run_id"], load_model(root / "models" / "train" / "model.pt").state_dict()


def trained(root):
    return load_model(root / "models" / "train" / "model.pt").state_dict()


@pytest.mark.parametrize("origin", ["models:/{name}/1", "runs:/{run}/model"])
def test_a_frozen_encoder_keeps_the_weights_it_started_from(source, origin):
    root, run_id, weights = source
    init = origin.format(name=NAME, run=run_id)
    info = run_stage("train", tiny(root, *SHORT, f"train.init_from={init}",
                                   "train.freeze=[encoder]"))
    after = trained(root)
    encoder = [k for k in after if ".encoder." in k]
    assert encoder and all(torch.equal(after[k], weights[k]) for k in encoder)
    assert not torch.equal(after["core.head.weight"], weights["core.head.weight"])
    run = mlflow_client(root).get_run(info["run_id"])
    assert run.data.tags["rnnops.init_from"] == init
    assert run.data.params["train.init_from"] == init


def test_another_shape_is_one_line_and_writes_nothing(source):
    root, *_ = source
    client = mlflow_client(root)
    experiment = client.get_experiment_by_name("rnnops-co2").experiment_id
    runs = len(client.search_runs([experiment]))
    model = (root / "models" / "train" / "model.pt").read_bytes()
    out = run_script("train", f"paths.root={root}", *TINY, *SHORT, "model.hidden_size=24",
                     f"train.init_from=models:/{NAME}/1")
    assert out.returncode == 2
    (line,) = [x for x in out.stderr.splitlines() if "error" in x]
    assert line == (
        "rnnops train: error: config key 'train.init_from': layer "
        "core.encoder.layers.0.0.weight_ih_l0 is (64, 1) in models:/rnnops-co2-forecaster/1 and "
        "(96, 1) in this model; train.init_strict=false loads only the layers that match")
    assert len(client.search_runs([experiment])) == runs
    assert (root / "models" / "train" / "model.pt").read_bytes() == model


def test_sweep_trials_start_from_the_weights_too(source, capsys):
    """A sweep's trials train from train.init_from as the train stage does: the same trial
    scores otherwise from random weights, and a trial whose network the weights do not fit
    stops the sweep on the layer, as it stops the train stage."""
    root, run_id, _ = source
    space = ["sweep.n_trials=1", "sweep.max_epochs=1", "sweep.space.model.hidden_size.high=16",
             "sweep.space.train.lr.low=1e-4", "sweep.space.train.lr.high=2e-4"]

    def trial(*extra):
        run_stage("sweep", tiny(root, *SHORT, *space, *extra))
        (line,) = (root / "models" / "sweep" / "trials.csv").read_text().splitlines()[1:]
        return line.split(",")

    fresh = trial()
    started = trial(f"train.init_from=models:/{NAME}/1")
    assert started[1] == "COMPLETE" and float(started[2]) != float(fresh[2])
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:  # a config error, not a failed trial
        trial(f"train.init_from=models:/{NAME}/1", "sweep.space.model.hidden_size.low=24",
              "sweep.space.model.hidden_size.high=24")
    assert stopped.value.code == 2
    assert "is (64, 1) in models:/rnnops-co2-forecaster/1 and (96, 1)" in capsys.readouterr().err
