"""The trial queue on real Optuna storages: exact budgets, failures, duplicates, dead workers."""

from __future__ import annotations

import threading
import time
from collections import Counter

import optuna
import pytest
from optuna.trial import TrialState

from rnnops.sweep import queue as q
from rnnops.sweep.algorithms import SamplerSpec
from rnnops.sweep.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make(storage=None, name="s", sampler=None, **budget):
    storage = storage or optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name=name, storage=storage, load_if_exists=True)
    budget = {"n_trials": 5, "heartbeat_s": 0.05, "grace_s": 0.5, **budget}
    return q.TrialQueue(study, storage, q.Budget(**budget), sampler)


def objective(trial):
    x = trial.suggest_float("x", -1, 1)
    trial.study.tell(trial, x * x)


def run_each(queue, fn=objective):
    def run(trials):
        for trial in trials:
            fn(trial)
    return run


def states(queue):
    return Counter(t.state.name for t in queue.study.get_trials())


def test_exactly_n_trials_each_ticket_once():
    queue = make()
    queue.work(run_each(queue))
    trials = queue.study.get_trials()
    assert states(queue) == {"COMPLETE": 5}
    assert sorted(q.ticket(t) for t in trials) == [0, 1, 2, 3, 4]
    assert all(t.user_attrs[q.WORKER] == q.worker_name() for t in trials)


def test_rerun_and_a_larger_budget_add_only_the_missing_trials():
    storage = optuna.storages.InMemoryStorage()
    first = make(storage, n_trials=3)
    first.work(run_each(first))
    before = {t.number: t.datetime_complete for t in first.study.get_trials()}
    again = make(storage, n_trials=3)
    assert again.top_up() == 0
    again.work(run_each(again))
    assert len(again.study.get_trials()) == 3
    more = make(storage, n_trials=5)
    more.work(run_each(more))
    trials = more.study.get_trials()
    assert states(more) == {"COMPLETE": 5}
    assert {t.number: t.datetime_complete for t in trials if t.number in before} == before


def test_a_trial_that_raises_is_failed_with_its_error_and_the_study_goes_on():
    queue = make()

    def flaky(trial):
        if q.ticket(trial.study.get_trials(deepcopy=False)[trial.number]) == 1:
            queue.fail(trial, "ValueError: no good")
        else:
            objective(trial)

    queue.work(run_each(queue, flaky))
    assert states(queue) == {"COMPLETE": 4, "FAIL": 1}
    (failed,) = queue.study.get_trials(states=(TrialState.FAIL,))
    assert failed.user_attrs[q.ERROR] == "ValueError: no good"
    assert queue.top_up() == 0  # a failed trial used its ticket: no replacement


def test_an_interrupted_trial_is_failed_and_retried_with_its_values():
    """SIGTERM (Lightning's SystemExit, a KeyboardInterrupt) in mid-trial: as for a dead worker,
    the trial is failed without an error of its own and a retry with its values takes its
    ticket, recorded as a retry of it."""
    queue = make(n_trials=2, sampler=SamplerSpec("random", 3, 0))

    def interrupted(trials):
        for trial in trials:
            trial.suggest_float("x", -1, 1)
        raise SystemExit(143)

    with pytest.raises(SystemExit):
        queue.work(interrupted)
    (abandoned,) = queue.study.get_trials(states=(TrialState.FAIL,))
    assert q.ERROR not in abandoned.user_attrs
    (retry,) = [t for t in queue.study.get_trials(states=(TrialState.WAITING,))
                if t.system_attrs.get(q.RETRIES)]
    assert retry.system_attrs[q.RETRIES] == [abandoned.number]
    assert retry.params == abandoned.params and q.ticket(retry) == q.ticket(abandoned)
    queue.work(run_each(queue))
    assert states(queue) == {"COMPLETE": 2, "FAIL": 1}
    done = {q.ticket(t): t for t in queue.study.get_trials(states=(TrialState.COMPLETE,))}
    assert done[q.ticket(abandoned)].params == abandoned.params

    # a seeded study interrupted this way draws what an uninterrupted one draws
    whole = make(n_trials=2, sampler=SamplerSpec("random", 3, 0))
    whole.work(run_each(whole))
    assert {q.ticket(t): t.params for t in whole.study.get_trials()} == {
        k: t.params for k, t in done.items()}


