"""`python pipelines/train.py -m hydra/sweeper=optuna ...`: an Optuna study whose trials are train
jobs, pruned inside the job, with the basic launcher (in process) and submitit's local executor
(a process per trial, as on SLURM; the joblib launcher's documented sweep runs in
tests/e2e/test_docs_commands.py)."""

from __future__ import annotations

import statistics

import optuna
import yaml
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.pruning import PRUNED_AT
from rnnops.sweep.storage import open_storage
from tests.conftest import run_stage
from tests.e2e.conftest import TINY, mlflow_client, run_script, tiny

# Grid order (shuffled by the seed): 1e-6, 0.02, 3e-7, 0.01. A useless rate cannot beat a median
# that a good rate has pulled down, and the second useless one meets such a median.
SWEEP = ["-m", "tracking.register=true", "hydra/sweeper=optuna", "hydra.sweeper.sampler=grid",
         "hydra.sweeper.n_trials=4",
         "hydra.sweeper.pruner=median", "hydra.sweeper.n_startup_trials=1",
         "hydra.sweeper.warmup_epochs=2", *TINY, "train.max_epochs=3", "train.patience=3",
         "train.lr=choice(0.01,0.02,1e-6,3e-7)"]


def sweep(root, *extra):
    run_stage("prepare", tiny(root))
    storage = f"sqlite:///{root / 'hydra-optuna.db'}"
    out = run_script("train", *SWEEP, f"paths.root={root}", f"hydra.sweeper.storage={storage}",
                     "hydra.sweeper.study_name=lr", *extra)
    assert out.returncode == 0, out.stderr[-3000:]
    return optuna.load_study(study_name="lr", storage=open_storage(storage))


def check_study_against_mlflow(root, study):
    trials = study.get_trials()
    assert len(trials) == 4 and sorted(t.params["train.lr"] for t in trials) == [
        3e-7, 1e-6, 0.01, 0.02]
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(pruned) + len(complete) == 4
    assert 3e-7 in {t.params["train.lr"] for t in pruned}
    for t in pruned:  # the job reported each epoch to the shared study and stopped when told
        assert t.user_attrs[PRUNED_AT] == 2 == len(t.intermediate_values)
        before = [c.intermediate_values[2] for c in complete
                  if c.datetime_complete < t.datetime_complete]
        assert min(t.intermediate_values.values()) > statistics.median(before)
    for t in complete:
        assert len(t.intermediate_values) == 3

    client = mlflow_client(root)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = {int(r.data.tags["optuna.trial"]): r for r in client.search_runs(
        [experiment.experiment_id], "tags.`rnnops.stage` = 'train'")}
    assert sorted(runs) == [t.number for t in trials]
    for t in trials:
        run = runs[t.number]
        assert float(run.data.params["train.lr"]) == t.params["train.lr"]
        assert run.data.tags["optuna.study"] == "lr"
        history = client.get_metric_history(run.info.run_id, "val/loss")
        assert [m.value for m in history] == [t.intermediate_values[e + 1]
                                              for e in range(len(history))]
    for t in pruned:
        assert runs[t.number].data.tags["optuna.trial_state"] == "PRUNED"
    for t in complete:
        assert runs[t.number].data.metrics["best_val/loss"] == t.value
    # pruned jobs register no model
    versions = client.search_model_versions("name = 'rnnops-co2-forecaster'")
    assert sorted(v.run_id for v in versions) == sorted(runs[t.number].info.run_id
                                                        for t in complete)

    (results_file,) = root.glob("outputs/logs/multirun/*/optimization_results.yaml")
    results = yaml.safe_load(results_file.read_text())
    best = min(complete, key=lambda t: t.value)
    assert results["best_value"] == best.value and results["best_params"] == best.params
    assert results["trials"] == {"COMPLETE": len(complete), "PRUNED": len(pruned)}


