"""The train stage for dvc.yaml and Hydra multirun: `python pipelines/train.py [overrides]`."""

import functools

import hydra
from omegaconf import open_dict

from rnnops.entry import in_multirun, run_script, run_stage
from rnnops.stages.train import train
from rnnops.sweep.job import current


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg):
    # A job that the Optuna sweeper launched trains its trial's values with the trial's hooks;
    # the sweeper reads best_val_loss from the result and records a user error as the trial's.
    job = current()
    in_sweep = job.trial is not None
    if cfg.tracking.register is None and in_multirun():  # logged, not registered
        with open_dict(cfg):
            cfg.tracking.register = False
    stage = functools.partial(train, job=job) if in_sweep else train
    return run_stage("train", stage, cfg, reraise=in_sweep)


if __name__ == "__main__":
    run_script("train", main)
