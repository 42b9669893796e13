"""SIGTERM (a scheduler, `kill`, a container stop): training stops with a failing status and
writes no model; a sweep stops with its helper workers, and each interrupted trial is queued
again with its values, recorded as a retry."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.runner import MLFLOW_RUN, TAG_ERROR
from rnnops.training.checkpoints import folder_for
from tests.conftest import load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny
from tests.e2e.faults.conftest import half_written, running_runs, start, wait_for
from tests.e2e.test_sweep import running_trials, study_of, trial_runs


def test_sigterm_stops_training_with_a_failing_status(tmp_path):
    """Lightning turns SIGTERM into an exit with status 0; DVC would take that for success."""
    run_stage("prepare", tiny(tmp_path))
    overrides = [f"paths.root={tmp_path}", *TINY, "train.max_epochs=500", "train.patience=500"]
    cfg = load(*overrides)
    last = folder_for(cfg) / "last.ckpt"
    child = start("train", *overrides, stdout=subprocess.PIPE)  # Hydra logs to stdout
    wait_for(lambda: True if last.exists() else None, what="the first checkpoint",
             process=child)
    assert child.poll() is None, "training must still be running when the signal comes"
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 128 + signal.SIGTERM
    assert "training stopped by SIGTERM; no model written (train.resume=true" in out
    assert "Traceback" not in out + err
    assert not (tmp_path / "models" / "train").exists()
    client = mlflow_client(tmp_path)
    [run] = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FAILED"
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []


def test_sigterm_stops_the_sweep_and_its_helpers_and_queues_retries(tmp_path):
    """`kill PID` of a sweep with helpers: the helpers stop too, instead of the sweep waiting for
    them to finish the whole study; every interrupted trial gets a retry with its values."""
    run_stage("prepare", tiny(tmp_path))
    # trials long enough that a helper left alone would train for minutes after the signal
    overrides = ["sweep.workers=2", "sweep.n_trials=6", "sweep.max_epochs=400",
                 "train.patience=400", "train.limit_batches=6", "sweep.pruner=none"]
    sweep = start("sweep", f"paths.root={tmp_path}", *TINY, *overrides)

    def helper_mid_trial():
        return next((t for t in running_trials(tmp_path, overrides) if t.intermediate_values
                     and not t.user_attrs[q.WORKER].endswith(f":{sweep.pid}")), None)

    helper = wait_for(helper_mid_trial, what="a helper worker in mid-trial", process=sweep)
    sweep.send_signal(signal.SIGTERM)
    _, err = sweep.communicate(timeout=120)
    assert sweep.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    helper_pid = int(helper.user_attrs[q.WORKER].rsplit(":", 1)[1])
    with pytest.raises(ProcessLookupError):
        os.kill(helper_pid, 0)
    trials = study_of(tmp_path, *overrides).get_trials()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    # the interrupted trials are failed without an error of their own, each with a retry
    interrupted = [t for t in trials if t.state == TrialState.FAIL]
    assert helper.number in [t.number for t in interrupted]
    assert not any(q.ERROR in t.user_attrs for t in interrupted)
    retries = {t.system_attrs[q.RETRIES][-1]: t for t in trials
               if t.state == TrialState.WAITING and t.system_attrs.get(q.RETRIES)}
    assert sorted(retries) == sorted(t.number for t in interrupted)
    for t in interrupted:
        assert retries[t.number].params == t.params and q.ticket(retries[t.number]) == q.ticket(t)
    # tickets: each held once (finished or queued again), none lost
    held = [q.ticket(t) for t in trials if q.holds(t)]
    assert sorted(held) == list(range(6))
    _, sweeps, runs = trial_runs(tmp_path)
    assert len(sweeps) == 1
    for t in interrupted:
        run = runs[t.number]
        assert run.info.run_id == t.user_attrs[MLFLOW_RUN] and run.info.status == "FAILED"
        assert run.data.tags[TAG_ERROR].startswith("interrupted by a signal")
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []
