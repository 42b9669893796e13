"""train.resume=true after the training process was killed reaches the uninterrupted result; a
SIGTERM stops training with a failing exit status."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import torch

from rnnops.stages.train import checkpoint_key
from tests.conftest import ROOT, load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny

EPOCHS = ["train.max_epochs=10", "train.patience=10"]


def test_resume_after_kill_matches_an_uninterrupted_run(tmp_path, caplog):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        run_stage("prepare", tiny(root))
    run_stage("train", tiny(whole, *EPOCHS))
    expected = run_stage("evaluate", tiny(whole, *EPOCHS))

    overrides = [f"paths.root={killed}", *TINY, *EPOCHS]
    last = load(*overrides).paths.checkpoints / checkpoint_key(load(*overrides)) / "last.ckpt"
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), *overrides],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        if last.exists() and torch.load(last, weights_only=False)["epoch"] >= 3:
            break
        time.sleep(0.2)
    child.send_signal(signal.SIGKILL)
    child.wait()
    epochs_done = torch.load(last, weights_only=False)["epoch"]
    assert 3 <= epochs_done < 10, "the kill must land in the middle of training"
    assert not (killed / "models" / "train").exists()

    with caplog.at_level("INFO", logger="rnnops.training"):
        run_stage("train", tiny(killed, *EPOCHS, "train.resume=true"))
    # Training is deterministic, so a fresh start would reach the same result: check it resumed.
    assert f"resuming from {last}" in caplog.text
    assert "starting afresh" not in caplog.text
    assert run_stage("evaluate", tiny(killed, *EPOCHS)) == expected


def test_sigterm_stops_training_with_a_failing_status(tmp_path):
    """Lightning turns SIGTERM into an exit with status 0; DVC would take that for success."""
    run_stage("prepare", tiny(tmp_path))
    overrides = [f"paths.root={tmp_path}", *TINY, "train.max_epochs=500", "train.patience=500"]
    cfg = load(*overrides)
    last = cfg.paths.checkpoints / checkpoint_key(cfg) / "last.ckpt"
    child = subprocess.Popen(
        [sys.executable, str(ROOT / "pipelines" / "train.py"), *overrides],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None and not last.exists():
        time.sleep(0.2)
    assert child.poll() is None, "training must still be running when the signal comes"
    child.send_signal(signal.SIGTERM)
    output, _ = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM
    assert "training stopped by SIGTERM; no model written (train.resume=true" in output
    assert not (tmp_path / "models" / "train").exists()
    client = mlflow_client(tmp_path)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED"
