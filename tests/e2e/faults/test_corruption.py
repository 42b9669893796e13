"""Bytes flipped or cut in files the stages read: the prepared arrays, the trained model, the
checkpoints a resume reads and the served model's files in the artifact store. Each reader stops
with one line naming the file and how to get a good copy back, before any work and before it
writes or logs anything."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rnnops.training.checkpoints import folder_for
from tests.conftest import ROOT, load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny
from tests.e2e.faults.conftest import error_line, half_written, running_runs

FAST = ["train.max_epochs=1", "train.limit_batches=2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("corruption")
    run_stage("prepare", tiny(root))
    run_stage("train", tiny(root, *FAST))
    return root


class Damaged:
    """A file changed for the length of a `with` block, then restored byte for byte."""

    def __init__(self, path, change):
        self.path, self.change = path, change

    def __enter__(self):
        self.original = self.path.read_bytes()
        self.path.write_bytes(self.change(self.original))
        return self.path

    def __exit__(self, *exc):
        self.path.write_bytes(self.original)


def flip(data: bytes, at: float = 0.5) -> bytes:
    out = bytearray(data)
    out[int(len(out) * at)] ^= 0x10
    return bytes(out)


def truncate(data: bytes) -> bytes:
    return data[: len(data) // 2]


def counts(root):
    client = mlflow_client(root)
    experiments = [e.experiment_id for e in client.search_experiments()]
    return len(client.search_runs(experiments)), len(client.search_registered_models())


def test_a_changed_prepared_array_stops_every_stage_that_reads_it(trained, capsys):
    root = trained
    before = counts(root)
    remedy = ("rebuild it with `dvc repro -f prepare` (or restore DVC's copy with `dvc checkout "
              f"{root / 'data/prepared'}`")
    with Damaged(root / "data/prepared/train.npy", flip) as path:
        done = run_script("train", f"paths.root={root}", *TINY, *FAST)  # a real process
        assert done.returncode == 2
        line = error_line(done.stderr, "train")
        assert line.startswith(f"rnnops train: error: {path}: does not match the sha256 prepare "
                               "recorded in") and remedy in line
        for stage in ("sweep", "evaluate"):  # the same check, in this process
            with pytest.raises(SystemExit) as stop:
                run_stage(stage, tiny(root, *FAST))
            assert stop.value.code == 2
            assert capsys.readouterr().err.strip().startswith(
                f"rnnops {stage}: error: {path}: does not match the sha256")
    assert counts(root) == before  # no run started, nothing registered
    assert not (root / "models/sweep").exists() and not (root / "reports").exists()
    assert running_runs(root) == [] and half_written(root) == []


def test_a_truncated_model_file_is_one_line_naming_it(trained, capsys):
    root = trained
    with Damaged(root / "models/train/model.pt", truncate) as path:
        with pytest.raises(SystemExit) as stop:
            run_stage("evaluate", tiny(root, *FAST))
        assert stop.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"rnnops evaluate: error: {path}: does not match the sha256 train recorded in "
            f"{root / 'models/train/run.json'} (changed or corrupted since); restore it with "
            f"`dvc checkout {root / 'models/train'}`, or train again (`dvc repro -f train`)")
    assert not (root / "reports").exists()


def test_a_resume_with_no_good_checkpoint_is_one_line(trained, capsys):
    root = trained
    cfg = load(f"paths.root={root}", *TINY, *FAST)
    folder = folder_for(cfg)
    with Damaged(folder / "last.ckpt", truncate), Damaged(folder / "best.ckpt", flip):
        with pytest.raises(SystemExit) as stop:
            run_stage("train", tiny(root, *FAST, "train.resume=true"))
        assert stop.value.code == 2
        line = capsys.readouterr().err.strip().splitlines()[-1]
        assert line == (f"rnnops train: error: {folder / 'last.ckpt'}: does not match the sha256 "
                        f"recorded when it was written, and {folder} holds no earlier good "
                        "checkpoint; set train.resume=false to train from the start")
    assert running_runs(root) == []


def test_a_damaged_served_model_file_is_one_line_naming_it(trained, tmp_path):
    root = trained
    history = tmp_path / "history.csv"
    pd.DataFrame({"co2": np.linspace(350, 360, 150)}).to_csv(history, index=False)
    (served,) = (root / "mlruns").rglob("service/model.pt")

    def predict():
        return subprocess.run(
            [sys.executable, "-m", "rnnops.cli", "predict", "-i", str(history), "-m",
             "rnnops-co2-forecaster/1", f"paths.root={root}"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"})

    with Damaged(served, flip):
        done = predict()
        assert done.returncode == 2, done.stderr
        assert error_line(done.stderr, "predict") == (
            f"rnnops predict: error: {served}: does not match the sha256 recorded when the model "
            "was logged (changed or corrupted in the artifact store); log the model again (run "
            "the train stage) or restore the store from a backup")
    done = predict()  # restored: it forecasts again
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(__import__("io").StringIO(done.stdout))) == 26
