"""Running an Optuna study for the sweep stage: its worker processes, one MLflow run per trial
under one parent run per study, and the summary of a finished study.

Trials are taken from the study's queue (sweep/queue.py: heartbeats, retries of dead workers'
trials), trained with the task's own training routine, and told to Optuna; SIGTERM reaches every
worker. The sweep stage (stages/sweep.py) calls this and writes the outputs.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
from optuna.trial import TrialState

from rnnops import tracking
from rnnops.config import Config, with_overrides
from rnnops.errors import UserError
from rnnops.machine import usable_cores
from rnnops.masking import masked
from rnnops.names import VAL_LOSS
from rnnops.sweep import queue as q
from rnnops.sweep.algorithms import specs
from rnnops.sweep.objective import EPOCHS, run_trial, starting_weights
from rnnops.sweep.pruning import PRUNED_AT
from rnnops.sweep.space import grid, suggest
from rnnops.sweep.storage import storage_lock
from rnnops.sweep.study import lookup, open_study, open_sweep_storage, storage_url
from rnnops.training.runtime import single_process

log = logging.getLogger(__name__)

MLFLOW_RUN = "mlflow_run_id"  # trial user attr: its nested MLflow run
PARENT_RUN = "rnnops.mlflow_parent"  # study user attr: the study's MLflow run and store
TAG_ERROR = "rnnops.error"
TAG_WORKER = "rnnops.worker"  # host:pid of the worker that ran a trial


def budget(cfg: Config) -> q.Budget:
    s = cfg.sweep
    fixed = None
    n_trials = s.n_trials
    if s.sampler == "grid":
        fixed = grid(s.params, lookup(cfg))
        random.Random(cfg.seed).shuffle(fixed)  # a grid cut by n_trials is an unbiased subset
        if len(fixed) != n_trials:
            log.info("grid of %d points; running %d (sweep.n_trials=%d)", len(fixed),
                     min(len(fixed), n_trials), n_trials)
        n_trials = min(len(fixed), n_trials)
    return q.Budget(n_trials, s.heartbeat_s, s.grace_s, s.max_retries, fixed)


def worker_config(cfg: Config) -> Config:
    """Workers on one machine share its threads instead of each taking all of them: the
    configured count (or one per core with trainer.threads=0) split between them. Each trial
    trains in one process (trainer.devices applies to the train stage)."""
    cfg = single_process(cfg)
    if cfg.sweep.workers > 1:
        total = cfg.trainer.threads or usable_cores()
        return with_overrides(cfg, {"trainer.threads": max(1, total // cfg.sweep.workers)})
    return cfg


def run_study(cfg: Config, task: Any, study: Any, storage: Any, data: Any,
              parent_run: str) -> None:
    """Run the study's missing trials with sweep.workers processes on this machine (this one
    and spawned helpers), each trial one MLflow run nested under `parent_run`. `task` (the
    tasks.Task of data.kind) trains each trial; helpers receive it and load the data
    themselves. SIGTERM stops every worker and exits with 143 (128 + SIGTERM)."""
    plan = budget(cfg)
    log.info("study %s in %s: %d trials, %d worker(s)", study.study_name,
             masked(storage_url(cfg)), plan.n_trials, cfg.sweep.workers)
    q.TrialQueue(study, storage, plan).top_up()
    context = multiprocessing.get_context("spawn")  # fork would copy torch's threads
    ready = [context.Event() for _ in range(cfg.sweep.workers - 1)]
    helpers = [context.Process(target=work, args=(cfg, task, parent_run, False), daemon=False,
                               kwargs={"ready": event}) for event in ready]
    for helper in helpers:
        helper.start()
    with stop_on_sigterm(helpers) as stopping:
        try:
            wait_until_ready(helpers, ready, stopping)
            work(cfg, task, parent_run, nested=True, study=study, storage=storage, data=data,
                 stopping=stopping)
        finally:
            for helper in helpers:
                helper.join()
    if stopping.is_set():
        log.error("sweep stopped by SIGTERM; running it again finishes the study")
        raise SystemExit(128 + signal.SIGTERM)
    for helper in helpers:
        if helper.exitcode != 0:
            log.warning("sweep worker pid %d exited with %s", helper.pid, helper.exitcode)


def parent_run(cfg: Config, study: Any, experiment_id: str, data_hash: str) -> tuple[str, bool]:
    """The study's one MLflow parent run, and whether it is new: the run recorded on the study
    when this store still has it, else a new one, recorded there. Processes of this machine
    starting together on one study take turns (a lock beside its storage), so all of them log
    under one parent. The store is recorded without its password."""
    uri = masked(tracking.tracking_uri(cfg))
    with storage_lock(storage_url(cfg), cfg.paths.optuna):
        recorded = study.user_attrs.get(PARENT_RUN) or {}
        previous = recorded.get("run_id") if masked(recorded.get("uri") or "") == uri else None
        if previous and tracking.reopenable(previous):
            return previous, False
        if previous:
            log.warning("the study's MLflow run %s is gone (deleted); this sweep logs to a new "
                        "one", previous)
        run_id = tracking.create_run(
            experiment_id, f"sweep-{cfg.model.label}",
            {**tracking.stage_tags("sweep", data_hash), "optuna.study": study.study_name})
        study.set_user_attr(PARENT_RUN, {"run_id": run_id, "uri": uri})
        return run_id, True


@contextlib.contextmanager
def stop_on_sigterm(helpers: list[Any]) -> Iterator[threading.Event]:
    """SIGTERM to the sweep (a scheduler, `kill`, a container stop) reaches its helper workers
    too, instead of the sweep waiting for them to finish the study; the main worker takes no new
    trial. A trial in training stops after its batch (Lightning's own SIGTERM handling, which
    calls this handler as well); interrupted trials are failed and retried by the next run."""
    stopping = threading.Event()

    def on_sigterm(signum: int, frame: Any) -> None:
        stopping.set()
        for helper in helpers:
            if helper.is_alive():
                helper.terminate()

    if threading.current_thread() is not threading.main_thread():  # signals: main thread only
        yield stopping
        return
    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield stopping
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_until_ready(helpers: list[Any], ready: list[Any], stopping: threading.Event,
                     timeout_s: float = 300) -> None:
    """Start together: a helper process needs seconds to import torch and open the stores, and
    without waiting the first worker would take most trials before the others arrive."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stopping.is_set():
        if all(e.is_set() or not h.is_alive() for h, e in zip(helpers, ready, strict=True)):
            return
        time.sleep(0.1)
    if not stopping.is_set():
        log.warning("sweep workers not ready after %.0f s; starting without them", timeout_s)


