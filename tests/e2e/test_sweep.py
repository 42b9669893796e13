"""The sweep stage on CO2: pruning that really prunes, resuming, failed trials and bad input
stopped with one line. A killed or stopped worker: tests/e2e/faults/."""

from __future__ import annotations

import statistics

import optuna
import pytest
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.pruning import PRUNED_AT
from rnnops.sweep.runner import PARENT_RUN
from rnnops.sweep.storage import default_url, open_storage
from rnnops.sweep.study import study_name
from rnnops.tasks import task_for
from tests.conftest import load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny

# One swept value, learning rates that are plainly good (1e-2) or plainly useless (1e-6):
# after two epochs a useless one has not moved while a good one has.
LR_ONLY = ["~sweep.space.model", "~sweep.space.train.l2", "sweep.space.train.lr.type=categorical",
           "+sweep.space.train.lr.choices=[0.01,0.02,1e-6,3e-7]"]
PRUNING = ["sweep.sampler=grid", "sweep.n_trials=4", "sweep.pruner=median",
           "sweep.n_startup_trials=1", "sweep.warmup_epochs=2", "sweep.max_epochs=3",
           "train.patience=3", *LR_ONLY]


def study_of(root, *overrides):
    cfg = load(f"paths.root={root}", *TINY, *overrides)
    storage = open_storage(cfg.sweep.storage or default_url(cfg.paths.optuna))
    return optuna.load_study(study_name=study_name(cfg, task_for(cfg).load(cfg).meta["sha256"]),
                             storage=storage)


def trial_runs(root):
    client = mlflow_client(root)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = client.search_runs([experiment.experiment_id])
    sweeps = [r for r in runs if r.data.tags.get("rnnops.stage") == "sweep"]
    trials = {int(r.data.tags["optuna.trial"]): r for r in runs if "optuna.trial" in r.data.tags}
    return client, sweeps, trials


def test_pruning_stops_the_hopeless_trials_and_mlflow_agrees(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    summary = run_stage("sweep", tiny(tmp_path, *PRUNING))

    study = study_of(tmp_path, *PRUNING)
    trials = study.get_trials()
    by_state = {s: [t for t in trials if t.state == s] for s in TrialState}
    assert len(trials) == 4 and summary["trials"] == {
        "COMPLETE": len(by_state[TrialState.COMPLETE]), "PRUNED": len(by_state[TrialState.PRUNED])}
    assert by_state[TrialState.PRUNED], "no trial was pruned"
    # the grid runs 1e-6, 0.02, 3e-7, 0.01 (shuffled by the seed): the second useless rate meets
    # a median that a good rate has pulled down, and stops at the first epoch it may be judged
    assert {t.params["train.lr"] for t in by_state[TrialState.PRUNED]} >= {3e-7}
    for t in by_state[TrialState.PRUNED]:
        assert t.user_attrs[PRUNED_AT] == 2 == t.user_attrs["epochs"] == len(t.intermediate_values)
        earlier = [c.intermediate_values[2] for c in by_state[TrialState.COMPLETE]
                   if c.number < t.number]
        assert min(t.intermediate_values.values()) > statistics.median(earlier)
    assert all(t.user_attrs["epochs"] == 3 for t in by_state[TrialState.COMPLETE])
    assert summary["params"]["train.lr"] in (0.01, 0.02)
    assert min(t.value for t in by_state[TrialState.COMPLETE]) == summary["value"]

    client, sweeps, runs = trial_runs(tmp_path)
    (parent,) = sweeps
    assert sorted(runs) == [t.number for t in trials]
    for t in trials:
        run = runs[t.number]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["optuna.trial_state"] == t.state.name
        assert run.info.status == "FINISHED"
        assert len(client.get_metric_history(run.info.run_id, "val/loss")) == t.user_attrs["epochs"]
        assert run.data.params["train.lr"] == str(t.params["train.lr"])
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "sweep/plots")}
    assert plots == {f"sweep/plots/{n}.png" for n in
                     ("optimization_history", "param_importances", "parallel_coordinate")}
    table = (tmp_path / "models/sweep/trials.csv").read_text().splitlines()
    assert len(table) == 5 and table[0].startswith("number,state,value,epochs,pruned_at_epoch")


