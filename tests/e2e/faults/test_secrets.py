"""A password given in a URL-valued key (here sweep.storage, a real PostgreSQL server) is used but
never written: not in MLflow's params, tags or artifacts, not in Hydra's records of the job, not
in trials.csv or the logs; no file under the project root, in the MLflow store or in the server's
own files holds it. The masked URL still names the user, host, port and database."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from tests.conftest import run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny
from tests.e2e.faults.conftest import running_runs, start

QUICK = ["sweep.n_trials=2", "sweep.max_epochs=1", "train.limit_batches=2", "sweep.pruner=none",
         "train.max_epochs=1"]


def files_holding(folder: Path, secret: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret in p.read_bytes()]


def test_a_password_in_a_url_is_masked_everywhere_it_is_written(tmp_path, postgres_server):
    secret = f"pw-{uuid.uuid4().hex[:12]}"
    url = postgres_server["url"].replace("postgres@", f"postgres:{secret}@")
    shown = postgres_server["url"].replace("postgres@", "postgres:***@")
    run_stage("prepare", tiny(tmp_path))
    outputs = []
    for stage in ("sweep", "train"):
        process = start(stage, f"paths.root={tmp_path}", *TINY, *QUICK, f"sweep.storage={url}",
                        stdout=subprocess.PIPE)
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        outputs.append(out + err)

    assert not [text for text in outputs if secret in text]  # the logs, console and job files
    assert files_holding(tmp_path, secret.encode()) == []  # outputs, MLflow store, .hydra, logs
    assert files_holding(postgres_server["folder"], secret.encode()) == []  # the study's server

    # what was written instead: the URL without its password
    overrides = sorted(tmp_path.glob("outputs/logs/runs/*/.hydra/overrides.yaml"))
    assert len(overrides) == 2 and all(f"sweep.storage={shown}" in p.read_text()
                                       for p in overrides)
    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    for stage in ("sweep", "train"):
        (run,) = client.search_runs([experiment.experiment_id],
                                    f"tags.`rnnops.stage` = '{stage}'")
        assert run.data.params["sweep.storage"] == shown
    assert running_runs(tmp_path) == []
