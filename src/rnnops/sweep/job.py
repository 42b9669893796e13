"""The trial a Hydra sweep job trains for.

The Optuna sweeper (hydra_plugins/rnnops_optuna_sweeper) asks for a trial, then launches a job
with that trial's identity in its environment (hydra.job.env_set), in this process or another
one. The job's script (pipelines/train.py) reads it here and hands the train stage the job's
hooks (a SweepJob: callbacks that report val/loss to the trial every epoch, tags, the pruned
result), so the study's pruner stops a hopeless job early whichever launcher ran it; the stage
itself knows nothing of the sweeper.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import optuna

from rnnops import tracking
from rnnops.sweep.algorithms import PrunerSpec
from rnnops.sweep.pruning import OptunaPruning
from rnnops.sweep.queue import WORKER, worker_name
from rnnops.sweep.storage import open_storage

ENV = "RNNOPS_OPTUNA_TRIAL"

log = logging.getLogger(__name__)


def encode(storage_url: str, study_name: str, number: int, pruner: PrunerSpec) -> str:
    return json.dumps({"storage": storage_url, "study": study_name, "number": number,
                       "pruner": pruner.to_dict()}, separators=(",", ":"))


def in_sweep_job() -> bool:
    return bool(os.environ.get(ENV))


@dataclass
class SweepJob:
    """Inert (no callbacks, no tags) outside a sweep."""
    trial: Any = None
    study_name: str | None = None
    pruning: Any = None

    @property
    def callbacks(self) -> list[Any]:
        return [self.pruning.callback()] if self.pruning is not None else []

    @property
    def pruned_at(self) -> int | None:
        return None if self.pruning is None else self.pruning.pruned_at

    @property
    def tags(self) -> dict[str, str]:
        if self.trial is None:
            return {}
        return {"optuna.study": str(self.study_name), "optuna.trial": str(self.trial.number)}

    def pruned(self, run_id: str, result: Any) -> dict[str, Any]:
        """The train stage's result for a job the sweep's pruner stopped: its run tagged, and
        nothing registered."""
        tracking.set_tags({tracking.TAG_TRIAL_STATE: "PRUNED"})
        log.info("pruned by the sweep after %d epochs", self.pruned_at)
        return {"run_id": run_id, "pruned_at_epoch": self.pruned_at,
                "best_val_loss": result.best_val_loss, "epochs_run": result.epochs_run}


def current() -> SweepJob:
    raw = os.environ.get(ENV)
    if not raw:
        return SweepJob()


    spec = json.loads(raw)
    storage = open_storage(spec["storage"], key="hydra.sweeper.storage")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # The sampler is not used here (the sweeper drew the values); the pruner must be the study's.
    study = optuna.load_study(study_name=spec["study"], storage=storage,
                              sampler=optuna.samplers.RandomSampler(),
                              pruner=PrunerSpec(**spec["pruner"]).build())
    study_id = storage.get_study_id_from_name(spec["study"])
    trial = optuna.Trial(study, storage.get_trial_id_from_study_id_trial_number(
        study_id, spec["number"]))
    trial.set_user_attr(WORKER, worker_name())
    return SweepJob(trial, spec["study"], OptunaPruning(trial))
