"""The trial queue: exactly n_trials trials however many workers share a study, a heartbeat per
running trial, and a retry of each trial whose worker died.

Between processes Optuna has one atomic step, taking a WAITING trial (WAITING -> RUNNING). So
the budget is laid out as WAITING tickets 0..n-1 and a worker only runs a ticket it took; counting
finished trials and then asking for a new one would let two workers overshoot n_trials. A ticket
is held by the trial that ran it: complete, pruned, or failed with an error. A trial whose worker
stopped beating for grace_s (kill -9), or that a signal interrupted (SIGTERM), is failed and its
ticket passes to a retry with the same values (max_retries times, then to a fresh draw). Values
are drawn seeded by the ticket, so an interrupted seeded study draws what an uninterrupted one
does. Optuna's own heartbeat covers RDB storages only and
drives Study.optimize; this one also works for journal storage and for ask/tell.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState

from rnnops.masking import masked

log = logging.getLogger(__name__)

TICKET = "rnnops.ticket"
HEARTBEAT = "rnnops.heartbeat"
RETRIES = "rnnops.retry_of"  # numbers of the dead trials this one repeats, oldest first
DUPLICATE = "rnnops.duplicate"  # a second copy of a ticket (two workers topped up at once)
ERROR = "error"  # user attr: why a trial failed (an exception, a NaN loss)
WORKER = "worker"  # user attr: host:pid of the process that ran it


@dataclass(frozen=True)
class Budget:
    n_trials: int
    heartbeat_s: float = 10
    grace_s: float = 60
    max_retries: int = 2
    fixed: Sequence[dict[str, Any]] | None = None  # grid search: ticket k runs fixed[k]


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def ticket(trial: Any) -> int | None:
    return trial.system_attrs.get(TICKET)


def holds(trial: Any) -> bool:
    """Whether this trial stands for its ticket (a dead worker's trial and a duplicate do not)."""
    if ticket(trial) is None or trial.system_attrs.get(DUPLICATE):
        return False
    if trial.state == TrialState.FAIL:
        return ERROR in trial.user_attrs
    return True


class Heartbeat:
    """A thread that stamps the given running trials every `interval` seconds."""
    def __init__(self, storage: Any, trial_ids: list[int], interval: float):
        self.storage, self.trial_ids, self.interval = storage, trial_ids, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="rnnops-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:

        while not self._stop.wait(self.interval):
            for trial_id in self.trial_ids:
                try:
                    self.storage.set_trial_system_attr(trial_id, HEARTBEAT, time.time())
                except UpdateFinishedTrialError:
                    pass
                except Exception as exc:  # a storage hiccup must not end the trial; beat again
                    log.warning("heartbeat of trial id %d not recorded: %s", trial_id, exc)


class TrialQueue:
    """`sampler`, when given, draws each trial's values seeded by the trial's number."""
    def __init__(self, study: Any, storage: Any, budget: Budget, sampler: Any = None):
        self.study, self.storage, self.budget, self.sampler = study, storage, budget, sampler
        self.study_id = storage.get_study_id_from_name(study.study_name)

    def trials(self, *states: Any) -> list[Any]:
        return self.study.get_trials(deepcopy=False, states=states or None)

    def _trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def top_up(self) -> int:
        """Queue a ticket for each of 0..n-1 that no trial holds; returns how many."""

        held = {ticket(t) for t in self.trials() if holds(t)}
        missing = [k for k in range(self.budget.n_trials) if k not in held]
        for k in missing:
            attrs: dict[str, Any] = {TICKET: k}
            if self.budget.fixed is not None:
                attrs["fixed_params"] = dict(self.budget.fixed[k])
            self.study.add_trial(optuna.trial.create_trial(state=TrialState.WAITING,
                                                           system_attrs=attrs))
        return len(missing)

    def claim(self) -> tuple[Any, int] | None:
        """Take a queued ticket: (optuna.Trial, trial id), or None when none is left."""

        waiting = [t for t in self.trials(TrialState.WAITING)
                   if ticket(t) is not None and ticket(t) < self.budget.n_trials]
        for frozen in sorted(waiting, key=lambda t: (ticket(t), t.number)):
            trial_id = self._trial_id(frozen.number)
            try:
                if not self.storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    continue  # another worker took it first
            except UpdateFinishedTrialError:
                continue
            if self._duplicate(frozen):
                self.storage.set_trial_system_attr(trial_id, DUPLICATE, True)
                self.storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
                continue
            self.storage.set_trial_system_attr(trial_id, HEARTBEAT, time.time())
            self.storage.set_trial_user_attr(trial_id, WORKER, worker_name())
            # Each trial gets its own view of the study, with its own sampler and a fresh
            # cache of the other trials; tell through trial.study.
            view = optuna.load_study(
                study_name=self.study.study_name, storage=self.storage, pruner=self.study.pruner,
                sampler=self.sampler.build(self._seed(frozen)) if self.sampler
                else self.study.sampler,
            )
            view.get_trials(deepcopy=False)  # Optuna's RDB cache must know a trial to store params
            return optuna.Trial(view, trial_id), trial_id
        return None

    @staticmethod
    def _seed(frozen: Any) -> int:
        """The sampler's seed for a trial: its ticket (the trial number for ticket k is k in a
        study that nothing interrupted), so a retry or a redraw does not shift later draws."""
        return ticket(frozen) if ticket(frozen) is not None else frozen.number

    def _duplicate(self, frozen: Any) -> bool:
        """The lowest-numbered holder of a ticket keeps it; later copies step aside."""
        return any(
            ticket(t) == ticket(frozen) and t.number < frozen.number and holds(t)
            for t in self.trials()
        )

    def reap(self) -> list[Any]:
        """Fail the running trials whose heartbeat is older than grace_s and queue their retries;
        returns the failed trials."""

        now, dead = time.time(), []
        for t in self.trials(TrialState.RUNNING):
            start = t.datetime_start.timestamp() if t.datetime_start else now
            if now - t.system_attrs.get(HEARTBEAT, start) <= self.budget.grace_s:
                continue
            try:
                if not self.storage.set_trial_state_values(self._trial_id(t.number),
                                                           state=TrialState.FAIL):
                    continue
            except UpdateFinishedTrialError:
                continue  # it finished, or another worker reaped it
            dead.append(t)
            self._retry(t, f"its worker {t.user_attrs.get(WORKER)} died")
        return dead

    def _retry(self, t: Any, why: str) -> None:
        """Queue a retry of failed trial `t` with its values and ticket, recorded as a retry
        (RETRIES), unless its ticket has had max_retries already: then the ticket is drawn
        afresh by top_up."""

        retries = list(t.system_attrs.get(RETRIES, []))
        if ticket(t) is None or len(retries) >= self.budget.max_retries:
            log.warning("trial %d: %s; no retry left, the ticket is drawn afresh", t.number, why)
            return
        attrs = {k: v for k, v in t.system_attrs.items() if k != HEARTBEAT}
        attrs[RETRIES] = [*retries, t.number]
        self.study.add_trial(optuna.trial.create_trial(
            state=TrialState.WAITING, params=t.params, distributions=t.distributions,
            system_attrs=attrs))
        log.warning("trial %d: %s; queued a retry with the same values", t.number, why)

    def open_tickets(self) -> bool:
        """Whether some ticket below n_trials is still waiting or running (maybe elsewhere)."""

        return any(holds(t) and ticket(t) < self.budget.n_trials
                   for t in self.trials(TrialState.WAITING, TrialState.RUNNING))

    def work(
        self,
        run: Callable[[list[Any]], None],
        *,
        batch_size: int = 1,
        first_batch: int | None = None,
        stop: Callable[[], bool] | None = None,
        on_reaped: Callable[[Any], None] | None = None,
        poll_s: float | None = None,
    ) -> None:
        """Run tickets `batch_size` at a time (`first_batch` for the first) until every ticket is
        finished (waiting for other workers' running trials, which may die and come back as
        retries) or `stop()` is true. `run` must tell every trial it is given."""
        poll = poll_s or min(1.0, self.budget.heartbeat_s)
        size = first_batch or batch_size
        while True:
            for dead in self.reap():
                if on_reaped is not None:
                    on_reaped(dead)
            self.top_up()
            if stop is not None and stop():
                return
            batch: list[tuple[Any, int]] = []
            while len(batch) < size and (taken := self.claim()) is not None:
                batch.append(taken)
            if not batch:
                if not self.open_tickets():
                    return
                time.sleep(poll)
                continue
            size = batch_size
            trials = [trial for trial, _ in batch]
            with Heartbeat(self.storage, [i for _, i in batch], self.budget.heartbeat_s):
                try:
                    run(trials)
                except BaseException:
                    self.abandon(trials)
                    raise

    def abandon(self, trials: list[Any]) -> None:
        """Fail trials left unfinished by an interruption (SIGTERM) and queue a retry of each
        with its values, as for a worker that died."""

        for trial in trials:
            frozen = self.storage.get_trial(trial._trial_id)
            if frozen.state.is_finished():  # it ended on its own (complete, pruned, an error)
                continue
            trial.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
            frozen = self.storage.get_trial(trial._trial_id)
            if frozen.state == TrialState.FAIL and ERROR not in frozen.user_attrs:
                self._retry(frozen, f"interrupted on {worker_name()}")

    def fail(self, trial: Any, error: str) -> None:
        """A trial that raised or diverged: failed with its reason, and it used its ticket."""


        try:
            trial.set_user_attr(ERROR, masked(error)[:2000])
        except UpdateFinishedTrialError:
            return  # reaped meanwhile (its heartbeat stalled): the retry holds the ticket
        trial.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
