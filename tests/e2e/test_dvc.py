"""The project as a user drives it: dvc repro (twice), dvc exp run -S, and a Hydra multirun."""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny

BIN = Path(sys.executable).parent


def sh(cwd: Path, *cmd: str, timeout: int = 1800) -> str:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "ci", "GIT_AUTHOR_EMAIL": "ci@localhost",
           "GIT_COMMITTER_NAME": "ci", "GIT_COMMITTER_EMAIL": "ci@localhost"}
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(cmd)} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A fresh git clone of the working tree with a tiny params.yaml."""
    dest = tmp_path_factory.mktemp("project")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    compose = runpy.run_path(str(dest / "pipelines" / "compose_params.py"))["compose_params"]
    compose(dest / "params.yaml", TINY)
    sh(dest, "git", "init", "-q")
    sh(dest, "git", "add", "-A")
    sh(dest, "git", "commit", "-qm", "tiny")
    return dest


def test_dvc_repro_twice_does_no_work_the_second_time(project):
    first = sh(project, "dvc", "repro")
    for stage in ("prepare", "sweep", "train", "evaluate"):
        assert f"Running stage '{stage}'" in first
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["model"]["mse"] < metrics["last_value"]["mse"]
    lock = (project / "dvc.lock").read_text()

    second = sh(project, "dvc", "repro")
    assert "Running stage" not in second
    assert "up to date" in second
    assert (project / "dvc.lock").read_text() == lock
    shown = sh(project, "dvc", "metrics", "show")
    assert "model.mse" in shown and "last_value.mse" in shown


def test_dvc_exp_run_with_a_variant(project):
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "baseline results")
    sh(project, "dvc", "exp", "run", "-n", "gru-fast", "-S", "model=gru", "-S", "train.lr=0.003",
       *[arg for o in TINY if not o.startswith(("model.", "train.lr")) for arg in ("-S", o)])
    table = json.loads(sh(project, "dvc", "exp", "show", "--json"))
    experiments = [e for commit in table for e in (commit.get("experiments") or [])]
    runs = [r for e in experiments for r in e["revs"] if r.get("name") == "gru-fast"]
    assert runs, table
    data = runs[0]["data"]
    params = data["params"]["params.yaml"]["data"]
    assert params["model"]["name"] == "gru" and params["train"]["lr"] == 0.003
    metrics = data["metrics"]["reports/metrics.json"]["data"]
    assert metrics["model"]["mse"] > 0


def test_hydra_multirun_trains_three_models_as_three_runs(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    out = run_script("train", "-m", "model=rnn,lstm,gru", f"paths.root={tmp_path}", *TINY,
                     "train.max_epochs=2")
    assert out.returncode == 0, out.stderr
    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = client.search_runs([experiment.experiment_id], "tags.`rnnops.stage` = 'train'")
    assert sorted(r.data.params["model.name"] for r in runs) == ["gru", "lstm", "rnn"]
    assert all(r.info.status == "FINISHED" for r in runs)
    # a multirun's jobs log their runs but register no model (tracking.register=null)...
    assert client.search_model_versions("name = 'rnnops-co2-forecaster'") == []
    assert all(r.outputs.model_outputs for r in runs)  # ...though each logged its model
    out = run_script("train", "-m", "model=rnn", "tracking.register=true",
                     f"paths.root={tmp_path}", *TINY, "train.max_epochs=1")
    assert out.returncode == 0, out.stderr
    assert len(client.search_model_versions("name = 'rnnops-co2-forecaster'")) == 1