def work(cfg: Config, task: Any, parent_run: str, nested: bool, study: Any = None,
         storage: Any = None, data: Any = None, ready: Any = None,
         stopping: threading.Event | None = None) -> None:
    """One worker: take tickets from the study and run them until none is left (or `stopping`
    is set). In a helper process (spawned) it opens everything itself, then sets `ready`."""
    if study is None:
        logging.basicConfig(level=logging.INFO,
                            format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
        storage = open_sweep_storage(cfg)
        data = task.load(cfg)
        study = open_study(cfg, storage, data.meta["sha256"])
        tracking.configure(cfg)
    run_cfg = worker_config(cfg)
    initial = starting_weights(cfg)  # every trial starts from train.init_from's weights
    sampler, _ = specs(cfg.sweep, cfg.seed)
    queue = q.TrialQueue(study, storage, budget(cfg), sampler)
    if ready is not None:  # set last: everything before taking a trial is done
        ready.set()
    deadline = None if cfg.sweep.timeout_s is None else time.monotonic() + cfg.sweep.timeout_s
    log.info("worker %s on study %s", q.worker_name(), study.study_name)

    def run(trials: list[Any]) -> None:
        for trial in trials:
            run_one(run_cfg, task, data, queue, trial, parent_run, nested, initial)

    def stop() -> bool:
        return ((stopping is not None and stopping.is_set())
                or (deadline is not None and time.monotonic() > deadline))

    queue.work(run, stop=stop, on_reaped=lambda dead: close_dead_run(dead, nested))


def run_one(cfg: Config, task: Any, data: Any, queue: q.TrialQueue, trial: Any,
            parent_run: str, nested: bool, initial: dict[str, Any] | None = None) -> None:
    """One trial as one MLflow run (its parent: the study's run); Optuna is told the outcome."""
    tags = {"optuna.study": queue.study.study_name, "optuna.trial": str(trial.number),
            "mlflow.parentRunId": parent_run, TAG_WORKER: q.worker_name()}
    try:
        with tracking.run(f"trial-{trial.number}", nested=nested, tags=tags) as run_id:
            trial.set_user_attr(MLFLOW_RUN, run_id)
            try:
                params = suggest(trial, cfg.sweep.params, lookup(cfg))
                log.info("trial %s: %s", progress(trial, queue), params)
                tracking.log_params(params)
                result = run_trial(cfg, data, trial, params, task.fit,
                                   epoch_sink=tracking.log_metrics, initial_state=initial)
                tracking.log_implementations(result.implementations)
            except Exception as exc:
                tracking.set_tags({tracking.TAG_TRIAL_STATE: "FAIL", TAG_ERROR: describe(exc)})
                raise  # the run ends FAILED
            except BaseException:  # SIGTERM: the queue retries the trial with its values
                tracking.set_tags({tracking.TAG_TRIAL_STATE: "FAIL",
                                   TAG_ERROR: "interrupted by a signal; retried with the same "
                                              "values"})
                raise
            state = TrialState.PRUNED if result.pruned_at is not None else TrialState.COMPLETE
            tracking.set_tags({tracking.TAG_TRIAL_STATE: state.name})
            tracking.log_metrics({f"best_{VAL_LOSS}": result.value, EPOCHS: result.epochs})
    except Exception as exc:  # a failed trial is recorded with its error; the study goes on
        log.warning("trial %s failed: %s", progress(trial, queue), describe(exc))
        queue.fail(trial, describe(exc))
        return
    trial.study.tell(trial, None if state == TrialState.PRUNED else result.value, state=state,
                     skip_if_finished=True)
    log.info("trial %s %s: %s %.5f after %d epochs", progress(trial, queue), state.name.lower(),
             VAL_LOSS, result.value, result.epochs)


def progress(trial: Any, queue: q.TrialQueue) -> str:
    """Where a trial stands in its study, "k/n" by its ticket (a retry keeps its number)."""
    frozen = queue.storage.get_trial(queue.storage.get_trial_id_from_study_id_trial_number(
        queue.study_id, trial.number))
    ticket = q.ticket(frozen)
    k = trial.number if ticket is None else ticket
    return f"{k + 1}/{queue.budget.n_trials}"


def describe(exc: BaseException) -> str:
    return masked(f"{type(exc).__name__}: {exc}".splitlines()[0])


class _WorkerDied(Exception):
    pass


def close_dead_run(dead: Any, nested: bool) -> None:
    """Mark the MLflow run of a trial whose worker died as FAILED, as its worker could not."""
    run_id = dead.user_attrs.get(MLFLOW_RUN)
    if not run_id:
        return
    try:
        with tracking.run(run_id=run_id, nested=nested):
            tracking.set_tags({tracking.TAG_TRIAL_STATE: "FAIL",
                               TAG_ERROR: f"worker {dead.user_attrs.get(q.WORKER)} died"})
            raise _WorkerDied  # tracking.run ends a run that raised as FAILED
    except _WorkerDied:
        pass


def summarise(cfg: Config, study: Any) -> tuple[dict[str, Any], pd.DataFrame]:
    """best_params.yaml's contents and the trials table; one line when no trial completed."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        errors = [t.user_attrs[q.ERROR] for t in study.get_trials(deepcopy=False)
                  if q.ERROR in t.user_attrs]
        first = f"; first error: {errors[0]}" if errors else ""
        raise UserError(f"sweep study {study.study_name}: no trial completed{first}; see the "
                        "trial runs in MLflow, then widen sweep.space or raise sweep.max_epochs")
    best = study.best_trial
    trials = trials_table(study)
    counts = trials[trials.state != "WAITING"].state.value_counts().to_dict()
    summary = {
        "model": cfg.model.label,
        "study": study.study_name,
        "best_trial": best.number,
        "objective": VAL_LOSS,
        "value": float(best.value),
        "params": dict(best.params),
        "trials": {k: int(v) for k, v in sorted(counts.items())},
    }
    return summary, trials


def trials_table(study: Any) -> pd.DataFrame:
    """The trials as DVC keeps them (trials.csv): what the study decided, the same on every
    run of it. Which worker ran a trial and for how long are in the trial's MLflow run."""
    columns: list[tuple[str, Callable[[Any], Any]]] = [
        ("number", lambda t: t.number),
        ("state", lambda t: "DUPLICATE" if t.system_attrs.get(q.DUPLICATE) else t.state.name),
        ("value", lambda t: t.value),
        ("epochs", lambda t: t.user_attrs.get(EPOCHS)),
        ("pruned_at_epoch", lambda t: t.user_attrs.get(PRUNED_AT)),
        ("ticket", lambda t: q.ticket(t)),
        ("retry_of", lambda t: (t.system_attrs.get(q.RETRIES) or [None])[-1]),
        ("error", lambda t: t.user_attrs.get(q.ERROR)),
    ]
    rows = [{**{name: get(t) for name, get in columns}, **t.params}
            for t in study.get_trials(deepcopy=False)]
    return pd.DataFrame(rows, columns=[name for name, _ in columns] + sorted(
        {k for t in study.get_trials(deepcopy=False) for k in t.params}))