def test_rerunning_resumes_the_study_and_adds_only_the_missing_trials(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    fast = ["sweep.max_epochs=1", "sweep.n_trials=2"]
    run_stage("sweep", tiny(tmp_path, *fast))
    first = {t.number: (t.params, t.datetime_complete)
             for t in study_of(tmp_path, *fast).get_trials()}
    assert len(first) == 2

    run_stage("sweep", tiny(tmp_path, *fast))  # same budget: nothing to do
    assert len(study_of(tmp_path, *fast).get_trials()) == 2
    summary = run_stage("sweep", tiny(tmp_path, "sweep.max_epochs=1", "sweep.n_trials=3"))
    trials = study_of(tmp_path, *fast).get_trials()
    assert len(trials) == 3 and summary["trials"] == {"COMPLETE": 3}
    assert {t.number: (t.params, t.datetime_complete) for t in trials[:2]} == first

    _, sweeps, runs = trial_runs(tmp_path)
    (parent,) = sweeps  # one MLflow parent run per study, reopened by each rerun
    assert sorted(runs) == [0, 1, 2]
    assert {r.data.tags["mlflow.parentRunId"] for r in runs.values()} == {parent.info.run_id}
    assert study_of(tmp_path, *fast).user_attrs[PARENT_RUN]["run_id"] == parent.info.run_id

    # a parent run deleted in MLflow is not reopened: the rerun logs to a new one
    client, _, _ = trial_runs(tmp_path)
    client.delete_run(parent.info.run_id)
    run_stage("sweep", tiny(tmp_path, "sweep.max_epochs=1", "sweep.n_trials=3"))
    (new_parent,) = [r for r in trial_runs(tmp_path)[1] if r.info.lifecycle_stage == "active"]
    assert new_parent.info.run_id != parent.info.run_id
    assert study_of(tmp_path, *fast).user_attrs[PARENT_RUN]["run_id"] == new_parent.info.run_id


def test_a_diverging_trial_fails_with_its_error_and_never_wins(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    overrides = ["sweep.sampler=grid", "sweep.max_epochs=1", "train.gradient_clip=0",
                 *LR_ONLY[:3], "+sweep.space.train.lr.choices=[0.01,1e30]"]
    summary = run_stage("sweep", tiny(tmp_path, *overrides))
    assert summary["trials"] == {"COMPLETE": 1, "FAIL": 1}
    assert summary["params"] == {"train.lr": 0.01}
    (failed,) = study_of(tmp_path, *overrides).get_trials(states=(TrialState.FAIL,))
    assert failed.params == {"train.lr": 1e30}
    assert failed.user_attrs[q.ERROR].startswith("TrainingDiverged: ")
    assert "loss is nan" in failed.user_attrs[q.ERROR] or "inf" in failed.user_attrs[q.ERROR]
    _, _, runs = trial_runs(tmp_path)
    run = runs[failed.number]
    assert run.info.status == "FAILED" and run.data.tags["optuna.trial_state"] == "FAIL"
    assert run.data.tags["rnnops.error"] == failed.user_attrs[q.ERROR]


def running_trials(root, overrides):
    try:
        return study_of(root, *overrides).get_trials(states=(TrialState.RUNNING,))
    except KeyError:  # the study does not exist yet
        return []


def running_trial_of(root, overrides, pid, mid_training=False):
    def check():
        for t in running_trials(root, overrides):
            if t.user_attrs.get(q.WORKER, "").endswith(f":{pid}") and (
                    t.intermediate_values or not mid_training):
                return t
        return None
    return check


@pytest.mark.parametrize(("override", "expected"), [
    ("sweep.storage=postgresql://rnnops:s3cret@127.0.0.1:1/optuna",
     "rnnops sweep: error: config key 'sweep.storage': cannot open postgresql://rnnops:***@"),
    ("sweep.sampler=bayes",
     "rnnops sweep: error: config key 'sweep.sampler': 'bayes' is not one of tpe, random"),
    ("~sweep.space",
     "rnnops sweep: error: config key 'sweep.space': missing; add it to the config"),
])
def test_bad_sweep_input_is_one_line_and_writes_nothing(tmp_path, override, expected):
    out = run_script("sweep", override, f"paths.root={tmp_path}")
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(expected), out.stderr
    assert "Traceback" not in out.stderr and "s3cret" not in out.stderr
    assert not (tmp_path / "models").exists()


def test_the_pipeline_skips_a_sweep_train_would_not_read(tmp_path, monkeypatch):
    """Under dvc repro (pipelines/sweep.py) with train.use_best_params=false the sweep stage runs
    no trials: its folder holds only a note (DVC's output), an earlier sweep's best parameters
    are gone with it, and no study is created. `rnnops sweep` still sweeps."""
    import rnnops.stages.sweep

    sweep_dir = tmp_path / "models" / "sweep"
    sweep_dir.mkdir(parents=True)
    (sweep_dir / "best_params.yaml").write_text("params: {train.lr: 0.1}\n")
    done = run_script("sweep", f"paths.root={tmp_path}", "train.use_best_params=false")
    assert done.returncode == 0, done.stderr
    assert "sweep skipped: train.use_best_params=false" in done.stderr + done.stdout
    assert [p.name for p in sweep_dir.iterdir()] == ["skipped.txt"]
    assert not (tmp_path / "outputs" / "optuna").exists()
    assert not (tmp_path / "data" / "prepared").exists()  # it did not even need the data

    asked = []
    monkeypatch.setattr(rnnops.stages.sweep, "sweep", lambda cfg: asked.append(cfg))
    run_stage("sweep", tiny(tmp_path, "train.use_best_params=false"))  # as `rnnops sweep`
    assert len(asked) == 1
