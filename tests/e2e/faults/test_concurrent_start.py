"""Several `rnnops sweep` processes started together on fresh stores (the same paths.root and
study): each creates or opens the MLflow and Optuna SQLite files in turn (a file lock beside
each), all succeed, the study gets exactly its trials and one parent run."""

from __future__ import annotations

from collections import Counter

from optuna.trial import TrialState

from rnnops.sweep import queue as q
from tests.conftest import run_stage
from tests.e2e.conftest import TINY, tiny
from tests.e2e.faults.conftest import half_written, running_runs, start
from tests.e2e.test_sweep import study_of, trial_runs

WORKERS = 3
QUICK = ["sweep.n_trials=3", "sweep.max_epochs=1", "train.limit_batches=2", "sweep.pruner=none"]


def test_sweeps_started_together_on_fresh_stores_all_succeed(tmp_path):
    run_stage("prepare", tiny(tmp_path))
    assert not (tmp_path / "mlruns").exists() and not (tmp_path / "outputs/optuna").exists()
    sweeps = [start("sweep", f"paths.root={tmp_path}", *TINY, *QUICK) for _ in range(WORKERS)]
    errors = [p.communicate(timeout=600)[1] for p in sweeps]
    assert [p.returncode for p in sweeps] == [0] * WORKERS, errors
    for err in errors:  # MLflow's and Optuna's races, as they showed before the lock
        assert "duplicate column name" not in err and "UNIQUE constraint failed" not in err

    trials = study_of(tmp_path, *QUICK).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert sorted(q.ticket(t) for t in complete) == [0, 1, 2]  # none lost, none run twice
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # any other trial is a copy of a ticket that two workers queued at once and none ran
    assert all(t.system_attrs.get(q.DUPLICATE) for t in trials if t not in complete)

    _, parents, runs = trial_runs(tmp_path)
    assert len(parents) == 1  # one study, one parent run
    assert {r.data.tags["mlflow.parentRunId"] for r in runs.values()} == {parents[0].info.run_id}
    assert Counter(r.info.status for r in runs.values()) == {"FINISHED": len(complete)}
    assert running_runs(tmp_path) == [] and half_written(tmp_path) == []
