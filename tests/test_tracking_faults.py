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


@pytest.mark.parametrize("status,message", [
    (401, "the tracking server http://team:***@127.0.0.1:{port} refused the credentials (HTTP "
          "401); set the user and password in the URL or MLFLOW_TRACKING_USERNAME / "
          "MLFLOW_TRACKING_PASSWORD"),
    (404, "http://team:***@127.0.0.1:{port} answered HTTP 404 to MLflow's API: is it an MLflow "
          "tracking server?"),
])
def test_a_server_that_refuses_is_one_line_on_tracking_uri(tmp_path, status, message):
    """Wrong credentials (an MLflow server behind authentication answers 401), or a server
    that is no MLflow: one line on tracking.uri, the password masked, the store untouched."""
    import http.server
    import threading

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        cfg = load(f"paths.root={tmp_path}", f"tracking.uri=http://team:s3cret@127.0.0.1:{port}")
        with pytest.raises(tracking.ConfigError) as error:
            tracking.configure(cfg)
    finally:
        server.shutdown()
    assert str(error.value) == "config key 'tracking.uri': " + message.format(port=port)
    assert "s3cret" not in str(error.value) and not (tmp_path / "mlruns").exists()