def test_a_duplicated_ticket_runs_once():
    queue = make(n_trials=3)
    queue.top_up()
    # a second coordinator topping up at the same moment queues the same tickets again
    for k in (0, 2):
        queue.study.add_trial(optuna.trial.create_trial(
            state=TrialState.WAITING, system_attrs={q.TICKET: k}))
    queue.work(run_each(queue))
    complete = queue.study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(q.ticket(t) for t in complete) == [0, 1, 2]
    dups = [t for t in queue.study.get_trials() if t.system_attrs.get(q.DUPLICATE)]
    assert len(dups) == 2 and all(t.state == TrialState.FAIL for t in dups)


def take_and_die(queue):
    """A worker takes a ticket, draws its values and dies: its heartbeat stops."""
    trial, trial_id = queue.claim()
    trial.suggest_float("x", -1, 1)
    queue.storage.set_trial_system_attr(trial_id, q.HEARTBEAT, time.time() - 60)
    return trial.number, trial.params


def test_a_dead_workers_trial_is_failed_and_retried_with_the_same_values():
    queue = make(n_trials=2, max_retries=1)
    queue.top_up()
    dead_number, dead_params = take_and_die(queue)
    reaped = queue.reap()
    assert [t.number for t in reaped] == [dead_number]
    dead = queue.study.get_trials()[dead_number]
    assert dead.state == TrialState.FAIL and q.ERROR not in dead.user_attrs
    (retry,) = [t for t in queue.study.get_trials(states=(TrialState.WAITING,))
                if t.system_attrs.get(q.RETRIES)]
    assert retry.system_attrs[q.RETRIES] == [dead_number]
    assert q.ticket(retry) == q.ticket(dead) and retry.params == dead_params

    queue.work(run_each(queue))
    complete = queue.study.get_trials(states=(TrialState.COMPLETE,))
    assert sorted(q.ticket(t) for t in complete) == [0, 1]
    (rerun,) = [t for t in complete if t.system_attrs.get(q.RETRIES)]
    assert rerun.params == dead_params


def test_after_max_retries_the_ticket_is_drawn_afresh():
    queue = make(n_trials=1, max_retries=0)
    queue.top_up()
    dead_number, _ = take_and_die(queue)
    queue.work(run_each(queue))
    trials = queue.study.get_trials()
    assert [t.state.name for t in trials] == ["FAIL", "COMPLETE"]
    assert not trials[1].system_attrs.get(q.RETRIES)


def test_a_live_trial_is_not_reaped_while_its_heartbeat_beats():
    queue = make(n_trials=1, heartbeat_s=0.05, grace_s=0.3)
    queue.top_up()
    trial, trial_id = queue.claim()
    with q.Heartbeat(queue.storage, [trial_id], 0.05):
        time.sleep(0.8)
        assert queue.reap() == []
    beat = queue.study.get_trials()[0].system_attrs[q.HEARTBEAT]
    assert time.time() - beat < 0.3


def test_stop_leaves_the_rest_queued():
    queue = make(n_trials=4)
    done = []
    queue.work(run_each(queue, lambda t: (objective(t), done.append(t.number))),
               stop=lambda: len(done) >= 2)
    assert states(queue) == {"COMPLETE": 2, "WAITING": 2}


def test_grid_tickets_carry_their_values():
    points = [{"x": 0.25}, {"x": -0.5}, {"x": 1.0}]
    queue = make(n_trials=3, fixed=points)
    queue.work(run_each(queue))
    got = {q.ticket(t): t.params["x"] for t in queue.study.get_trials()}
    assert got == {0: 0.25, 1: -0.5, 2: 1.0}


def test_values_depend_on_the_seed_and_trial_number_only(tmp_path):
    def values(seed):
        url = f"sqlite:///{tmp_path / f'seed{seed}-{time.monotonic_ns()}.db'}"
        queue = make(open_storage(url), sampler=SamplerSpec("random", seed, 0))
        queue.work(run_each(queue))
        return [t.params["x"] for t in queue.study.get_trials()]

    assert values(7) == values(7) != values(8)


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_threads_sharing_a_study_run_exactly_n(tmp_path, kind):
    url = (f"sqlite:///{tmp_path / 'optuna.db'}" if kind == "sqlite"
           else f"journal:{tmp_path / 'optuna.log'}")
    make(open_storage(url), n_trials=12).top_up()
    errors = []

    def worker():
        try:
            queue = make(open_storage(url), n_trials=12, heartbeat_s=1, grace_s=30)
            queue.work(run_each(queue, lambda t: (time.sleep(0.01), objective(t))))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    study = optuna.load_study(study_name="s", storage=open_storage(url))
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(study.get_trials()) == 12
    assert sorted(q.ticket(t) for t in complete) == list(range(12))
