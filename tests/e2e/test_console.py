"""What `rnnops run` prints when its output is not a terminal (a log file, CI): where it is
(stage, trial k/n, epoch k/n) in at most one line per epoch, and no warnings a user can do
nothing about, no progress-bar control codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT

SMALL = ["train.max_epochs=3", "train.patience=3", "sweep.n_trials=2", "sweep.max_epochs=2",
         "sweep.n_startup_trials=1", "evaluate.backtest.folds=1", "model.hidden_size=8",
         "train.limit_batches=4"]


def test_the_pipeline_says_where_it_is_in_few_lines(tmp_path):
    out = subprocess.run([sys.executable, "-m", "rnnops.cli", "run", f"paths.root={tmp_path}",
                          *SMALL], cwd=ROOT, capture_output=True, text=True, timeout=900,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"})
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    lines = text.splitlines()
    assert "\x1b[" not in text  # no colours or progress bars into a file
    assert not [line for line in lines if re.search(r"\w+Warning\b", line)], text
    epochs = [line for line in lines if re.search(r"\] epoch \d+/\d+: ", line)]
    assert len(epochs) == 2 * 2 + 3  # one line per epoch: 2 trials x 2 epochs, then 3
    assert [re.search(r"epoch (\d+)/(\d+)", e).groups() for e in epochs[-3:]] == [
        ("1", "3"), ("2", "3"), ("3", "3")]
    assert any(re.search(r"trial 1/2: ", line) for line in lines)
    assert any(re.search(r"trial 2/2 (complete|pruned): ", line) for line in lines)
    assert len([line for line in lines if "training with threads" in line]) == 1
    assert len(lines) < 45, text  # the whole pipeline, every stage
