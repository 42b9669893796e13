"""A team's setup, on real servers started here on 127.0.0.1 (scripts/team_server.py):
PostgreSQL, an S3 store (moto's server mode) and `mlflow server` on both, proxying artifacts.
The default pipeline runs through DVC against them (a 2-worker sweep on the PostgreSQL study,
runs, models, plots and datasets on the tracking server, files in S3), its champion is served
from the server, and a second clone's `dvc pull` leaves `dvc repro` nothing to run."""

from __future__ import annotations

import io
import json
import os
import runpy
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import ROOT, run_stage
from tests.e2e.conftest import TINY, copy_project, tiny

NAME = "rnnops-co2-forecaster"


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    from scripts.team_server import Unavailable, team_servers

    try:
        with team_servers(tmp_path_factory.mktemp("team")) as servers:
            yield servers
    except Unavailable as exc:
        pytest.skip(str(exc))


def sh(project: Path, env: dict[str, str], *command: str, timeout: int = 900):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(command, cwd=project, env={**os.environ, **env, "PATH": path},
                          capture_output=True, text=True, timeout=timeout)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{done.args}: {done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def s3_keys(team, prefix: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=team.s3_endpoint,
                      aws_access_key_id=team.env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=team.env["AWS_SECRET_ACCESS_KEY"],
                      region_name=team.env["AWS_DEFAULT_REGION"])
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="rnnops", Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_the_pipeline_on_the_team_servers_and_a_second_clone(team, tmp_path):
    from mlflow import MlflowClient

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    copy_project(first)
    compose = runpy.run_path(str(first / "pipelines" / "compose_params.py"))["compose_params"]
    compose(first / "params.yaml", [*TINY, "tracking=server", f"tracking.uri={team.tracking_uri}",
                                    f"sweep.storage={team.sweep_storage}", "sweep.workers=2",
                                    "sweep.n_trials=4", "sweep.pruner=none",
                                    "train.limit_batches=20", "evaluate.backtest.folds=0",
                                    "evaluate.baselines=[last_value,linear]"])
    env = team.env
    # the README's team workflow: a DVC remote on the bucket, then repro and push
    ok(sh(first, env, "dvc", "remote", "add", "-d", "team", team.dvc_remote()))
    ok(sh(first, env, "dvc", "remote", "modify", "team", "endpointurl", team.s3_endpoint))
    ok(sh(first, env, "dvc", "repro"))
    ok(sh(first, env, "dvc", "push"))
    ok(sh(first, env, "git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit",
          "-qam", "results"))

    # everything reached the server, and its files the bucket (nothing under the project)
    client = MlflowClient(team.tracking_uri)
    experiment = client.get_experiment_by_name("rnnops-co2")
    assert experiment.artifact_location.startswith("mlflow-artifacts:/")
    runs = client.search_runs([experiment.experiment_id])
    stages = [r.data.tags.get("rnnops.stage") for r in runs]
    assert stages.count("train") == 1 and stages.count("sweep") == 1
    trials = [r for r in runs if r.data.tags.get("mlflow.parentRunId")]
    assert len(trials) == 4  # nested under the sweep's run
    (trained,) = [r for r in runs if r.data.tags.get("rnnops.stage") == "train"]
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert champion.run_id == trained.info.run_id
    keys = s3_keys(team, "mlflow/")
    assert any(k.endswith("data/service/model.onnx") for k in keys)
    assert any(k.endswith("evaluation/plots/forecast.png") for k in keys)
    assert not (first / "mlruns").exists()
    # the run page's Datasets panel and description
    digest = json.loads((first / "data" / "prepared" / "meta.json").read_text())["sha256"]
    inputs = {i.dataset.name: (i.dataset.digest, [t.value for t in i.tags])
              for i in trained.inputs.dataset_inputs}
    assert inputs == {"co2/train": (digest[:36], ["training"]),
                      "co2/val": (digest[:36], ["validation"]),
                      "co2/test": (digest[:36], ["testing"])}
    note = trained.data.tags["mlflow.note.content"]
    assert note.startswith("lstm (hidden") and "against the best baseline" in note

    # a colleague's forecast from the server's champion: predict, and a served model
    history = first / "history.csv"
    pd.DataFrame({"date": pd.date_range("1990-01-06", periods=120, freq="W-SAT"),
                  "co2": 350 + (pd.RangeIndex(120) % 52) / 10}).to_csv(history, index=False)
    server = ["tracking=server", f"tracking.uri={team.tracking_uri}"]
    done = sh(first, {}, "rnnops", "predict", "-i", str(history), *server)
    ok(done)
    assert pd.read_csv(io.StringIO(done.stdout))["step"].tolist() == list(range(1, 27))
    from scripts.team_server import free_port, service

    port = free_port()
    with service([str(Path(sys.executable).parent / "rnnops"), "serve", "--port", str(port),
                  *server],
                 f"http://127.0.0.1:{port}/ping", tmp_path / "serve.log",
                 {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                        f"{os.environ['PATH']}"}):
        body = {"dataframe_split": json.loads(pd.read_csv(history).to_json(orient="split",
                                                                          index=False))}
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations",
                                         data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            assert len(json.loads(answer.read())["predictions"]) == 26

    # a second clone pulls the data and models: nothing left to run
    ok(sh(tmp_path, {}, "git", "clone", "-q", str(first), str(second)))
    ok(sh(second, env, "dvc", "pull"))
    assert "up to date" in ok(sh(second, env, "dvc", "status"))
    assert "Running stage" not in ok(sh(second, env, "dvc", "repro"))


def test_an_unreachable_tracking_server_is_one_line_without_its_password(tmp_path):
    from scripts.team_server import free_port

    run_stage("prepare", tiny(tmp_path))
    secret = f"pw-{uuid.uuid4().hex[:8]}"
    url = f"http://team:{secret}@127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "rnnops.cli", "train", f"paths.root={tmp_path}", *TINY,
         f"tracking.uri={url}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    (line,) = [line for line in done.stderr.splitlines() if "error" in line]
    assert line == (
        "rnnops train: error: config key 'tracking.uri': cannot reach the tracking server "
        f"{url.replace(secret, '***')} (connection refused or host unknown); start it "
        "(docs/scaling.md) or fix the address")
    assert secret not in done.stdout + done.stderr
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "models" / "train").exists()


def test_a_password_in_the_tracking_url_is_used_and_never_written(team, tmp_path):
    """The server accepts any credentials; the URL with a password is used for every request
    and masked wherever rnnops writes it."""
    secret = f"pw-{uuid.uuid4().hex[:8]}"
    url = team.tracking_uri.replace("http://", f"http://team:{secret}@")
    run_stage("prepare", tiny(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "rnnops.cli", "train", f"paths.root={tmp_path}", *TINY,
         "train.max_epochs=1", "train.limit_batches=4", "tracking.experiment=masking",
         f"tracking.uri={url}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert secret not in done.stdout + done.stderr
    assert [p for p in tmp_path.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()
            ] == []
    assert [p for p in team.folder.rglob("*") if p.is_file()
            and secret.encode() in p.read_bytes()] == []
    from mlflow import MlflowClient

    client = MlflowClient(team.tracking_uri)
    (run,) = client.search_runs([client.get_experiment_by_name("masking").experiment_id])
    assert run.data.params["tracking.uri"] == url.replace(secret, "***")
    assert not any(secret in v for v in run.data.tags.values())
