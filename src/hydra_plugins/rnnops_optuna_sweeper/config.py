"""The sweeper's options (hydra.sweeper.*), registered as `hydra/sweeper=optuna`.

Option names follow the sweep stage's (conf/sweep); `params` takes the override syntax that
hydra-optuna-sweeper users know: choice(...), a,b,c, range(...), interval(...), tag(log, ...).
"""

from dataclasses import dataclass

from hydra.core.config_store import ConfigStore


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.rnnops_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    sampler: str = "tpe"  # tpe | random | cmaes | grid
    pruner: str = "none"  # none | median | hyperband | successive_halving
    direction: str = "minimize"  # minimize | maximize
    objective: str = "best_val_loss"  # key of the job's returned mapping (a number is used as is)
    seed: int | None = None  # null: the app config's `seed`, if it has one
    n_trials: int = 20  # trials that finish: complete, pruned or failed
    n_jobs: int = 1  # trials launched together (run in parallel by e.g. the joblib launcher)
    timeout_s: float | None = None  # launch no trial after this many seconds
    storage: str | None = None  # null: SQLite optuna.db in the sweep folder
    study_name: str | None = None  # null: the job name (e.g. train)
    n_startup_trials: int = 4
    multivariate: bool = False  # tpe: one joint model of the parameters
    warmup_epochs: int = 5  # median pruner
    min_epochs: int = 1  # hyperband, successive_halving
    max_epochs: int | None = None  # hyperband's largest budget; null: learnt from the trials
    reduction_factor: int = 3
    heartbeat_s: int = 10
    grace_s: int = 60
    max_retries: int = 2
    params: dict[str, str] | None = None  # search space: key -> override value


ConfigStore.instance().store(group="hydra/sweeper", name="optuna", node=OptunaSweeperConf,
                             provider="rnnops")
