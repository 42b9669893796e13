"""End-to-end runs on a tiny configuration, all outputs in a temporary folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, compose

# Small enough for a 2-core machine, large enough to beat the last-value forecast on CO2.
TINY = [
    "model.hidden_size=16",
    "train.lr=0.01",
    "train.max_epochs=12",
    "train.patience=4",
    "sweep.n_trials=3",
    "sweep.max_epochs=3",
    "sweep.n_startup_trials=2",
    "sweep.space.model.hidden_size.high=24",
    "sweep.space.model.num_layers.high=1",
    "trainer.progress_bar=false",
    # Tiny models do not beat the seasonal-naive forecast on validation, which the champion gate
    # asks before a version takes the alias: off here, on in tests/e2e/faults/test_divergence.py.
    "evaluate.champion_gate=none",
]


def tiny(root, *extra: str):
    return compose(f"paths.root={root}", *TINY, *extra)


def run_script(stage: str, *overrides: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """A pipeline script in a child process, as DVC or a user runs it."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, str(ROOT / "pipelines" / f"{stage}.py"), *overrides],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env,
    )


def mlflow_client(root):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL server on 127.0.0.1 for the module (trust authentication, so a URL with any
    password connects): {"url": URL of its database `optuna`, "folder": its data folder}."""
    from scripts.team_server import Unavailable, postgres

    try:
        with postgres(("optuna",)) as (server, folder):
            yield {"url": f"{server}/optuna", "folder": folder}
    except Unavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def postgres_url(postgres_server):
    return postgres_server["url"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


def copy_project(to: Path) -> None:
    """The checkout's files (what git tracks or would add) in a new repository."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (to / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, to / name)
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=to, check=True)
    subprocess.run(["git", "add", "-A"], cwd=to, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=to, check=True)
