"""Two worker processes fill one study held by a real PostgreSQL server (Debian's binaries,
started here on 127.0.0.1 for this module)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.objective import load_data
from rnnops.sweep.storage import open_storage
from rnnops.sweep.study import study_name
from tests.conftest import load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny


def server_binaries() -> Path | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all(os.access(f"{folder}/{tool}", os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(folder)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    bindir = server_binaries()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian "
                    "package postgresql (make system-packages)")
    folder = Path(tempfile.mkdtemp(prefix="rnnops-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the server as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def pg(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    pg(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
       "--no-sync")
    pg(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
       "-o", f"-h 127.0.0.1 -p {port} -k {folder} -F", "start")
    try:
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE optuna")
        yield f"postgresql://postgres@127.0.0.1:{port}/optuna"
    finally:
        pg(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def test_two_workers_fill_a_postgresql_study_with_exactly_12_trials(tmp_path, postgres_url):
    overrides = ["sweep.workers=2", "sweep.n_trials=12", "sweep.max_epochs=2",
                 "train.limit_batches=6", "sweep.pruner=none", f"sweep.storage={postgres_url}"]
    run_stage("prepare", tiny(tmp_path))
    summary = run_stage("sweep", tiny(tmp_path, *overrides))

    cfg = load(f"paths.root={tmp_path}", *TINY, *overrides)
    name = study_name(cfg, load_data(cfg).meta["sha256"])
    study = optuna.load_study(study_name=name, storage=open_storage(postgres_url))
    trials = study.get_trials()
    assert summary["trials"] == {"COMPLETE": 12}
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 12  # none lost, none extra
    assert sorted(t.number for t in trials) == list(range(12))
    assert sorted(q.ticket(t) for t in trials) == list(range(12))
    workers = Counter(t.user_attrs[q.WORKER] for t in trials)
    assert len(workers) == 2, workers  # both processes ran trials

    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = client.search_runs([experiment.experiment_id], "tags.`optuna.trial` != ''")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in runs) == list(range(12))
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 1
