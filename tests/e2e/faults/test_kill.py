"""kill -9 of the process group: of a training (train.resume=true reaches the uninterrupted
result and continues the same MLflow run, closed as KILLED meanwhile) and of a sweep worker (its
trial is failed and retried with the same values; no trial lost or duplicated)."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
import yaml
from optuna.trial import TrialState

from rnnops import tracking
from rnnops.sweep import queue as q
from rnnops.sweep.runner import MLFLOW_RUN
from rnnops.tracking import RUN_RECORD, TAG_RESUMED
from rnnops.training.checkpoints import folder_for
from tests.conftest import load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny
from tests.e2e.faults.conftest import (
    epochs_checkpointed,
    half_written,
    kill_group,
    running_runs,
    start,
    wait_for,
)
from tests.e2e.test_sweep import running_trial_of, study_of, trial_runs

# Ten short epochs, and an evaluation without the slow statistical baselines: what is compared is
# the network's result after a resume, not the baselines'.
EPOCHS = ["train.max_epochs=10", "train.patience=10", "train.limit_batches=20",
          "evaluate.baselines=[last_value]", "evaluate.backtest.folds=0"]


def test_resume_after_kill_continues_the_run_and_matches_an_uninterrupted_one(tmp_path, caplog):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    for root in (whole, killed):
        run_stage("prepare", tiny(root))
    run_stage("train", tiny(whole, *EPOCHS))
    expected = run_stage("evaluate", tiny(whole, *EPOCHS))

    overrides = [f"paths.root={killed}", *TINY, *EPOCHS]
    folder = folder_for(load(*overrides))
    last = folder / "last.ckpt"
    child = start("train", *overrides)

    wait_for(epochs_checkpointed(last, 3), what="three epochs checkpointed", process=child)
    kill_group(child)
    epochs_done = torch.load(last, weights_only=False)["epoch"]
    assert 3 <= epochs_done < 10, "the kill must land in the middle of training"
    assert not (killed / "models" / "train").exists()
    (orphan,) = running_runs(killed)  # what kill -9 leaves: the run can close itself no more
    assert (folder / RUN_RECORD).is_file()

    with caplog.at_level("INFO"):
        info = run_stage("train", tiny(killed, *EPOCHS, "train.resume=true"))
    # Training is deterministic, so a fresh start would reach the same result: check it resumed.
    assert f"resuming from {last}" in caplog.text
    assert "starting afresh" not in caplog.text
    assert run_stage("evaluate", tiny(killed, *EPOCHS)) == expected

    # the same MLflow run, closed as KILLED by the resumed stage, continued to the end
    assert info["run_id"] == orphan.info.run_id
    client = mlflow_client(killed)
    run = client.get_run(info["run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags[tracking.TAG_CLOSED].startswith(
        f"its process {orphan.data.tags[tracking.TAG_HOST]}:{child.pid} ended without closing")
    assert run.data.tags[TAG_RESUMED] == str(last)
    # its curve has every epoch that history.csv has, with the same values
    history = pd.read_csv(killed / "models/train/history.csv")
    logged = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "val/loss")}
    assert sorted(logged) == history["epoch"].tolist()
    assert [logged[e] for e in history["epoch"]] == pytest.approx(history["val_loss"].tolist(),
                                                                 rel=1e-6)
    assert len(client.search_runs([run.info.experiment_id])) == 1
    assert running_runs(killed) == [] and half_written(killed) == []


def test_a_killed_worker_s_trial_is_failed_retried_and_the_study_completes(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    # enough epochs that the victim is still mid-trial when it is seen there; the survivor
    # starts only after the kill, so a fast survivor cannot finish the study first (CI's quiet
    # machine did exactly that when both ran at once)
    overrides = ["sweep.n_trials=2", "sweep.max_epochs=10", "train.patience=10",
                 "train.limit_batches=6", "sweep.pruner=none", "sweep.heartbeat_s=1",
                 "sweep.grace_s=4"]
    victim = start("sweep", f"paths.root={tmp_path}", *TINY, *overrides)
    dead = wait_for(running_trial_of(tmp_path, overrides, victim.pid, mid_training=True),
                    what="the first worker in mid-trial", process=victim)
    kill_group(victim)
    assert {r.data.tags.get("rnnops.stage", "trial") for r in running_runs(tmp_path)} == {
        "sweep", "trial"}  # the parent run and the trial's, both orphaned
    survivor = start("sweep", f"paths.root={tmp_path}", *TINY, *overrides)  # joins the study
    _, err = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, err

    trials = study_of(tmp_path, *overrides).get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert [t.number for t in failed] == [dead.number] and q.ERROR not in failed[0].user_attrs
    assert sorted(q.ticket(t) for t in complete) == [0, 1]  # none lost, none twice
    (retry,) = [t for t in complete if t.system_attrs.get(q.RETRIES)]
    assert retry.system_attrs[q.RETRIES] == [dead.number]
    assert retry.params == dead.params and q.ticket(retry) == q.ticket(dead)
    assert retry.user_attrs[q.WORKER].endswith(f":{survivor.pid}")

    _, sweeps, runs = trial_runs(tmp_path)
    assert len(sweeps) == 1  # the survivor went on in the study's one parent run
    dead_run = runs[dead.number]
    assert dead_run.info.run_id == failed[0].user_attrs[MLFLOW_RUN]
    assert dead_run.info.status == "FAILED" and dead_run.data.tags["optuna.trial_state"] == "FAIL"
    best = yaml.safe_load((tmp_path / "models/sweep/best_params.yaml").read_text())
    assert best["trials"] == {"COMPLETE": 2, "FAIL": 1}
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []
