"""The MLflow store after faults: a run whose process died is closed by the next stage that opens
the store, a model whose logging failed is removed, and the champion gate keeps the alias."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import psutil
import pytest

from rnnops import tracking
from tests.conftest import load, log_forecaster


@pytest.fixture
def store(tmp_path):
    cfg = load(f"paths.root={tmp_path}")
    experiment = tracking.configure(cfg)
    return cfg, experiment


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_runs_of_dead_processes_on_this_machine_are_closed_and_others_left(store):
    import mlflow
    from mlflow import MlflowClient

    cfg, experiment = store
    client = MlflowClient()
    host = socket.gethostname()
    parent = os.getppid()
    live = {tracking.TAG_HOST: host, tracking.TAG_PID: str(parent),
            tracking.TAG_PID_STARTED: f"{psutil.Process(parent).create_time():.2f}"}
    runs = {
        "dead": {tracking.TAG_HOST: host, tracking.TAG_PID: str(dead_pid()),
                 tracking.TAG_PID_STARTED: "1.00"},
        "reused pid": {**live, tracking.TAG_PID_STARTED: "1.00"},  # same pid, another process
        "alive": live,
        "other machine": {tracking.TAG_HOST: "elsewhere", tracking.TAG_PID: "1"},
        "untagged": {},
    }
    ids = {name: client.create_run(experiment, run_name=name, tags=tags).info.run_id
           for name, tags in runs.items()}
    pending = mlflow.initialize_logged_model("model", source_run_id=ids["dead"],
                                             experiment_id=experiment)

    tracking.configure(cfg)  # what every stage does first

    status = {name: client.get_run(i).info.status for name, i in ids.items()}
    assert status == {"dead": "KILLED", "reused pid": "KILLED", "alive": "RUNNING",
                      "other machine": "RUNNING", "untagged": "RUNNING"}
    why = client.get_run(ids["dead"]).data.tags[tracking.TAG_CLOSED]
    assert why.startswith(f"its process {host}:{runs['dead'][tracking.TAG_PID]} ended without "
                          "closing it")
    # the model it was logging when it died is gone (deleted models are not found)
    found = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list")
    assert pending.model_id not in [m.model_id for m in found]


def test_a_failure_while_logging_leaves_no_model_and_a_failed_run(store, monkeypatch):
    import mlflow
    from mlflow import MlflowClient
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

    from rnnops.data.prepared import PreparedData
    from rnnops.models.build import build_model
    from tests.training.test_runtime import sines

    cfg, experiment = store
    data: PreparedData = sines()
    model = build_model(cfg.model, 2, 2, 5, 20, [0, 1])
    real = LocalArtifactRepository.log_artifacts

    def disk_full(self, local_dir, artifact_path=None):
        real(self, local_dir, artifact_path)  # the files land, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(LocalArtifactRepository, "log_artifacts", disk_full)
    with pytest.raises(OSError, match="No space left"):
        with tracking.run("train") as run_id, tracking.discarded_on_error(run_id):
            log_forecaster(model, data, 20, 5, "disk-full-forecaster")
    client = MlflowClient()
    assert client.get_run(run_id).info.status == "FAILED"
    models = mlflow.search_logged_models(experiment_ids=[experiment], output_format="list")
    assert models == []  # deleted ones are not listed
    assert client.search_model_versions("name = 'disk-full-forecaster'") == []
    artifacts = cfg.paths.mlflow / "artifacts"
    assert not [p for p in artifacts.rglob("*") if p.is_file()]
