"""`hydra/sweeper=optuna`: an Optuna study whose trials are Hydra jobs.

Written for rnnops because hydra-optuna-sweeper pins optuna<3. Each batch of trials (n_jobs) is
handed to the configured launcher; every job gets its trial's identity in its environment, so the
train stage reports val/loss to the shared storage and the study's pruner stops the job where it
runs (this process with the basic launcher, a worker with joblib). Trials come from the same
queue as the sweep stage: exactly n_trials, resumable, and a trial left running by a dead sweeper
is retried on the next run.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Quote, QuotedString
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)

RESULTS = "optimization_results.yaml"


class OptunaSweeper(Sweeper):
    def __init__(self, **options: Any) -> None:
        self.options = options
        self.params: dict[str, str] = dict(options.pop("params", None) or {})
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> list[Sequence[Any]]:
        from rnnops.errors import UserError

        try:
            return self._sweep(arguments)
        except UserError as exc:  # one line and exit 2, as rnnops' stages report bad input
            print(f"rnnops optuna sweeper: error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    def _settings(self) -> dict[str, Any]:
        from rnnops.errors import ConfigError
        from rnnops.sweep.algorithms import check_name

        o = self.options
        check_name("sampler", o["sampler"], "hydra.sweeper.sampler")
        check_name("pruner", o["pruner"], "hydra.sweeper.pruner")
        if o["direction"] not in ("minimize", "maximize"):
            raise ConfigError("hydra.sweeper.direction",
                              f"{o['direction']!r} is not one of minimize, maximize")
        for key in ("n_trials", "n_jobs", "heartbeat_s", "min_epochs"):
            if o[key] < 1:
                raise ConfigError(f"hydra.sweeper.{key}", f"{o[key]} must be >= 1")
        if o["grace_s"] <= o["heartbeat_s"]:
            raise ConfigError("hydra.sweeper.grace_s", "must be > hydra.sweeper.heartbeat_s")
        if o["multivariate"] and o["sampler"] != "tpe":
            raise ConfigError("hydra.sweeper.multivariate", f"applies to the tpe sampler only, "
                              f"not {o['sampler']}; leave it false or set sampler=tpe")
        seed = o["seed"] if o["seed"] is not None else OmegaConf.select(self.config, "seed")
        return {**o, "seed": seed}

    @staticmethod
    def _specs(o: Mapping[str, Any]) -> tuple[Any, Any]:
        """The sampler and pruner that the options name (rebuilt from these in every job)."""
        from rnnops.sweep.algorithms import PrunerSpec, SamplerSpec

        return (SamplerSpec(o["sampler"], o["seed"], o["n_startup_trials"], o["multivariate"]),
                PrunerSpec(o["pruner"], o["n_startup_trials"], o["warmup_epochs"],
                           o["min_epochs"], o["max_epochs"], o["reduction_factor"]))

    def _sweep(self, arguments: list[str]) -> list[Sequence[Any]]:
        from rnnops.config import unsearchable
        from rnnops.errors import ConfigError
        from rnnops.sweep.queue import Budget, TrialQueue
        from rnnops.sweep.space import grid
        from rnnops.sweep.storage import default_url, open_storage
        from rnnops.sweep.study import load_or_create

        from .search_space import split

        assert self.config is not None and self.hydra_context is not None
        o = self._settings()
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides(
            [f"{k}={v}" for k, v in self.params.items()] + list(arguments))
        space, fixed = split(overrides)
        for name in space:
            if why := unsearchable(name):
                raise ConfigError(name, why)
        if not space:
            raise ConfigError("hydra.sweeper.params", "nothing to search; give a sweep such as "
                              "'train.lr=tag(log,interval(1e-4,1e-1))' or 'model=choice(lstm,gru)'")
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        from rnnops.masking import mask

        # the overrides may hold a URL with a password: saved masked, as rnnops.hydra_outputs
        # saves each job's .hydra files
        OmegaConf.save(OmegaConf.create(mask(OmegaConf.to_container(self.config))),
                       sweep_dir / "multirun.yaml")

        url = o["storage"] or default_url(sweep_dir)
        storage = open_storage(url, key="hydra.sweeper.storage")
        sampler, pruner = self._specs(o)
        name = o["study_name"] or str(self.config.hydra.job.name)
        study = load_or_create(name, storage, sampler, pruner, o["direction"])
        n_trials, points = o["n_trials"], None

        def no_condition(key: str) -> Any:
            raise AssertionError(f"override sweeps have no conditions ({key})")

        if o["sampler"] == "grid":
            points = grid(space, no_condition)
            random.Random(o["seed"]).shuffle(points)
            n_trials = min(n_trials, len(points))
        queue = TrialQueue(study, storage, Budget(n_trials, o["heartbeat_s"], o["grace_s"],
                                                  o["max_retries"], points), sampler)
        log.info("Optuna study %s: %d trials, %d per batch, sampler %s, pruner %s", name,
                 n_trials, o["n_jobs"], o["sampler"], o["pruner"])
        returns: list[Sequence[Any]] = []

        def run(trials: list[Any]) -> None:
            from rnnops.sweep.job import ENV, encode
            from rnnops.sweep.space import suggest

            from .search_space import as_value

            batch = []
            for trial in trials:
                values = suggest(trial, space, no_condition)
                identity = QuotedString(text=encode(url, name, trial.number, pruner),
                                        quote=Quote.single).with_quotes()
                batch.append([*fixed, *(f"{k}={as_value(v)}" for k, v in values.items()),
                              f"++hydra.job.env_set.{ENV}={identity}"])
                log.info("trial %d: %s", trial.number, " ".join(batch[-1][len(fixed):-1]))
            self.validate_batch_is_legal(batch)
            results = self.launcher.launch(batch, initial_job_idx=sum(map(len, returns)))
            for trial, result in zip(trials, results, strict=True):
                self._tell(queue, trial, result, o["objective"])
            returns.append(results)

        deadline = None if o["timeout_s"] is None else time.monotonic() + o["timeout_s"]
        # The first job runs alone: stores the jobs share (MLflow's SQLite file) are created by
        # one process, not raced for by parallel ones.
        queue.work(run, batch_size=o["n_jobs"], first_batch=1,
                   stop=None if deadline is None else (lambda: time.monotonic() > deadline))
        self._report(study, sweep_dir, url)
        return returns

    @staticmethod
    def _tell(queue: Any, trial: Any, result: Any, objective: str) -> None:
        import optuna
        from optuna.trial import TrialState

        from rnnops.sweep.pruning import PRUNED_AT

        pruned = False
        try:
            value = result.return_value  # re-raises the job's exception
        except optuna.TrialPruned:  # an app that prunes by raising, as Optuna's examples do
            value, pruned = None, True
        except Exception as exc:
            queue.fail(trial, f"{type(exc).__name__}: {exc}".splitlines()[0])
            log.warning("trial %d failed: %s", trial.number, exc)
            return
        # The job's pruning callback marked the trial in the shared storage (trial.user_attrs
        # is this process's copy from before the job ran).
        (stored,) = [t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number]
        if pruned or PRUNED_AT in stored.user_attrs:
            trial.study.tell(trial, state=TrialState.PRUNED, skip_if_finished=True)
            log.info("trial %d pruned", trial.number)
            return
        if isinstance(value, Mapping):
            value = value.get(objective)
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            queue.fail(trial, f"the job returned {objective} = {value!r}, not a finite number")
            log.warning("trial %d failed: objective %r", trial.number, value)
            return
        trial.study.tell(trial, number, skip_if_finished=True)
        log.info("trial %d: %s = %g", trial.number, objective, number)

    @staticmethod
    def _report(study: Any, sweep_dir: Path, url: str) -> None:
        from optuna.trial import TrialState

        from rnnops.masking import masked

        trials = study.get_trials(deepcopy=False)
        counts: dict[str, int] = {}
        for t in trials:
            if t.state != TrialState.WAITING:
                counts[t.state.name] = counts.get(t.state.name, 0) + 1
        results: dict[str, Any] = {"study": study.study_name, "storage": masked(url),
                                   "direction": study.direction.name.lower(), "trials": counts}
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if complete:
            best = study.best_trial
            results.update(best_trial=best.number, best_value=float(best.value),
                           best_params=dict(best.params))
            log.info("best trial %d: %g %s", best.number, best.value, best.params)
        else:
            log.warning("no trial completed: %s", counts)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS)
