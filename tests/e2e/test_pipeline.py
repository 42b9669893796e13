"""prepare -> sweep -> train -> evaluate on CO2, in process, twice with the same seed."""

from __future__ import annotations

import json

import pytest
import yaml

from rnnops.cli import STAGES
from tests.conftest import run_stage
from tests.e2e.conftest import mlflow_client, tiny


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    cfg = tiny(root)
    results = {stage: run_stage(stage, cfg) for stage in STAGES}
    return root, results


def test_outputs_are_written(pipeline):
    root, _ = pipeline
    for path in [
        "data/prepared/train.npy", "data/prepared/val.npy", "data/prepared/test.npy",
        "data/prepared/meta.json",
        "models/sweep/best_params.yaml", "models/sweep/trials.csv",
        "models/train/model.pt", "models/train/history.csv", "models/train/run.json",
        "reports/metrics.json", "reports/plots/forecast.png", "reports/plots/forecast.csv",
        "reports/plots/learning_curve.png",
    ]:
        assert (root / path).is_file(), path
    assert not list(root.rglob(".*.tmp-*")), "temporary outputs left behind"
    meta = json.loads((root / "data/prepared/meta.json").read_text())
    assert meta["missing_values"] == 59 and meta["rows"] == 2284  # CO2's real gaps, filled
    best = yaml.safe_load((root / "models/sweep/best_params.yaml").read_text())
    assert best["model"] == "lstm" and set(best["params"]) == {
        "train.lr", "model.hidden_size", "model.num_layers", "model.dropout", "train.l2"}


def test_metrics_file_and_model_beats_last_value(pipeline):
    root, results = pipeline
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert set(metrics) == {"model", "last_value", "seasonal_naive", "window_mean", "linear",
                            "ets", "arima"}
    for values in metrics.values():
        names = {"mse", "mae", "rmse", "smape", "mase"}
        intervals = {"coverage_80", "width_80", "coverage_95", "width_95", "pinball", "crps"}
        assert set(values) == names | {f"{n}_original" for n in names} | intervals
    assert metrics == results["evaluate"]
    assert metrics["model"]["mse"] < metrics["last_value"]["mse"]
    assert metrics["model"]["mae_original"] < metrics["last_value"]["mae_original"]


def test_mlflow_has_the_sweep_with_nested_trials_and_the_registered_model(pipeline):
    root, results = pipeline
    client = mlflow_client(root)
    experiment = client.get_experiment_by_name("rnnops-co2")
    assert experiment.artifact_location.startswith((root / "mlruns").as_uri())
    runs = client.search_runs([experiment.experiment_id])
    by_stage: dict[str, list] = {}
    for run in runs:
        by_stage.setdefault(run.data.tags.get("rnnops.stage", "trial"), []).append(run)
    (sweep,) = by_stage["sweep"]
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == sweep.info.run_id]
    assert len(trials) == 3
    assert {t.data.tags["optuna.trial_state"] for t in trials} <= {"COMPLETE", "PRUNED"}
    assert all("train.lr" in t.data.params for t in trials)

    (train,) = by_stage["train"]
    assert train.info.run_id == results["train"]["run_id"]
    assert train.info.status == "FINISHED"
    assert train.data.params["model.name"] == "lstm"
    assert train.data.tags["rnnops.data_sha256"]
    assert train.data.tags["rnnops.git_commit"]
    assert train.data.tags["rnnops.evaluated_at_commit"]  # evaluate reported into this run
    assert train.data.metrics["test/mse"] == pytest.approx(results["evaluate"]["model"]["mse"])
    assert "test/last_value/mse" in train.data.metrics
    history = client.get_metric_history(train.info.run_id, "val/loss")
    assert len(history) == results["train"]["epochs_run"]
    artifacts = {a.path for a in client.list_artifacts(train.info.run_id)}
    assert {"config.yaml", "evaluation", "history.csv"} <= artifacts

    version = client.get_model_version("rnnops-co2-forecaster", results["train"]["model_version"])
    assert version.run_id == train.info.run_id


def test_same_seed_gives_the_same_test_metrics(pipeline, tmp_path):
    root, results = pipeline
    cfg = tiny(tmp_path)
    run_stage("prepare", cfg)
    (tmp_path / "models").mkdir()
    # same best params as the first run, so only training itself is compared
    import shutil

    shutil.copytree(root / "models/sweep", tmp_path / "models/sweep")
    run_stage("train", cfg)
    again = run_stage("evaluate", cfg)
    assert again == results["evaluate"]
