"""Two worker processes fill one study held by a real PostgreSQL server (Debian's binaries,
started here on 127.0.0.1 for this module)."""

from __future__ import annotations

from collections import Counter

import optuna
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.storage import open_storage
from rnnops.sweep.study import study_name
from rnnops.tasks import task_for
from tests.conftest import load, run_stage
from tests.e2e.conftest import TINY, mlflow_client, tiny


def test_two_workers_fill_a_postgresql_study_with_exactly_12_trials(tmp_path, postgres_url):
    # Trials long enough (about a second each) that a busy machine still lets the second
    # worker, which starts together with the first, take some of them.
    overrides = ["sweep.workers=2", "sweep.n_trials=12", "sweep.max_epochs=3",
                 "train.limit_batches=20", "sweep.pruner=none", f"sweep.storage={postgres_url}"]
    run_stage("prepare", tiny(tmp_path))
    summary = run_stage("sweep", tiny(tmp_path, *overrides))

    cfg = load(f"paths.root={tmp_path}", *TINY, *overrides)
    name = study_name(cfg, task_for(cfg).load(cfg).meta["sha256"])
    study = optuna.load_study(study_name=name, storage=open_storage(postgres_url))
    trials = study.get_trials()
    assert summary["trials"] == {"COMPLETE": 12}
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 12  # none lost, none extra
    assert sorted(t.number for t in trials) == list(range(12))
    assert sorted(q.ticket(t) for t in trials) == list(range(12))
    workers = Counter(t.user_attrs[q.WORKER] for t in trials)
    assert len(workers) == 2, workers  # both processes ran trials

    client = mlflow_client(tmp_path)
    experiment = client.get_experiment_by_name("rnnops-co2")
    runs = client.search_runs([experiment.experiment_id], "tags.`optuna.trial` != ''")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in runs) == list(range(12))
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["mlflow.parentRunId"] for r in runs}) == 1
