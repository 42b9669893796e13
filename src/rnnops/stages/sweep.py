"""sweep: an Optuna study over the search space; writes best_params.yaml, trials.csv and plots.

The study lives in sweep.storage (SQLite under paths.optuna by default) under a name derived from
the config, the code and the data, so rerunning the same sweep resumes it and runs only the
trials still missing. `sweep.workers=N` runs N processes on it; `rnnops sweep` on another
machine with the same storage URL and study name joins them. Each trial is one nested MLflow run
under one parent run per study (sweep/runner.py runs them with the task's training routine).
"""

from __future__ import annotations

import logging
from typing import Any

import yaml

from rnnops import tracking
from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.errors import ConfigError
from rnnops.models.build import check_model_config
from rnnops.names import VAL_LOSS
from rnnops.stages.outputs import BEST_PARAMS, SKIPPED, SWEEP_PLOTS, TRIALS
from rnnops.sweep import runner
from rnnops.sweep.plots import save_plots
from rnnops.sweep.study import open_study, open_sweep_storage
from rnnops.tasks import task_for

log = logging.getLogger(__name__)


def pipeline_sweep(cfg: Config) -> dict[str, Any] | None:
    """The sweep as a pipeline stage (dvc repro, `rnnops run`): skipped when train would not
    read its result."""
    return sweep(cfg) if cfg.train.use_best_params else skip(cfg)


def sweep(cfg: Config) -> dict[str, Any]:
    check_model_config(cfg.model)  # an unknown cell or architecture fails before any work
    if not cfg.sweep.params:
        raise ConfigError("sweep.space", "is empty: nothing to search; give it a parameter "
                          "(conf/sweep/default.yaml has examples)")
    task = task_for(cfg)
    storage = open_sweep_storage(cfg)  # a bad sweep.storage stops here, before anything else
    data = task.load(cfg)
    study = open_study(cfg, storage, data.meta["sha256"])
    experiment_id = tracking.configure(cfg)
    parent, created = runner.parent_run(cfg, study, experiment_id, data.meta["sha256"])
    with tracking.run(run_id=parent) as run_id:
        if created:
            tracking.log_config(cfg)
        runner.run_study(cfg, task, study, storage, data, run_id)
        summary, trials = runner.summarise(cfg, study)
        counts = summary["trials"]
        tracking.log_metrics({f"best_{VAL_LOSS}": summary["value"],
                              **{f"trials_{k.lower()}": float(v) for k, v in counts.items()}})
        # Tags, not params: a resumed study may find a better trial; MLflow params never change.
        tracking.set_tags({f"best.{k}": str(v) for k, v in summary["params"].items()})
        with staged(cfg.paths.sweep) as (folder,):
            folder.mkdir()
            (folder / BEST_PARAMS).write_text(yaml.safe_dump(summary, sort_keys=False))
            trials.to_csv(folder / TRIALS, index=False)
            plots = save_plots(study, folder / SWEEP_PLOTS)
        folder = cfg.paths.sweep
        tracking.log_artifacts([folder / BEST_PARAMS, folder / TRIALS], "sweep")
        tracking.log_artifacts([folder / SWEEP_PLOTS / p.name for p in plots],
                               f"sweep/{SWEEP_PLOTS}")
    log.info("best trial (number %d): %s = %.5f %s; trials %s", summary["best_trial"],
             VAL_LOSS, summary["value"], summary["params"], counts)
    return summary


def skip(cfg: Config) -> None:
    """The pipeline's sweep stage when train will not read its result (train.use_best_params=
    false, as every experiment sets): no trials. The stage's folder holds only a note saying why,
    so DVC has its output and train finds no best parameters of an earlier sweep."""
    reason = ("train.use_best_params=false, so train would not read its result; "
              "`rnnops sweep` runs it anyway")
    with staged(cfg.paths.sweep) as (folder,):
        folder.mkdir()
        (folder / SKIPPED).write_text(f"sweep skipped: {reason}\n")
    log.info("sweep skipped: %s", reason)
