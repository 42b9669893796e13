"""sweep: an Optuna study over the search space; writes best_params.yaml and trials.csv.

One MLflow parent run per sweep with one nested run per trial. Re-running with the same config
resumes the same study and only runs the trials still missing.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import yaml

from rnnops import tracking
from rnnops.atomic import staged
from rnnops.config import Config
from rnnops.data.prepared import PreparedData
from rnnops.errors import UserError
from rnnops.names import VAL_LOSS
from rnnops.sweep.objective import run_trial
from rnnops.sweep.space import suggest
from rnnops.sweep.study import create_study
from rnnops.training.callbacks import TrainingDiverged

log = logging.getLogger(__name__)

BEST_PARAMS = "best_params.yaml"
TRIALS = "trials.csv"


def sweep(cfg: Config) -> dict[str, Any]:
    import optuna

    data = PreparedData.load(cfg.paths.prepared)
    tracking.configure(cfg)
    study = create_study(cfg)
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                optuna.trial.TrialState.FAIL)
    remaining = cfg.sweep.n_trials - len(study.get_trials(deepcopy=False, states=finished))

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, cfg.sweep.params)
        pruned: optuna.TrialPruned | None = None
        with tracking.run(f"trial-{trial.number}", nested=True, tags={"optuna.trial": str(
                trial.number)}):
            tracking.log_params(params)
            try:
                value = run_trial(cfg, data, trial, params, epoch_sink=tracking.log_metrics)
            except optuna.TrialPruned as exc:
                pruned = exc  # raised below, so the MLflow run ends FINISHED, tagged PRUNED
                tracking.set_tags({tracking.TAG_TRIAL_STATE: "PRUNED"})
            else:
                tracking.set_tags({tracking.TAG_TRIAL_STATE: "COMPLETE"})
                tracking.log_metrics({f"best_{VAL_LOSS}": value})
        if pruned is not None:
            raise pruned
        return value

    with tracking.run(
        f"sweep-{cfg.model.label}",
        tags={**tracking.stage_tags("sweep", data.meta["sha256"]),
              "optuna.study": study.study_name},
    ):
        tracking.log_config(cfg)
        if remaining > 0:
            log.info("study %s: running %d of %d trials", study.study_name, remaining,
                     cfg.sweep.n_trials)
            # A diverging trial fails and the study goes on; any other error is a bug and stops it.
            study.optimize(objective, n_trials=remaining, catch=(TrainingDiverged,))
        else:
            log.info("study %s already has %d trials; reusing it", study.study_name,
                     cfg.sweep.n_trials)
        complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        if not complete:
            raise UserError(
                f"sweep study {study.study_name}: no trial completed; see the trial runs in "
                "MLflow, then widen sweep.space or raise sweep.max_epochs"
            )
        best = study.best_trial
        summary = {
            "model": cfg.model.label,
            "study": study.study_name,
            "best_trial": best.number,
            "objective": VAL_LOSS,
            "value": float(best.value),
            "params": dict(best.params),
        }
        trials = trials_table(study)
        tracking.log_metrics({f"best_{VAL_LOSS}": float(best.value)})
        tracking.log_params({f"best.{k}": v for k, v in best.params.items()})

        with staged(cfg.paths.sweep) as (folder,):
            folder.mkdir()
            (folder / BEST_PARAMS).write_text(yaml.safe_dump(summary, sort_keys=False))
            trials.to_csv(folder / TRIALS, index=False)
            tracking.log_artifacts([folder / BEST_PARAMS, folder / TRIALS], "sweep")
    log.info("best trial %d: %s = %.5f %s", best.number, VAL_LOSS, best.value, best.params)
    return summary


def trials_table(study: Any) -> pd.DataFrame:
    rows = []
    for t in study.get_trials(deepcopy=False):
        duration = t.duration.total_seconds() if t.duration is not None else None
        rows.append({"number": t.number, "state": t.state.name, "value": t.value,
                     "duration_s": duration, **t.params})
    return pd.DataFrame(rows)