def test_basic_launcher_prunes_jobs_in_this_process(tmp_path):
    study = sweep(tmp_path)
    check_study_against_mlflow(tmp_path, study)
    assert len({t.user_attrs[q.WORKER] for t in study.get_trials()}) == 1


def test_submitit_launcher_prunes_jobs_in_their_own_processes(tmp_path):
    """The launcher SLURM uses (hydra/launcher=slurm), here with its local executor: each trial
    a process of its own, reporting to the shared study and pruned there."""
    study = sweep(tmp_path, "hydra/launcher=submitit_local", "hydra.sweeper.n_jobs=2",
                  "train.lr=choice(0.01,1e-6,0.02,3e-7)")
    check_study_against_mlflow(tmp_path, study)
    assert len({t.user_attrs[q.WORKER] for t in study.get_trials()}) == 4
    assert len(list(tmp_path.glob("outputs/logs/multirun/*/.submitit/*/*_0_log.out"))) == 4


def test_rerun_resumes_the_study_without_new_trials(tmp_path):
    fast = ["hydra.sweeper.pruner=none", "train.max_epochs=1"]
    study = sweep(tmp_path, "hydra.sweeper.n_trials=2", *fast)
    first = [(t.number, t.datetime_complete) for t in study.get_trials()]
    again = sweep(tmp_path, "hydra.sweeper.n_trials=3", *fast)
    trials = again.get_trials()
    assert [(t.number, t.datetime_complete) for t in trials[:2]] == first
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)


def test_bad_sweeper_options_are_one_line(tmp_path):
    for option, expected in [
        ("hydra.sweeper.sampler=bayes",
         "config key 'hydra.sweeper.sampler': unknown sampler 'bayes'; valid: tpe, random"),
        ("hydra.sweeper.storage=redis://localhost",
         "config key 'hydra.sweeper.storage': 'redis://localhost' is no storage URL"),
        ("train.loss=choice(mse,mae)", "config key 'train.loss': cannot be searched"),
        ("data.lookback=choice(52,104)", "config key 'data.lookback': cannot be searched: "
         "every trial trains on the data the prepare stage made"),
    ]:
        out = run_script("train", "-m", "hydra/sweeper=optuna", "train.lr=interval(0.001,0.1)",
                         f"paths.root={tmp_path}", option)
        lines = [line for line in out.stderr.splitlines() if line.strip()]
        assert out.returncode == 2 and "Traceback" not in out.stderr
        assert len(lines) == 1, out.stderr
        assert lines[0].startswith(f"rnnops optuna sweeper: error: {expected}")


def test_language_model_jobs_report_each_epoch_and_carry_the_trial_tags(tmp_path):
    (tmp_path / "story.txt").write_text("the cat sat on the mat and the dog ran\n" * 300)
    text = ["data=text", f"data.path={tmp_path / 'story.txt'}", "data.level=char"]
    run_stage("prepare", tiny(tmp_path, *text))
    storage = f"sqlite:///{tmp_path / 'hydra-optuna.db'}"
    out = run_script("train", "-m", "hydra/sweeper=optuna", "hydra.sweeper.sampler=grid",
                     "hydra.sweeper.n_trials=2", "hydra.sweeper.pruner=median",
                     f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=lm",
                     *text, "model.hidden_size=16", "train.batch_size=8", "train.bptt=16",
                     "train.max_epochs=2", "train.lr=choice(0.01,0.02)", f"paths.root={tmp_path}")
    assert out.returncode == 0, out.stderr[-3000:]
    trials = optuna.load_study(study_name="lm", storage=open_storage(storage)).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:  # the pruning callback reported every epoch to the shared study
        assert sorted(t.intermediate_values) == [1, 2]
    client = mlflow_client(tmp_path)
    runs = client.search_runs([client.get_experiment_by_name("rnnops-text").experiment_id],
                              "tags.`rnnops.stage` = 'train'")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in runs) == [t.number for t in trials]
    assert {r.data.tags["optuna.study"] for r in runs} == {"lm"}
