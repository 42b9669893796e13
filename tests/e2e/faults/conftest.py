"""The fault-injection suite: one module per fault class (docs/reliability.md lists them). Each
starts real processes, injects the fault for real, and checks what every fault must leave: the
exit code, one line saying what to do, nothing half-written, no MLflow run left RUNNING."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.e2e.conftest import mlflow_client

ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def start(stage: str, *overrides: str, stdout=subprocess.DEVNULL, env=None) -> subprocess.Popen:
    """A pipeline script in its own process group (as a shell job or `dvc repro` runs it), so a
    fault can hit the whole group."""
    return subprocess.Popen([sys.executable, str(ROOT / "pipelines" / f"{stage}.py"), *overrides],
                            cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True,
                            env=env or ENV, start_new_session=True)


def kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=120)


def wait_for(condition, timeout: float = 300, what: str = "condition",
             process: subprocess.Popen | None = None):
    """Poll `condition` until it returns something; fails at once if `process` ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := condition()) is not None:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the process ended (status {process.returncode}) before "
                                 f"{what}: {process.stderr.read() if process.stderr else ''}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def epochs_checkpointed(last: Path, epochs: int):
    """A wait_for condition: the training whose last checkpoint is `last` has saved `epochs`
    epochs (None until then, also while the file is not there yet: it appears by a rename)."""
    import torch

    def saved():
        try:
            return True if torch.load(last, weights_only=False)["epoch"] >= epochs else None
        except (OSError, RuntimeError, EOFError):
            return None

    return saved


def running_runs(root: Path) -> list:
    client = mlflow_client(root)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments, "attributes.status = 'RUNNING'") if experiments else []


def error_line(stderr: str, stage: str) -> str:
    """The one line a stage prints for a fault it reports (MLflow's own INFO lines about
    creating its tables may come before it); no traceback."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith(f"rnnops {stage}: ")]
    assert len(lines) == 1, stderr
    assert stderr.rstrip().endswith(lines[0]), stderr
    return lines[0]


def half_written(root: Path) -> list[Path]:
    """Temporary outputs (rnnops.atomic.staged, checkpoint writes) left behind."""
    return [p for p in root.rglob("*") if ".tmp-" in p.name]
