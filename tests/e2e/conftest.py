"""End-to-end runs on a tiny configuration, all outputs in a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys

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


def pytest_collection_modifyitems(items):
    for item in items:
        if "e2e" in str(item.fspath):
            item.add_marker(pytest.mark.slow)
