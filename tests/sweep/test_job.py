"""A Hydra sweep job finds its trial from the environment and reports to the shared study."""

from __future__ import annotations

from types import SimpleNamespace

import optuna
import pytest
import torch
from optuna.trial import TrialState

from rnnops.names import VAL_LOSS
from rnnops.sweep import job
from rnnops.sweep import queue as q
from rnnops.sweep.algorithms import PrunerSpec, SamplerSpec
from rnnops.sweep.pruning import PRUNED_AT
from rnnops.sweep.storage import open_storage
from rnnops.sweep.study import load_or_create

PRUNER = PrunerSpec("median", n_startup_trials=1, warmup_epochs=0)


def trainer(epoch: int, loss: float, max_epochs: int = 10):
    """What the callback reads from Lightning's Trainer after a validation."""
    return SimpleNamespace(current_epoch=epoch, max_epochs=max_epochs, sanity_checking=False,
                           should_stop=False, callback_metrics={VAL_LOSS: torch.tensor(loss)})


@pytest.fixture
def running_trial(tmp_path, monkeypatch):
    """A study with one finished trial (val/loss 0.3 after one epoch, 0.1 after two) and one
    that the sweeper took, its identity in the environment as the sweeper sets it."""
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    storage = open_storage(url)
    study = load_or_create("hydra", storage, SamplerSpec("random", 0, 0), PRUNER)
    study.add_trial(optuna.trial.create_trial(value=0.1, intermediate_values={1: 0.3, 2: 0.1},
                                              params={}, distributions={}))
    queue = q.TrialQueue(study, storage, q.Budget(n_trials=1))
    queue.top_up()
    trial, _ = queue.claim()
    monkeypatch.setenv(job.ENV, job.encode(url, "hydra", trial.number, PRUNER))
    return study, trial.number


def test_outside_a_sweep_the_job_is_inert(monkeypatch):
    monkeypatch.delenv(job.ENV, raising=False)
    current = job.current()
    assert not job.in_sweep_job()
    assert current.callbacks == [] and current.tags == {} and current.pruned_at is None


def test_a_job_reports_every_epoch_and_is_pruned_by_the_studys_pruner(running_trial):
    study, number = running_trial
    current = job.current()
    assert job.in_sweep_job()
    assert current.tags == {"optuna.study": "hydra", "optuna.trial": str(number)}
    (callback,) = current.callbacks

    good = trainer(epoch=0, loss=0.2)  # better than the median after one epoch (0.3): goes on
    callback.on_validation_end(good, None)
    assert not good.should_stop and current.pruned_at is None

    bad = trainer(epoch=1, loss=0.15)  # its best (0.15) is worse than 0.1 after two: stopped
    callback.on_validation_end(bad, None)
    assert bad.should_stop and current.pruned_at == 2

    last = trainer(epoch=2, loss=0.9, max_epochs=3)  # the last epoch is never pruned
    callback.on_validation_end(last, None)
    assert not last.should_stop and current.pruned_at == 2

    frozen = study.get_trials()[number]
    assert frozen.state == TrialState.RUNNING  # the sweeper, not the job, tells the outcome
    assert frozen.intermediate_values == pytest.approx({1: 0.2, 2: 0.15, 3: 0.9})
    assert frozen.user_attrs[PRUNED_AT] == 2
    assert frozen.user_attrs[q.WORKER] == q.worker_name()
